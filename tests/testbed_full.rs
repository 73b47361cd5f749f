//! `hack/testbed.sh up --full`: with kube-controller-manager, kube-scheduler and kwok, a
//! Deployment becomes Available the way it does on a cluster; `down` stops every process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("hack/testbed.sh")
}

fn kubectl(dir: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .output()
        .expect("run kubectl")
}

fn recorded_pids(dir: &Path) -> Vec<u32> {
    std::fs::read_to_string(dir.join("pids"))
        .expect("pids file")
        .lines()
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    // A zombie is dead for our purpose: it holds no port and no file.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| !s.contains(") Z "))
        .unwrap_or(false)
}

#[test]
fn full_test_bed_makes_deployments_available_and_stops_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/testbed-runs")
        .join(format!("full-{}", std::process::id()));
    let up = Command::new(script())
        .args(["up", dir.to_str().unwrap(), "--full", "--owner-pid"])
        .arg(std::process::id().to_string())
        .status()
        .expect("run testbed.sh up --full");
    assert!(up.success(), "testbed.sh up --full failed");
    let pids = recorded_pids(&dir);
    assert_eq!(
        pids.len(),
        6,
        "etcd, apiserver, controller-manager, scheduler, kwok, watchdog"
    );

    let created = kubectl(
        &dir,
        &[
            "create",
            "deployment",
            "web",
            "--image=registry.invalid/web:1",
            "--replicas=2",
        ],
    );
    assert!(created.status.success(), "{}", String::from_utf8_lossy(&created.stderr));
    let waited = kubectl(
        &dir,
        &["wait", "--for=condition=Available", "deployment/web", "--timeout=90s"],
    );
    assert!(
        waited.status.success(),
        "Deployment not Available: {}",
        String::from_utf8_lossy(&waited.stderr)
    );
    let ready = kubectl(
        &dir,
        &["get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}"],
    );
    assert_eq!(String::from_utf8_lossy(&ready.stdout), "2");

    let down = Command::new(script())
        .args(["down", dir.to_str().unwrap()])
        .status()
        .expect("down");
    assert!(down.success());
    for pid in pids {
        assert!(!alive(pid), "process {pid} still runs after down");
    }
    assert!(!dir.join("pids").exists());
}
