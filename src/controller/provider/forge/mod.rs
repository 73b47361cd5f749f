//! The Git forge types (SPEC-resourceset §12.3): branches, tags and change requests of
//! GitHub, GitLab and Gitea, and GitLab environments. Each forge module lists what its API
//! says in a common shape ([`Ref`], [`Change`]); this module filters them
//! ([`provider_filter`]), builds the input sets and applies `skip.labels`.

pub(super) mod auth;
mod github;
mod github_app;
mod gitlab;
pub mod http;
mod repo;

use serde_json::Value;

use crate::api::{InputSet, ProviderType};
use crate::resourceset::provider_filter::{self, Found, Selection, SkipRules, Slot};
use crate::resourceset::template::ids::adler32;

use super::fetch::{Call, FetchError, Invalid};
use auth::Credential;
use http::{ForgeError, Http};
pub use repo::Repo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forge {
    GitHub,
    GitLab,
    Gitea,
}

/// What a type lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Branch,
    Tag,
    /// Pull or merge requests.
    Change,
    Environment,
}

/// The forge and kind of a type this module serves.
pub fn classify(type_: ProviderType) -> Option<(Forge, Kind)> {
    use ProviderType::*;
    let pair = match type_ {
        GitHubBranch => (Forge::GitHub, Kind::Branch),
        GitHubTag => (Forge::GitHub, Kind::Tag),
        GitHubPullRequest => (Forge::GitHub, Kind::Change),
        GitLabBranch => (Forge::GitLab, Kind::Branch),
        GitLabTag => (Forge::GitLab, Kind::Tag),
        GitLabMergeRequest => (Forge::GitLab, Kind::Change),
        GitLabEnvironment => (Forge::GitLab, Kind::Environment),
        GiteaBranch => (Forge::Gitea, Kind::Branch),
        GiteaTag => (Forge::Gitea, Kind::Tag),
        GiteaPullRequest => (Forge::Gitea, Kind::Change),
        _ => return None,
    };
    Some(pair)
}

/// A branch or a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub name: String,
    pub sha: String,
}

/// A pull or merge request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The number (GitLab: `iid`).
    pub id: u64,
    pub sha: String,
    pub branch: String,
    pub title: String,
    pub author: String,
    pub labels: Vec<String>,
}

/// The filter fields read unlike upstream (§15), for a Warning event; empty for other
/// types and for filters that do not compile (those are Stalled by [`fetch`]).
pub fn filter_notes(type_: ProviderType, filter: Option<&crate::api::Filter>) -> Vec<String> {
    let slot = classify(type_).and_then(|_| Slot::of(type_));
    slot.and_then(|slot| Selection::compile(filter, slot).ok())
        .map(|(_, notes)| notes)
        .unwrap_or_default()
}

/// The input sets of a forge provider, before `defaultValues`.
pub async fn fetch(call: &Call<'_>) -> Result<Vec<InputSet>, FetchError> {
    let spec = call.spec();
    let Some(((forge, kind), slot)) = classify(spec.type_).zip(Slot::of(spec.type_)) else {
        return Err(Invalid::Unsupported(super::fetch::type_name(spec.type_)).into());
    };
    let (selection, _) = Selection::compile(spec.filter.as_ref(), slot).map_err(|e| Invalid::Field {
        field: e.field,
        why: e.why,
    })?;
    let repo = Repo::parse(forge, spec.url.as_deref().unwrap_or_default())?;
    let failed = |e: ForgeError| FetchError::failed(what(kind), e);
    let credential = auth::credential(call, forge == Forge::GitHub).await.map_err(failed)?;
    let pem = auth::tls_pem(call).await.map_err(failed)?;
    let token = match credential {
        Credential::Anonymous => None,
        Credential::Token(token) => Some(token),
        Credential::GitHubApp(app) => {
            let tls = auth::tls(&pem).map_err(failed)?;
            Some(app.token(&repo.root, tls, call.timeout).await.map_err(failed)?)
        }
    };
    let auth = token.map(|t| repo.auth_header(&t));
    let tls = auth::tls(&pem).map_err(failed)?;
    let http = Http::new(repo.root.clone(), auth, tls, call.timeout).map_err(failed)?;
    let found = list(&http, &repo, kind, &selection).await.map_err(failed)?;
    let rules = SkipRules::new(spec.skip.as_ref());
    let previous = call
        .obj
        .status
        .as_ref()
        .map(|s| s.exported_inputs.as_slice())
        .unwrap_or_default();
    Ok(provider_filter::freeze(found, &rules, previous))
}

fn what(kind: Kind) -> &'static str {
    match kind {
        Kind::Branch => "listing branches",
        Kind::Tag => "listing tags",
        Kind::Change => "listing change requests",
        Kind::Environment => "listing environments",
    }
}

async fn list(http: &Http, repo: &Repo, kind: Kind, selection: &Selection) -> Result<Vec<Found>, ForgeError> {
    let slug = repo.forge == Forge::GitLab;
    let found = match (repo.forge, kind) {
        (Forge::GitLab, Kind::Environment) => gitlab::environments(http, repo, selection).await?,
        (_, Kind::Change) => {
            let changes = match repo.forge {
                Forge::GitLab => gitlab::merge_requests(http, repo, selection).await?,
                _ => github::pulls(http, repo).await?,
            };
            // GitLab filters by labels itself, by its own matching rules.
            let server_side = repo.forge == Forge::GitLab;
            let labelled = changes
                .into_iter()
                .filter(|c| server_side || selection.has_labels(&c.labels));
            let kept = selection.first(labelled, |c| c.branch.as_str());
            kept.into_iter().map(|c| change_set(c, slug)).collect()
        }
        (_, Kind::Branch | Kind::Tag) => {
            let tags = kind == Kind::Tag;
            let refs = match repo.forge {
                Forge::GitLab => gitlab::refs(http, repo, tags, selection).await?,
                _ => github::refs(http, repo, tags).await?,
            };
            let kept = if tags {
                selection.tags(refs, |r| r.name.as_str())
            } else {
                selection.first(refs, |r| r.name.as_str())
            };
            kept.into_iter().map(|r| ref_set(r, tags, slug)).collect()
        }
        (_, Kind::Environment) => Vec::new(),
    };
    Ok(found)
}

fn ref_set(r: Ref, tag: bool, slug: bool) -> Found {
    let mut set = InputSet::new();
    set.insert("id".into(), adler32(r.name.as_bytes()).to_string().into());
    set.insert("sha".into(), r.sha.into());
    if slug {
        set.insert("slug".into(), gitlab::slug(&r.name).into());
    }
    set.insert(if tag { "tag" } else { "branch" }.into(), r.name.into());
    Found {
        set,
        labels: Vec::new(),
    }
}

fn change_set(c: Change, slug: bool) -> Found {
    let mut set = InputSet::new();
    set.insert("id".into(), c.id.to_string().into());
    set.insert("sha".into(), c.sha.into());
    if slug {
        set.insert("slug".into(), gitlab::slug(&c.branch).into());
    }
    set.insert("branch".into(), c.branch.into());
    set.insert("title".into(), c.title.into());
    set.insert("author".into(), c.author.into());
    if !c.labels.is_empty() {
        let labels = c.labels.iter().cloned().map(Value::String).collect();
        set.insert("labels".into(), Value::Array(labels));
    }
    Found { set, labels: c.labels }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn change_sets_carry_labels_only_when_present() {
        let change = Change {
            id: 7,
            sha: "abc".into(),
            branch: "Feat/X".into(),
            title: "t".into(),
            author: "me".into(),
            labels: vec!["deploy".into()],
        };
        let found = change_set(change.clone(), true);
        let expected = json!({"id": "7", "sha": "abc", "slug": "feat-x", "branch": "Feat/X", "title": "t",
            "author": "me", "labels": ["deploy"]});
        assert_eq!(Value::Object(found.set), expected);
        assert_eq!(found.labels, ["deploy"]);
        let bare = change_set(
            Change {
                labels: vec![],
                ..change
            },
            false,
        );
        assert!(!bare.set.contains_key("labels") && !bare.set.contains_key("slug"));
    }

    #[test]
    fn ref_sets_are_keyed_by_the_adler32_of_the_name() {
        let found = ref_set(
            Ref {
                name: "main".into(),
                sha: "s".into(),
            },
            false,
            false,
        );
        assert_eq!(
            Value::Object(found.set),
            json!({"id": "68878758", "sha": "s", "branch": "main"})
        );
        let tag = ref_set(
            Ref {
                name: "v1.0.0".into(),
                sha: "s".into(),
            },
            true,
            true,
        );
        assert_eq!(tag.set["tag"], "v1.0.0");
        assert_eq!(tag.set["slug"], "v1-0-0");
    }

    #[test]
    fn notes_are_given_for_the_forge_types_only() {
        let filter: crate::api::Filter = serde_json::from_value(json!({"includeTag": "^v"})).unwrap();
        assert_eq!(filter_notes(ProviderType::GitHubBranch, Some(&filter)).len(), 1);
        assert!(filter_notes(ProviderType::GitHubTag, Some(&filter)).is_empty());
        assert!(filter_notes(ProviderType::Static, Some(&filter)).is_empty());
    }
}
