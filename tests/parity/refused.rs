//! Instances the CRD schema accepts and the build refuses (or, for upstream, may not): their
//! statuses, history, report and metrics after a refusal are compared like any other case.
//! The shared generator has only instances that install.

use serde_json::{Value, json};

fn instance(spec: Value) -> Value {
    json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
        "metadata": {"name": "flux", "namespace": "flux-system"},
        "spec": spec,
    })
}

fn dist(version: &str) -> Value {
    json!({"version": version, "registry": "ghcr.io/fluxcd"})
}

pub fn cases() -> Vec<(String, Value)> {
    let untargeted =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm-controller\n  labels:\n    team: a\n";
    let missing_target = "- op: replace\n  path: /spec/replicas\n  value: 3\n";
    [
        ("refused-no-version", json!({"distribution": dist("3.x")})),
        (
            "refused-source-watcher-2.6",
            json!({"distribution": dist("2.6.x"), "components": ["source-controller", "kustomize-controller", "source-watcher"]}),
        ),
        (
            "refused-workload-identity-2.5",
            json!({"distribution": dist("2.5.x"), "cluster": {"objectLevelWorkloadIdentity": true}}),
        ),
        (
            "refused-untargeted-patch-naming-nothing",
            json!({"distribution": dist("2.x"), "components": ["source-controller", "kustomize-controller"],
                   "kustomize": {"patches": [{"patch": untargeted}]}}),
        ),
        (
            "patch-target-matching-nothing",
            json!({"distribution": dist("2.x"), "kustomize": {"patches": [{"patch": missing_target,
                   "target": {"kind": "Deployment", "name": "missing-controller"}}]}}),
        ),
    ]
    .into_iter()
    .map(|(name, spec)| (name.to_owned(), instance(spec)))
    .collect()
}
