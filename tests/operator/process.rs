//! The operator binary as upstream's chart starts it: flags only, the environment the chart
//! sets, JSON logs with the keys upstream's users query.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    /// The exit status, once the process has exited within `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

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
    // One log per process: a scenario may start several in one namespace.
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    let log = dir.join(format!("{namespace}-{}.log", STARTED.fetch_add(1, Ordering::Relaxed)));
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
    let said = |flag: &str| lines.iter().any(|l| l["flag"] == flag && l["level"] == "info");
    assert!(
        said("--default-workload-identity-service-account"),
        "workload identity is not reported as without effect: {lines:?}"
    );
    assert!(
        !said("--default-service-account"),
        "the ResourceSet controllers use --default-service-account: {lines:?}"
    );
}

/// Leader election with short timings, so that an outage of a few seconds costs the Lease.
const LEADER_ARGS: [&str; 5] = [
    "--log-level=info",
    "--enable-leader-election=true",
    "--leader-election-lease-duration=4s",
    "--leader-election-renew-deadline=3s",
    "--leader-election-retry-period=1s",
];

/// The exit code of a replica that lost the Lease (`main.rs`).
const EXIT_LEADERSHIP_LOST: i32 = 75;

fn spec_with(components: &[&str]) -> Value {
    json!({"distribution": {"version": "2.9.x", "registry": "ghcr.io/fluxcd"}, "components": components})
}

const DEFAULT_COMPONENTS: [&str; 4] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

/// Who holds the operator's Lease: `<host>_<pid>_<nonce>`.
async fn lease_holder_pid(client: &kube::Client, ns: &str) -> Option<u32> {
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> = kube::Api::namespaced(client.clone(), ns);
    let lease = leases.get_opt("flux-operator").await.ok().flatten()?;
    let holder = lease.spec?.holder_identity?;
    holder.rsplit('_').nth(1)?.parse().ok()
}

/// Item 11 of issue 12: the API server goes away for longer than the renew deadline; the
/// leader exits with its own code and says why, and a restarted process takes the Lease
/// and reconciles what changed meanwhile.
#[tokio::test]
async fn a_leader_cut_off_by_an_outage_exits_75_and_a_restarted_one_finishes() {
    let _serial = serial().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "proc-outage").await;
    let mut first = start(&ns, &LEADER_ARGS);
    let _kubelet = start_kubelet(&client, &ns);
    apply_instance(&client, &ns, spec_with(&DEFAULT_COMPONENTS), json!({})).await;
    wait_instance(&client, &ns, 120, "Ready", |o| is_ready_at(o, "v2.9.")).await;

    // From the stop request: the API server drains for a moment before it refuses calls.
    let stopped = Instant::now();
    stop_apiserver();
    let status = first.wait_exit(Duration::from_secs(30));
    let exited_after = stopped.elapsed().as_secs_f64();
    start_apiserver();
    let status = status.expect("the leader did not exit within 30 s of the outage");
    assert_eq!(status.code(), Some(EXIT_LEADERSHIP_LOST), "{status}");
    let lines = first.lines();
    let lost = lines
        .iter()
        .find(|l| l["msg"] == "leadership lost, exiting")
        .unwrap_or_else(|| panic!("no 'leadership lost' line: {lines:?}"));
    assert_eq!(lost["level"], "error", "{lost}");
    assert_eq!(lost["exit_code"], EXIT_LEADERSHIP_LOST, "{lost}");
    assert!(
        lost["error"]
            .as_str()
            .is_some_and(|e| e.contains("Lease flux-operator")),
        "{lost}"
    );
    eprintln!("FIGURE leader exits after the API server is stopped (renew deadline 3 s): {exited_after:.2}");
    // The renew deadline counts from the last successful renewal, which came at most one
    // retry period (1 s) before the stop.
    assert!(
        exited_after > 2.0,
        "the leader exited {exited_after:.2} s after the stop, before its renew deadline"
    );

    // While no operator runs, the user adds a component; the restarted process takes
    // over once the Lease has expired and installs it.
    let client = crate::common::client().await;
    let mut components = DEFAULT_COMPONENTS.to_vec();
    components.push("image-reflector-controller");
    let changed = apply_instance(&client, &ns, spec_with(&components), json!({})).await;
    let restarted = Instant::now();
    let second = start(&ns, &LEADER_ARGS);
    let done = wait_instance(&client, &ns, 120, "Ready with the new component", |o| {
        is_ready_at(o, "v2.9.") && o.metadata.generation == changed.metadata.generation
    })
    .await;
    let seconds = restarted.elapsed().as_secs_f64();
    eprintln!("FIGURE restarted leader takes over and finishes a change (lease 4 s): {seconds:.2}");
    let components = &done.status.as_ref().expect("status").components;
    assert!(
        components.iter().any(|c| c.name == "image-reflector-controller"),
        "{components:?}"
    );
    assert_eq!(lease_holder_pid(&client, &ns).await, Some(second.child.id()));
}

/// A killed (`kill -9`) operator mid-install: the process started in its place waits for
/// the Lease to expire, takes it and finishes the install.
#[tokio::test]
async fn an_operator_killed_mid_install_is_replaced_and_the_install_finishes() {
    let _serial = serial().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "proc-kill").await;
    let mut first = start(&ns, &LEADER_ARGS);
    apply_instance(&client, &ns, spec_with(&DEFAULT_COMPONENTS), json!({})).await;
    // No kubelet yet: the operator applies, then waits for readiness, and is killed there.
    wait_instance(&client, &ns, 60, "install in progress", |o| {
        o.status.as_ref().is_some_and(|s| s.last_attempted_revision.is_some())
    })
    .await;
    first.child.kill().expect("SIGKILL");
    first.child.wait().expect("reap");
    let _kubelet = start_kubelet(&client, &ns);
    let restarted = Instant::now();
    let second = start(&ns, &LEADER_ARGS);
    let done = wait_instance(&client, &ns, 120, "Ready after the kill", |o| is_ready_at(o, "v2.9.")).await;
    let seconds = restarted.elapsed().as_secs_f64();
    eprintln!("FIGURE operator killed mid-install, replacement finishes (lease 4 s): {seconds:.2}");
    assert_eq!(lease_holder_pid(&client, &ns).await, Some(second.child.id()));
    let inventory = done.status.and_then(|s| s.inventory).expect("inventory");
    assert!(inventory.entries.len() > 20, "{} objects", inventory.entries.len());
    for name in DEFAULT_COMPONENTS {
        let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> = kube::Api::namespaced(client.clone(), &ns);
        assert!(deployments.get_opt(name).await.unwrap().is_some(), "{name} is missing");
    }
}

/// The baked-in distribution is listed once at start: a folder without releases stops the
/// operator before it reconciles anything, naming the folder.
#[tokio::test]
async fn a_storage_path_without_releases_stops_the_start() {
    let _serial = serial().await;
    let ns = namespace(&client().await, "op-nodata").await;
    let empty = tempfile::tempdir().expect("tempdir");
    let storage = format!("--storage-path={}", empty.path().display());
    let config = operator_config(&ns, &[&storage]);
    let started = flux_operator_rs::controller::run_with(common::config().await, config, std::future::pending());
    let result = tokio::time::timeout(Duration::from_secs(30), started)
        .await
        .expect("the start was not refused within 30 s");
    let error = result.expect_err("an operator without releases started").to_string();
    assert!(error.starts_with("distribution data: "), "{error}");
    assert!(error.contains(&empty.path().display().to_string()), "{error}");
    assert!(error.contains("no flux/ folder"), "{error}");
}
