//! The sync source and Kustomization of an instance: no Flux controller runs on the test bed,
//! so they never become ready by themselves. A case either lets the health check time out
//! (a short `reconcileTimeout`) or has this module play source- and kustomize-controller.

use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::{WatchStreamExt, watcher};
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
pub const TIMEOUT: &str = "8s";

/// Plays source- and kustomize-controller for the sync objects until dropped: each is marked
/// ready as soon as it is written, before either operator's health check first looks.
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
        let object = SyncObject {
            client: &client,
            namespace: &namespace,
            name: &name,
            revision: &revision,
        };
        futures::join!(
            object.serve("source.toolkit.fluxcd.io", &source_kind),
            object.serve("kustomize.toolkit.fluxcd.io", "Kustomization"),
        );
    }))
}

/// One sync object the harness reconciles.
struct SyncObject<'a> {
    client: &'a Client,
    namespace: &'a str,
    name: &'a str,
    revision: &'a str,
}

impl SyncObject<'_> {
    /// Watches the object of `kind` (once its CRD exists) and marks each new generation ready.
    async fn serve(&self, group: &str, kind: &str) {
        let resource = loop {
            if let Some(resource) = storage_resource(self.client, group, kind).await {
                break resource;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), self.namespace, &resource);
        let config = watcher::Config::default().fields(&format!("metadata.name={}", self.name));
        watcher(api.clone(), config)
            .default_backoff()
            .applied_objects()
            .for_each(|obj| {
                let api = api.clone();
                async move {
                    if let Ok(obj) = obj {
                        self.mark_ready(&api, kind, &obj).await;
                    }
                }
            })
            .await;
    }

    async fn mark_ready(&self, api: &Api<DynamicObject>, kind: &str, obj: &DynamicObject) {
        let (namespace, name, revision) = (self.namespace, self.name, self.revision);
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
        let patch = Patch::Merge(json!({ "status": status }));
        if let Err(e) = api.patch_status(&obj.name_any(), &PatchParams::default(), &patch).await {
            eprintln!("parity: marking {kind} {namespace}/{name} ready: {e}");
        }
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
