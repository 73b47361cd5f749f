//! The sync source and Kustomization of an instance: no Flux controller runs on the test bed,
//! so they never become ready by themselves. A case either lets the health check time out
//! (a short `reconcileTimeout`) or has this module play source- and kustomize-controller.

use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Background;

/// What the harness does about an instance's sync objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// No `spec.sync`, or `wait: false`: nothing to wait for.
    Plain,
    /// The harness marks the source and Kustomization Ready, as Flux would.
    Ready,
    /// They stay unready; the health check times out after [`TIMEOUT`].
    Timeout,
}

impl SyncMode {
    pub fn label(self) -> &'static str {
        match self {
            Self::Plain => "-",
            Self::Ready => "ready",
            Self::Timeout => "timeout",
        }
    }
}

/// The `fluxcd.controlplane.io/reconcileTimeout` of Timeout cases: long enough for kwok to
/// make every Deployment Available on a loaded machine, so that only the sync objects fail.
pub const TIMEOUT: &str = "12s";

/// Plays source- and kustomize-controller for the sync objects until dropped.
pub fn start(client: &Client, namespace: &str, sync: &Value) -> Background {
    let client = client.clone();
    let namespace = namespace.to_owned();
    let name = sync["name"].as_str().unwrap_or(&namespace).to_owned();
    let source_kind = sync["kind"].as_str().unwrap_or("GitRepository").to_owned();
    let revision = format!(
        "{}@sha1:0123456789abcdef0123456789abcdef01234567",
        sync["ref"].as_str().unwrap_or("main")
    );
    Background(tokio::spawn(async move {
        loop {
            for (group, kind) in [
                ("source.toolkit.fluxcd.io", source_kind.as_str()),
                ("kustomize.toolkit.fluxcd.io", "Kustomization"),
            ] {
                mark_ready(&client, &namespace, &name, group, kind, &revision).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }))
}

async fn mark_ready(client: &Client, namespace: &str, name: &str, group: &str, kind: &str, revision: &str) {
    let Some(resource) = storage_resource(client, group, kind).await else {
        return;
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &resource);
    let Ok(Some(obj)) = api.get_opt(name).await else {
        return;
    };
    let generation = obj.metadata.generation.unwrap_or(1);
    if obj.data["status"]["observedGeneration"].as_i64() == Some(generation) {
        return;
    }
    let status = if kind == "Kustomization" {
        json!({
            "observedGeneration": generation,
            "lastAppliedRevision": revision, "lastAttemptedRevision": revision,
            "conditions": [condition(generation, "ReconciliationSucceeded", &format!("Applied revision: {revision}"))],
        })
    } else {
        json!({
            "observedGeneration": generation,
            "artifact": {"revision": revision, "digest": "sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                         "path": format!("{}/{namespace}/{name}/artifact.tar.gz", kind.to_lowercase()),
                         "url": "http://source-controller.invalid/artifact.tar.gz", "size": 1234,
                         "lastUpdateTime": "2026-01-01T00:00:00Z"},
            "conditions": [condition(generation, "Succeeded", &format!("stored artifact for revision '{revision}'"))],
        })
    };
    let patch = Patch::Merge(json!({"status": status}));
    if let Err(e) = api.patch_status(&obj.name_any(), &PatchParams::default(), &patch).await {
        eprintln!("parity: marking {kind} {namespace}/{name} ready: {e}");
    }
}

fn condition(generation: i64, reason: &str, message: &str) -> Value {
    json!({"type": "Ready", "status": "True", "reason": reason, "message": message,
           "observedGeneration": generation, "lastTransitionTime": "2026-01-01T00:00:00Z"})
}

/// The kind at its CRD's storage version (OCIRepository and Bucket moved from v1beta2 to v1
/// in Flux 2.6), once the CRD exists.
async fn storage_resource(client: &Client, group: &str, kind: &str) -> Option<ApiResource> {
    let plural = match kind {
        "GitRepository" => "gitrepositories",
        "OCIRepository" => "ocirepositories",
        "Bucket" => "buckets",
        _ => "kustomizations",
    };
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crds.get_opt(&format!("{plural}.{group}")).await.ok()??;
    let version = crd.spec.versions.iter().find(|v| v.storage)?.name.clone();
    Some(ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, &version, kind),
        plural,
    ))
}
