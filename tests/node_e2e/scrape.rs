//! A real Prometheus that finds the operator the way a cluster's Prometheus does: pods
//! listed and watched through the API server (kubernetes_sd_configs, role pod) with a
//! service account of its own, kept by the chart's `prometheus.io/*` annotations.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{kubectl_ok, project_root, testbed_dir};
use crate::prometheus::Prometheus;

const RBAC: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: monitoring}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: prometheus, namespace: monitoring}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: e2e-prometheus}
rules:
- apiGroups: [""]
  resources: [pods]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: e2e-prometheus}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: e2e-prometheus}
subjects:
- {kind: ServiceAccount, name: prometheus, namespace: monitoring}
"#;

/// The scrape configuration: every annotated pod of the real node. A hostNetwork pod's IP
/// is the node's, which nothing may dial here; the host's network answers on loopback too,
/// so the annotated port is scraped on 127.0.0.1 (and pods of the kwok node, which run
/// nowhere, are dropped).
fn config(api_port: &str, token_file: &Path) -> String {
    format!(
        r#"global: {{scrape_interval: 1s, evaluation_interval: 1s}}
scrape_configs:
- job_name: kubernetes-pods
  kubernetes_sd_configs:
  - role: pod
    api_server: https://127.0.0.1:{api_port}
    tls_config: {{ca_file: {ca}}}
    authorization: {{credentials_file: {token}}}
  tls_config: {{ca_file: {ca}}}
  relabel_configs:
  - {{source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape], regex: "true", action: keep}}
  - {{source_labels: [__meta_kubernetes_pod_node_name], regex: localhost, action: keep}}
  - {{source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path], regex: (.+), target_label: __metrics_path__}}
  - {{source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port], regex: (\d+), replacement: 127.0.0.1:$1, target_label: __address__}}
  - {{source_labels: [__meta_kubernetes_namespace], target_label: namespace}}
  - {{source_labels: [__meta_kubernetes_pod_name], target_label: pod}}
"#,
        ca = testbed_dir().join("ca.crt").display(),
        token = token_file.display(),
    )
}

/// A Prometheus with Kubernetes service discovery (Debian's has none), from
/// `hack/install-prometheus.sh`.
fn prometheus_binary() -> PathBuf {
    let out = Command::new(project_root().join("hack/install-prometheus.sh"))
        .stderr(Stdio::inherit())
        .output()
        .expect("run hack/install-prometheus.sh");
    assert!(out.status.success(), "hack/install-prometheus.sh failed");
    PathBuf::from(String::from_utf8(out.stdout).expect("utf-8 path").trim())
}

/// Starts Prometheus with its own service account's token, written into `dir`.
pub fn start(dir: &Path) -> Prometheus {
    kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(RBAC));
    let token = kubectl_ok(
        &["-n", "monitoring", "create", "token", "prometheus", "--duration=1h"],
        None,
    );
    let token_file = dir.join("prometheus.token");
    std::fs::write(&token_file, token.trim()).expect("write the token");
    let api_port = std::fs::read_to_string(testbed_dir().join("port")).expect("the test bed's port file");
    Prometheus::with_config(&prometheus_binary(), &config(api_port.trim(), &token_file))
}

/// Waits until Prometheus has `flux_instance_info{ready="True"}` scraped from `pod`.
pub async fn wait_ready_series(prometheus: &Prometheus, pod: &str) -> serde_json::Value {
    let expr = format!(r#"flux_instance_info{{ready="True", job="kubernetes-pods", pod="{pod}"}}"#);
    let series = prometheus.wait_for_data(&expr, 90).await;
    assert_eq!(series.len(), 1, "{series:?}");
    series[0]["metric"].clone()
}
