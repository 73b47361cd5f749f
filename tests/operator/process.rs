//! The operator binary as upstream's chart starts it: flags only, the environment the chart
//! sets, JSON logs with the keys upstream's users query.

use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::common::{self, client, install_crds, namespace};
use crate::harness::*;

/// The binary, killed when dropped; its stderr (the logs) goes to a file.
struct Process {
    child: Child,
    log: std::path::PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Process {
    fn lines(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {l}")))
            .collect()
    }
}

/// Starts the binary with exactly `args`; what upstream's chart sets as environment
/// (RUNTIME_NAMESPACE) plus what a test needs instead of the pod's defaults (ports, data).
fn start(namespace: &str, args: &[&str]) -> Process {
    let dir = common::project_root().join("target/operator-process-logs");
    std::fs::create_dir_all(&dir).expect("log dir");
    let log = dir.join(format!("{namespace}.log"));
    let stderr = std::fs::File::create(&log).expect("log file");
    let child = Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
        .args(args)
        .env("KUBECONFIG", common::kubeconfig())
        .env("RUNTIME_NAMESPACE", namespace)
        .env("STORAGE_PATH", distribution())
        .env("METRICS_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("HEALTH_ADDR", format!("127.0.0.1:{}", free_port()))
        .env("NOTIFICATIONS_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start the operator binary");
    Process { child, log }
}

async fn runs_to_ready(args: &[&str], prefix: &str) -> Process {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, prefix).await;
    let process = start(&ns, args);
    let _kubelet = start_kubelet(&client, &ns);
    let spec = json!({"distribution": {"version": "2.9.x", "registry": "ghcr.io/fluxcd"}, "wait": false});
    apply_instance(&client, &ns, spec, json!({})).await;
    wait_instance(&client, &ns, 120, "Ready", |o| is_ready_at(o, "v2.9.")).await;
    process
}

#[tokio::test]
async fn the_upstream_charts_default_arguments_run_the_operator() {
    let _serial = serial().await;
    let process = runs_to_ready(&["--log-level=info", "--web-server-port=9080"], "proc-default").await;
    let lines = process.lines();
    let finished = lines
        .iter()
        .find(|l| {
            l["msg"]
                .as_str()
                .is_some_and(|m| m.starts_with("Reconciliation finished in"))
        })
        .unwrap_or_else(|| panic!("no reconcile log line: {lines:?}"));
    assert_eq!(finished["level"], "info");
    assert_eq!(finished["controller"], "fluxinstance");
    assert_eq!(finished["name"], "flux");
    assert!(
        finished["namespace"]
            .as_str()
            .is_some_and(|n| n.starts_with("proc-default"))
    );
    assert_eq!(finished["reconcileID"].as_str().map(str::len), Some(36), "{finished}");
    assert!(finished["ts"].as_str().is_some_and(|t| t.ends_with('Z')), "{finished}");
    for line in &lines {
        assert!(line["level"].as_str().is_some_and(|l| l == l.to_lowercase()), "{line}");
        assert!(line.get("msg").is_some() && line.get("ts").is_some(), "{line}");
    }
}

#[tokio::test]
async fn the_upstream_charts_multitenancy_arguments_run_the_operator() {
    let _serial = serial().await;
    let args = [
        "--log-level=info",
        "--web-server-port=9080",
        "--default-service-account=flux-operator",
        "--default-workload-identity-service-account=flux-operator",
    ];
    let process = runs_to_ready(&args, "proc-tenant").await;
    let lines = process.lines();
    for flag in [
        "--default-service-account",
        "--default-workload-identity-service-account",
    ] {
        assert!(
            lines.iter().any(|l| l["flag"] == flag && l["level"] == "info"),
            "{flag} is not reported as without effect: {lines:?}"
        );
    }
}
