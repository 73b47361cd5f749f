//! FluxInstances this operator does not reconcile (another namespace than its own, or
//! another name than `flux`) get one Warning event that says why, instead of silence.
//!
//! Seen through a cluster-wide metadata-only watch: FluxInstances are few, the metadata is
//! small, and unlike a list at start it also sees the instances created later. The main
//! watch stays namespaced and keeps the full objects of the operator's own namespace only.

use std::collections::HashSet;

use futures::StreamExt;
use kube::api::Api;
use kube::core::PartialObjectMeta;
use kube::runtime::WatchStreamExt;
use kube::runtime::events::EventType;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource, ResourceExt};

use super::events::{EventRecorder, publish};
use crate::api::{FluxInstance, SINGLETON_NAME};

/// The reason of the event on an instance this operator ignores.
pub const IGNORED: &str = "InstanceIgnored";

/// Warns once per instance (by uid) for as long as the process runs; a re-list after a
/// watch restart warns nobody twice.
pub async fn warn_foreign(client: Client, recorder: EventRecorder, runtime_namespace: String) {
    let api: Api<PartialObjectMeta<FluxInstance>> = Api::all(client);
    let mut events = watcher::watcher(api, watcher::Config::default())
        .default_backoff()
        .boxed();
    let mut warned = HashSet::new();
    while let Some(event) = events.next().await {
        let obj = match event {
            Ok(Event::Apply(obj) | Event::InitApply(obj)) => obj,
            Ok(_) => continue,
            Err(watcher::Error::InitialListFailed(kube::Error::Api(status))) if status.code == 403 => {
                // Without the right to list instances cluster-wide there is nobody to warn.
                tracing::info!(
                    reason = status.message,
                    "not watching FluxInstances of other namespaces"
                );
                return;
            }
            Err(error) => {
                tracing::debug!(%error, "watch of FluxInstances in other namespaces");
                continue;
            }
        };
        let Some(note) = ignored_because(&obj, &runtime_namespace) else {
            continue;
        };
        if obj.metadata.deletion_timestamp.is_some() || !warned.insert(obj.uid().unwrap_or_default()) {
            continue;
        }
        tracing::warn!(namespace = obj.namespace(), name = obj.name_any(), "{note}");
        publish(&recorder, &obj.object_ref(&()), EventType::Warning, IGNORED, &note).await;
    }
}

/// Why an instance is not this operator's, or None when it is.
pub fn ignored_because<K: ResourceExt>(obj: &K, runtime_namespace: &str) -> Option<String> {
    let namespace = obj.namespace().unwrap_or_default();
    if namespace == runtime_namespace && obj.name_any() == SINGLETON_NAME {
        return None;
    }
    Some(format!(
        "ignored: this operator reconciles only the FluxInstance '{SINGLETON_NAME}' in the namespace \
         '{runtime_namespace}' (its RUNTIME_NAMESPACE), not {namespace}/{}",
        obj.name_any()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(namespace: &str, name: &str) -> PartialObjectMeta<FluxInstance> {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
            "metadata": {"name": name, "namespace": namespace},
        }))
        .expect("meta")
    }

    #[test]
    fn only_flux_in_the_runtime_namespace_is_ours() {
        assert_eq!(ignored_because(&instance("flux-system", "flux"), "flux-system"), None);
        let other = ignored_because(&instance("apps", "flux"), "flux-system").expect("ignored");
        assert!(
            other.contains("'flux-system'") && other.contains("apps/flux"),
            "{other}"
        );
        assert!(ignored_because(&instance("flux-system", "other"), "flux-system").is_some());
    }
}
