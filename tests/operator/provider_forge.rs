//! SPEC-resourceset §14.21: the Git forge providers against an in-process fake forge
//! ([`FakeForge`]) on loopback: paging, tokens, filters, semver, limit, skip labels, GitLab
//! slugs and environments, Gitea's version call, and the Stalled and failed paths.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use flux_operator_rs::api::ResourceSetInputProvider;
use flux_operator_rs::resourceset::template::ids::adler32;

use crate::common::FIELD_MANAGER;
use crate::forge_fake::FakeForge;
use crate::harness::{find_condition, wait_for};
use crate::rset_bed::*;

const GITHUB_PULLS: &str = "/api/v3/repos/o/r/pulls";
const GITLAB_PROJECT: &str = "/api/v4/projects/group%2Fapp";

fn pull(number: u64, branch: &str, sha: &str, labels: &[&str]) -> Value {
    let labels: Vec<Value> = labels.iter().map(|l| json!({"name": l, "color": "fff"})).collect();
    json!({"number": number, "title": format!("PR {number}"), "user": {"login": "dev"},
        "head": {"ref": branch, "sha": sha}, "labels": labels, "state": "open"})
}

/// Refs named `names`, with the commit under `key` (`sha` or `id`) = `c-<name>`.
fn refs(names: &[&str], key: &str) -> Value {
    names
        .iter()
        .map(|n| json!({"name": n, "commit": {key: format!("c-{n}")}}))
        .collect()
}

fn id(name: &str) -> String {
    adler32(name.as_bytes()).to_string()
}

async fn token_secret(client: &kube::Client, ns: &str, name: &str, token: &str) {
    let secret: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "stringData": {"username": "git", "password": format!(" {token}\n")}}))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&secret))
        .await
        .expect("apply Secret");
}

/// A GitHub App Secret with a fresh RSA key (from the openssl command).
async fn app_secret(client: &kube::Client, ns: &str, name: &str, id: u64, owner: &str) {
    let out = std::process::Command::new("openssl")
        .args(["genrsa", "2048"])
        .output()
        .expect("openssl");
    let key = String::from_utf8(out.stdout).expect("PEM");
    let secret: Secret = serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "stringData": {"githubAppID": id.to_string(), "githubAppPrivateKey": key,
            "githubAppInstallationOwner": owner}}))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&secret))
        .await
        .expect("apply Secret");
}

fn condition(p: &ResourceSetInputProvider, type_: &str) -> Option<(String, String, String)> {
    find_condition(&p.status.as_ref()?.conditions, type_)
}

fn exported(p: &ResourceSetInputProvider) -> Value {
    serde_json::to_value(p.status.as_ref().map(|s| s.exported_inputs.clone()).unwrap_or_default()).unwrap()
}

/// Waits until the provider is Ready for its generation and exports `expected`.
async fn wait_exported(bed: &Bed, name: &str, expected: Value) {
    let api: Api<ResourceSetInputProvider> = Api::namespaced(bed.client.clone(), &bed.ns);
    let what = format!("{name} Ready, exporting {expected}");
    wait_for(&api, name, 60, &what, |p| {
        let ready = condition(p, "Ready").is_some_and(|c| c.0 == "True");
        ready && exported(p) == expected
    })
    .await;
}

/// Waits until the provider's condition `type_` is True (Stalled) or False (Ready) with
/// `reason`; returns its message.
async fn wait_condition(bed: &Bed, name: &str, type_: &str, status: &str, reason: &str) -> String {
    let api: Api<ResourceSetInputProvider> = Api::namespaced(bed.client.clone(), &bed.ns);
    let what = format!("{name} {type_}={status} {reason}");
    let p = wait_for(&api, name, 60, &what, |p| {
        condition(p, type_).is_some_and(|c| c.0 == status && c.1 == reason)
    })
    .await;
    condition(&p, type_).map(|c| c.2).unwrap_or_default()
}

async fn request_reconcile(bed: &Bed, name: &str, at: &str) {
    let api: Api<ResourceSetInputProvider> = Api::namespaced(bed.client.clone(), &bed.ns);
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": at}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("requestedAt");
    wait_for(&api, name, 30, "requestedAt handled", |p| {
        p.status.as_ref().and_then(|s| s.last_handled_reconcile_at.as_deref()) == Some(at)
    })
    .await;
}

/// §14.21 on GitHub: pull requests by labels and branch over two `Link` pages, the highest
/// semver tag, the filter-slot warning, a set rendering the exported inputs, a skip label
/// freezing a pull request, a GitHub App, and failures.
#[tokio::test]
async fn provider_forge_s21_github() {
    let bed = Bed::start("pf-github").await;
    let forge = FakeForge::start().await;
    forge.require("/api/v3", "Authorization", "Bearer tok");
    token_secret(&bed.client, &bed.ns, "gh", "tok").await;
    forge.set(
        GITHUB_PULLS,
        json!([
            pull(1, "feat-a", "a1", &["deploy"]),
            pull(2, "fix-b", "b1", &["deploy"]),
            pull(3, "feat-c", "c1", &[]),
            pull(4, "feat-d", "d1", &["deploy", "preview"])
        ]),
    );
    forge.set(
        "/api/v3/repos/o/r/tags",
        refs(&["v0.9.0", "v1.0.0", "v1.10.0", "v1.2.0", "latest"], "sha"),
    );
    forge.set("/api/v3/repos/o/r/branches", refs(&["dev", "main"], "sha"));
    let url = format!("{}/o/r", forge.base);
    github_filters(&bed, &forge, &url).await;
    github_skip_freezes(&bed, &forge).await;
    github_app(&bed, &forge, &url).await;
    github_failures(&bed, &forge, &url).await;
}

fn exported_pr(n: u64, branch: &str, sha: &str, labels: &[&str]) -> Value {
    json!({"id": n.to_string(), "sha": sha, "branch": branch, "title": format!("PR {n}"), "author": "dev",
        "labels": labels})
}

async fn github_filters(bed: &Bed, forge: &FakeForge, url: &str) {
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let prs = json!({"type": "GitHubPullRequest", "url": url, "secretRef": {"name": "gh"},
        "filter": {"labels": ["deploy"], "includeBranch": "^feat-"}, "skip": {"labels": ["hold"]}});
    apply_provider(client, ns, "prs", json!({}), prs).await;
    let tags = json!({"type": "GitHubTag", "url": url, "secretRef": {"name": "gh"},
        "filter": {"semver": ">=1.0.0", "limit": 1}});
    apply_provider(client, ns, "tags", json!({}), tags).await;
    let branches = json!({"type": "GitHubBranch", "url": url, "secretRef": {"name": "gh"},
        "filter": {"includeTag": "^main$"}});
    apply_provider(client, ns, "branches", json!({}), branches).await;
    let first = json!([
        exported_pr(1, "feat-a", "a1", &["deploy"]),
        exported_pr(4, "feat-d", "d1", &["deploy", "preview"])
    ]);
    wait_exported(bed, "prs", first).await;
    let highest = json!([{"id": id("v1.10.0"), "sha": "c-v1.10.0", "tag": "v1.10.0"}]);
    wait_exported(bed, "tags", highest).await;
    let main = json!([{"id": id("main"), "sha": "c-main", "branch": "main"}]);
    wait_exported(bed, "branches", main).await;
    let requests = forge.requests();
    let paged = requests
        .iter()
        .any(|r| r.starts_with(GITHUB_PULLS) && r.contains("page=2"));
    assert!(paged, "{requests:?}");
    assert!(requests.iter().all(|r| r.contains("per_page=100")), "{requests:?}");
    let warnings = events(client, ns, "ResourceSetInputProvider", "AmbiguousFilter").await;
    let note = warnings.first().and_then(|e| e.note.clone()).unwrap_or_default();
    let start = "spec.filter.includeTag is applied to branch names as upstream does";
    says(&note, start, &[]);

    // A set renders one ConfigMap per pull request.
    let template = cm(ns, "pr-<< inputs.id >>", json!({"sha": "<< inputs.sha >>"}));
    let set = json!({"inputsFrom": [{"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
        "name": "prs"}], "resources": [template]});
    apply_set(client, ns, "previews", set, json!({})).await;
    wait_config_maps(client, ns, 60, "one ConfigMap per pull request", &["pr-1", "pr-4"]).await;
}

/// A push to two pull requests; #1 is put on hold, so it keeps what it exported; a new
/// held one is left out.
async fn github_skip_freezes(bed: &Bed, forge: &FakeForge) {
    forge.set(
        GITHUB_PULLS,
        json!([
            pull(1, "feat-a", "a2", &["deploy", "hold"]),
            pull(4, "feat-d", "d2", &["deploy", "preview"]),
            pull(5, "feat-e", "e1", &["deploy", "hold"])
        ]),
    );
    request_reconcile(bed, "prs", "push").await;
    let frozen = json!([
        exported_pr(1, "feat-a", "a1", &["deploy"]),
        exported_pr(4, "feat-d", "d2", &["deploy", "preview"])
    ]);
    wait_exported(bed, "prs", frozen).await;
}

/// A GitHub App found by its owner buys the token the repository wants.
async fn github_app(bed: &Bed, forge: &FakeForge, url: &str) {
    forge.app(77, 9, "o", "tok");
    app_secret(&bed.client, &bed.ns, "app", 77, "o").await;
    let by_app = json!({"type": "GitHubTag", "url": url, "secretRef": {"name": "app"}, "filter": {"limit": 1}});
    apply_provider(&bed.client, &bed.ns, "app-tags", json!({}), by_app).await;
    let last_by_name = json!([{"id": id("v1.2.0"), "sha": "c-v1.2.0", "tag": "v1.2.0"}]);
    wait_exported(bed, "app-tags", last_by_name).await;
    let requests = forge.requests();
    let bought = requests
        .iter()
        .any(|r| r.starts_with("/api/v3/app/installations/9/access_tokens"));
    assert!(bought, "{requests:?}");
}

/// A server error and a missing token are ReconciliationFailed, naming the cause.
async fn github_failures(bed: &Bed, forge: &FakeForge, url: &str) {
    forge.break_path("/api/v3/repos/o/r/tags");
    request_reconcile(bed, "tags", "broken").await;
    let message = wait_condition(bed, "tags", "Ready", "False", "ReconciliationFailed").await;
    let start = "GitHubTag provider failed: listing tags: GET http://";
    says(&message, start, &["HTTP 500: boom"]);
    let anonymous = json!({"type": "GitHubBranch", "url": url});
    apply_provider(&bed.client, &bed.ns, "anonymous", json!({}), anonymous).await;
    let message = wait_condition(bed, "anonymous", "Ready", "False", "ReconciliationFailed").await;
    says(&message, "GitHubBranch provider failed", &["HTTP 401: Bad credentials"]);
}

const TAGS: [&str; 4] = ["v1.0.0", "v2.0.0-rc.1", "v1.1.0", "v0.1.0"];
const BRANCHES: [&str; 4] = ["main", "Feature/Login", "dev", "feature/x"];

/// §14.21 on GitLab and Gitea: tags and branches with slugs over `X-Next-Page`, merge
/// requests filtered by the server, an environment's deployment, Gitea's `/version` and
/// token header, and a bad regex Stalled.
#[tokio::test]
async fn provider_forge_s21_gitlab_and_gitea() {
    let bed = Bed::start("pf-gitlab").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let forge = FakeForge::start().await;
    forge.require("/api/v4", "PRIVATE-TOKEN", "gl-tok");
    forge.require("/api/v1", "Authorization", "token gt-tok");
    token_secret(client, ns, "gl", "gl-tok").await;
    token_secret(client, ns, "gt", "gt-tok").await;
    serve_gitlab(&forge);
    forge.set("/api/v1/repos/o/r/tags", refs(&TAGS, "sha"));
    forge.set("/api/v1/repos/o/r/branches", refs(&BRANCHES, "id"));
    let gitlab = format!("{}/group/app", forge.base);
    let gitea = format!("{}/o/r", forge.base);
    let semver = json!({"semver": ">=1.0.0", "limit": 1});
    let features = json!({"includeBranch": "(?i)^feature/"});
    let deploy = json!({"labels": ["deploy"]});
    for (name, spec) in [
        ("gl-tags", provider("GitLabTag", &gitlab, "gl", semver.clone())),
        ("gl-branches", provider("GitLabBranch", &gitlab, "gl", features.clone())),
        ("gl-mrs", provider("GitLabMergeRequest", &gitlab, "gl", deploy)),
        ("gl-envs", provider("GitLabEnvironment", &gitlab, "gl", json!({}))),
        ("gt-tags", provider("GiteaTag", &gitea, "gt", semver)),
        ("gt-branches", provider("GiteaBranch", &gitea, "gt", features)),
    ] {
        apply_provider(client, ns, name, json!({}), spec).await;
    }
    gitlab_and_gitea_exports(&bed).await;
    gitlab_and_gitea_requests(&forge);

    let bad = provider("GitLabBranch", &gitlab, "gl", json!({"includeBranch": "(unclosed"}));
    apply_provider(client, ns, "bad", json!({}), bad).await;
    let message = wait_condition(&bed, "bad", "Stalled", "True", "InvalidSpec").await;
    let start = "spec.filter.includeBranch: invalid regular expression \"(unclosed\"";
    says(&message, start, &[]);
}

fn provider(type_: &str, url: &str, secret: &str, filter: Value) -> Value {
    json!({"type": type_, "url": url, "secretRef": {"name": secret}, "filter": filter})
}

/// The project `group/app`: tags, branches, two merge requests, an available environment
/// with a failed then a successful deployment, and a stopped one.
fn serve_gitlab(forge: &FakeForge) {
    forge.set(&format!("{GITLAB_PROJECT}/repository/tags"), refs(&TAGS, "id"));
    forge.set(&format!("{GITLAB_PROJECT}/repository/branches"), refs(&BRANCHES, "id"));
    forge.set(
        &format!("{GITLAB_PROJECT}/merge_requests"),
        json!([{"iid": 7, "id": 700, "sha": "m7", "source_branch": "Feature/Login", "title": "Login",
                "author": {"username": "ann"}, "labels": ["deploy"]},
            {"iid": 8, "id": 800, "sha": "m8", "source_branch": "dev", "title": "Dev", "author": {"username": "bob"},
                "labels": []}]),
    );
    forge.set(
        &format!("{GITLAB_PROJECT}/environments"),
        json!([{"id": 11, "name": "staging", "slug": "staging-x1", "state": "available"},
            {"id": 12, "name": "review/a", "slug": "review-a-y2", "state": "stopped"}]),
    );
    forge.set(
        &format!("{GITLAB_PROJECT}/deployments"),
        json!([{"status": "failed", "environment": {"name": "staging"}, "user": {"username": "x"},
                "deployable": {"ref": "broken", "commit": {"id": "f0"}}},
            {"status": "success", "environment": {"name": "staging"}, "user": {"username": "ci"},
                "deployable": {"ref": "main", "commit": {"id": "s1"}}},
            {"status": "success", "environment": {"name": "review/a"}, "user": {"username": "ci"},
                "deployable": {"ref": "feature/x", "commit": {"id": "r1"}}}]),
    );
}

async fn gitlab_and_gitea_exports(bed: &Bed) {
    let tag = json!({"id": id("v1.1.0"), "sha": "c-v1.1.0", "tag": "v1.1.0"});
    let mut slugged = tag.clone();
    slugged["slug"] = json!("v1-1-0");
    wait_exported(bed, "gl-tags", json!([slugged])).await;
    wait_exported(bed, "gt-tags", json!([tag])).await;
    let plain = |name: &str| json!({"id": id(name), "sha": format!("c-{name}"), "branch": name});
    let slugged = |name: &str, slug: &str| {
        let mut set = plain(name);
        set["slug"] = json!(slug);
        set
    };
    let gl_branches = json!([
        slugged("Feature/Login", "feature-login"),
        slugged("feature/x", "feature-x")
    ]);
    wait_exported(bed, "gl-branches", gl_branches).await;
    wait_exported(bed, "gt-branches", json!([plain("Feature/Login"), plain("feature/x")])).await;
    let mr = json!({"id": "7", "sha": "m7", "branch": "Feature/Login", "slug": "feature-login", "title": "Login",
        "author": "ann", "labels": ["deploy"]});
    wait_exported(bed, "gl-mrs", json!([mr])).await;
    let staging = json!({"id": "11", "sha": "s1", "branch": "main", "title": "staging", "slug": "staging-x1",
        "author": "ci"});
    wait_exported(bed, "gl-envs", json!([staging])).await;
}

fn gitlab_and_gitea_requests(forge: &FakeForge) {
    let requests = forge.requests();
    let sent = |parts: &[&str]| requests.iter().any(|r| parts.iter().all(|p| r.contains(p)));
    let tags = format!("{GITLAB_PROJECT}/repository/tags?");
    assert!(
        sent(&[&tags, "page=2", "per_page=100"]),
        "X-Next-Page followed: {requests:?}"
    );
    let regex = "regex=%28%3Fi%29%5Efeature%2F";
    assert!(
        sent(&["/repository/branches?", regex]),
        "the branch regex sent: {requests:?}"
    );
    assert!(
        sent(&["/merge_requests?", "labels=deploy", "state=opened"]),
        "{requests:?}"
    );
    let deployments = "environment=staging&order_by=created_at&sort=desc";
    assert!(sent(&["/deployments?", deployments]), "{requests:?}");
    assert!(sent(&["/api/v1/version?"]), "Gitea's version asked: {requests:?}");
    assert!(
        sent(&["/api/v1/repos/o/r/tags?", "limit=100", "page=2"]),
        "Gitea paged: {requests:?}"
    );
}
