//! The FluxInstances that the differential tests render or apply with both this operator
//! and upstream's: every file of `examples/`, then one case per option of SPEC.md sections
//! 1 and 3 (and a few combinations that interact). Every instance is `flux` in
//! `flux-system`, so that cases can run one after the other on one cluster.
//!
//! Shared by `tests/render_parity.rs` (offline render) and the cluster-level parity suite;
//! include it with `#[path = "parity_cases/mod.rs"] mod parity_cases;`.

use std::path::Path;

use serde_json::{Value, json};

/// (case name, FluxInstance object), in a fixed order.
pub fn cases() -> Vec<(String, Value)> {
    let mut all = examples();
    let groups = [
        versions(),
        sizes_and_types(),
        tenancy(),
        syncs(),
        sharding(),
        components(),
        registries(),
        metadata_and_storage(),
        patches(),
    ];
    for group in groups {
        all.extend(group.into_iter().map(|(name, spec)| (name.to_owned(), instance(spec))));
    }
    all
}

/// A FluxInstance `flux` in `flux-system` with this spec.
fn instance(spec: Value) -> Value {
    json!({
        "apiVersion": "fluxcd.controlplane.io/v1",
        "kind": "FluxInstance",
        "metadata": { "name": "flux", "namespace": "flux-system" },
        "spec": spec,
    })
}

/// `spec.distribution` of upstream's registry, `version` a constraint or exact version.
fn dist(version: &str) -> Value {
    json!({ "version": version, "registry": "ghcr.io/fluxcd" })
}

/// Every component, source-watcher (Flux >= 2.7) last.
const ALL_COMPONENTS: [&str; 7] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
    "source-watcher",
];

/// Every component that Flux releases before 2.7 have.
fn classic_components() -> Value {
    json!(ALL_COMPONENTS[..6])
}

/// A spec of just `version` on ghcr.io plus `extra` top-level fields.
fn spec(version: &str, extra: Value) -> Value {
    let mut spec = json!({ "distribution": dist(version) });
    if let (Some(map), Value::Object(extra)) = (spec.as_object_mut(), extra) {
        map.extend(extra);
    }
    spec
}

fn git_sync() -> Value {
    json!({
        "kind": "GitRepository",
        "url": "https://github.com/example/fleet.git",
        "ref": "refs/heads/main",
        "path": "clusters/production",
    })
}

fn examples() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("examples entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(path).expect("read example");
            let doc: Value = flux_operator_rs::yaml::from_str(&text).expect("example YAML");
            (doc["kind"] == "FluxInstance").then(|| {
                let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
                (format!("example-{stem}"), doc)
            })
        })
        .collect()
}

fn versions() -> Vec<(&'static str, Value)> {
    [
        ("version-2.2.3", "v2.2.3"),
        ("version-2.3.0", "2.3.0"),
        ("version-2.4.0", "v2.4.0"),
        ("version-2.5.x", "2.5.x"),
        ("version-2.6.x", "2.6.x"),
        ("version-2.7.x", "2.7.x"),
        ("version-2.8.x", "2.8.x"),
        ("version-range", ">=2.6.0 <2.9.0"),
        ("version-2.9.4", "v2.9.4"),
    ]
    .into_iter()
    .map(|(name, version)| (name, spec(version, json!({}))))
    .collect()
}

fn sizes_and_types() -> Vec<(&'static str, Value)> {
    let cluster = |c: Value| json!({ "cluster": c });
    vec![
        ("size-small", spec("2.x", cluster(json!({"size": "small"})))),
        ("size-medium", spec("2.x", cluster(json!({"size": "medium"})))),
        ("size-large", spec("2.x", cluster(json!({"size": "large"})))),
        ("size-large-2.4", spec("2.4.x", cluster(json!({"size": "large"})))),
        (
            "size-small-all-components",
            spec(
                "2.x",
                json!({"cluster": {"size": "small"}, "components": ALL_COMPONENTS}),
            ),
        ),
        ("type-openshift", spec("2.x", cluster(json!({"type": "openshift"})))),
        (
            "type-openshift-multitenant",
            spec("2.7.x", cluster(json!({"type": "openshift", "multitenant": true}))),
        ),
        ("type-aws", spec("2.x", cluster(json!({"type": "aws"})))),
        (
            "type-azure",
            spec("2.x", cluster(json!({"type": "azure", "size": "medium"}))),
        ),
        (
            "type-gcp",
            spec("2.x", cluster(json!({"type": "gcp", "size": "large"}))),
        ),
        (
            "network-policy-off",
            spec("2.x", cluster(json!({"networkPolicy": false}))),
        ),
        (
            "cluster-domain",
            spec("2.x", cluster(json!({"domain": "cluster.example"}))),
        ),
    ]
}

fn tenancy() -> Vec<(&'static str, Value)> {
    let all_components = classic_components();
    vec![
        ("multitenant", spec("2.x", json!({"cluster": {"multitenant": true}}))),
        (
            "multitenant-2.2",
            spec(
                "2.2.x",
                json!({"cluster": {"multitenant": true}, "components": all_components}),
            ),
        ),
        (
            "multitenant-tenant-account",
            spec(
                "2.x",
                json!({
                    "components": all_components,
                    "cluster": {"multitenant": true, "tenantDefaultServiceAccount": "flux-tenant"},
                    "sync": git_sync(),
                }),
            ),
        ),
        (
            "multitenant-workload-identity",
            spec(
                "2.x",
                json!({
                    "components": all_components,
                    "cluster": {
                        "multitenant": true,
                        "multitenantWorkloadIdentity": true,
                        "objectLevelWorkloadIdentity": true,
                        "tenantDefaultServiceAccount": "tenant",
                        "tenantDefaultDecryptionServiceAccount": "tenant-sops",
                        "tenantDefaultKubeConfigServiceAccount": "tenant-kubeconfig",
                    },
                }),
            ),
        ),
        (
            "object-level-workload-identity",
            spec("2.x", json!({"cluster": {"objectLevelWorkloadIdentity": true}})),
        ),
        (
            "object-level-workload-identity-2.6",
            spec("2.6.x", json!({"cluster": {"objectLevelWorkloadIdentity": true}})),
        ),
        (
            "multitenant-workload-identity-2.7",
            spec(
                "2.7.x",
                json!({"cluster": {
                    "multitenant": true,
                    "multitenantWorkloadIdentity": true,
                    "objectLevelWorkloadIdentity": true,
                }}),
            ),
        ),
    ]
}

fn syncs() -> Vec<(&'static str, Value)> {
    let with = |fields: Value| {
        let mut sync = git_sync();
        if let (Some(map), Value::Object(fields)) = (sync.as_object_mut(), fields) {
            map.extend(fields);
        }
        sync
    };
    let oci = json!({
        "kind": "OCIRepository",
        "url": "oci://ghcr.io/example/fleet-manifests",
        "ref": "latest",
        "path": "./",
    });
    let bucket = json!({
        "kind": "Bucket",
        "url": "minio.example.com",
        "ref": "fleet",
        "path": "./clusters/staging",
        "provider": "gcp",
    });
    vec![
        ("sync-git", spec("2.x", json!({"sync": git_sync()}))),
        (
            "sync-git-github-app",
            spec(
                "2.x",
                json!({"sync": with(json!({"pullSecret": "flux-github", "provider": "github", "interval": "5m"}))}),
            ),
        ),
        (
            "sync-git-named",
            spec(
                "2.x",
                json!({"sync": with(json!({"name": "fleet", "interval": "1h30m"}))}),
            ),
        ),
        ("sync-oci", spec("2.x", json!({"sync": oci}))),
        (
            "sync-oci-2.5",
            spec(
                "2.5.x",
                json!({"sync": with(json!({"kind": "OCIRepository", "url": "oci://ghcr.io/example/fleet", "ref": "v1.0.0", "provider": "aws", "interval": "90s"}))}),
            ),
        ),
        ("sync-bucket", spec("2.x", json!({"sync": bucket}))),
        (
            "sync-bucket-2.4",
            spec(
                "2.4.x",
                json!({"sync": with(json!({"kind": "Bucket", "url": "s3.amazonaws.com", "ref": "fleet", "provider": "aws", "pullSecret": "bucket-creds"}))}),
            ),
        ),
        (
            "sync-multitenant",
            spec(
                "2.x",
                json!({"sync": with(json!({"interval": "10m"})), "cluster": {"multitenant": true}}),
            ),
        ),
    ]
}

fn sharding() -> Vec<(&'static str, Value)> {
    let storage = json!({"class": "standard", "size": "10Gi"});
    vec![
        (
            "sharding-ephemeral",
            spec("2.x", json!({"sharding": {"shards": ["shard1", "shard2"]}})),
        ),
        (
            "sharding-persistent",
            spec(
                "2.x",
                json!({"storage": storage, "sharding": {"shards": ["a", "b"], "storage": "persistent"}}),
            ),
        ),
        (
            "sharding-storage-ephemeral-shards",
            spec("2.x", json!({"storage": storage, "sharding": {"shards": ["one"]}})),
        ),
        (
            "sharding-custom-key-all-components",
            spec(
                "2.9.x",
                json!({
                    "components": ALL_COMPONENTS,
                    "sharding": {"key": "example.com/shard", "shards": ["s1"]},
                }),
            ),
        ),
        (
            "sharding-multitenant-2.6",
            spec(
                "2.6.x",
                json!({"cluster": {"multitenant": true}, "sharding": {"shards": ["red", "green", "blue"]}}),
            ),
        ),
        (
            "sharding-source-watcher-2.8",
            spec(
                "2.8.x",
                json!({
                    "components": ["source-controller", "kustomize-controller", "source-watcher"],
                    "sharding": {"shards": ["shard1"]},
                }),
            ),
        ),
    ]
}

fn components() -> Vec<(&'static str, Value)> {
    let with = |version: &str, list: Value| spec(version, json!({"components": list}));
    vec![
        ("components-all-2.x", with("2.x", json!(ALL_COMPONENTS))),
        (
            "components-no-notification",
            with(
                "2.x",
                json!(["source-controller", "kustomize-controller", "helm-controller"]),
            ),
        ),
        (
            "components-source-kustomize",
            spec(
                "2.3.x",
                json!({"components": ["kustomize-controller", "source-controller"], "sync": git_sync()}),
            ),
        ),
        (
            "components-source-watcher-2.7",
            with(
                "2.7.x",
                json!([
                    "source-controller",
                    "kustomize-controller",
                    "helm-controller",
                    "source-watcher"
                ]),
            ),
        ),
        (
            "components-image-automation",
            with(
                "2.8.x",
                json!([
                    "source-controller",
                    "kustomize-controller",
                    "notification-controller",
                    "image-reflector-controller",
                    "image-automation-controller",
                ]),
            ),
        ),
    ]
}

fn registries() -> Vec<(&'static str, Value)> {
    let registry = |version: &str, registry: &str, pull_secret: Option<&str>| {
        let mut distribution = json!({"version": version, "registry": registry});
        if let Some(secret) = pull_secret {
            distribution["imagePullSecret"] = json!(secret);
        }
        json!({ "distribution": distribution })
    };
    vec![
        ("registry-docker-hub", registry("2.x", "fluxcd", None)),
        ("registry-docker-io", registry("2.6.x", "docker.io/fluxcd", None)),
        ("registry-mirror", registry("2.x", "registry.example.com/fluxcd", None)),
        (
            "registry-mirror-pull-secret",
            registry("2.8.x", "mirror.example.com:5000/flux", Some("mirror-creds")),
        ),
        (
            "image-pull-secret",
            registry("2.x", "ghcr.io/fluxcd", Some("ghcr-auth")),
        ),
        // The distribution has no enterprise image list: the manifests' tags stay.
        (
            "registry-enterprise-without-digests",
            registry("2.x", "ghcr.io/controlplaneio-fluxcd/distroless", None),
        ),
    ]
}

fn metadata_and_storage() -> Vec<(&'static str, Value)> {
    vec![
        (
            "common-metadata",
            spec(
                "2.x",
                json!({
                    "commonMetadata": {
                        "labels": {"team": "platform", "app.kubernetes.io/part-of": "fleet"},
                        "annotations": {"example.com/owner": "platform@example.com"},
                    },
                    "sync": git_sync(),
                }),
            ),
        ),
        (
            "storage",
            spec("2.x", json!({"storage": {"class": "fast-ssd", "size": "20Gi"}})),
        ),
        (
            "storage-without-source-controller",
            spec(
                "2.x",
                json!({"components": ["kustomize-controller", "helm-controller"], "storage": {"class": "standard", "size": "1Gi"}}),
            ),
        ),
        (
            "wait-off-no-migration",
            spec("2.x", json!({"wait": false, "migrateResources": false})),
        ),
    ]
}

fn patches() -> Vec<(&'static str, Value)> {
    let strategic = json!({
        "target": {"kind": "Deployment", "labelSelector": "app.kubernetes.io/component in (kustomize-controller, helm-controller)"},
        "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: all\nspec:\n  template:\n    spec:\n      containers:\n        - name: manager\n          env:\n            - name: HTTPS_PROXY\n              value: http://proxy.example.com:3128\n",
    });
    let json6902 = json!({
        "target": {"group": "apps", "version": "v1", "kind": "Deployment", "name": "source-controller"},
        "patch": "- op: replace\n  path: /spec/replicas\n  value: 2\n- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --requeue-dependency=15s\n",
    });
    let untargeted = json!({
        "patch": "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: kustomize-controller\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/flux\n",
    });
    let annotation = json!({
        "target": {"kind": "CustomResourceDefinition", "annotationSelector": "controller-gen.kubebuilder.io/version"},
        "patch": "- op: add\n  path: /metadata/labels/example.com~1crd\n  value: flux\n",
    });
    let delete = json!({
        "patch": "$patch: delete\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-webhooks\n",
    });
    // Upstream's targets also match the names objects had before the build renamed them:
    // a patch for kustomize-controller reaches its shards, `crd-controller` its per-instance
    // ClusterRole; a target that matches nothing is no error.
    let by_original_name = json!({
        "target": {"kind": "Deployment", "name": "kustomize-controller"},
        "patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: any\nspec:\n  template:\n    spec:\n      containers:\n        - name: manager\n          env:\n            - name: GOMAXPROCS\n              value: \"2\"\n",
    });
    let renamed_rbac = json!({
        "target": {"kind": "ClusterRole", "name": "crd-controller"},
        "patch": "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: any\n  labels:\n    example.com/audited: \"true\"\n",
    });
    let selects_nothing = json!({
        "target": {"kind": "Deployment", "name": "no-such-controller"},
        "patch": "- op: remove\n  path: /spec\n",
    });
    let [quota, shard_by_namespace, sync_by_namespace] = namespaced_identity_patches();
    vec![
        (
            "patch-strategic-merge",
            spec("2.x", json!({"kustomize": {"patches": [strategic, untargeted]}})),
        ),
        (
            "patch-json6902",
            spec("2.x", json!({"kustomize": {"patches": [json6902, annotation]}})),
        ),
        (
            "patch-original-names",
            spec(
                "2.x",
                json!({
                    "sharding": {"shards": ["s1"]},
                    "kustomize": {"patches": [by_original_name, renamed_rbac, selects_nothing]},
                }),
            ),
        ),
        (
            "patch-namespaced-identities",
            spec(
                "2.x",
                json!({"sharding": {"shards": ["s1"]}, "kustomize": {"patches": [quota, shard_by_namespace, sync_by_namespace]}, "sync": git_sync()}),
            ),
        ),
        (
            "patch-delete-and-sharding",
            spec(
                "2.x",
                json!({"kustomize": {"patches": [delete]}, "sharding": {"shards": ["shard1"]}}),
            ),
        ),
    ]
}

/// The objects upstream generates or copies (rbac.yaml's, the shards, the sync objects) are
/// in the namespace when patches run; the release's component files are not.
fn namespaced_identity_patches() -> [Value; 3] {
    let quota = json!({
        "patch": "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: critical-pods\n  namespace: flux-system\nspec:\n  hard:\n    pods: \"500\"\n",
    });
    let shard_by_namespace = json!({
        "target": {"kind": "Deployment", "namespace": "flux-system"},
        "patch": "- op: replace\n  path: /spec/replicas\n  value: 2\n",
    });
    let sync_by_namespace = json!({
        "target": {"group": "source.toolkit.fluxcd.io", "namespace": "flux-system"},
        "patch": "- op: add\n  path: /spec/timeout\n  value: 3m\n",
    });
    [quota, shard_by_namespace, sync_by_namespace]
}
