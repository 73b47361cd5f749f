//! The Helm charts in `charts/`: `helm lint --strict`, `helm template` with default and
//! custom values, server-side dry runs of what they render, and `helm install` /
//! `helm uninstall` against this binary's own test bed (a real kube-apiserver and etcd, see
//! `hack/testbed.sh`). It has a test bed of its own because it installs the cluster-scoped
//! CRDs through Helm, which refuses objects another owner created.
//!
//! helm comes from `hack/install-helm.sh` (a package registry, cached); the tests fail when
//! it cannot be installed.

#[path = "testbed/common.rs"]
pub mod common;
#[path = "helm/mod.rs"]
pub mod helm;

use std::path::Path;

use serde_json::{Value, json};

use common::project_root as root;
use common::{kubectl_json, kubectl_ok};
use helm::{find, helm, helm_ok, kinds, permissive_crd, pod_from_template, render, values_file};

const OPERATOR: &str = "charts/flux-operator-rs";
const INSTANCE: &str = "charts/flux-instance";

fn container<'a>(objects: &'a [Value], deployment: &str) -> &'a Value {
    &find(objects, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
}

fn env_of<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"].as_array()?.iter().find(|e| e["name"] == name)
}

/// Integral floats as integers: the CRD schema's `maximum` is a float (`10000.0`), which
/// Helm's YAML round trip writes as `10000`; the apiserver reads both alike.
fn integral(value: Value) -> Value {
    match value {
        Value::Number(n) if n.is_f64() && n.as_f64().is_some_and(|f| f.fract() == 0.0 && f.abs() < 1e15) => {
            json!(n.as_f64().unwrap_or_default() as i64)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(integral).collect()),
        Value::Object(map) => Value::Object(map.into_iter().map(|(k, v)| (k, integral(v))).collect()),
        other => other,
    }
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The CRD files of the repository, by file name.
fn crd_files(dir: &Path) -> Vec<(String, String)> {
    let mut files: Vec<(String, String)> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("read CRD");
            (p.file_name().unwrap().to_string_lossy().into_owned(), text)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn chart_crds_are_copies_of_the_generated_crds() {
    let generated = crd_files(&root().join("crds"));
    let in_chart = crd_files(&root().join(OPERATOR).join("files/crds"));
    assert!(!generated.is_empty());
    let names = |files: &[(String, String)]| files.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&in_chart), names(&generated), "the chart's CRD files");
    for ((name, ours), (_, theirs)) in in_chart.iter().zip(&generated) {
        assert!(
            ours == theirs,
            "{OPERATOR}/files/crds/{name} differs from crds/{name}: run `cp crds/*.yaml {OPERATOR}/files/crds/`"
        );
    }
}

#[test]
fn charts_follow_the_crate_version() {
    for chart in [OPERATOR, INSTANCE] {
        let text = std::fs::read_to_string(root().join(chart).join("Chart.yaml")).expect("read Chart.yaml");
        let meta: Value = flux_operator_rs::yaml::from_str(&text).expect("parse Chart.yaml");
        assert_eq!(meta["apiVersion"], "v2", "{chart}");
        assert_eq!(meta["appVersion"], env!("CARGO_PKG_VERSION"), "{chart}: appVersion");
        assert_eq!(meta["version"], env!("CARGO_PKG_VERSION"), "{chart}: version");
    }
}

/// Every value of SPEC.md section 9, set to something other than its default.
const OPERATOR_VALUES: &str = r#"
fullnameOverride: fo
commonLabels:
  team: platform
commonAnnotations:
  owner: sre
image:
  repository: registry.example.com/flux-operator-rs
  tag: v9.9.9
  imagePullPolicy: Always
  pullSecrets:
    - name: regcred
resources:
  requests:
    cpu: 50m
    memory: 32Mi
multitenancy:
  enabled: true
  defaultServiceAccount: tenant-sa
reporting:
  interval: 10m
installCRDs: false
rbac:
  create: false
  createAggregation: false
serviceAccount:
  create: false
  name: ops
  automount: false
  annotations:
    iam.example.com/role: ops
priorityClassName: system-cluster-critical
hostNetwork: true
tolerations:
  - key: CriticalAddonsOnly
    operator: Exists
nodeSelector:
  kubernetes.io/os: linux
affinity: null
podSecurityContext:
  fsGroup: 1337
securityContext:
  runAsNonRoot: true
  runAsUser: 10001
  readOnlyRootFilesystem: true
  allowPrivilegeEscalation: false
  capabilities:
    drop: [ALL]
  seccompProfile:
    type: RuntimeDefault
extraArgs:
  - --concurrent=20
  - --override-manager=kubectl
extraEnvs:
  - name: HTTPS_PROXY
    value: http://proxy.example.com:3128
extraVolumes:
  - name: cache
    emptyDir:
      sizeLimit: 1Gi
extraVolumeMounts:
  - name: cache
    mountPath: /cache
logLevel: debug
serviceMonitor:
  create: true
  interval: 30s
  scrapeTimeout: 10s
  labels:
    release: prometheus
"#;

/// Every field of the FluxInstance spec the chart mirrors, set.
const INSTANCE_VALUES: &str = r#"
commonLabels:
  team: platform
instance:
  annotations:
    fluxcd.controlplane.io/reconcileEvery: 30m
  distribution:
    version: "2.8.x"
    registry: registry.example.com/fluxcd
    variant: upstream-alpine
    imagePullSecret: regcred
    artifact: oci://registry.example.com/flux-distribution:latest
    artifactPullSecret: artifact-auth
  components:
    - source-controller
    - kustomize-controller
    - helm-controller
    - notification-controller
    - image-reflector-controller
    - image-automation-controller
    - source-watcher
  cluster:
    type: openshift
    size: medium
    multitenant: true
    multitenantWorkloadIdentity: true
    objectLevelWorkloadIdentity: true
    tenantDefaultServiceAccount: tenant
    tenantDefaultDecryptionServiceAccount: decrypt
    tenantDefaultKubeConfigServiceAccount: kubeconfig
    networkPolicy: false
    domain: example.local
  commonMetadata:
    labels:
      owner: platform
    annotations:
      note: managed
  sharding:
    key: shard.example.com/key
    shards: [shard1, shard2]
    storage: persistent
  storage:
    class: standard
    size: 10Gi
  sync:
    name: fleet
    kind: GitRepository
    url: https://git.example.com/fleet.git
    ref: refs/heads/main
    path: clusters/prod
    interval: 5m
    pullSecret: git-auth
    provider: github
  kustomize:
    patches:
      - patch: |
          - op: add
            path: /spec/template/spec/containers/0/args/-
            value: --concurrent=10
        target:
          kind: Deployment
          labelSelector: app.kubernetes.io/component in (kustomize-controller)
  wait: false
  migrateResources: false
"#;

#[test]
fn charts_pass_strict_lint_with_default_and_custom_values() {
    for (chart, custom) in [(OPERATOR, OPERATOR_VALUES), (INSTANCE, INSTANCE_VALUES)] {
        helm_ok(&["lint", "--strict", chart]);
        let (_guard, path) = values_file(custom);
        helm_ok(&["lint", "--strict", chart, "--values", &path]);
    }
    // The schemas make lint fail on a misspelt or mistyped value.
    let (ok, stdout, stderr) = helm(&["lint", "--strict", OPERATOR, "--set", "loglevel=debug"]);
    assert!(
        !ok && stdout.contains("additional properties 'loglevel' not allowed"),
        "{stdout}\n{stderr}"
    );
}

#[test]
fn schemas_refuse_unknown_keys_and_wrong_types() {
    let cases: [(&str, &str, &str); 8] = [
        (OPERATOR, "imagee.tag=x", "additional properties 'imagee' not allowed"),
        (
            OPERATOR,
            "image.registry=x",
            "additional properties 'registry' not allowed",
        ),
        (OPERATOR, "installCRDs=yes", "/installCRDs"),
        (OPERATOR, "logLevel=verbose", "/logLevel"),
        (OPERATOR, "reporting.interval=5", "/reporting/interval"),
        (
            INSTANCE,
            "instance.distributon.version=2.x",
            "additional properties 'distributon' not allowed",
        ),
        (INSTANCE, "instance.cluster.size=huge", "/instance/cluster/size"),
        (INSTANCE, "instance.components[0]=flagger", "/instance/components/0"),
    ];
    for (chart, set, expected) in cases {
        let (ok, _, stderr) = helm(&["template", "release", chart, "--set", set]);
        assert!(!ok, "{chart} accepted --set {set}");
        assert!(stderr.contains(expected), "--set {set}: {stderr:?} lacks {expected:?}");
    }
}

#[test]
fn operator_chart_defaults() {
    let (yaml, objects) = render(OPERATOR, "flux-system", None, &[]);
    assert_eq!(
        kinds(&objects),
        [
            "ClusterRole/release-flux-operator-edit",
            "ClusterRole/release-flux-operator-view",
            "ClusterRoleBinding/release-flux-operator",
            "CustomResourceDefinition/fluxinstances.fluxcd.controlplane.io",
            "CustomResourceDefinition/fluxreports.fluxcd.controlplane.io",
            "CustomResourceDefinition/resourcesetinputproviders.fluxcd.controlplane.io",
            "CustomResourceDefinition/resourcesets.fluxcd.controlplane.io",
            "Deployment/release-flux-operator",
            "Service/release-flux-operator",
            "ServiceAccount/release-flux-operator",
        ]
    );
    assert!(
        !yaml.lines().any(|l| l.ends_with(' ')),
        "trailing whitespace in:\n{yaml}"
    );

    for object in &objects {
        let labels = &object["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/name"], "flux-operator", "{}", object["kind"]);
        assert_eq!(labels["app.kubernetes.io/instance"], "release");
        assert_eq!(labels["app.kubernetes.io/version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
        assert_eq!(
            labels["helm.sh/chart"],
            format!("flux-operator-rs-{}", env!("CARGO_PKG_VERSION"))
        );
        if object["kind"] != "CustomResourceDefinition" {
            assert!(object["metadata"].get("annotations").is_none(), "{}", object["kind"]);
        }
        let namespaced = !matches!(
            object["kind"].as_str(),
            Some("ClusterRole" | "ClusterRoleBinding" | "CustomResourceDefinition")
        );
        assert_eq!(
            object["metadata"]["namespace"].is_string(),
            namespaced,
            "{}",
            object["kind"]
        );
        if namespaced {
            assert_eq!(object["metadata"]["namespace"], "flux-system");
        }
    }

    let deployment = find(&objects, "Deployment", "release-flux-operator");
    let selector = &deployment["spec"]["selector"]["matchLabels"];
    assert_eq!(
        selector,
        &json!({"app.kubernetes.io/name": "flux-operator", "app.kubernetes.io/instance": "release"})
    );
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "release-flux-operator");
    assert!(pod.get("hostNetwork").is_none());
    assert!(pod.get("imagePullSecrets").is_none());
    assert!(
        deployment["spec"].get("strategy").is_none(),
        "a rolling update off the host network"
    );
    assert_eq!(
        pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"]
            [0]["key"],
        "kubernetes.io/os"
    );
    let c = container(&objects, "release-flux-operator");
    assert_eq!(c["image"], format!("flux-operator-rs:{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(c["imagePullPolicy"], "IfNotPresent");
    assert_eq!(
        strings(&c["args"]),
        [
            "run",
            "--metrics-addr=:8080",
            "--health-addr=:8081",
            "--storage-path=/data",
            "--artifact-cache-path=/tmp/artifacts",
            "--log-level=info"
        ]
    );
    assert_eq!(
        env_of(c, "RUNTIME_NAMESPACE").expect("RUNTIME_NAMESPACE")["valueFrom"],
        json!({"fieldRef": {"fieldPath": "metadata.namespace"}})
    );
    assert_eq!(
        env_of(c, "REPORTING_INTERVAL").expect("REPORTING_INTERVAL")["value"],
        "5m"
    );
    assert!(env_of(c, "DEFAULT_SERVICE_ACCOUNT").is_none());
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"],
        json!({"prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics"})
    );
    assert_eq!(
        c["ports"],
        json!([
            {"name": "http-metrics", "containerPort": 8080, "protocol": "TCP"},
            {"name": "health", "containerPort": 8081, "protocol": "TCP"}
        ])
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"],
        json!({"path": "/healthz", "port": "health"})
    );
    assert_eq!(
        c["readinessProbe"]["httpGet"],
        json!({"path": "/readyz", "port": "health"})
    );
    assert_eq!(
        c["securityContext"],
        json!({
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}
        })
    );
    assert!(c["resources"]["requests"]["cpu"].is_string() && c["resources"]["requests"]["memory"].is_string());
    assert_eq!(c["volumeMounts"], json!([{"name": "tmp", "mountPath": "/tmp"}]));
    assert_eq!(
        pod["volumes"],
        json!([{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}])
    );

    let account = find(&objects, "ServiceAccount", "release-flux-operator");
    assert_eq!(account["automountServiceAccountToken"], true);

    let binding = find(&objects, "ClusterRoleBinding", "release-flux-operator");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "release-flux-operator", "namespace": "flux-system"}])
    );

    let edit = find(&objects, "ClusterRole", "release-flux-operator-edit");
    let labels = &edit["metadata"]["labels"];
    assert_eq!(labels["rbac.authorization.k8s.io/aggregate-to-edit"], "true");
    assert_eq!(labels["rbac.authorization.k8s.io/aggregate-to-admin"], "true");
    assert_eq!(edit["rules"][0]["apiGroups"], json!(["fluxcd.controlplane.io"]));
    assert!(strings(&edit["rules"][0]["verbs"]).contains(&"create"));
    assert_eq!(
        strings(&edit["rules"][0]["resources"]),
        [
            "fluxinstances",
            "fluxreports",
            "resourcesets",
            "resourcesetinputproviders"
        ]
    );
    let view = find(&objects, "ClusterRole", "release-flux-operator-view");
    assert_eq!(
        view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"],
        "true"
    );
    assert!(
        view["metadata"]["labels"]
            .get("rbac.authorization.k8s.io/aggregate-to-edit")
            .is_none()
    );
    assert_eq!(strings(&view["rules"][0]["verbs"]), ["get", "list", "watch"]);

    let service = find(&objects, "Service", "release-flux-operator");
    assert_eq!(service["spec"]["selector"], *selector);
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "http-metrics", "port": 8080, "targetPort": "http-metrics", "protocol": "TCP"}])
    );

    // The CRDs are the generated ones, plus the chart's labels and the keep policy.
    for (file, text) in crd_files(&root().join("crds")) {
        let generated: Value = flux_operator_rs::yaml::from_str(&text).expect("parse CRD");
        let name = generated["metadata"]["name"].as_str().expect("CRD name");
        let rendered = find(&objects, "CustomResourceDefinition", name);
        assert_eq!(
            integral(rendered["spec"].clone()),
            integral(generated["spec"].clone()),
            "{file}"
        );
        assert_eq!(
            rendered["metadata"]["annotations"],
            json!({"helm.sh/resource-policy": "keep"}),
            "{file}"
        );
    }
}

#[test]
fn operator_chart_custom_values() {
    let (_, objects) = render(OPERATOR, "ops", Some(OPERATOR_VALUES), &[]);
    assert_eq!(
        kinds(&objects),
        ["Deployment/fo", "Service/fo", "ServiceMonitor/fo"],
        "no CRDs, RBAC or service account"
    );
    for object in &objects {
        assert_eq!(object["metadata"]["labels"]["team"], "platform", "{}", object["kind"]);
        assert_eq!(object["metadata"]["annotations"]["owner"], "sre", "{}", object["kind"]);
    }
    let deployment = find(&objects, "Deployment", "fo");
    assert_eq!(deployment["spec"]["template"]["metadata"]["labels"]["team"], "platform");
    assert_eq!(
        deployment["spec"]["template"]["metadata"]["annotations"]["owner"],
        "sre"
    );
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "ops");
    assert_eq!(pod["priorityClassName"], "system-cluster-critical");
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    // The ports are the node's: a surge pod could not run beside the old one.
    assert_eq!(deployment["spec"]["strategy"], json!({"type": "Recreate"}));
    assert_eq!(pod["imagePullSecrets"], json!([{"name": "regcred"}]));
    assert_eq!(pod["securityContext"], json!({"fsGroup": 1337}));
    assert_eq!(
        pod["tolerations"],
        json!([{"key": "CriticalAddonsOnly", "operator": "Exists"}])
    );
    assert_eq!(pod["nodeSelector"], json!({"kubernetes.io/os": "linux"}));
    assert!(pod.get("affinity").is_none(), "affinity: null removes the default");
    assert_eq!(
        pod["volumes"],
        json!([{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}, {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}])
    );

    let c = container(&objects, "fo");
    assert_eq!(c["image"], "registry.example.com/flux-operator-rs:v9.9.9");
    assert_eq!(c["imagePullPolicy"], "Always");
    let args = strings(&c["args"]);
    assert_eq!(args[0], "run");
    assert!(args.contains(&"--log-level=debug"), "{args:?}");
    assert!(
        args.ends_with(&["--concurrent=20", "--override-manager=kubectl"]),
        "{args:?}"
    );
    assert_eq!(
        env_of(c, "REPORTING_INTERVAL").expect("REPORTING_INTERVAL")["value"],
        "10m"
    );
    // As upstream's chart passes it (a flag, not DEFAULT_SERVICE_ACCOUNT).
    assert!(args.contains(&"--default-service-account=tenant-sa"), "{args:?}");
    assert!(env_of(c, "DEFAULT_SERVICE_ACCOUNT").is_none());
    assert_eq!(
        env_of(c, "HTTPS_PROXY").expect("HTTPS_PROXY")["value"],
        "http://proxy.example.com:3128"
    );
    assert!(env_of(c, "RUNTIME_NAMESPACE").is_some());
    assert_eq!(c["securityContext"]["runAsUser"], 10001);
    // Helm merges maps with the defaults: the limits stay.
    assert_eq!(
        c["resources"],
        json!({"requests": {"cpu": "50m", "memory": "32Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}})
    );
    assert_eq!(
        c["volumeMounts"],
        json!([{"name": "tmp", "mountPath": "/tmp"}, {"name": "cache", "mountPath": "/cache"}])
    );

    let monitor = find(&objects, "ServiceMonitor", "fo");
    assert_eq!(monitor["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"],
        deployment["spec"]["selector"]["matchLabels"]
    );
    assert_eq!(
        monitor["spec"]["endpoints"],
        json!([{"port": "http-metrics", "path": "/metrics", "scheme": "http", "interval": "30s", "scrapeTimeout": "10s"}])
    );
}

#[test]
fn operator_chart_toggles() {
    let names = |set: &[&str]| kinds(&render(OPERATOR, "flux-system", None, set).1);
    let all = names(&[]);
    let without = |set: &[&str], gone: &[&str]| {
        let expected: Vec<String> = all
            .iter()
            .filter(|k| !gone.iter().any(|g| k.starts_with(g)))
            .cloned()
            .collect();
        assert_eq!(names(set), expected, "{set:?}");
    };
    without(&["rbac.create=false"], &["ClusterRoleBinding/"]);
    without(&["rbac.createAggregation=false"], &["ClusterRole/"]);
    without(&["installCRDs=false"], &["CustomResourceDefinition/"]);
    without(&["serviceAccount.create=false"], &["ServiceAccount/"]);
    assert!(names(&["serviceMonitor.create=true"]).contains(&"ServiceMonitor/release-flux-operator".to_string()));

    // The CRDs keep their keep policy next to common annotations.
    let (_, objects) = render(OPERATOR, "flux-system", None, &["commonAnnotations.owner=sre"]);
    let crd = find(
        &objects,
        "CustomResourceDefinition",
        "fluxinstances.fluxcd.controlplane.io",
    );
    assert_eq!(
        crd["metadata"]["annotations"],
        json!({"helm.sh/resource-policy": "keep", "owner": "sre"})
    );
    // A release named after the chart keeps the plain name.
    let (_, objects) = render(OPERATOR, "flux-system", None, &["fullnameOverride=flux-operator"]);
    assert_eq!(
        find(&objects, "ClusterRoleBinding", "flux-operator")["subjects"][0]["name"],
        "flux-operator"
    );
}

#[test]
fn instance_chart_defaults() {
    let (_, objects) = render(INSTANCE, "flux-system", None, &[]);
    assert_eq!(kinds(&objects), ["FluxInstance/flux"]);
    let instance = &objects[0];
    assert_eq!(instance["apiVersion"], "fluxcd.controlplane.io/v1");
    assert_eq!(instance["metadata"]["namespace"], "flux-system");
    assert!(instance["metadata"].get("annotations").is_none());
    assert_eq!(
        instance["spec"],
        json!({
            "distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"},
            "components": ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
            "cluster": {
                "type": "kubernetes",
                "multitenant": false,
                "multitenantWorkloadIdentity": false,
                "objectLevelWorkloadIdentity": false,
                "networkPolicy": true,
                "domain": "cluster.local"
            },
            "wait": true,
            "migrateResources": true
        })
    );
    // The values mirror the spec: the rendered spec parses as the operator's own type.
    let spec: flux_operator_rs::api::FluxInstanceSpec =
        serde_json::from_value(instance["spec"].clone()).expect("the operator's FluxInstanceSpec");
    assert_eq!(spec.components.len(), 4);
}

#[test]
fn instance_chart_custom_values() {
    let (_, objects) = render(INSTANCE, "tenants", Some(INSTANCE_VALUES), &[]);
    let instance = &objects[0];
    assert_eq!(instance["metadata"]["name"], "flux");
    assert_eq!(instance["metadata"]["namespace"], "tenants");
    assert_eq!(instance["metadata"]["labels"]["team"], "platform");
    assert_eq!(
        instance["metadata"]["annotations"],
        json!({"fluxcd.controlplane.io/reconcileEvery": "30m"})
    );
    let values: Value = flux_operator_rs::yaml::from_str(INSTANCE_VALUES).expect("parse values");
    let mut expected = values["instance"].clone();
    expected.as_object_mut().expect("instance").remove("annotations");
    assert_eq!(instance["spec"], expected, "every value lands in the spec unchanged");
    let spec: flux_operator_rs::api::FluxInstanceSpec =
        serde_json::from_value(instance["spec"].clone()).expect("the operator's FluxInstanceSpec");
    assert_eq!(spec.sync.expect("sync").name.as_deref(), Some("fleet"));

    // Sync is rendered once it has a url, as a GitRepository unless told otherwise (as
    // upstream's chart does); a ref or path without a url fails instead of vanishing.
    let set = [
        "instance.sync.url=https://x",
        "instance.sync.ref=refs/heads/main",
        "instance.sync.path=a",
    ];
    let (_, objects) = render(INSTANCE, "flux-system", None, &set);
    assert_eq!(
        objects[0]["spec"]["sync"],
        json!({"kind": "GitRepository", "url": "https://x", "ref": "refs/heads/main", "path": "a", "interval": "1m"})
    );
    let (_, objects) = render(INSTANCE, "flux-system", None, &[set[0], "instance.sync.kind="]);
    assert_eq!(objects[0]["spec"]["sync"]["kind"], "GitRepository");
    let (ok, _, stderr) = helm(&["template", "release", INSTANCE, "--set", "instance.sync.path=a"]);
    assert!(!ok && stderr.contains("instance.sync.url is required"), "{stderr}");
    // Sharding is left out until it has shards.
    let (_, objects) = render(INSTANCE, "flux-system", None, &["instance.sharding.storage=persistent"]);
    assert!(objects[0]["spec"].get("sharding").is_none());
}

#[tokio::test]
async fn charts_install_into_the_test_bed() {
    let kubeconfig = common::kubeconfig().to_string_lossy().into_owned();
    let client = common::client().await;
    let namespace = common::namespace(&client, "charts").await;
    let ns = namespace.as_str();

    // 1. What the charts render is valid for a real API server (server-side dry run).
    kubectl_ok(
        &["apply", "--server-side", "-f", "-"],
        Some(&permissive_crd(
            "monitoring.coreos.com",
            "ServiceMonitor",
            "servicemonitors",
        )),
    );
    kubectl_ok(
        &[
            "wait",
            "--for=condition=Established",
            "crd/servicemonitors.monitoring.coreos.com",
        ],
        None,
    );
    let dry_run = [
        "apply",
        "--server-side",
        "--dry-run=server",
        "--field-manager=charts-test",
        "-f",
        "-",
    ];
    let (defaults, _) = render(OPERATOR, ns, None, &["serviceMonitor.create=true"]);
    kubectl_ok(&dry_run, Some(&defaults));
    let (custom, _) = render(OPERATOR, ns, Some(OPERATOR_VALUES), &[]);
    kubectl_ok(&dry_run, Some(&custom));

    // 2. helm install of the operator chart (no kubelet here, so no --wait).
    helm_ok(&[
        "install",
        "flux-operator",
        OPERATOR,
        "--kubeconfig",
        &kubeconfig,
        "--namespace",
        ns,
        "--create-namespace",
    ]);
    let deployment = kubectl_json(&["-n", ns, "get", "deployment", "flux-operator"]);
    assert_eq!(
        deployment["spec"]["template"]["spec"]["serviceAccountName"],
        "flux-operator"
    );
    kubectl_ok(&["-n", ns, "get", "serviceaccount", "flux-operator"], None);
    kubectl_ok(&["-n", ns, "get", "service", "flux-operator"], None);
    let binding = kubectl_json(&["get", "clusterrolebinding", "flux-operator"]);
    assert_eq!(binding["roleRef"]["name"], "cluster-admin");
    assert_eq!(binding["subjects"][0]["namespace"], ns);
    kubectl_ok(
        &["get", "clusterrole", "flux-operator-edit", "flux-operator-view"],
        None,
    );
    for crd in [
        "fluxinstances.fluxcd.controlplane.io",
        "fluxreports.fluxcd.controlplane.io",
    ] {
        kubectl_ok(&["wait", "--for=condition=Established", &format!("crd/{crd}")], None);
        let object = kubectl_json(&["get", "crd", crd]);
        assert_eq!(object["metadata"]["annotations"]["helm.sh/resource-policy"], "keep");
        assert_eq!(
            object["metadata"]["annotations"]["meta.helm.sh/release-name"],
            "flux-operator"
        );
    }

    // 3. The pod the Deployment makes meets the "restricted" Pod Security Standard (the
    // test bed's PodSecurity admission enforces it on the namespace, and refuses a pod that
    // may escalate privileges, so the check is live).
    kubectl_ok(
        &[
            "label",
            "namespace",
            ns,
            "pod-security.kubernetes.io/enforce=restricted",
            "--overwrite",
        ],
        None,
    );
    let pod = pod_from_template(&deployment, ns);
    kubectl_ok(&["create", "--dry-run=server", "-f", "-"], Some(&pod));
    let mut escalating: Value = serde_json::from_str(&pod).expect("pod JSON");
    escalating["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = json!(true);
    let (ok, _, stderr) = common::kubectl(
        &["create", "--dry-run=server", "-f", "-"],
        Some(&escalating.to_string()),
    );
    assert!(!ok && stderr.contains("restricted"), "{stderr}");

    // 4. The flux-instance chart's FluxInstance is accepted, with every field set too.
    let (custom_instance, _) = render(INSTANCE, ns, Some(INSTANCE_VALUES), &[]);
    kubectl_ok(&dry_run, Some(&custom_instance));
    helm_ok(&[
        "install",
        "flux",
        INSTANCE,
        "--kubeconfig",
        &kubeconfig,
        "--namespace",
        ns,
    ]);
    let instance = kubectl_json(&["-n", ns, "get", "fluxinstance", "flux"]);
    assert_eq!(instance["spec"]["distribution"]["version"], "2.x");
    assert_eq!(instance["spec"]["components"].as_array().map(Vec::len), Some(4));

    // 5. helm uninstall removes the operator but keeps the CRDs, and so the FluxInstance.
    helm_ok(&[
        "uninstall",
        "flux-operator",
        "--kubeconfig",
        &kubeconfig,
        "--namespace",
        ns,
    ]);
    let (ok, _, _) = common::kubectl(&["-n", ns, "get", "deployment", "flux-operator"], None);
    assert!(!ok, "the Deployment is gone");
    let (ok, _, _) = common::kubectl(&["get", "clusterrolebinding", "flux-operator"], None);
    assert!(!ok, "the ClusterRoleBinding is gone");
    kubectl_ok(
        &[
            "get",
            "crd",
            "fluxinstances.fluxcd.controlplane.io",
            "fluxreports.fluxcd.controlplane.io",
        ],
        None,
    );
    kubectl_ok(&["-n", ns, "get", "fluxinstance", "flux"], None);
    helm_ok(&["uninstall", "flux", "--kubeconfig", &kubeconfig, "--namespace", ns]);
    let (ok, _, _) = common::kubectl(&["-n", ns, "get", "fluxinstance", "flux"], None);
    assert!(!ok, "the FluxInstance is gone with its release");
}
