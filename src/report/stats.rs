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
    ObjectState {
        suspended,
        failing,
        artifact_size: status["artifact"]["size"].as_u64(),
        info: ResourceInfo {
            uid: str_of(&meta["uid"]),
            kind: kind.to_owned(),
            name: str_of(&meta["name"]),
            namespace: str_of(&meta["namespace"]),
            ready: if is_static(kind, spec) { "True" } else { ready_status }.to_owned(),
            reason: reason.to_owned(),
            suspended,
            // The last attempted revision, not the last applied: a failing rollout shows
            // what it is stuck on, as upstream's series do.
            revision: first_str(&[&status["artifact"]["revision"], &status["lastAttemptedRevision"]]),
            url: first_str(&[&spec["url"], &spec["endpoint"], &spec["image"], &status["webhookPath"]]),
            ref_: first_str(&[
                &spec["ref"]["name"],
                &spec["ref"]["semver"],
                &spec["ref"]["tag"],
                &spec["ref"]["branch"],
                &spec["bucketName"],
            ]),
            source_name: first_str(&[
                &spec["sourceRef"]["name"],
                &spec["chart"]["spec"]["sourceRef"]["name"],
                &spec["chartRef"]["name"],
                &spec["imageRepositoryRef"]["name"],
            ]),
            path: str_of(&spec["path"]),
        },
    }
}

/// Objects their controllers never reconcile into a Ready condition (notification
/// configuration, OCI Helm repositories): upstream's series call them ready.
fn is_static(kind: &str, spec: &Value) -> bool {
    matches!(kind, "Alert" | "Provider") || (kind == "HelmRepository" && spec["type"] == "oci")
}

fn first_str(values: &[&Value]) -> String {
    values.iter().find_map(|v| v.as_str()).unwrap_or_default().to_owned()
}

pub(super) fn str_of(v: &Value) -> String {
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
               "status": {"lastAppliedRevision": "main@sha1:abc", "lastAttemptedRevision": "main@sha1:def",
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
        assert_eq!(ok.info.revision, "main@sha1:def");
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

    /// (kind, object) -> (ready, url, ref, source_name, revision), as upstream v0.58.1's
    /// flux_resource_info showed them for the same objects on a test bed.
    #[test]
    fn labels_of_every_kind_match_upstream() {
        let ready = json!([{"type": "Ready", "status": "True", "reason": "Succeeded"}]);
        let cases = [
            (
                "Bucket",
                json!({"spec": {"endpoint": "minio:9000", "bucketName": "podinfo", "prefix": "apps"},
                              "status": {"artifact": {"revision": "sha256:6666"}, "conditions": ready}}),
                ("True", "minio:9000", "podinfo", "", "sha256:6666"),
            ),
            (
                "Receiver",
                json!({"spec": {"type": "github"}, "status": {"webhookPath": "/hook/abc", "conditions": ready}}),
                ("True", "/hook/abc", "", "", ""),
            ),
            (
                "ImageRepository",
                json!({"spec": {"image": "ghcr.io/org/app"}, "status": {"conditions": ready}}),
                ("True", "ghcr.io/org/app", "", "", ""),
            ),
            (
                "ImagePolicy",
                json!({"spec": {"imageRepositoryRef": {"name": "app"}},
                                   "status": {"latestRef": {"tag": "6.7.1"}, "conditions": ready}}),
                ("True", "", "", "app", ""),
            ),
            (
                "Alert",
                json!({"spec": {"providerRef": {"name": "slack"}}}),
                ("True", "", "", "", ""),
            ),
            (
                "Provider",
                json!({"spec": {"type": "slack", "address": "https://x"}}),
                ("True", "", "", "", ""),
            ),
            (
                "HelmRepository",
                json!({"spec": {"type": "oci", "url": "oci://x/charts"},
                                      "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "AuthFailed"}]}}),
                ("True", "oci://x/charts", "", "", ""),
            ),
            (
                "HelmRepository",
                json!({"spec": {"url": "https://x"}}),
                ("Unknown", "https://x", "", "", ""),
            ),
            (
                "OCIRepository",
                json!({"spec": {"url": "oci://x", "ref": {"tag": "latest", "semver": ">=6.0.0"}},
                                     "status": {"artifact": {"revision": "6.7.1@sha256:4444"}}}),
                ("Unknown", "oci://x", ">=6.0.0", "", "6.7.1@sha256:4444"),
            ),
            (
                "OCIRepository",
                json!({"spec": {"url": "oci://x", "ref": {"digest": "sha256:5555"}}}),
                ("Unknown", "oci://x", "", "", ""),
            ),
            (
                "Kustomization",
                json!({"spec": {"sourceRef": {"name": "git"}},
                                     "status": {"lastAppliedRevision": "main@sha1:1", "lastAttemptedRevision": "main@sha1:9"}}),
                ("Unknown", "", "", "git", "main@sha1:9"),
            ),
            (
                "Kustomization",
                json!({"spec": {}, "status": {"lastAppliedRevision": "main@sha1:1"}}),
                ("Unknown", "", "", "", ""),
            ),
            (
                "HelmRelease",
                json!({"spec": {"chart": {"spec": {"sourceRef": {"name": "charts"}}}},
                                   "status": {"lastAttemptedRevision": "6.7.1"}}),
                ("Unknown", "", "", "charts", "6.7.1"),
            ),
        ];
        for (kind, obj, want) in cases {
            let i = classify(kind, &obj).info;
            let got = (
                i.ready.as_str(),
                i.url.as_str(),
                i.ref_.as_str(),
                i.source_name.as_str(),
                i.revision.as_str(),
            );
            assert_eq!(got, want, "{kind} {obj}");
        }
    }

    /// Which `spec.ref` field names what a source follows, as upstream picks it; commits
    /// and digests are never shown.
    #[test]
    fn reference_precedence() {
        let cases = [
            (json!({"branch": "b", "tag": "t"}), "t"),
            (json!({"tag": "t", "semver": "s"}), "s"),
            (json!({"branch": "b", "commit": "c"}), "b"),
            (json!({"name": "n", "commit": "c"}), "n"),
            (json!({"semver": "s", "commit": "c"}), "s"),
            (json!({"branch": "b", "name": "n"}), "n"),
            (json!({"name": "n", "semver": "s"}), "n"),
            (json!({"commit": "c"}), ""),
        ];
        for (r, want) in cases {
            let obj = json!({"spec": {"url": "https://x", "ref": r}});
            assert_eq!(classify("GitRepository", &obj).info.ref_, want, "{r}");
        }
    }

    #[test]
    fn a_static_object_still_counts_as_failing() {
        let obj = json!({"spec": {"type": "oci"}, "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "AuthFailed"}]}});
        let s = classify("HelmRepository", &obj);
        assert!(s.failing);
        assert_eq!((s.info.ready.as_str(), s.info.reason.as_str()), ("True", "AuthFailed"));
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
