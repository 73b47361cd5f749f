//! GitLab: merge requests, branches, tags and environments of a project, paged with
//! `X-Next-Page`. Required labels and the branch regex are also sent to the server, which
//! applies them before paging.

use serde::Deserialize;
use serde_json::Value;

use super::github::WireRef;
use super::http::{ForgeError, Http, Pages, Paging};
use super::{Change, Ref, Repo};
use crate::api::InputSet;
use crate::resourceset::provider_filter::{Found, Selection};

/// Bytes a slug keeps, as GitLab's `CI_COMMIT_REF_SLUG`.
const SLUG_MAX: usize = 63;

#[derive(Deserialize)]
struct MergeRequest {
    iid: u64,
    #[serde(default)]
    sha: Option<String>,
    source_branch: String,
    #[serde(default)]
    title: String,
    author: Option<User>,
    #[serde(default)]
    labels: Vec<String>,
}

#[derive(Deserialize)]
struct User {
    username: String,
}

#[derive(Deserialize)]
struct Environment {
    id: u64,
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    state: String,
}

#[derive(Deserialize)]
struct Deployment {
    status: String,
    user: Option<User>,
    deployable: Option<Deployable>,
}

#[derive(Deserialize)]
struct Deployable {
    #[serde(rename = "ref")]
    name: String,
    commit: DeployedCommit,
}

#[derive(Deserialize)]
struct DeployedCommit {
    id: String,
}

impl From<MergeRequest> for Change {
    fn from(m: MergeRequest) -> Self {
        Change {
            id: m.iid,
            sha: m.sha.unwrap_or_default(),
            branch: m.source_branch,
            title: m.title,
            author: m.author.map(|u| u.username).unwrap_or_default(),
            labels: m.labels,
        }
    }
}

/// The open merge requests carrying the required labels, in the API's order.
pub async fn merge_requests(http: &Http, repo: &Repo, selection: &Selection) -> Result<Vec<Change>, ForgeError> {
    let labels = selection.labels().join(",");
    let mut query = vec![("state", "opened")];
    if !labels.is_empty() {
        query.push(("labels", labels.as_str()));
    }
    let url = repo.endpoint(http, &["merge_requests"], &query);
    let requests: Vec<MergeRequest> = http.get_all(url, Paging::NextPage).await?;
    Ok(requests.into_iter().map(Change::from).collect())
}

/// The branches (those matching the include regex) or the tags, in the API's order.
pub async fn refs(http: &Http, repo: &Repo, tags: bool, selection: &Selection) -> Result<Vec<Ref>, ForgeError> {
    let url = if tags {
        repo.endpoint(http, &["repository", "tags"], &[])
    } else {
        let regex = selection.include_pattern().map(|p| ("regex", p));
        let query: Vec<(&str, &str)> = regex.into_iter().collect();
        repo.endpoint(http, &["repository", "branches"], &query)
    };
    let refs: Vec<WireRef> = http.get_all(url, Paging::NextPage).await?;
    Ok(refs.into_iter().map(Ref::from).collect())
}

/// The admitted environments that have a deployment to export, the first `limit` of them.
pub async fn environments(http: &Http, repo: &Repo, selection: &Selection) -> Result<Vec<Found>, ForgeError> {
    let url = repo.endpoint(http, &["environments"], &[]);
    let environments: Vec<Environment> = http.get_all(url, Paging::NextPage).await?;
    let mut found = Vec::new();
    for environment in environments.into_iter().filter(|e| selection.admits(&e.name)) {
        if found.len() >= selection.limit() {
            break;
        }
        if let Some(deployment) = deployment(http, repo, &environment).await? {
            found.push(environment_set(environment, deployment));
        }
    }
    Ok(found)
}

/// The newest deployment that is running, or succeeded while the environment is available.
async fn deployment(http: &Http, repo: &Repo, environment: &Environment) -> Result<Option<Deployment>, ForgeError> {
    let query = [
        ("environment", environment.name.as_str()),
        ("order_by", "created_at"),
        ("sort", "desc"),
    ];
    let mut pages = Pages::new(repo.endpoint(http, &["deployments"], &query), Paging::NextPage);
    let available = environment.state == "available";
    while let Some(page) = pages.next::<Deployment>(http).await? {
        let usable = page
            .into_iter()
            .find(|d| d.deployable.is_some() && (d.status == "running" || (d.status == "success" && available)));
        if usable.is_some() {
            return Ok(usable);
        }
    }
    Ok(None)
}

fn environment_set(environment: Environment, deployment: Deployment) -> Found {
    let deployable = deployment.deployable.map(|d| (d.name, d.commit.id)).unwrap_or_default();
    let mut set = InputSet::new();
    set.insert("id".into(), environment.id.to_string().into());
    set.insert("sha".into(), deployable.1.into());
    set.insert("branch".into(), deployable.0.into());
    set.insert("title".into(), environment.name.into());
    set.insert("slug".into(), environment.slug.into());
    let author = deployment.user.map(|u| u.username).unwrap_or_default();
    set.insert("author".into(), Value::String(author));
    Found {
        set,
        labels: Vec::new(),
    }
}

/// A ref as GitLab slugs it: lowercase, other characters than `[a-z0-9-]` as `-`, at most
/// 63 bytes, no `-` at either end.
pub fn slug(name: &str) -> String {
    let mut slug: String = name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    slug.truncate(SLUG_MAX);
    slug.trim_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn slugs_are_lowercase_dashes_and_short() {
        assert_eq!(slug("Feature/Login_Page"), "feature-login-page");
        assert_eq!(slug("-v1.0.0-"), "v1-0-0");
        assert_eq!(slug("é"), "");
        let long = format!("{}-b", "a".repeat(62));
        assert_eq!(slug(&long), "a".repeat(62));
    }

    #[test]
    fn merge_requests_and_deployments_parse() {
        let mr: MergeRequest = serde_json::from_value(json!({"iid": 5, "id": 900, "sha": "s", "source_branch": "f",
            "title": "t", "author": {"username": "u"}, "labels": ["x"]}))
        .unwrap();
        let change = Change::from(mr);
        assert_eq!((change.id, change.author.as_str(), change.labels.len()), (5, "u", 1));
        let env: Environment =
            serde_json::from_value(json!({"id": 9, "name": "prod", "slug": "prod-1a", "state": "available"})).unwrap();
        let dep: Deployment = serde_json::from_value(json!({"status": "success", "user": {"username": "d"},
            "deployable": {"ref": "main", "commit": {"id": "c"}}}))
        .unwrap();
        let found = environment_set(env, dep);
        let expected =
            json!({"id": "9", "sha": "c", "branch": "main", "title": "prod", "slug": "prod-1a", "author": "d"});
        assert_eq!(Value::Object(found.set), expected);
    }
}
