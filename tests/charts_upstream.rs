//! The charts with the values files of the upstream Flux Operator's charts
//! (`tests/data/upstream-values/`, written from upstream's documented keys and defaults):
//! they render, unchanged and in any subset, into a working operator and FluxInstance, the
//! binary accepts the arguments they render, and both install on this binary's test bed,
//! where upstream's documented ServiceMonitor selector finds the operator and the
//! health-check hook's account and arguments really wait for the instance.

#[path = "testbed/common.rs"]
pub mod common;
#[path = "helm/mod.rs"]
pub mod helm;
#[path = "charts_upstream/install.rs"]
mod install;

use std::process::Command;

use serde_json::{Value, json};

use common::project_root as root;
use helm::{find, helm_ok, kinds, parse_objects, values_file};

const OPERATOR: &str = "charts/flux-operator-rs";
const INSTANCE: &str = "charts/flux-instance";
const UPSTREAM_OPERATOR_VALUES: &str = "tests/data/upstream-values/flux-operator.yaml";
const UPSTREAM_INSTANCE_VALUES: &str = "tests/data/upstream-values/flux-instance.yaml";

/// `helm template` of a chart as `release` into `namespace` with values files and `--set`s.
fn template(chart: &str, release: &str, namespace: &str, files: &[&str], set: &[&str]) -> (String, Vec<Value>) {
    let mut args = vec!["template", release, chart, "--namespace", namespace];
    for file in files {
        args.extend(["--values", file]);
    }
    for s in set {
        args.extend(["--set", s]);
    }
    let yaml = helm_ok(&args);
    let objects = parse_objects(&yaml);
    (yaml, objects)
}

/// The install notes, as `helm install` prints them (a client-side dry run needs no cluster).
fn notes(chart: &str, files: &[&str], set: &[&str]) -> String {
    let mut args = vec![
        "install",
        "flux-operator",
        chart,
        "--dry-run=client",
        "--namespace",
        "flux-system",
    ];
    for file in files {
        args.extend(["--values", file]);
    }
    for s in set {
        args.extend(["--set", s]);
    }
    let out = helm_ok(&args);
    out.split_once("NOTES:")
        .map(|(_, notes)| notes.to_string())
        .unwrap_or_default()
}

fn read_values(path: &str) -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(root().join(path)).expect("read upstream values");
    let value: Value = flux_operator_rs::yaml::from_str(&text).expect("parse upstream values");
    value.as_object().expect("a map").clone()
}

fn strings(value: &Value) -> Vec<&str> {
    value
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// The operator chart as `flux-operator` in flux-system with upstream's default values.
fn upstream_operator(set: &[&str]) -> (String, Vec<Value>) {
    template(
        OPERATOR,
        "flux-operator",
        "flux-system",
        &[UPSTREAM_OPERATOR_VALUES],
        set,
    )
}

fn manager(objects: &[Value]) -> &Value {
    &find(objects, "Deployment", "flux-operator")["spec"]["template"]["spec"]["containers"][0]
}

#[test]
fn upstream_operator_defaults_render_a_working_operator() {
    helm_ok(&["lint", "--strict", OPERATOR, "--values", UPSTREAM_OPERATOR_VALUES]);
    let (_, objects) = upstream_operator(&[]);
    assert_eq!(
        kinds(&objects),
        [
            "ClusterRole/flux-operator-edit",
            "ClusterRole/flux-operator-view",
            "ClusterRoleBinding/flux-operator",
            "CustomResourceDefinition/fluxinstances.fluxcd.controlplane.io",
            "CustomResourceDefinition/fluxreports.fluxcd.controlplane.io",
            "CustomResourceDefinition/resourcesetinputproviders.fluxcd.controlplane.io",
            "CustomResourceDefinition/resourcesets.fluxcd.controlplane.io",
            "Deployment/flux-operator",
            "Service/flux-operator",
            "ServiceAccount/flux-operator",
        ]
    );
    for object in &objects {
        assert_eq!(object["metadata"]["labels"]["app.kubernetes.io/name"], "flux-operator");
    }
    let c = manager(&objects);
    // Upstream's image cannot run this Deployment: this project's runs instead.
    assert_eq!(c["image"], format!("flux-operator-rs:{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(c["livenessProbe"]["httpGet"], json!({"path": "/healthz", "port": 8081}));
    assert_eq!(c["livenessProbe"]["initialDelaySeconds"], 15);
    assert_eq!(c["readinessProbe"]["httpGet"], json!({"path": "/readyz", "port": 8081}));
    assert_eq!(c["resources"]["limits"]["cpu"], "2000m");
    let args = strings(&c["args"]);
    assert!(args.contains(&"--log-level=info"), "{args:?}");
    assert!(!args.iter().any(|a| a.contains("service-account")), "{args:?}");
    let pod = &find(&objects, "Deployment", "flux-operator")["spec"]["template"];
    assert_eq!(pod["metadata"]["annotations"]["prometheus.io/scrape"], "true");
    assert_eq!(pod["metadata"]["annotations"]["prometheus.io/port"], "8080");

    let text = notes(OPERATOR, &[UPSTREAM_OPERATOR_VALUES], &[]);
    assert!(
        text.contains("web.enabled is true: this operator has no web UI"),
        "{text}"
    );
    assert!(text.contains("runs flux-operator-rs:"), "{text}");
    assert!(
        !text.contains("marketplace"),
        "empty marketplace values are not 'set': {text}"
    );
}

/// Each top-level key of upstream's values alone (a values file that sets only it).
#[test]
fn every_subset_of_upstream_values_is_accepted() {
    for (chart, path) in [
        (OPERATOR, UPSTREAM_OPERATOR_VALUES),
        (INSTANCE, UPSTREAM_INSTANCE_VALUES),
    ] {
        for (key, value) in read_values(path) {
            let yaml = flux_operator_rs::yaml::to_string(&json!({ key.clone(): value })).expect("YAML");
            let (_guard, file) = values_file(&yaml);
            let (ok, _, stderr) = helm::helm(&["template", "flux-operator", chart, "--values", &file]);
            assert!(ok, "{chart} refused upstream's {key}: {stderr}");
        }
    }
}

#[test]
fn upstream_operator_values_with_every_feature_on() {
    let set = [
        "multitenancy.enabled=true",
        "multitenancy.enabledForWorkloadIdentity=true",
        "apiPriority.enabled=true",
        "apiPriority.extraServiceAccounts[0].name=tenant-a",
        "apiPriority.extraServiceAccounts[0].namespace=tenants",
        "service.ipFamilyPolicy=PreferDualStack",
        "marketplace.type=aws",
        "serviceMonitor.create=true",
    ];
    let (_, objects) = upstream_operator(&set);
    let args = strings(&manager(&objects)["args"]);
    for flag in [
        "--default-service-account=flux-operator",
        "--default-workload-identity-service-account=flux-operator",
    ] {
        assert!(args.contains(&flag), "{flag} not in {args:?}");
    }
    let schema = find(&objects, "FlowSchema", "flux-operator");
    assert_eq!(schema["spec"]["priorityLevelConfiguration"]["name"], "workload-high");
    assert_eq!(
        schema["spec"]["rules"][0]["subjects"],
        json!([
            {"kind": "ServiceAccount", "serviceAccount": {"name": "flux-operator", "namespace": "flux-system"}},
            {"kind": "ServiceAccount", "serviceAccount": {"name": "tenant-a", "namespace": "tenants"}}
        ])
    );
    let service = find(&objects, "Service", "flux-operator");
    assert_eq!(service["spec"]["ipFamilyPolicy"], "PreferDualStack");
    let monitor = find(&objects, "ServiceMonitor", "flux-operator");
    assert_eq!(
        monitor["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"],
        "flux-operator"
    );

    let text = notes(OPERATOR, &[UPSTREAM_OPERATOR_VALUES], &set);
    assert!(
        text.contains("marketplace is set: this operator has no marketplace"),
        "{text}"
    );
    assert!(
        text.contains("cloud ResourceSetInputProvider types, which this operator does not implement yet"),
        "{text}"
    );
}

/// The operator started with exactly the arguments the chart renders from upstream's values
/// (multi-tenancy on): with no cluster, the operator itself must be what fails, not clap.
#[test]
fn the_binary_accepts_what_upstream_values_render() {
    let set = [
        "multitenancy.enabled=true",
        "multitenancy.enabledForWorkloadIdentity=true",
    ];
    let (_, objects) = upstream_operator(&set);
    let args = strings(&manager(&objects)["args"]);
    let output = Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
        .args(&args)
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .expect("run the binary");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(stderr.contains("cannot connect to Kubernetes"), "{args:?}: {stderr}");
}

#[test]
fn upstream_instance_defaults_render_the_instance() {
    helm_ok(&["lint", "--strict", INSTANCE, "--values", UPSTREAM_INSTANCE_VALUES]);
    let (_, objects) = template(INSTANCE, "flux", "flux-system", &[UPSTREAM_INSTANCE_VALUES], &[]);
    assert_eq!(
        kinds(&objects),
        ["FluxInstance/flux"],
        "no hook unless healthcheck.enabled"
    );
    let spec = &objects[0]["spec"];
    assert_eq!(
        spec["distribution"]["artifact"],
        "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests:latest"
    );
    assert_eq!(spec["components"].as_array().map(Vec::len), Some(6));
    assert_eq!(spec["cluster"]["tenantDefaultServiceAccount"], "default");
    assert!(spec.get("sync").is_none(), "no url, no sync");
    let parsed: flux_operator_rs::api::FluxInstanceSpec =
        serde_json::from_value(spec.clone()).expect("the operator's FluxInstanceSpec");
    assert_eq!(parsed.components.len(), 6);

    // Upstream's sync values with only a url, ref and path: a GitRepository sync.
    let set = [
        "instance.sync.url=https://git.example.com/fleet.git",
        "instance.sync.ref=refs/heads/main",
        "instance.sync.path=clusters/prod",
    ];
    let (_, objects) = template(INSTANCE, "flux", "flux-system", &[UPSTREAM_INSTANCE_VALUES], &set);
    assert_eq!(
        objects[0]["spec"]["sync"],
        json!({"kind": "GitRepository", "url": "https://git.example.com/fleet.git", "ref": "refs/heads/main", "path": "clusters/prod", "interval": "1m"})
    );
}

#[test]
fn upstream_instance_healthcheck_renders_the_wait_hook() {
    let set = ["healthcheck.enabled=true", "healthcheck.timeout=7m"];
    let (_, objects) = template(INSTANCE, "flux", "flux-system", &[UPSTREAM_INSTANCE_VALUES], &set);
    assert_eq!(
        kinds(&objects),
        [
            "FluxInstance/flux",
            "Job/flux-healthcheck",
            "Role/flux-healthcheck",
            "RoleBinding/flux-healthcheck",
            "ServiceAccount/flux-healthcheck",
        ]
    );
    let job = find(&objects, "Job", "flux-healthcheck");
    assert_eq!(
        job["metadata"]["annotations"]["helm.sh/hook"],
        "post-install,post-upgrade"
    );
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "flux-healthcheck");
    assert_eq!(pod["restartPolicy"], "Never");
    let c = &pod["containers"][0];
    // The file names upstream's CLI image, which has no tag of this version: ours runs.
    assert_eq!(c["image"], format!("flux-operator-rs:{}", env!("CARGO_PKG_VERSION")));
    assert_eq!(
        strings(&c["args"]),
        ["wait", "instance", "flux", "--namespace=flux-system", "--timeout=7m"]
    );
    for (_, weight) in [("ServiceAccount", "-3"), ("Role", "-2"), ("RoleBinding", "-1")] {
        assert!(
            objects
                .iter()
                .any(|o| o["metadata"]["annotations"]["helm.sh/hook-weight"] == weight)
        );
    }
    let role = find(&objects, "Role", "flux-healthcheck");
    assert_eq!(
        role["rules"],
        json!([{"apiGroups": ["fluxcd.controlplane.io"], "resources": ["fluxinstances"], "resourceNames": ["flux"], "verbs": ["get"]}])
    );
    // Any other image is taken as it is: a mirror of upstream's CLI with its own tag works.
    let mirror = [
        "healthcheck.image.repository=registry.example.com/flux-operator-cli",
        "healthcheck.image.tag=v0.58.1",
    ];
    let (_, objects) = template(
        INSTANCE,
        "flux",
        "flux-system",
        &[UPSTREAM_INSTANCE_VALUES],
        &[set[0], mirror[0], mirror[1]],
    );
    let job = find(&objects, "Job", "flux-healthcheck");
    assert_eq!(
        job["spec"]["template"]["spec"]["containers"][0]["image"],
        "registry.example.com/flux-operator-cli:v0.58.1"
    );
}
