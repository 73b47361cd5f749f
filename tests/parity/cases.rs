//! This suite's own FluxInstances: every file of examples/ plus one case per option of
//! SPEC.md sections 1 and 3, each named `flux` in `flux-system`. Same shape as the shared
//! generator (`tests/parity_cases`), which replaces it once it is on main.

use serde_json::{Value, json};

use crate::bed::project_root;

fn instance(spec: Value) -> Value {
    json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
        "metadata": {"name": "flux", "namespace": "flux-system"},
        "spec": spec,
    })
}

/// `spec` on top of the default distribution (latest 2.x from ghcr.io/fluxcd).
fn with(extra: Value) -> Value {
    let mut spec = json!({"distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"}});
    merge(&mut spec, extra);
    instance(spec)
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

fn example(file: &str) -> Value {
    let text = std::fs::read_to_string(project_root().join("examples").join(file)).expect("read example");
    flux_operator_rs::yaml::from_str(&text).expect("example YAML")
}

fn git_sync() -> Value {
    json!({"sync": {"kind": "GitRepository", "url": "https://github.com/example/fleet.git", "ref": "refs/heads/main",
                    "path": "clusters/prod"}})
}

pub fn cases() -> Vec<(String, Value)> {
    let mut cases: Vec<(String, Value)> = [
        "minimal",
        "cobaltcore-management",
        "controller-tuning",
        "multitenant-sharded",
    ]
    .iter()
    .map(|name| (format!("example-{name}"), example(&format!("{name}.yaml"))))
    .collect();
    for version in ["v2.2.3", "2.3.x", "2.4.x", "2.5.x", "2.6.x", "2.7.x", "2.8.x"] {
        let name = format!("version-{}", version.trim_start_matches('v').replace('.', "-"));
        cases.push((name, with(json!({"distribution": {"version": version}}))));
    }
    for size in ["small", "medium", "large"] {
        cases.push((format!("size-{size}"), with(json!({"cluster": {"size": size}}))));
    }
    for kind in ["openshift", "aws", "azure", "gcp"] {
        cases.push((format!("type-{kind}"), with(json!({"cluster": {"type": kind}}))));
    }
    cases.extend(option_cases());
    cases.extend(sync_cases());
    cases
}

fn option_cases() -> Vec<(String, Value)> {
    let all = [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
        "image-reflector-controller",
        "image-automation-controller",
        "source-watcher",
    ];
    vec![
        (
            "multitenant".into(),
            with(json!({"cluster": {"multitenant": true, "tenantDefaultServiceAccount": "tenant"}})),
        ),
        (
            "multitenant-workload-identity".into(),
            with(json!({"cluster": {"multitenant": true,
            "multitenantWorkloadIdentity": true, "objectLevelWorkloadIdentity": true}})),
        ),
        (
            "object-level-wi-2-6".into(),
            with(json!({"distribution": {"version": "2.6.x"},
            "cluster": {"objectLevelWorkloadIdentity": true}})),
        ),
        (
            "no-network-policy".into(),
            with(json!({"cluster": {"networkPolicy": false}})),
        ),
        (
            "cluster-domain".into(),
            with(json!({"cluster": {"domain": "cluster.example"}})),
        ),
        ("all-components".into(), with(json!({"components": all}))),
        (
            "no-notification".into(),
            with(json!({"components": ["source-controller", "kustomize-controller"]})),
        ),
        (
            "source-watcher-2-7".into(),
            with(json!({"distribution": {"version": "2.7.x"},
            "components": ["source-controller", "kustomize-controller", "source-watcher"]})),
        ),
        (
            "registry-docker-hub".into(),
            with(json!({"distribution": {"registry": "fluxcd"}})),
        ),
        (
            "registry-mirror".into(),
            with(json!({"distribution": {"registry": "registry.example.com/fluxcd",
            "imagePullSecret": "regcred"}})),
        ),
        (
            "common-metadata".into(),
            with(json!({"commonMetadata": {"labels": {"team": "platform"},
            "annotations": {"example.com/owner": "ops"}}})),
        ),
        (
            "storage".into(),
            with(json!({"storage": {"class": "standard", "size": "5Gi"}})),
        ),
        ("sharding".into(), with(json!({"sharding": {"shards": ["a", "b"]}}))),
        (
            "sharding-persistent".into(),
            with(json!({"sharding": {"key": "example.com/shard", "shards": ["one"],
            "storage": "persistent"}, "storage": {"class": "standard", "size": "1Gi"}})),
        ),
        (
            "patch-strategic-merge".into(),
            with(json!({"kustomize": {"patches": [{"patch":
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: source-controller\nspec:\n  replicas: 2\n"}]}})),
        ),
        (
            "patch-json6902".into(),
            with(json!({"kustomize": {"patches": [{"target": {"kind": "Deployment",
            "labelSelector": "app.kubernetes.io/component in (kustomize-controller)"},
            "patch": "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --concurrent=7\n"}]}})),
        ),
        (
            "no-wait".into(),
            with(json!({"wait": false, "migrateResources": false})),
        ),
    ]
}

fn sync_cases() -> Vec<(String, Value)> {
    let mut git = git_sync();
    merge(
        &mut git,
        json!({"sync": {"pullSecret": "flux-system", "interval": "5m"}}),
    );
    let mut no_wait = git_sync();
    merge(&mut no_wait, json!({"wait": false, "sync": {"name": "fleet"}}));
    vec![
        ("sync-git".into(), with(git)),
        ("sync-git-no-wait".into(), with(no_wait)),
        (
            "sync-oci".into(),
            with(
                json!({"sync": {"kind": "OCIRepository", "url": "oci://ghcr.io/example/manifests",
            "ref": "latest", "path": "./", "provider": "generic"}}),
            ),
        ),
        (
            "sync-oci-2-5".into(),
            with(
                json!({"distribution": {"version": "2.5.x"}, "sync": {"kind": "OCIRepository",
            "url": "oci://ghcr.io/example/manifests", "ref": "v1.0.0", "path": "./"}}),
            ),
        ),
        (
            "sync-bucket".into(),
            with(
                json!({"sync": {"kind": "Bucket", "url": "minio.example.com", "ref": "fleet",
            "path": "./prod", "provider": "aws", "interval": "1h30m"}}),
            ),
        ),
        (
            "sync-git-multitenant".into(),
            with(json!({"cluster": {"multitenant": true},
            "sync": {"kind": "GitRepository", "url": "https://github.com/example/fleet.git", "ref": "main",
                     "path": "./", "provider": "github"}})),
        ),
    ]
}
