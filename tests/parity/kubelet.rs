//! The harness as kubelet, deployment controller and volume binder: on a bed without them,
//! every Deployment of the namespace is given the status of a finished rollout and every
//! PersistentVolumeClaim that of a bound claim, as soon as it is written, so that both
//! operators' health checks (kstatus: observedGeneration, replica counts, Progressing with
//! NewReplicaSetAvailable, Available; claims Bound) see them Current at their first look.
//! Cheaper and faster than a controller-manager, scheduler and kwok creating ReplicaSets and
//! pods for each case.

use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use crate::Background;

/// Marks the Deployments and claims of `namespace` ready until dropped.
pub fn start(client: &Client, namespace: &str) -> Background {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    Background(tokio::spawn(async move {
        futures::join!(serve(deployments, rolled_out), serve(claims, bound));
    }))
}

/// Gives each object of `api`, as it is written, the status `ready` computes for it (None:
/// it has it already). Watch errors are retried with backoff by the watcher.
async fn serve<K>(api: Api<K>, ready: fn(&K) -> Option<Value>)
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + 'static,
{
    watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .for_each(|obj| {
            let api = api.clone();
            async move {
                if let Ok(obj) = obj
                    && let Some(status) = ready(&obj)
                {
                    set_status(&api, &obj.name_any(), status).await;
                }
            }
        })
        .await;
}

/// The status of a finished rollout, unless the Deployment has it already.
fn rolled_out(d: &Deployment) -> Option<Value> {
    let generation = d.metadata.generation.unwrap_or(1);
    if d.status.as_ref().and_then(|s| s.observed_generation) == Some(generation) {
        return None;
    }
    let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
    let time = "2026-01-01T00:00:00Z";
    let condition = |type_: &str, reason: &str, message: String| {
        json!({"type": type_, "status": "True", "reason": reason, "message": message,
               "lastUpdateTime": time, "lastTransitionTime": time})
    };
    Some(json!({
        "observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
        "readyReplicas": replicas, "availableReplicas": replicas,
        "conditions": [
            condition("Available", "MinimumReplicasAvailable", "Deployment has minimum availability.".into()),
            condition("Progressing", "NewReplicaSetAvailable", format!("ReplicaSet \"{}\" has successfully progressed.", d.name_any())),
        ],
    }))
}

/// The status of a bound claim with what it requested, unless it is bound already.
fn bound(c: &PersistentVolumeClaim) -> Option<Value> {
    if c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound") {
        return None;
    }
    let spec = c.spec.clone().unwrap_or_default();
    let size = spec
        .resources
        .and_then(|r| r.requests)
        .and_then(|r| r.get("storage").cloned());
    Some(json!({"phase": "Bound", "accessModes": spec.access_modes, "capacity": {"storage": size}}))
}

async fn set_status<K>(api: &Api<K>, name: &str, status: Value)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let patch = Patch::Merge(json!({ "status": status }));
    if let Err(e) = api.patch_status(name, &PatchParams::default(), &patch).await {
        eprintln!("parity: setting the status of {name}: {e}");
    }
}
