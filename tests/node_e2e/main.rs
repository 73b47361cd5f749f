//! The operator as users run it, on `hack/testbed.sh up --node` (the full test bed plus a
//! real kubelet with containerd and runc): its image built by `hack/image.sh` and its chart
//! pushed to a loopback registry, `helm install` from OCI, the operator a Ready pod (the
//! kubelet calls its probes) working with its own service account and the chart's RBAC,
//! the CobaltCore FluxInstance Ready with Flux on the kwok node, a real Prometheus finding
//! the pod through the API server, `helm upgrade` rolling the operator alone, and
//! `helm uninstall` leaving the CRDs, the FluxInstance and Flux. Prints the times from
//! `helm install` as FIGURE lines. One test: one real node per machine.

#[path = "../testbed/common.rs"]
pub mod common;
#[path = "../helm/mod.rs"]
pub mod helm;
#[path = "../prometheus/mod.rs"]
pub mod prometheus;
mod publish;
mod scrape;

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use common::{kubeconfig, kubectl_json, kubectl_ok, project_root as root, testbed_dir};
use helm::helm_ok;

const NS: &str = "flux-system";
const RELEASE: &str = "flux-operator";
const FLUX_COMPONENTS: [&str; 4] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];

fn helm_on_bed(args: &[&str]) -> String {
    let kubeconfig = kubeconfig().to_string_lossy().into_owned();
    let mut all = args.to_vec();
    all.extend(["--kubeconfig", &kubeconfig]);
    helm_ok(&all)
}

/// The operator's pods, by the chart's instance label.
fn operator_pods() -> Vec<Value> {
    let selector = format!("app.kubernetes.io/instance={RELEASE}");
    let list = kubectl_json(&["-n", NS, "get", "pods", "-l", &selector]);
    list["items"].as_array().cloned().unwrap_or_default()
}

/// Waits for the operator Deployment's rollout, then checks its one pod: on the real node,
/// Running and Ready with the image from the registry (by digest), under the chart's
/// service account, never restarted. Returns the pod.
fn wait_operator(tag: &str, digest: &str) -> Value {
    kubectl_ok(
        &[
            "-n",
            NS,
            "rollout",
            "status",
            "deployment/flux-operator",
            "--timeout=240s",
        ],
        None,
    );
    let pods: Vec<Value> = operator_pods()
        .into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    assert_eq!(pods.len(), 1, "one operator pod: {pods:#?}");
    let pod = pods[0].clone();
    assert_eq!(pod["spec"]["nodeName"], "localhost", "on the real node");
    assert_eq!(pod["spec"]["serviceAccountName"], "flux-operator");
    assert_eq!(pod["status"]["phase"], "Running");
    let status = &pod["status"]["containerStatuses"][0];
    assert_eq!(
        status["ready"], true,
        "the kubelet's readiness probe passed: {status:#}"
    );
    assert_eq!(status["restartCount"], 0, "{status:#}");
    // The spec names the tag; the status's `image` is the runtime's first name for the
    // digest, which both tags share.
    let image = pod["spec"]["containers"][0]["image"].as_str().unwrap_or_default();
    assert!(image.ends_with(&format!("/flux-operator-rs:{tag}")), "{image}");
    assert!(
        status["imageID"].as_str().unwrap_or_default().ends_with(digest),
        "the kubelet ran the pushed image {digest}: {status:#}"
    );
    pod
}

/// name -> (uid, generation) of Flux's Deployments, each checked to be Available on the kwok node.
fn flux_deployments() -> BTreeMap<String, (String, i64)> {
    let mut found = BTreeMap::new();
    for component in FLUX_COMPONENTS {
        let d = kubectl_json(&["-n", NS, "get", "deployment", component]);
        let available = d["status"]["conditions"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|c| c["type"] == "Available" && c["status"] == "True");
        assert!(available, "{component} is not Available: {:#}", d["status"]);
        let selector = format!("app={component}");
        let pods = kubectl_json(&["-n", NS, "get", "pods", "-l", &selector]);
        for pod in pods["items"].as_array().into_iter().flatten() {
            assert_eq!(
                pod["spec"]["nodeName"], "kwok-node-0",
                "{component}'s pods stay off the real node"
            );
        }
        let uid = d["metadata"]["uid"].as_str().expect("uid").to_string();
        let generation = d["metadata"]["generation"].as_i64().expect("generation");
        found.insert(component.to_string(), (uid, generation));
    }
    found
}

/// The operator waits for the sync GitRepository and Kustomization to be Ready, as it must;
/// the controllers that would make them so run nowhere here (their images cannot be pulled:
/// their pods are kwok's). The test plays their part once the operator has applied them,
/// as kwok plays the kubelet's for their pods.
async fn stand_in_for_the_sync_controllers() {
    let objects = [
        ("gitrepository.source.toolkit.fluxcd.io/flux-system", "Succeeded"),
        (
            "kustomization.kustomize.toolkit.fluxcd.io/flux-system",
            "ReconciliationSucceeded",
        ),
    ];
    let deadline = Instant::now() + std::time::Duration::from_secs(180);
    for (object, reason) in objects {
        let generation: i64 = loop {
            let jsonpath = "jsonpath={.metadata.generation}";
            let (found, out, _) = common::kubectl(&["-n", NS, "get", object, "-o", jsonpath], None);
            if let (true, Ok(generation)) = (found, out.parse()) {
                break generation;
            }
            assert!(Instant::now() < deadline, "the operator did not apply {object}");
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        };
        let condition = serde_json::json!({"type": "Ready", "status": "True", "reason": reason,
            "message": "set by tests/node_e2e", "observedGeneration": generation,
            "lastTransitionTime": "2026-01-01T00:00:00Z"});
        let status = serde_json::json!({"status": {"observedGeneration": generation, "conditions": [condition]}});
        kubectl_ok(
            &[
                "-n",
                NS,
                "patch",
                object,
                "--subresource=status",
                "--type=merge",
                "-p",
                &status.to_string(),
            ],
            None,
        );
    }
}

fn lease_holder() -> String {
    let lease = kubectl_json(&["-n", NS, "get", "lease", "flux-operator"]);
    lease["spec"]["holderIdentity"].as_str().unwrap_or_default().to_string()
}

fn figure(name: &str, since: Instant) {
    println!("FIGURE {name}: {:.1} s", since.elapsed().as_secs_f64());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_runs_from_its_chart_and_image_on_a_real_node() {
    common::testbed_flags(&["--node"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let registry = publish::registry();
    let repository = format!("{registry}/flux-operator-rs");
    let digest = publish::push_image(&dir.path().join("image"), &repository, &["0.1.0", "0.1.0-next"]);
    let chart = publish::push_chart(dir.path(), &registry);
    let chart_ref = format!("oci://{registry}/charts/{}", chart.name);
    // The values `up --node` writes for its node (image repository, host network, taint,
    // API server and probes on loopback).
    let values = testbed_dir().join("node-values.yaml").to_string_lossy().into_owned();

    // helm install from OCI -> the operator Ready on the real node.
    let installed = Instant::now();
    helm_on_bed(&[
        "install",
        RELEASE,
        &chart_ref,
        "--version",
        &chart.version,
        "--plain-http",
        "--namespace",
        NS,
        "--create-namespace",
        "--values",
        &values,
        "--set",
        "image.tag=0.1.0",
    ]);
    let pod = wait_operator("0.1.0", &digest);
    figure("helm install to operator Ready", installed);
    let pod_name = pod["metadata"]["name"].as_str().expect("pod name").to_string();

    // The CobaltCore FluxInstance, sync included -> Ready, Flux Available on the kwok node.
    let applied = Instant::now();
    kubectl_ok(
        &[
            "apply",
            "-f",
            &root().join("examples/cobaltcore-management.yaml").to_string_lossy(),
        ],
        None,
    );
    stand_in_for_the_sync_controllers().await;
    kubectl_ok(
        &[
            "-n",
            NS,
            "wait",
            "fluxinstance/flux",
            "--for=condition=Ready",
            "--timeout=300s",
        ],
        None,
    );
    figure("helm install to FluxInstance Ready", installed);
    figure("kubectl apply to FluxInstance Ready", applied);
    let flux = flux_deployments();
    // The pod did it with its own account (no other operator runs): it holds the operator's
    // Lease, and kubectl reads its log through the kubelet.
    let holder = lease_holder();
    assert!(!holder.is_empty(), "the operator pod holds the Lease");
    let log = kubectl_ok(&["-n", NS, "logs", &pod_name], None);
    assert!(
        log.contains("\"flux\""),
        "the operator's log names the instance:\n{log}"
    );

    // A real Prometheus, finding the pod through the API server.
    let prometheus = scrape::start(dir.path());
    let series = scrape::wait_ready_series(&prometheus, &pod_name).await;
    assert_eq!(series["namespace"], NS, "{series}");

    let before = Before { digest, holder, flux };
    upgrade_and_uninstall(&chart_ref, &chart.version, &prometheus, &before).await;
    node_down_restores_the_machine();
}

/// What the upgrade must keep or change: the image, the Lease's holder, Flux's Deployments.
struct Before {
    digest: String,
    holder: String,
    flux: BTreeMap<String, (String, i64)>,
}

/// `helm upgrade` to another tag rolls the operator and leaves Flux alone; `helm uninstall`
/// keeps the CRDs, the FluxInstance and Flux.
async fn upgrade_and_uninstall(chart_ref: &str, version: &str, prometheus: &prometheus::Prometheus, before: &Before) {
    let flux = &before.flux;
    helm_on_bed(&[
        "upgrade",
        RELEASE,
        chart_ref,
        "--version",
        version,
        "--plain-http",
        "--namespace",
        NS,
        "--reuse-values",
        "--set",
        "image.tag=0.1.0-next",
    ]);
    let pod = wait_operator("0.1.0-next", &before.digest);
    let pod_name = pod["metadata"]["name"].as_str().expect("pod name").to_string();
    // The new pod has reconciled and reported: its own series says Ready.
    scrape::wait_ready_series(prometheus, &pod_name).await;
    let holder = lease_holder();
    assert!(
        !holder.is_empty() && holder != before.holder,
        "the new pod took the Lease over: {holder}"
    );
    assert_eq!(&flux_deployments(), flux, "no Flux Deployment was replaced or changed");

    helm_on_bed(&["uninstall", RELEASE, "--namespace", NS, "--wait", "--timeout=120s"]);
    let deadline = Instant::now() + std::time::Duration::from_secs(90);
    while !operator_pods().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the operator's pod is still there: {:#?}",
            operator_pods()
        );
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
    for crd in [
        "fluxinstances.fluxcd.controlplane.io",
        "fluxreports.fluxcd.controlplane.io",
    ] {
        kubectl_ok(&["get", "crd", crd], None);
    }
    kubectl_ok(&["-n", NS, "get", "fluxinstance", "flux"], None);
    assert_eq!(&flux_deployments(), flux, "Flux stays after helm uninstall");
}

/// No packet went to the node's IP, and `down` undoes what the node changed on the machine.
fn node_down_restores_the_machine() {
    let script = root().join("hack/testbed.sh");
    let dir = testbed_dir();
    let traffic = Command::new(&script)
        .arg("node-traffic")
        .arg(dir)
        .output()
        .expect("node-traffic");
    assert_eq!(
        String::from_utf8_lossy(&traffic.stdout).trim(),
        "0",
        "packets sent to the node IP"
    );
    let sysctls = std::fs::read_to_string(dir.join("node/sysctls")).expect("recorded sysctls");
    let cgroups = std::fs::read_to_string(dir.join("node/created-cgroups")).expect("recorded cgroups");
    let created = std::fs::read_to_string(dir.join("node/created-dirs")).expect("recorded folders");
    assert!(
        Command::new(&script)
            .arg("down")
            .arg(dir)
            .status()
            .expect("down")
            .success()
    );
    for line in sysctls.lines() {
        let (name, value) = line.split_once(' ').expect("NAME VALUE");
        let path = format!("/proc/sys/{}", name.replace('.', "/"));
        let now = std::fs::read_to_string(&path).expect("read sysctl");
        assert_eq!(now.trim(), value, "{name} restored");
    }
    for path in cgroups.lines().chain(created.lines()) {
        assert!(!std::path::Path::new(path).exists(), "{path} removed by down");
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    assert!(
        !mounts.contains(&*dir.to_string_lossy()),
        "nothing stays mounted under {}",
        dir.display()
    );
    assert!(
        !std::path::Path::new("/run/flux-operator-rs-testbed-node").exists(),
        "the node lock is released"
    );
}
