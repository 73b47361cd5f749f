//! `spec.distribution.artifact`: the operator pulls Flux releases from a real registry on
//! 127.0.0.1 (Debian's docker-registry), upgrades when the poller sees a new digest, and on
//! every registry or artifact fault reports ArtifactFailed and keeps the last good state.

#[path = "../oci_registry/mod.rs"]
pub mod oci_registry;
#[path = "../oci_registry/fixtures.rs"]
mod registry_fixtures;

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use flux_operator_rs::api::FluxInstance;
use flux_operator_rs::distribution::artifact::{self, ArtifactRef, Credentials, Pushed, Transport};

use crate::common::{FIELD_MANAGER, client, install_crds, namespace};
use crate::harness::*;
use oci_registry::{Options, Registry, shared_distribution};
use registry_fixtures::{copy_tree, distribution_without};

const POLL_EVERY: &str = "fluxcd.controlplane.io/reconcileArtifactEvery";

async fn setup(prefix: &str) -> (Client, String) {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, prefix).await;
    (client, ns)
}

/// Pushes a folder (or the layer given) with the library, as `distribution push` does.
async fn push(registry: &Registry, dir: &Path, repository_and_tag: &str, credentials: &Credentials) -> Pushed {
    let reference = ArtifactRef::parse("test", &registry.oci(repository_and_tag)).expect("reference");
    artifact::push_dir(&transport(registry), &reference, credentials, dir)
        .await
        .unwrap_or_else(|e| panic!("push {repository_and_tag}: {e}"))
}

fn transport(registry: &Registry) -> Transport {
    let transport = Transport::default();
    match registry.ca_file() {
        Some(ca) => transport.with_ca_file("test", &ca).expect("CA"),
        None => transport.with_plain_http([registry.host()]),
    }
}

fn spec(version: &str, artifact: &str, pull_secret: Option<&str>) -> Value {
    let mut distribution = json!({"version": version, "registry": "ghcr.io/fluxcd", "artifact": artifact});
    if let Some(secret) = pull_secret {
        distribution["artifactPullSecret"] = json!(secret);
    }
    json!({"distribution": distribution})
}

fn status_field(
    obj: &FluxInstance,
    f: impl Fn(&flux_operator_rs::api::FluxInstanceStatus) -> Option<String>,
) -> String {
    obj.status.as_ref().and_then(f).unwrap_or_default()
}

fn artifact_revision(obj: &FluxInstance) -> String {
    status_field(obj, |s| s.last_artifact_revision.clone())
}

fn applied_revision(obj: &FluxInstance) -> String {
    status_field(obj, |s| s.last_applied_revision.clone())
}

/// Waits for Ready at `version` built from the artifact `digest`.
async fn wait_ready_from(client: &Client, ns: &str, version: &str, digest: &str) -> FluxInstance {
    let prefix = format!("{version}@sha256:");
    wait_instance(client, ns, 120, &format!("Ready at {version} from {digest}"), |o| {
        is_ready_at(o, &prefix) && artifact_revision(o) == digest
    })
    .await
}

/// (name, generation, image, version label) of every Deployment: what "unchanged" means.
async fn deployments(client: &Client, ns: &str) -> BTreeMap<String, (Option<i64>, String, String)> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
    api.list(&ListParams::default())
        .await
        .expect("list Deployments")
        .items
        .into_iter()
        .map(|d| {
            let image = d
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .and_then(|p| p.containers.first())
                .and_then(|c| c.image.clone())
                .unwrap_or_default();
            let version = d.labels().get("app.kubernetes.io/version").cloned().unwrap_or_default();
            (d.name_any(), (d.metadata.generation, image, version))
        })
        .collect()
}

/// Waits for ArtifactFailed with every needle in the message, then checks that the last
/// good state is kept: revisions, Deployments, and a Warning event.
async fn assert_artifact_failed_keeping(client: &Client, ns: &str, good: &FluxInstance, needles: &[&str]) {
    let before = deployments(client, ns).await;
    assert!(!before.is_empty(), "no Deployments installed");
    let failed = wait_instance(client, ns, 90, &format!("ArtifactFailed with {needles:?}"), |o| {
        condition(o, "Ready")
            .is_some_and(|(s, r, m)| s == "False" && r == "ArtifactFailed" && needles.iter().all(|n| m.contains(n)))
    })
    .await;
    let (status, reason, message) = condition(&failed, "Reconciling").expect("Reconciling condition");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("True", "ProgressingWithRetry"),
        "{message}"
    );
    assert!(
        condition(&failed, "Stalled").is_none(),
        "a registry fault is retried, not stalled"
    );
    assert_eq!(
        applied_revision(&failed),
        applied_revision(good),
        "lastAppliedRevision kept"
    );
    assert_eq!(
        artifact_revision(&failed),
        artifact_revision(good),
        "lastArtifactRevision kept"
    );
    assert_eq!(
        failed.status.as_ref().map(|s| s.components.clone()),
        good.status.as_ref().map(|s| s.components.clone())
    );
    assert_eq!(deployments(client, ns).await, before, "Deployments unchanged");
    let events: Api<Event> = Api::namespaced(client.clone(), ns);
    let warned = events
        .list(&ListParams::default())
        .await
        .expect("list events")
        .items
        .iter()
        .any(|e| e.reason.as_deref() == Some("ArtifactFailed") && e.type_.as_deref() == Some("Warning"));
    assert!(warned, "no Warning event ArtifactFailed");
}

async fn request_reconcile(client: &Client, ns: &str, value: &str) {
    let api: Api<FluxInstance> = Api::namespaced(client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": value}}});
    api.patch("flux", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate");
}

async fn docker_config_secret(client: &Client, ns: &str, name: &str, json: &str) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": json},
    }))
    .expect("secret");
    api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&secret))
        .await
        .expect("apply Secret");
}

/// A storage path with the shared data linked in, so the default artifact cache
/// (`<storage-path>/artifacts`) lands in a temporary folder, not in ../shared.
fn storage_with_cache() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in ["flux", "flux-images"] {
        std::os::unix::fs::symlink(shared_distribution().join(name), dir.path().join(name)).expect("symlink");
    }
    dir
}

/// A plain registry with the full distribution at `flux-manifests:v1`, an operator and a
/// kubelet, and the instance Ready from that artifact.
struct Installed {
    client: Client,
    ns: String,
    registry: Registry,
    good: FluxInstance,
    _cache: tempfile::TempDir,
    _operator: Operator,
    _kubelet: Kubelet,
}

async fn installed_from_artifact(prefix: &str) -> Installed {
    let (client, ns) = setup(prefix).await;
    let registry = Registry::start(Options::default());
    let pushed = push(
        &registry,
        &shared_distribution(),
        "flux-manifests:v1",
        &Credentials::Anonymous,
    )
    .await;
    let cache = tempfile::tempdir().expect("tempdir");
    let operator = start_operator(
        &ns,
        &[
            "--artifact-plain-http-registries=127.0.0.1",
            &format!("--artifact-cache-path={}", cache.path().display()),
        ],
    );
    let kubelet = start_kubelet(&client, &ns);
    apply_instance(
        &client,
        &ns,
        spec("2.x", &registry.oci("flux-manifests:v1"), None),
        json!({}),
    )
    .await;
    let good = wait_ready_from(&client, &ns, "v2.9.4", &pushed.digest).await;
    assert!(cache.path().join(pushed.digest.trim_start_matches("sha256:")).is_dir());
    Installed {
        client,
        ns,
        registry,
        good,
        _cache: cache,
        _operator: operator,
        _kubelet: kubelet,
    }
}

#[tokio::test]
async fn upgrade_on_poll_without_touching_the_instance() {
    let _serial = serial().await;
    let (client, ns) = setup("op-art-poll").await;
    let registry = Registry::start(Options::default());
    let storage = storage_with_cache();
    let _operator = start_operator(
        &ns,
        &[
            &format!("--storage-path={}", storage.path().display()),
            &format!("--artifact-plain-http-registries={}", registry.host()),
        ],
    );
    let _kubelet = start_kubelet(&client, &ns);
    let anonymous = Credentials::Anonymous;

    // A distribution without the newest release.
    let older = distribution_without(&["v2.9.4"]);
    let first = push(&registry, older.path(), "flux-manifests:latest", &anonymous).await;
    let reference = registry.oci("flux-manifests:latest");
    apply_instance(&client, &ns, spec("2.x", &reference, None), json!({POLL_EVERY: "2s"})).await;
    let installed = wait_ready_from(&client, &ns, "v2.9.3", &first.digest).await;
    let generation = installed.metadata.generation;
    let cached = storage
        .path()
        .join("artifacts")
        .join(first.digest.trim_start_matches("sha256:"));
    assert!(
        cached.join("flux/v2.9.3").is_dir(),
        "cached under <storage-path>/artifacts/<digest>"
    );

    // The full distribution on the same tag: the next poll upgrades, the instance untouched.
    let second = push(&registry, &shared_distribution(), "flux-manifests:latest", &anonymous).await;
    assert_ne!(second.digest, first.digest);
    let upgraded = wait_instance(&client, &ns, 90, "upgrade to v2.9.4 on the next poll", |o| {
        is_ready_at(o, "v2.9.4@sha256:") && artifact_revision(o) == second.digest
    })
    .await;
    assert_eq!(upgraded.metadata.generation, generation, "the instance was not touched");
    let history = &upgraded.status.as_ref().expect("status").history;
    assert_eq!(history[0].metadata["flux"], "v2.9.4");
    assert_eq!(history[1].metadata["flux"], "v2.9.3");
    let source = Api::<Deployment>::namespaced(client.clone(), &ns)
        .get("source-controller")
        .await
        .expect("source-controller");
    assert_eq!(source.labels()["app.kubernetes.io/version"], "v2.9.4");

    // A newer major.minor line in the artifact is not taken: this operator does not know
    // it. The digest is recorded, the applied revision stays.
    let newer = distribution_without(&[]);
    copy_tree(&newer.path().join("flux/v2.9.4"), &newer.path().join("flux/v2.10.0"));
    copy_tree(
        &newer.path().join("flux-images/v2.9.4"),
        &newer.path().join("flux-images/v2.10.0"),
    );
    let third = push(&registry, newer.path(), "flux-manifests:latest", &anonymous).await;
    let kept = wait_instance(&client, &ns, 60, "the v2.10 artifact polled", |o| {
        artifact_revision(o) == third.digest
    })
    .await;
    assert_eq!(applied_revision(&kept), applied_revision(&upgraded));
    assert!(is_ready_at(&kept, "v2.9.4@sha256:"));

    // An unchanged digest triggers nothing: the poller's HEAD requests go on, and no
    // reconcile GETs the manifest.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let (heads, gets) = (
        registry.requests("HEAD", "flux-manifests/manifests/"),
        registry.requests("GET", "flux-manifests/manifests/"),
    );
    tokio::time::sleep(std::time::Duration::from_secs(7)).await;
    let polls = registry.requests("HEAD", "flux-manifests/manifests/") - heads;
    assert!((2..=5).contains(&polls), "{polls} digest checks in 7s at 2s intervals");
    assert_eq!(
        registry.requests("GET", "flux-manifests/manifests/"),
        gets,
        "no reconcile pulled"
    );
}

#[tokio::test]
async fn wrong_credentials_keep_the_last_good_state() {
    let _serial = serial().await;
    let (client, ns) = setup("op-art-auth").await;
    // HTTPS with a private CA, and htpasswd users: the air-gapped mirror case.
    let registry = Registry::start(Options {
        users: vec![("flux".into(), "s3cret".into())],
        tls: true,
    });
    let ca = registry.ca_file().expect("CA");
    let good_creds = Credentials::Basic {
        username: "flux".into(),
        password: "s3cret".into(),
    };
    let pushed = push(
        &registry,
        &shared_distribution(),
        "mirror/flux-manifests:v1",
        &good_creds,
    )
    .await;
    let cache = tempfile::tempdir().expect("tempdir");
    let _operator = start_operator(
        &ns,
        &[
            &format!("--artifact-ca-file={}", ca.display()),
            &format!("--artifact-cache-path={}", cache.path().display()),
        ],
    );
    let _kubelet = start_kubelet(&client, &ns);
    docker_config_secret(&client, &ns, "registry-auth", &registry.docker_config("flux", "s3cret")).await;
    let reference = registry.oci("mirror/flux-manifests:v1");
    apply_instance(
        &client,
        &ns,
        spec("2.9.x", &reference, Some("registry-auth")),
        json!({}),
    )
    .await;
    let good = wait_ready_from(&client, &ns, "v2.9.4", &pushed.digest).await;

    // The Secret changes to a wrong password; a requested reconcile finds out.
    docker_config_secret(
        &client,
        &ns,
        "registry-auth",
        &registry.docker_config("flux", "wrong-pw"),
    )
    .await;
    request_reconcile(&client, &ns, "wrong-credentials").await;
    assert_artifact_failed_keeping(
        &client,
        &ns,
        &good,
        &["spec.distribution.artifact", &reference, "refused the credentials"],
    )
    .await;
    let failed = Api::<FluxInstance>::namespaced(client.clone(), &ns)
        .get("flux")
        .await
        .expect("get");
    let (_, _, message) = condition(&failed, "Ready").expect("Ready");
    assert!(
        !message.contains("wrong-pw") && !message.contains("s3cret"),
        "{message}"
    );

    // A Secret that does not exist is named in the message.
    apply_instance(&client, &ns, spec("2.9.x", &reference, Some("missing")), json!({})).await;
    assert_artifact_failed_keeping(
        &client,
        &ns,
        &good,
        &["spec.distribution.artifactPullSecret", "\"missing\"", "not found"],
    )
    .await;

    // Good credentials again: Ready, and the same artifact comes from the cache.
    docker_config_secret(&client, &ns, "registry-auth", &registry.docker_config("flux", "s3cret")).await;
    apply_instance(
        &client,
        &ns,
        spec("2.9.x", &reference, Some("registry-auth")),
        json!({}),
    )
    .await;
    wait_instance(&client, &ns, 90, "Ready again", |o| {
        condition(o, "Ready").is_some_and(|(s, _, _)| s == "True") && ready_generation(o) == o.metadata.generation
    })
    .await;
}

#[tokio::test]
async fn missing_tag_keeps_the_last_good_state() {
    let _serial = serial().await;
    let s = installed_from_artifact("op-art-tag").await;
    let missing = s.registry.oci("flux-manifests:missing");
    apply_instance(&s.client, &s.ns, spec("2.x", &missing, None), json!({})).await;
    assert_artifact_failed_keeping(
        &s.client,
        &s.ns,
        &s.good,
        &["spec.distribution.artifact", &missing, "tag \"missing\" not found"],
    )
    .await;
}

#[tokio::test]
async fn corrupt_layer_keeps_the_last_good_state() {
    let _serial = serial().await;
    let s = installed_from_artifact("op-art-corrupt").await;
    // The instance follows :latest, polled every 2s.
    let latest = s.registry.oci("flux-manifests:latest");
    let good = push(
        &s.registry,
        &shared_distribution(),
        "flux-manifests:latest",
        &Credentials::Anonymous,
    )
    .await;
    apply_instance(&s.client, &s.ns, spec("2.x", &latest, None), json!({POLL_EVERY: "2s"})).await;
    let good_state = wait_ready_from(&s.client, &s.ns, "v2.9.4", &good.digest).await;

    // A new artifact whose layer is damaged in the registry's storage is staged under
    // another tag, then :latest is pointed at it (manifest only), as a broken mirror sync
    // would: the registry serves bytes that do not match the layer digest.
    let older = distribution_without(&["v2.9.4"]);
    let staged = push(
        &s.registry,
        older.path(),
        "flux-manifests:staging",
        &Credentials::Anonymous,
    )
    .await;
    s.registry.corrupt_blob(&staged.layer_digest);
    retag(&s.registry, "flux-manifests", "staging", "latest").await;
    assert_artifact_failed_keeping(
        &s.client,
        &s.ns,
        &good_state,
        &[
            "spec.distribution.artifact",
            &latest,
            "corrupt layer",
            &staged.layer_digest,
        ],
    )
    .await;
}

/// Points `to` at the manifest of `from`, without touching blobs.
async fn retag(registry: &Registry, repository: &str, from: &str, to: &str) {
    use oci_client::client::{ClientConfig, ClientProtocol};
    use oci_client::manifest::OCI_IMAGE_MEDIA_TYPE;
    use oci_client::secrets::RegistryAuth;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = oci_client::Client::new(ClientConfig {
        protocol: ClientProtocol::Http,
        ..ClientConfig::default()
    });
    let reference = |tag: &str| oci_client::Reference::with_tag(registry.host(), repository.to_owned(), tag.to_owned());
    let (manifest, _) = client
        .pull_manifest_raw(&reference(from), &RegistryAuth::Anonymous, &[OCI_IMAGE_MEDIA_TYPE])
        .await
        .expect("pull manifest");
    client
        .push_manifest_raw(
            &reference(to),
            manifest,
            http::HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE),
        )
        .await
        .expect("push manifest");
}

#[tokio::test]
async fn unreachable_registry_keeps_the_last_good_state() {
    let _serial = serial().await;
    let s = installed_from_artifact("op-art-down").await;
    let reference = s.registry.oci("flux-manifests:v1");
    // The registry goes away (its port closes); a requested reconcile finds out.
    let Installed {
        client,
        ns,
        registry,
        good,
        _cache,
        _operator,
        _kubelet,
    } = s;
    drop(registry);
    request_reconcile(&client, &ns, "registry-down").await;
    assert_artifact_failed_keeping(
        &client,
        &ns,
        &good,
        &[
            "spec.distribution.artifact",
            &reference,
            "registry unreachable",
            "Connection refused",
        ],
    )
    .await;
}

#[tokio::test]
async fn artifact_without_the_distribution_layout_keeps_the_last_good_state() {
    let _serial = serial().await;
    let s = installed_from_artifact("op-art-layout").await;
    // A valid Flux artifact of some other content: manifests, no flux/vX.Y.Z folders.
    let other = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(other.path().join("apps")).expect("mkdir");
    std::fs::write(other.path().join("apps/podinfo.yaml"), "kind: Namespace\n").expect("write");
    let layer = tar_gz(other.path());
    let reference = s.registry.oci("flux-manifests:not-a-distribution");
    let parsed = ArtifactRef::parse("test", &reference).expect("reference");
    artifact::push_layer(&transport(&s.registry), &parsed, &Credentials::Anonymous, layer)
        .await
        .expect("push");
    apply_instance(&s.client, &s.ns, spec("2.x", &reference, None), json!({})).await;
    assert_artifact_failed_keeping(
        &s.client,
        &s.ns,
        &s.good,
        &[
            "spec.distribution.artifact",
            &reference,
            "not a Flux distribution artifact",
            "no flux/ folder",
        ],
    )
    .await;
}

/// tar+gzip of a folder that is not a distribution (`pack` refuses those).
fn tar_gz(dir: &Path) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    builder.append_dir_all(".", dir).expect("append");
    builder.into_inner().expect("tar").finish().expect("gzip")
}
