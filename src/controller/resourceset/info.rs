//! The info series of sets and providers (SPEC-resourceset §13), kept from the watch: each
//! state the watch sees replaces the object's series, its deletion removes it.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::ResourceExt;
use kube::runtime::watcher::Event;

use crate::api::{ResourceSet, ResourceSetInputProvider};
use crate::metrics::{ObjectInfoVec, bool_label};

/// Applies a watch event of objects to their series.
pub fn record<K: ResourceExt>(info: &ObjectInfoVec, event: &Event<K>, labels: fn(&K) -> Vec<String>) {
    match event {
        Event::Apply(obj) | Event::InitApply(obj) => info.set(&obj.uid().unwrap_or_default(), labels(obj)),
        Event::Delete(obj) => info.remove(&obj.uid().unwrap_or_default()),
        Event::Init | Event::InitDone => {}
    }
}

pub fn set_labels(obj: &ResourceSet) -> Vec<String> {
    let status = obj.status.clone().unwrap_or_default();
    let mut labels = object_labels(obj, "ResourceSet", &status.conditions, obj.is_disabled());
    let resources = status.inventory.map_or(0, |i| i.entries.len());
    labels.push(resources.to_string());
    labels.push(status.last_applied_revision.unwrap_or_default());
    labels
}

pub fn provider_labels(obj: &ResourceSetInputProvider) -> Vec<String> {
    let conditions = obj.status.as_ref().map(|s| s.conditions.as_slice()).unwrap_or_default();
    let mut labels = object_labels(obj, "ResourceSetInputProvider", conditions, obj.is_disabled());
    labels.push(obj.spec.url.clone().unwrap_or_default());
    labels
}

/// uid, kind, name, exported_namespace, ready (`Unknown` without a Ready condition),
/// reason, suspended.
fn object_labels<K: ResourceExt>(obj: &K, kind: &str, conditions: &[Condition], suspended: bool) -> Vec<String> {
    let ready = conditions.iter().find(|c| c.type_ == "Ready");
    vec![
        obj.uid().unwrap_or_default(),
        kind.to_owned(),
        obj.name_any(),
        obj.namespace().unwrap_or_default(),
        ready.map_or("Unknown", |c| c.status.as_str()).to_owned(),
        ready.map(|c| c.reason.clone()).unwrap_or_default(),
        bool_label(suspended).to_owned(),
    ]
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn labels_of_a_set_and_a_provider() {
        let set: ResourceSet = serde_json::from_value(json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSet",
            "metadata": {"name": "s", "namespace": "apps", "uid": "u1",
                "annotations": {"fluxcd.controlplane.io/reconcile": "disabled"}},
            "spec": {"resources": []},
            "status": {"lastAppliedRevision": "sha256:a", "inventory": {"entries": [{"id": "a", "v": "v1"}]},
                "conditions": [{"type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                    "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
        }))
        .expect("set");
        assert_eq!(
            set_labels(&set),
            [
                "u1",
                "ResourceSet",
                "s",
                "apps",
                "True",
                "ReconciliationSucceeded",
                "True",
                "1",
                "sha256:a"
            ]
        );
        let provider: ResourceSetInputProvider = serde_json::from_value(json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
            "metadata": {"name": "p", "namespace": "apps", "uid": "u2"}, "spec": {"type": "Static"}
        }))
        .expect("provider");
        assert_eq!(
            provider_labels(&provider),
            [
                "u2",
                "ResourceSetInputProvider",
                "p",
                "apps",
                "Unknown",
                "",
                "False",
                ""
            ]
        );
    }
}
