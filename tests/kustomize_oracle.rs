//! `apply_patches` against the reference: for each case the same objects and patches go through
//! `kubectl kustomize` (kustomize v5) and through our engine, and the resulting objects must be
//! equal (matched by kind, namespace and name; map order ignored, list order kept). When
//! kustomize refuses a case, our engine must refuse it too.
//!
//! kubectl must be installed (or named by `$KUBECTL`): these tests fail without it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

#[path = "kustomize_oracle/property.rs"]
mod property;
#[path = "kustomize_oracle/validity.rs"]
mod validity;

use flux_operator_rs::api::{PatchSpec, PatchTarget};
use flux_operator_rs::build::patch::apply_patches;
use flux_operator_rs::yaml;
use serde_json::{Value, json};

fn kubectl() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL") {
        return PathBuf::from(path);
    }
    let found = std::env::var_os("PATH").map(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("kubectl"))
            .find(|p| p.is_file())
    });
    match found.flatten() {
        Some(path) => path,
        None => panic!("kubectl is needed by the kustomize oracle tests: install it or set $KUBECTL"),
    }
}

const CLUSTER_SCOPED: [&str; 4] = [
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleBinding",
    "Namespace",
];

/// The Flux v2.9.4 release manifests, with namespaced objects in flux-system as the build puts
/// them before patching.
fn flux() -> Vec<Value> {
    static FLUX: OnceLock<Vec<Value>> = OnceLock::new();
    FLUX.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution/flux/v2.9.4");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        files.sort();
        let mut objects = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable manifest");
            let docs: Vec<Value> = yaml::from_multi_str(&text).expect("valid manifest");
            objects.extend(docs);
        }
        for o in &mut objects {
            let kind = o["kind"].as_str().unwrap_or_default().to_string();
            if !CLUSTER_SCOPED.contains(&kind.as_str()) {
                o["metadata"]["namespace"] = json!("flux-system");
            }
        }
        objects
    })
    .clone()
}

/// A few small objects beside Flux's: a custom resource, a ConfigMap, a Pod-less workload.
fn synthetic() -> Vec<Value> {
    vec![
        json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
               "metadata": {"name": "flux-system", "namespace": "flux-system", "labels": {"sync": "root"}},
               "spec": {"interval": "10m", "path": "./clusters/prod", "prune": true,
                        "sourceRef": {"kind": "GitRepository", "name": "flux-system"},
                        "healthChecks": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "a", "namespace": "x"}],
                        "patches": [{"patch": "x", "target": {"kind": "Deployment"}}]}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "settings", "namespace": "flux-system", "finalizers": ["b.example.com/keep", "a.example.com/keep"],
                            "annotations": {"team": "platform"}},
               "data": {"a": "1", "b": "2"}}),
        json!({"apiVersion": "v1", "kind": "Namespace",
               "metadata": {"name": "flux-system", "labels": {"pod-security.kubernetes.io/warn": "restricted"}}}),
    ]
}

fn id(o: &Value) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    (s(&o["kind"]), s(&o["metadata"]["namespace"]), s(&o["metadata"]["name"]))
}

fn kustomize(objects: &[Value], patches: &[PatchSpec]) -> Result<Vec<Value>, String> {
    let dir = tempfile::tempdir().expect("temp dir");
    let resources = yaml::to_multi_string(objects).expect("objects serialize");
    std::fs::write(dir.path().join("resources.yaml"), resources).expect("write resources");
    let kustomization = json!({"resources": ["resources.yaml"], "patches": patches});
    std::fs::write(
        dir.path().join("kustomization.yaml"),
        yaml::to_string(&kustomization).expect("serializes"),
    )
    .expect("write kustomization");
    let out = Command::new(kubectl())
        .arg("kustomize")
        .arg(dir.path())
        .output()
        .expect("kubectl runs");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let text = String::from_utf8(out.stdout).expect("UTF-8 output");
    yaml::from_multi_str(&text).map_err(|e| format!("kustomize output does not parse: {e}"))
}

fn by_id(objects: Vec<Value>) -> BTreeMap<(String, String, String), Value> {
    objects
        .into_iter()
        .filter(|o| !o.is_null())
        .map(|o| (id(&o), o))
        .collect()
}

/// The paths where two values differ, for a readable failure.
fn differences(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    if out.len() >= 12 {
        return;
    }
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                differences(
                    &format!("{path}.{k}"),
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(&format!("{path}[{i}]"), p, q, out);
            }
        }
        _ if a != b => out.push(format!("{path}: kustomize {a}, ours {b}")),
        _ => {}
    }
}

/// Runs one case through kustomize and through `apply_patches` and compares.
fn check(objects: Vec<Value>, patches: Vec<PatchSpec>) {
    let expected = kustomize(&objects, &patches);
    let mut ours = objects.clone();
    let result = apply_patches(&mut ours, &patches);
    match (expected, result) {
        (Ok(expected), Ok(())) => {
            let expected = by_id(expected);
            let ours = by_id(ours);
            let expected_ids: Vec<_> = expected.keys().collect();
            let our_ids: Vec<_> = ours.keys().collect();
            assert_eq!(expected_ids, our_ids, "the same objects come out");
            let mut diffs = Vec::new();
            for (key, want) in &expected {
                differences(&format!("{}/{}/{}", key.0, key.1, key.2), want, &ours[key], &mut diffs);
            }
            assert!(
                diffs.is_empty(),
                "our objects differ from kustomize's:\n{}",
                diffs.join("\n")
            );
        }
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("kustomize applies the patches, we fail: {e}"),
        (Err(e), Ok(())) => panic!("kustomize fails, we do not: {e}"),
    }
}

/// Both must refuse the case.
fn check_refused(objects: Vec<Value>, patches: Vec<PatchSpec>) {
    assert!(kustomize(&objects, &patches).is_err(), "kustomize refuses the case");
    let mut ours = objects.clone();
    let e = apply_patches(&mut ours, &patches).expect_err("we refuse it too");
    assert!(e.to_string().starts_with("spec.kustomize.patches["), "{e}");
    assert_eq!(ours, objects, "all or nothing");
}

fn patch(target: Option<PatchTarget>, text: &str) -> PatchSpec {
    PatchSpec {
        patch: text.to_string(),
        target,
    }
}

#[derive(Default)]
struct T(PatchTarget);

impl T {
    fn group(mut self, v: &str) -> T {
        self.0.group = Some(v.into());
        self
    }
    fn version(mut self, v: &str) -> T {
        self.0.version = Some(v.into());
        self
    }
    fn kind(mut self, v: &str) -> T {
        self.0.kind = Some(v.into());
        self
    }
    fn name(mut self, v: &str) -> T {
        self.0.name = Some(v.into());
        self
    }
    fn namespace(mut self, v: &str) -> T {
        self.0.namespace = Some(v.into());
        self
    }
    fn labels(mut self, v: &str) -> T {
        self.0.label_selector = Some(v.into());
        self
    }
    fn annotations(mut self, v: &str) -> T {
        self.0.annotation_selector = Some(v.into());
        self
    }
    fn done(self) -> Option<PatchTarget> {
        Some(self.0)
    }
}

fn target() -> T {
    T::default()
}

fn deployments(name: &str) -> Option<PatchTarget> {
    target().kind("Deployment").name(name).done()
}

// ---- Controller tuning on the real Flux Deployments ----

#[test]
fn concurrency_args_on_regex_target() {
    check(
        flux(),
        vec![patch(
            deployments("(kustomize-controller|helm-controller)"),
            "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --concurrent=20\n",
        )],
    );
}

#[test]
fn requeue_dependency_and_concurrency() {
    check(
        flux(),
        vec![patch(
            deployments("(kustomize|helm)-controller"),
            "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --concurrent=10\n\
             - op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --requeue-dependency=5s\n",
        )],
    );
}

#[test]
fn memory_limit_on_every_deployment() {
    check(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: all\nspec:\n  template:\n    spec:\n      \
             containers:\n      - name: manager\n        resources:\n          limits: {memory: 2Gi}\n",
        )],
    );
}

#[test]
fn feature_gates_via_args() {
    check(
        flux(),
        vec![patch(
            deployments("helm-controller"),
            "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  \
             value: --feature-gates=OOMWatch=true,DetectDrift=true,CorrectDrift=false\n",
        )],
    );
}

#[test]
fn env_var_added_by_name() {
    check(
        flux(),
        vec![patch(
            deployments("source-controller"),
            "kind: Deployment\nmetadata:\n  name: source-controller\nspec:\n  template:\n    spec:\n      containers:\n      \
             - name: manager\n        env:\n        - name: HTTPS_PROXY\n          value: http://proxy:3128\n        \
             - name: NO_PROXY\n          value: .cluster.local.,.svc\n",
        )],
    );
}

#[test]
fn env_var_changed_by_name() {
    check(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "kind: Deployment\nmetadata:\n  name: any\nspec:\n  template:\n    spec:\n      containers:\n      \
             - name: manager\n        env:\n        - name: GOMEMLIMIT\n          value: 900MiB\n          valueFrom: null\n",
        )],
    );
}

#[test]
fn volume_and_mount_added() {
    check(
        flux(),
        vec![patch(
            target()
                .kind("Deployment")
                .name("source-controller|kustomize-controller")
                .done(),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      \
             - name: manager\n        volumeMounts:\n        - name: ca\n          mountPath: /etc/ssl/certs/ca.crt\n          \
             subPath: ca.crt\n      volumes:\n      - name: ca\n        configMap:\n          name: trusted-ca\n",
        )],
    );
}

#[test]
fn tolerations_are_replaced() {
    let tolerate = "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      tolerations:\n      \
                    - key: {key}\n        operator: Exists\n        effect: NoSchedule\n";
    check(
        flux(),
        vec![
            patch(
                target().kind("Deployment").done(),
                &tolerate.replace("{key}", "dedicated"),
            ),
            patch(deployments("helm-controller"), &tolerate.replace("{key}", "flux")),
        ],
    );
}

#[test]
fn node_selector_and_affinity() {
    check(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      nodeSelector:\n        \
             role: flux\n      affinity:\n        nodeAffinity:\n          requiredDuringSchedulingIgnoredDuringExecution:\n  \
                       nodeSelectorTerms:\n            - matchExpressions:\n              - key: kubernetes.io/arch\n  \
                             operator: In\n                values: [amd64, arm64]\n",
        )],
    );
}

#[test]
fn replicas_without_target() {
    check(
        flux(),
        vec![patch(
            None,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: notification-controller\n  namespace: flux-system\n\
             spec:\n  replicas: 2\n",
        )],
    );
}

#[test]
fn sidecar_container_added() {
    check(
        flux(),
        vec![patch(
            deployments("kustomize-controller"),
            "kind: Deployment\nmetadata:\n  name: kustomize-controller\nspec:\n  template:\n    spec:\n      containers:\n      \
             - name: proxy\n        image: ghcr.io/example/proxy:1.0\n        args: [--port=3128]\n        ports:\n        \
             - containerPort: 3128\n          name: proxy\n",
        )],
    );
}

#[test]
fn container_removed_with_delete_directive() {
    check(
        flux(),
        vec![
            patch(
                target().kind("Deployment").done(),
                "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      \
                 - name: sidecar\n        image: busybox\n",
            ),
            patch(
                deployments("helm-controller"),
                "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      \
                 - name: sidecar\n        $patch: delete\n",
            ),
            patch(
                deployments("source-watcher"),
                "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      \
                 - name: manager\n        $patch: delete\n",
            ),
        ],
    );
}

#[test]
fn resources_replaced_with_replace_directive() {
    check(
        flux(),
        vec![patch(
            deployments("(source|kustomize)-controller"),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      \
             - name: manager\n        resources:\n          $patch: replace\n          requests:\n            cpu: 500m\n",
        )],
    );
}

#[test]
fn image_pull_secrets_and_init_containers_merge() {
    check(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      imagePullSecrets:\n      \
             - name: regcred\n      initContainers:\n      - name: wait\n        image: busybox\n        \
             command: [sh, -c, 'sleep 1']\n",
        )],
    );
}

#[test]
fn topology_spread_constraints_and_pod_metadata() {
    check(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    metadata:\n      annotations:\n        \
             cluster-autoscaler.kubernetes.io/safe-to-evict: \"true\"\n      labels:\n        team: platform\n    spec:\n      \
             topologySpreadConstraints:\n      - maxSkew: 1\n        topologyKey: topology.kubernetes.io/zone\n        \
             whenUnsatisfiable: ScheduleAnyway\n        labelSelector:\n          matchLabels: {app: x}\n",
        )],
    );
}

#[test]
fn security_context_fields_deleted_with_null() {
    check(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      securityContext: null\n      \
             containers:\n      - name: manager\n        securityContext:\n          seccompProfile: null\n          \
             runAsNonRoot: null\n",
        )],
    );
}

#[test]
fn container_ports_pair_on_port_and_protocol() {
    check(
        flux(),
        vec![patch(
            deployments("notification-controller"),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      \
             - name: manager\n        ports:\n        - containerPort: 9292\n          protocol: TCP\n          \
             name: webhook\n        - containerPort: 8080\n          name: unpaired\n        - containerPort: 7777\n",
        )],
    );
}

// ---- JSON 6902 ----

#[test]
fn every_json6902_operation() {
    check(
        flux(),
        vec![patch(
            deployments("source-controller"),
            r#"[
              {"op": "test", "path": "/spec/replicas", "value": 1},
              {"op": "add", "path": "/spec/template/spec/containers/0/args/0", "value": "--storage-path=/data"},
              {"op": "remove", "path": "/spec/template/spec/containers/0/args/1"},
              {"op": "replace", "path": "/spec/template/spec/containers/0/image", "value": "registry.example.com/source-controller:v1"},
              {"op": "copy", "from": "/metadata/labels", "path": "/spec/template/metadata/annotations"},
              {"op": "move", "from": "/spec/template/spec/priorityClassName", "path": "/metadata/annotations"},
              {"op": "replace", "path": "/spec/strategy", "value": {"type": "Recreate"}}
            ]"#,
        )],
    );
}

#[test]
fn json_pointer_escaping() {
    check(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "- op: add\n  path: /spec/template/metadata/annotations/example.com~1owner\n  value: platform\n\
             - op: add\n  path: /spec/template/metadata/annotations/tilde~0key\n  value: x\n\
             - op: remove\n  path: /spec/template/metadata/annotations/prometheus.io~1scrape\n",
        )],
    );
}

#[test]
fn json6902_negative_indices_and_yaml_1_1_values() {
    check(
        flux(),
        vec![patch(
            deployments("kustomize-controller"),
            "- op: remove\n  path: /spec/template/spec/containers/0/args/-1\n\
             - op: add\n  path: /spec/template/spec/containers/0/args/-2\n  value: --no-remote-bases=true\n\
             - op: add\n  path: /metadata/labels/enabled\n  value: \"yes\"\n\
             - op: add\n  path: /spec/paused\n  value: no\n",
        )],
    );
}

#[test]
fn json6902_replace_of_a_missing_key_adds_it() {
    check(
        flux(),
        vec![patch(
            target().kind("Service").done(),
            "[{\"op\": \"replace\", \"path\": \"/spec/sessionAffinity\", \"value\": \"ClientIP\"}]",
        )],
    );
}

// ---- Targets ----

#[test]
fn match_everything_regex() {
    check(
        flux(),
        vec![patch(
            target().kind("Service").name(".*").done(),
            "kind: Service\nmetadata:\n  name: x\n  labels:\n    exposed: \"true\"\n",
        )],
    );
}

#[test]
fn label_selector_set_based() {
    check(
        flux(),
        vec![patch(
            target()
                .labels("app.kubernetes.io/component in (kustomize-controller, helm-controller),control-plane")
                .done(),
            "[{\"op\": \"add\", \"path\": \"/metadata/labels/tuned\", \"value\": \"yes\"}]",
        )],
    );
}

#[test]
fn label_selector_negations() {
    check(
        flux(),
        vec![
            patch(
                target()
                    .kind("Deployment")
                    .labels("app.kubernetes.io/component notin (source-controller),!missing")
                    .done(),
                "kind: Deployment\nmetadata:\n  name: x\nspec:\n  revisionHistoryLimit: 3\n",
            ),
            patch(
                target()
                    .labels("app.kubernetes.io/component!=source-watcher,control-plane=controller")
                    .done(),
                "kind: Any\nmetadata:\n  name: x\n  annotations:\n    selected: by-labels\n",
            ),
        ],
    );
}

#[test]
fn annotation_selector() {
    check(
        flux(),
        vec![patch(
            target()
                .annotations("controller-gen.kubebuilder.io/version=v0.21.0")
                .name("(buckets|alerts)\\..*")
                .done(),
            "- op: add\n  path: /metadata/labels/backup\n  value: velero\n",
        )],
    );
}

#[test]
fn group_and_version_targets() {
    check(
        flux(),
        vec![
            patch(
                target()
                    .group("apiextensions.k8s.io")
                    .version("v1")
                    .name(".*\\.source\\.toolkit\\.fluxcd\\.io")
                    .done(),
                "kind: CustomResourceDefinition\nmetadata:\n  name: x\n  labels:\n    group: source\n",
            ),
            patch(
                target().group("rbac.authorization.k8s.io").kind("Cluster.*").done(),
                "kind: ClusterRole\nmetadata:\n  name: x\n  labels:\n    rbac: flux\n",
            ),
            patch(
                target().version("v1").kind("ServiceAccount").done(),
                "- {op: add, path: /automountServiceAccountToken, value: false}",
            ),
        ],
    );
}

#[test]
fn namespace_targets() {
    check(
        flux(),
        vec![
            patch(
                target().namespace("flux-system").kind("ServiceAccount").done(),
                "kind: ServiceAccount\nmetadata:\n  name: x\nimagePullSecrets:\n- name: regcred\n",
            ),
            patch(
                target()
                    .namespace(".*")
                    .kind("(ClusterRoleBinding|NetworkPolicy)")
                    .done(),
                "kind: X\nmetadata:\n  name: x\n  labels:\n    any-namespace: \"true\"\n",
            ),
        ],
    );
}

// ---- Other kinds ----

#[test]
fn crd_plain_merge() {
    check(
        flux(),
        vec![
            patch(
                target()
                    .kind("CustomResourceDefinition")
                    .name("helmreleases.helm.toolkit.fluxcd.io")
                    .done(),
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: x\n  annotations:\n    \
                 example.com/owner: platform\nspec:\n  conversion:\n    strategy: None\n",
            ),
            patch(
                target()
                    .kind("CustomResourceDefinition")
                    .name("kustomizations.kustomize.toolkit.fluxcd.io")
                    .done(),
                "kind: CustomResourceDefinition\nmetadata:\n  name: x\nspec:\n  names:\n    shortNames: [ks, kust]\n  versions:\n  \
                 - name: v1\n    served: true\n    storage: true\n",
            ),
        ],
    );
}

#[test]
fn service_ports_merge_by_port() {
    check(
        flux(),
        vec![
            patch(
                target().kind("Service").name("source-controller").done(),
                "kind: Service\nmetadata:\n  name: x\nspec:\n  type: NodePort\n  ports:\n  - port: 80\n    protocol: TCP\n    \
                 nodePort: 30080\n  - port: 9090\n    name: extra\n    targetPort: http\n",
            ),
            patch(
                target().kind("Service").name("webhook-receiver").done(),
                "kind: Service\nmetadata:\n  name: x\nspec:\n  ports:\n  - port: 80\n    name: without-protocol\n",
            ),
        ],
    );
}

#[test]
fn network_policy_and_cluster_role_lists_are_replaced() {
    check(
        flux(),
        vec![
            patch(
                target().kind("NetworkPolicy").name("allow-scraping").done(),
                "kind: NetworkPolicy\nmetadata:\n  name: x\nspec:\n  ingress:\n  - from:\n    - namespaceSelector:\n        \
                 matchLabels: {monitoring: \"true\"}\n    ports:\n    - port: 8080\n      protocol: TCP\n",
            ),
            patch(
                target().kind("ClusterRole").name("flux-view").done(),
                "- op: add\n  path: /rules/-\n  value:\n    apiGroups: [\"\"]\n    resources: [configmaps]\n    verbs: [get]\n",
            ),
            patch(
                target().kind("ResourceQuota").done(),
                "kind: ResourceQuota\nmetadata:\n  name: x\nspec:\n  hard:\n    pods: \"500\"\n",
            ),
        ],
    );
}

#[test]
fn custom_resource_lists_are_replaced() {
    check(
        synthetic(),
        vec![patch(
            target().kind("Kustomization").done(),
            "kind: Kustomization\nmetadata:\n  name: x\nspec:\n  healthChecks:\n  - apiVersion: apps/v1\n    kind: Deployment\n    \
             name: b\n  patches: null\n  timeout: 5m\n  sourceRef:\n    name: other\n",
        )],
    );
}

#[test]
fn finalizers_merge_as_a_set() {
    check(
        synthetic(),
        vec![patch(
            target().kind("ConfigMap").done(),
            "kind: ConfigMap\nmetadata:\n  name: x\n  finalizers: [c.example.com/keep, a.example.com/keep]\ndata:\n  b: null\n  c: \"3\"\n",
        )],
    );
}

// ---- Several patches, several documents ----

#[test]
fn patches_apply_in_order_to_the_same_object() {
    check(
        flux(),
        vec![
            patch(
                deployments("helm-controller"),
                "- {op: add, path: /spec/template/spec/containers/0/args/-, value: --concurrent=8}",
            ),
            patch(
                deployments("helm-controller"),
                "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: manager\n  \
                       args: [--watch-all-namespaces, --log-level=debug]\n",
            ),
            patch(
                deployments("helm-controller"),
                "- {op: test, path: /spec/template/spec/containers/0/args/1, value: --log-level=debug}",
            ),
            patch(
                deployments("helm-controller"),
                "- {op: add, path: /spec/template/spec/containers/0/args/-, value: --concurrent=9}",
            ),
        ],
    );
}

#[test]
fn several_documents_without_target() {
    check(
        flux(),
        vec![patch(
            None,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: source-controller\n  namespace: flux-system\nspec:\n  \
             replicas: 2\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: source-controller\n  namespace: flux-system\n\
             spec:\n  type: LoadBalancer\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  \
             metadata:\n    name: source-controller\n    namespace: flux-system\n    annotations:\n      \
             eks.amazonaws.com/role-arn: arn:aws:iam::123:role/flux\n",
        )],
    );
}

#[test]
fn object_deleted_and_replace_at_top_ignored() {
    check(
        flux(),
        vec![
            patch(
                target().kind("NetworkPolicy").name("allow-webhooks").done(),
                "kind: NetworkPolicy\nmetadata:\n  name: x\n$patch: delete\n",
            ),
            patch(
                None,
                "apiVersion: v1\nkind: ResourceQuota\nmetadata:\n  name: critical-pods\n  namespace: flux-system\n$patch: replace\nspec: {}\n",
            ),
        ],
    );
}

#[test]
fn element_replace_directive_is_dropped() {
    check(
        flux(),
        vec![patch(
            deployments("kustomize-controller"),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: manager\n  \
                   $patch: replace\n        image: replaced\n",
        )],
    );
}

#[test]
fn apimachinery_only_directives_are_plain_fields() {
    check(
        flux(),
        vec![patch(
            deployments("kustomize-controller"),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  strategy:\n    $retainKeys: [type]\n    type: Recreate\n  template:\n  \
               spec:\n      $setElementOrder/containers:\n      - name: manager\n",
        )],
    );
}

#[test]
fn last_env_var_deleted_leaves_an_empty_list() {
    check(
        flux(),
        vec![patch(
            deployments("kustomize-controller"),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: manager\n  \
                   env:\n        - name: RUNTIME_NAMESPACE\n          $patch: delete\n        - name: GOMEMLIMIT\n  \
                     $patch: delete\n",
        )],
    );
}

/// kustomize would also rewrite references to a renamed object (its nameReference step, not a
/// patch semantic); a NetworkPolicy has none.
#[test]
fn renamed_object_is_still_found_by_its_original_name() {
    check(
        flux(),
        vec![
            patch(
                target().kind("NetworkPolicy").name("allow-egress").done(),
                "[{\"op\": \"replace\", \"path\": \"/metadata/name\", \"value\": \"egress\"}]",
            ),
            patch(
                target().kind("NetworkPolicy").name("allow-egress").done(),
                "[{\"op\": \"add\", \"path\": \"/metadata/labels/renamed\", \"value\": \"true\"}]",
            ),
        ],
    );
}

#[test]
fn targeted_metadata_maps_are_read_as_strings() {
    check(
        flux(),
        vec![patch(
            target().kind("Service").name("source-controller").done(),
            "kind: Service\nmetadata:\n  name: x\n  labels:\n    control-plane: null\n    replicas: 3\n  annotations:\n    \
             port: 8080\n",
        )],
    );
}

#[test]
fn labels_null_without_target_deletes() {
    check(
        flux(),
        vec![patch(
            None,
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: source-controller\n  namespace: flux-system\n  labels:\n    \
             control-plane: null\n    tier: 2\n",
        )],
    );
}

#[test]
fn namespace_object_patched() {
    check(
        synthetic(),
        vec![patch(
            target().kind("Namespace").done(),
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n  labels:\n    pod-security.kubernetes.io/warn: null\n    \
             pod-security.kubernetes.io/enforce: baseline\n",
        )],
    );
}

#[test]
fn crd_without_target_ignores_the_namespace() {
    check(
        flux(),
        vec![patch(
            None,
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  \
             name: ocirepositories.source.toolkit.fluxcd.io\n  namespace: anything\n  labels:\n    patched: \"yes\"\n",
        )],
    );
}

#[test]
fn list_directives() {
    check(
        flux(),
        vec![
            patch(
                deployments("source-controller"),
                "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      volumes:\n      - $patch: replace\n      \
                 - name: data\n        persistentVolumeClaim:\n          claimName: source-data\n      - name: tmp\n        \
                 emptyDir: {}\n",
            ),
            patch(
                deployments("helm-controller"),
                "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - name: manager\n  \
                       env:\n        - $patch: delete\n",
            ),
        ],
    );
}

// ---- Generated strategic-merge patches ----

/// A small deterministic generator (xorshift), so that the cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize].clone()
    }
}

fn generated_env(r: &mut Rng) -> Value {
    let n = r.next() % 4;
    let entries = (0..n).map(|_| {
        let mut e = serde_json::Map::new();
        let name: &str = r.pick(&["A", "RUNTIME_NAMESPACE", "GOMEMLIMIT", ""]);
        if !name.is_empty() {
            e.insert("name".into(), json!(name));
        }
        match r.next() % 5 {
            0 => {
                e.insert("$patch".into(), json!("delete"));
            }
            1 => {
                e.insert("value".into(), json!("v"));
                e.insert("valueFrom".into(), Value::Null);
            }
            2 => {
                e.insert("value".into(), Value::Null);
            }
            3 => {
                e.insert("$patch".into(), json!("replace"));
                e.insert("value".into(), json!("r"));
            }
            _ => {
                e.insert("value".into(), json!("x"));
            }
        }
        Value::Object(e)
    });
    Value::Array(entries.collect())
}

fn generated_container(r: &mut Rng) -> Value {
    let mut c = serde_json::Map::new();
    c.insert("name".into(), json!(r.pick(&["manager", "manager", "sidecar"])));
    if r.chance(40) {
        c.insert("image".into(), json!("example/image:1"));
    }
    if r.chance(30) {
        c.insert("args".into(), json!(["--x", "--y"]));
    }
    if r.chance(50) {
        c.insert("env".into(), generated_env(r));
    }
    if r.chance(40) {
        let ports = (0..1 + r.next() % 3).map(|_| {
            let mut p = serde_json::Map::new();
            p.insert("containerPort".into(), json!(r.pick(&[8080, 9440, 9090, 7777])));
            match r.next() % 3 {
                0 => p.insert("protocol".into(), json!("TCP")),
                1 => p.insert("protocol".into(), json!("UDP")),
                _ => None,
            };
            if r.chance(50) {
                p.insert("name".into(), json!(r.pick(&["p", "http-prom", "healthz"])));
            }
            if r.chance(10) {
                p.insert("$patch".into(), json!("delete"));
            }
            Value::Object(p)
        });
        c.insert("ports".into(), Value::Array(ports.collect()));
    }
    if r.chance(30) {
        let mounts = (0..r.next() % 3).map(|_| {
            let mut m = serde_json::Map::new();
            m.insert("mountPath".into(), json!(r.pick(&["/tmp", "/data", "/x"])));
            m.insert("name".into(), json!(r.pick(&["temp", "data", "x"])));
            if r.chance(15) {
                m.insert("$patch".into(), json!("delete"));
            }
            Value::Object(m)
        });
        c.insert("volumeMounts".into(), Value::Array(mounts.collect()));
    }
    if r.chance(30) {
        let mut res = serde_json::Map::new();
        if r.chance(40) {
            res.insert("$patch".into(), json!("replace"));
        }
        res.insert("limits".into(), json!({"memory": "2Gi", "cpu": null}));
        c.insert("resources".into(), Value::Object(res));
    }
    if r.chance(8) {
        c.insert("$patch".into(), json!("delete"));
    }
    Value::Object(c)
}

fn generated_patch(r: &mut Rng) -> Value {
    let mut pod = serde_json::Map::new();
    if r.chance(80) {
        let containers = (0..1 + r.next() % 3).map(|_| generated_container(r));
        pod.insert("containers".into(), Value::Array(containers.collect()));
    }
    if r.chance(20) {
        pod.insert("initContainers".into(), json!([generated_container(r)]));
    }
    if r.chance(30) {
        let volumes = (0..r.next() % 3).map(|_| {
            let name: &str = r.pick(&["temp", "data", "x"]);
            match r.next() % 3 {
                0 => json!({"name": name, "$patch": "delete"}),
                1 => json!({"name": name, "configMap": {"name": "cm"}, "emptyDir": null}),
                _ => json!({"name": name, "emptyDir": {"medium": "Memory"}}),
            }
        });
        pod.insert("volumes".into(), Value::Array(volumes.collect()));
    }
    if r.chance(15) {
        pod.insert("imagePullSecrets".into(), json!([{"name": "regcred"}]));
    }
    let mut patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "ignored"},
                           "spec": {"template": {"spec": pod}}});
    if r.chance(20) {
        patch["spec"]["replicas"] = json!(2);
    }
    if r.chance(15) {
        patch["metadata"]["finalizers"] = json!([r.pick(&["a", "b"]), "z"]);
    }
    patch
}

/// Sixty generated patches, each on its own copy of a Flux Deployment, checked in one run:
/// duplicates, missing merge keys and directives in odd places included.
#[test]
fn generated_strategic_merge_patches() {
    let bases: Vec<Value> = flux().into_iter().filter(|o| o["kind"] == "Deployment").collect();
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    let mut objects = Vec::new();
    let mut patches = Vec::new();
    for i in 0..60 {
        let mut d = bases[i % bases.len()].clone();
        d["metadata"]["name"] = json!(format!("d{i}"));
        if r.chance(20) {
            d["metadata"]["finalizers"] = json!(["b", "a"]);
        }
        objects.push(d);
        let text = yaml::to_string(&generated_patch(&mut r)).expect("serializes");
        patches.push(patch(target().kind("Deployment").name(&format!("d{i}")).done(), &text));
    }
    check(objects, patches);
}

// ---- Refusals: kustomize and our engine both refuse ----

#[test]
fn refused_shape_mismatch() {
    check_refused(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    spec:\n      containers: {name: manager}\n",
        )],
    );
}

#[test]
fn refused_op_on_missing_path() {
    check_refused(
        flux(),
        vec![patch(
            deployments("helm-controller"),
            "- {op: remove, path: /spec/template/spec/missing/field}",
        )],
    );
}

#[test]
fn refused_failed_test_op() {
    check_refused(
        flux(),
        vec![patch(
            deployments("helm-controller"),
            "- {op: test, path: /spec/replicas, value: 3}",
        )],
    );
}

#[test]
fn refused_bad_regex() {
    check_refused(
        flux(),
        vec![patch(
            deployments("(helm|kustomize-controller"),
            "- {op: remove, path: /spec/replicas}",
        )],
    );
}

#[test]
fn refused_bad_label_selector() {
    check_refused(
        flux(),
        vec![patch(
            target().kind("Deployment").labels("app in source-controller").done(),
            "- {op: remove, path: /spec/replicas}",
        )],
    );
}

#[test]
fn refused_neither_object_nor_operations() {
    check_refused(
        flux(),
        vec![patch(target().kind("Deployment").done(), "spec:\n  replicas: 2\n")],
    );
    check_refused(
        flux(),
        vec![patch(target().kind("Deployment").done(), "- just\n- strings\n")],
    );
}

#[test]
fn refused_several_objects_with_a_target() {
    check_refused(
        flux(),
        vec![patch(
            target().kind("Deployment").done(),
            "kind: Deployment\nmetadata:\n  name: a\n---\nkind: Deployment\nmetadata:\n  name: b\n",
        )],
    );
}

#[test]
fn refused_operations_without_target_and_unknown_identity() {
    check_refused(flux(), vec![patch(None, "- {op: remove, path: /spec/replicas}")]);
    check_refused(
        flux(),
        vec![patch(
            None,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm-controller\nspec:\n  replicas: 2\n",
        )],
    );
}

#[test]
fn refused_unknown_directive() {
    check_refused(
        flux(),
        vec![patch(
            deployments("helm-controller"),
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template:\n    $patch: frobnicate\n",
        )],
    );
}
