//! GitHub and Gitea, which answer in the same shapes: `/pulls?state=open`, `/branches`,
//! `/tags`, paged with `Link`. Gitea is asked `/version` first, as its SDK does, so that a
//! URL that is not a Gitea server fails plainly.

use serde::Deserialize;

use super::http::{ForgeError, Http, Paging};
use super::{Change, Forge, Ref, Repo};

#[derive(Deserialize)]
struct Pull {
    number: u64,
    #[serde(default)]
    title: String,
    user: Option<User>,
    head: Head,
    #[serde(default)]
    labels: Option<Vec<Label>>,
}

#[derive(Deserialize)]
struct User {
    login: String,
}

#[derive(Deserialize)]
struct Head {
    #[serde(rename = "ref")]
    name: String,
    sha: String,
}

#[derive(Deserialize)]
struct Label {
    name: String,
}

/// A branch or tag of any of the three forges: the commit is `sha` (GitHub, Gitea tags)
/// or `id` (Gitea branches, GitLab).
#[derive(Deserialize)]
pub(super) struct WireRef {
    name: String,
    commit: Commit,
}

#[derive(Deserialize)]
struct Commit {
    #[serde(alias = "id")]
    sha: String,
}

impl From<WireRef> for Ref {
    fn from(r: WireRef) -> Self {
        Ref {
            name: r.name,
            sha: r.commit.sha,
        }
    }
}

impl From<Pull> for Change {
    fn from(p: Pull) -> Self {
        Change {
            id: p.number,
            sha: p.head.sha,
            branch: p.head.name,
            title: p.title,
            author: p.user.map(|u| u.login).unwrap_or_default(),
            labels: p.labels.unwrap_or_default().into_iter().map(|l| l.name).collect(),
        }
    }
}

/// The open pull requests, in the API's order.
pub async fn pulls(http: &Http, repo: &Repo) -> Result<Vec<Change>, ForgeError> {
    check_gitea(http, repo).await?;
    let url = repo.endpoint(http, &["pulls"], &[("state", "open")]);
    let pulls: Vec<Pull> = http.get_all(url, Paging::Link).await?;
    Ok(pulls.into_iter().map(Change::from).collect())
}

/// The branches or the tags, in the API's order.
pub async fn refs(http: &Http, repo: &Repo, tags: bool) -> Result<Vec<Ref>, ForgeError> {
    check_gitea(http, repo).await?;
    let url = repo.endpoint(http, &[if tags { "tags" } else { "branches" }], &[]);
    let refs: Vec<WireRef> = http.get_all(url, Paging::Link).await?;
    Ok(refs.into_iter().map(Ref::from).collect())
}

#[derive(Deserialize)]
struct Version {
    version: String,
}

async fn check_gitea(http: &Http, repo: &Repo) -> Result<(), ForgeError> {
    if repo.forge == Forge::Gitea {
        let url = http.endpoint(&["version"], &[]);
        let Version { version } = http.get_json(&url).await?;
        tracing::debug!(%version, root = %http.root(), "Gitea server");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pulls_and_refs_parse_from_either_forge() {
        let pull: Pull = serde_json::from_value(json!({"number": 3, "title": "t", "user": {"login": "me"},
            "head": {"ref": "feat", "sha": "abc"}, "labels": [{"name": "a", "color": "f00"}], "extra": 1}))
        .unwrap();
        let change = Change::from(pull);
        assert_eq!(
            (change.id, change.branch.as_str(), change.author.as_str()),
            (3, "feat", "me")
        );
        assert_eq!(change.labels, ["a"]);
        let gitea: Pull = serde_json::from_value(json!({"number": 4, "title": "t", "user": null,
            "head": {"ref": "x", "sha": "d"}, "labels": null}))
        .unwrap();
        assert_eq!(Change::from(gitea).labels, Vec::<String>::new());
        let github_tag: WireRef =
            serde_json::from_value(json!({"name": "v1", "commit": {"sha": "s", "url": "u"}})).unwrap();
        assert_eq!(Ref::from(github_tag).sha, "s");
        let gitea_branch: WireRef =
            serde_json::from_value(json!({"name": "main", "commit": {"id": "i", "message": "m"}})).unwrap();
        assert_eq!(Ref::from(gitea_branch).sha, "i");
        assert!(serde_json::from_value::<WireRef>(json!({"name": "x", "commit": {}})).is_err());
    }
}
