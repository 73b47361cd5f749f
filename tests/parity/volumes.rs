//! A stand-in storage provisioner: the test bed has none, so a PersistentVolumeClaim would
//! stay Pending and source-controller with it. Each claim of the namespace gets a
//! PersistentVolume made for it (pre-bound with a claimRef), as a cloud provisioner would.

use std::time::Duration;

use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim};
use kube::api::{Api, ListParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::Background;

/// The label of the volumes made here, so that cleaning finds them.
pub const PARITY_LABEL: &str = "flux-operator-rs/parity-volume=true";

/// Provisions volumes for the claims of `namespace` until dropped.
pub fn start(client: &Client, namespace: &str) -> Background {
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), namespace);
    let volumes: Api<PersistentVolume> = Api::all(client.clone());
    let namespace = namespace.to_owned();
    Background(tokio::spawn(async move {
        loop {
            if let Ok(list) = claims.list(&ListParams::default()).await {
                for claim in list
                    .items
                    .iter()
                    .filter(|c| c.spec.as_ref().is_some_and(|s| s.volume_name.is_none()))
                {
                    provision(&volumes, &namespace, claim).await;
                }
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }))
}

async fn provision(volumes: &Api<PersistentVolume>, namespace: &str, claim: &PersistentVolumeClaim) {
    let name = format!("parity-{namespace}-{}", claim.name_any());
    let spec = claim.spec.clone().unwrap_or_default();
    let size = spec
        .resources
        .as_ref()
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage").cloned());
    let (label, value) = PARITY_LABEL.split_once('=').expect("label");
    let volume = json!({
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "labels": {label: value}},
        "spec": {
            "capacity": {"storage": size},
            "accessModes": spec.access_modes,
            "storageClassName": spec.storage_class_name,
            "hostPath": {"path": format!("/tmp/{name}")},
            "claimRef": {"namespace": namespace, "name": claim.name_any()},
        }
    });
    let volume: PersistentVolume = serde_json::from_value(volume).expect("PersistentVolume");
    match volumes.create(&PostParams::default(), &volume).await {
        Ok(_) => {}
        Err(kube::Error::Api(status)) if status.code == 409 => {}
        Err(e) => eprintln!("parity: provisioning {name}: {e}"),
    }
}
