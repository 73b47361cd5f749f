//! Readiness of live objects, following kstatus: what `kubectl wait` and Flux's health
//! checks call Current.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Not ready yet, with the reason to show the user.
    InProgress(String),
    /// Will not become ready without a change.
    Failed(String),
}

impl Readiness {
    pub fn is_ready(&self) -> bool {
        matches!(self, Readiness::Ready)
    }
}

/// The readiness of a live object. Kinds without a notion of readiness are ready.
pub fn readiness(obj: &Value) -> Readiness {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let status = &obj["status"];
    // kstatus: an object being deleted is on its way out, not Current.
    if !obj["metadata"]["deletionTimestamp"].is_null() {
        return Readiness::InProgress("Terminating".into());
    }
    let generation = obj["metadata"]["generation"].as_i64();
    let observed = status["observedGeneration"].as_i64();
    if let (Some(g), Some(o)) = (generation, observed)
        && o < g
    {
        return Readiness::InProgress(format!("observedGeneration {o} behind generation {g}"));
    }
    match kind {
        "Deployment" | "StatefulSet" | "ReplicaSet" => replicas(obj, generation, observed),
        "CustomResourceDefinition" => match condition(status, "Established") {
            Some(("True", _)) => Readiness::Ready,
            _ => Readiness::InProgress("not Established".into()),
        },
        "Namespace" => match status["phase"].as_str() {
            Some("Terminating") => Readiness::InProgress("Terminating".into()),
            _ => Readiness::Ready,
        },
        "PersistentVolumeClaim" => match status["phase"].as_str() {
            Some("Bound") => Readiness::Ready,
            phase => Readiness::InProgress(format!("phase {}", phase.unwrap_or("Pending"))),
        },
        _ => ready_condition(obj, generation),
    }
}

fn replicas(obj: &Value, generation: Option<i64>, observed: Option<i64>) -> Readiness {
    let status = &obj["status"];
    if generation.is_some() && observed.is_none() {
        return Readiness::InProgress("waiting for the controller to observe it".into());
    }
    if let Some(("False", message)) = condition(status, "Progressing")
        && status_reason(status, "Progressing") == Some("ProgressDeadlineExceeded")
    {
        return Readiness::Failed(format!("progress deadline exceeded: {message}"));
    }
    let desired = obj["spec"]["replicas"].as_i64().unwrap_or(1);
    let count = |field: &str| status[field].as_i64().unwrap_or(0);
    let (updated, ready, available) = (
        count("updatedReplicas"),
        count("readyReplicas"),
        count("availableReplicas"),
    );
    if updated < desired {
        return Readiness::InProgress(format!("{updated} of {desired} replicas updated"));
    }
    if count("replicas") > updated {
        return Readiness::InProgress(format!(
            "{} old replicas pending termination",
            count("replicas") - updated
        ));
    }
    if obj["kind"] == "Deployment" && available < desired {
        return Readiness::InProgress(format!("{available} of {desired} replicas available"));
    }
    if ready < desired {
        return Readiness::InProgress(format!("{ready} of {desired} replicas ready"));
    }
    Readiness::Ready
}

/// Objects with a Ready condition (the Flux kinds): True and current; others are ready.
fn ready_condition(obj: &Value, generation: Option<i64>) -> Readiness {
    let status = &obj["status"];
    match condition(status, "Ready") {
        None if status["conditions"].is_array() || obj["apiVersion"].as_str().is_some_and(is_flux_api) => {
            Readiness::InProgress("no Ready condition yet".into())
        }
        None => Readiness::Ready,
        Some(("True", _)) => {
            let observed = status["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
                .and_then(|c| c["observedGeneration"].as_i64());
            match (generation, observed) {
                (Some(g), Some(o)) if o < g => Readiness::InProgress("Ready condition is stale".into()),
                _ => Readiness::Ready,
            }
        }
        Some(("False", message)) if is_stalled(status) => Readiness::Failed(message.to_owned()),
        Some((_, message)) => Readiness::InProgress(message.to_owned()),
    }
}

/// Flux's kinds and the operator's own (a ResourceSet may apply FluxInstances and
/// ResourceSets): without a Ready condition they are not ready yet.
fn is_flux_api(api_version: &str) -> bool {
    api_version.contains(".toolkit.fluxcd.io/") || api_version.starts_with("fluxcd.controlplane.io/")
}

fn is_stalled(status: &Value) -> bool {
    matches!(condition(status, "Stalled"), Some(("True", _)))
}

/// (status, message) of a condition.
fn condition<'a>(status: &'a Value, type_: &str) -> Option<(&'a str, &'a str)> {
    let c = status["conditions"].as_array()?.iter().find(|c| c["type"] == type_)?;
    Some((
        c["status"].as_str().unwrap_or_default(),
        c["message"].as_str().unwrap_or_default(),
    ))
}

fn status_reason<'a>(status: &'a Value, type_: &str) -> Option<&'a str> {
    status["conditions"].as_array()?.iter().find(|c| c["type"] == type_)?["reason"].as_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment(status: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"generation": 2}, "spec": {"replicas": 1}, "status": status})
    }

    #[test]
    fn deployment_rules() {
        assert_eq!(
            readiness(&deployment(
                json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1})
            )),
            Readiness::Ready
        );
        assert!(matches!(readiness(&deployment(json!({}))), Readiness::InProgress(_)));
        assert!(matches!(
            readiness(&deployment(json!({"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1}))),
            Readiness::InProgress(m) if m.contains("observedGeneration")
        ));
        assert!(matches!(
            readiness(&deployment(json!({"observedGeneration": 2, "replicas": 1, "updatedReplicas": 1, "readyReplicas": 0, "availableReplicas": 0}))),
            Readiness::InProgress(m) if m.contains("available")
        ));
        assert!(matches!(
            readiness(&deployment(
                json!({"observedGeneration": 2, "conditions": [{"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded", "message": "timed out"}]})
            )),
            Readiness::Failed(_)
        ));
    }

    #[test]
    fn crd_and_flux_objects() {
        let crd = json!({"kind": "CustomResourceDefinition", "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert!(readiness(&crd).is_ready());
        let repo = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": {"generation": 1}});
        assert!(
            !readiness(&repo).is_ready(),
            "a Flux object without status is not ready yet"
        );
        let ready = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": {"generation": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 1}]}});
        assert!(readiness(&ready).is_ready());
        let stalled = json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "metadata": {"generation": 1},
            "status": {"observedGeneration": 1, "conditions": [{"type": "Ready", "status": "False", "message": "auth failed"}, {"type": "Stalled", "status": "True"}]}});
        assert_eq!(readiness(&stalled), Readiness::Failed("auth failed".into()));
        let set =
            json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSet", "metadata": {"generation": 1}});
        assert!(
            !readiness(&set).is_ready(),
            "a ResourceSet without status is not ready yet"
        );
        let svc = json!({"apiVersion": "v1", "kind": "Service", "spec": {}});
        assert!(readiness(&svc).is_ready());
    }

    #[test]
    fn an_object_being_deleted_is_not_ready() {
        let crd = json!({"kind": "CustomResourceDefinition", "metadata": {"deletionTimestamp": "2026-12-01T00:00:00Z"},
            "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        assert_eq!(readiness(&crd), Readiness::InProgress("Terminating".into()));
    }
}
