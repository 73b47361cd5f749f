//! Computing the FluxReport (and the metric series) over 10,000 Flux objects on a real
//! test bed: time per computation and the peak resident memory it adds. `cargo bench
//! --bench report` measures; under `cargo test` it runs once over a few objects.

#[path = "support/proc_status.rs"]
pub mod proc_status;

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use futures::{StreamExt, stream};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use serde_json::json;

use flux_operator_rs::distribution::Distribution;
use flux_operator_rs::{build, report};
use proc_status::{current_rss_kib, peak_rss_kib};

const MANAGER: &str = "flux-operator-rs-bench";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Starts a test bed that stops when this process exits.
fn testbed() -> PathBuf {
    let dir = root()
        .join("target/testbed-runs")
        .join(format!("bench-report-{}", std::process::id()));
    let status = Command::new(root().join("hack/testbed.sh"))
        .arg("up")
        .arg(&dir)
        .arg("--owner-pid")
        .arg(std::process::id().to_string())
        .status()
        .expect("hack/testbed.sh");
    assert!(status.success(), "test bed did not start");
    dir.join("kubeconfig")
}

async fn client(kubeconfig: &PathBuf) -> Client {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("config");
    Client::try_from(config).expect("client")
}

/// The Flux v2.9.4 CRDs, as the operator would install them.
async fn install_flux_crds(client: &Client) {
    let distribution = Distribution::open(&root().join("../shared/flux-distribution")).expect("distribution");
    let spec =
        serde_json::from_value(json!({"distribution": {"version": "2.9.4", "registry": "ghcr.io/fluxcd"}})).unwrap();
    let built = build::resolve_and_build("flux-system", &spec, &distribution).expect("build");
    let crd = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
    ));
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &crd);
    let ours = flux_operator_rs::api::crds()
        .into_iter()
        .map(|c| serde_json::to_value(c).expect("CRD"));
    let flux = built
        .objects
        .iter()
        .filter(|o| o["kind"] == "CustomResourceDefinition")
        .cloned();
    for obj in ours.chain(flux) {
        let name = obj["metadata"]["name"].as_str().unwrap().to_owned();
        api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(&obj))
            .await
            .expect("CRD");
    }
    tokio::time::sleep(Duration::from_secs(3)).await; // Established
}

/// Linux resets the peak RSS (VmHWM) to the current RSS when 5 is written here.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let per_kind = if measuring { 2500 } else { 10 };
    let kubeconfig = testbed();
    let client = client(&kubeconfig).await;
    install_flux_crds(&client).await;

    let kinds = [
        (
            "source.toolkit.fluxcd.io",
            "v1",
            "GitRepository",
            json!({"interval": "1m", "url": "https://example.com/r.git", "ref": {"branch": "main"}}),
        ),
        (
            "source.toolkit.fluxcd.io",
            "v1",
            "OCIRepository",
            json!({"interval": "1m", "url": "oci://example.com/r", "ref": {"tag": "latest"}}),
        ),
        (
            "kustomize.toolkit.fluxcd.io",
            "v1",
            "Kustomization",
            json!({"interval": "10m", "path": "./", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "r"}}),
        ),
        (
            "helm.toolkit.fluxcd.io",
            "v2",
            "HelmRelease",
            json!({"interval": "10m", "chartRef": {"kind": "OCIRepository", "name": "r"}}),
        ),
    ];
    let namespaces = 20;
    for n in 0..namespaces {
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": format!("bench-{n}")}});
        let api: Api<DynamicObject> = Api::all_with(
            client.clone(),
            &ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Namespace")),
        );
        api.patch(&format!("bench-{n}"), &PatchParams::apply(MANAGER), &Patch::Apply(&ns))
            .await
            .expect("namespace");
    }
    let started = Instant::now();
    let mut requests = Vec::new();
    for (group, version, kind, spec) in &kinds {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
        for i in 0..per_kind {
            let ns = format!("bench-{}", i % namespaces);
            let name = format!("{}-{i}", kind.to_lowercase());
            let obj = json!({"apiVersion": ar.api_version, "kind": kind, "metadata": {"name": name, "namespace": ns}, "spec": spec});
            requests.push((ar.clone(), ns, name, obj));
        }
    }
    let total = requests.len();
    stream::iter(requests)
        .for_each_concurrent(32, |(ar, ns, name, obj)| {
            let client = client.clone();
            async move {
                let api: Api<DynamicObject> = Api::namespaced_with(client, &ns, &ar);
                api.patch(&name, &PatchParams::apply(MANAGER), &Patch::Apply(&obj))
                    .await
                    .expect("create object");
            }
        })
        .await;
    println!(
        "report: created {total} Flux objects in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let baseline = current_rss_kib();
    reset_peak_rss();
    let mut times = Vec::new();
    let mut resources = 0;
    for _ in 0..if measuring { 5 } else { 1 } {
        let t = Instant::now();
        let computed = report::compute(&client, "flux-system").await.expect("compute");
        times.push(t.elapsed());
        resources = computed.resources.len();
        let metrics = flux_operator_rs::metrics::Metrics::new().expect("metrics");
        metrics.set_resources(&computed.resources);
    }
    let peak = peak_rss_kib();
    times.sort();
    assert_eq!(resources, total, "one series per object");
    println!(
        "report: compute over {resources} objects: median {:.0} ms, max {:.0} ms",
        ms(times[times.len() / 2]),
        ms(*times.last().unwrap())
    );
    println!(
        "report: RSS before {} KiB, peak while computing {} KiB (+{} KiB)",
        baseline,
        peak,
        peak.saturating_sub(baseline)
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
