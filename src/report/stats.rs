//! What the report and the metrics say of one Flux object: pure, from its JSON.

use serde_json::Value;

use crate::api::annotation::{RECONCILE, RECONCILE_DISABLED_VALUE};
use crate::metrics::ResourceInfo;

/// A Ready=False for this reason is waiting on another object, not failing itself.
const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectState {
    pub suspended: bool,
    pub failing: bool,
    pub artifact_size: Option<u64>,
    pub info: ResourceInfo,
}

pub fn classify(kind: &str, obj: &Value) -> ObjectState {
    let meta = &obj["metadata"];
    let spec = &obj["spec"];
    let status = &obj["status"];
    let suspended = spec["suspend"].as_bool() == Some(true)
        || meta["annotations"][RECONCILE]
            .as_str()
            .is_some_and(|v| v.eq_ignore_ascii_case(RECONCILE_DISABLED_VALUE));
    let ready = status["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    let ready_status = ready.and_then(|c| c["status"].as_str()).unwrap_or("Unknown");
    let reason = ready.and_then(|c| c["reason"].as_str()).unwrap_or_default();
    let failing = !suspended && ready_status == "False" && reason != DEPENDENCY_NOT_READY;
    let revision = first_str(&[
        &status["artifact"]["revision"],
        &status["lastAppliedRevision"],
        &status["lastAttemptedRevision"],
    ]);
    let source_name = first_str(&[
        &spec["sourceRef"]["name"],
        &spec["chart"]["spec"]["sourceRef"]["name"],
        &spec["chartRef"]["name"],
    ]);
    ObjectState {
        suspended,
        failing,
        artifact_size: status["artifact"]["size"].as_u64(),
        info: ResourceInfo {
            uid: str_of(&meta["uid"]),
            kind: kind.to_owned(),
            name: str_of(&meta["name"]),
            namespace: str_of(&meta["namespace"]),
            ready: ready_status.to_owned(),
            reason: reason.to_owned(),
            suspended,
            revision,
            url: str_of(&spec["url"]),
            ref_: reference(&spec["ref"]),
            source_name,
            path: str_of(&spec["path"]),
        },
    }
}

/// The one value of a source's `spec.ref` that names what is followed.
fn reference(r: &Value) -> String {
    first_str(&[
        &r["branch"],
        &r["tag"],
        &r["semver"],
        &r["name"],
        &r["commit"],
        &r["digest"],
    ])
}

fn first_str(values: &[&Value]) -> String {
    values.iter().find_map(|v| v.as_str()).unwrap_or_default().to_owned()
}

fn str_of(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// Bytes in the units `kubectl` and Flux print: `512 B`, `1.2 KiB`, `3.4 MiB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: &[&str] = &["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ks(ready: &str, reason: &str, suspend: bool) -> Value {
        json!({"metadata": {"name": "a", "namespace": "n", "uid": "u"},
               "spec": {"suspend": suspend, "path": "./apps", "sourceRef": {"kind": "GitRepository", "name": "repo"}},
               "status": {"lastAppliedRevision": "main@sha1:abc",
                          "conditions": [{"type": "Ready", "status": ready, "reason": reason}]}})
    }

    #[test]
    fn failing_suspended_and_dependency_not_ready() {
        assert!(classify("Kustomization", &ks("False", "BuildFailed", false)).failing);
        assert!(!classify("Kustomization", &ks("False", "DependencyNotReady", false)).failing);
        let suspended = classify("Kustomization", &ks("False", "BuildFailed", true));
        assert!(suspended.suspended && !suspended.failing);
        let ok = classify("Kustomization", &ks("True", "ReconciliationSucceeded", false));
        assert!(!ok.failing && !ok.suspended);
        assert_eq!(ok.info.revision, "main@sha1:abc");
        assert_eq!(ok.info.source_name, "repo");
        assert_eq!(ok.info.path, "./apps");
        let annotated = json!({"metadata": {"annotations": {"fluxcd.controlplane.io/reconcile": "disabled"}}});
        assert!(classify("FluxInstance", &annotated).suspended);
    }

    #[test]
    fn sources() {
        let repo = json!({"metadata": {"name": "r"}, "spec": {"url": "https://x", "ref": {"branch": "main"}},
                          "status": {"artifact": {"size": 2048, "revision": "main@sha1:1"}}});
        let s = classify("GitRepository", &repo);
        assert_eq!(
            (s.info.url.as_str(), s.info.ref_.as_str(), s.artifact_size),
            ("https://x", "main", Some(2048))
        );
        assert_eq!(s.info.ready, "Unknown");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(1023), "1023 B");
        assert_eq!(human_size(1024), "1.0 KiB");
        assert_eq!(human_size(1_258_291), "1.2 MiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
