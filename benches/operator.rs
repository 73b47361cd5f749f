//! The operator beside upstream's, each on its own `--full` test bed (Deployments really
//! become Available) with the same FluxInstance (`examples/minimal.yaml`, wait on,
//! notifications off): apply -> Ready, API requests while idle and per periodic reconcile
//! (the API server's `apiserver_request_total`), resident memory, and how long drift, a
//! deleted Deployment and a deleted CRD take to be repaired. `cargo bench --bench operator`
//! measures both (upstream's binary from `hack/upstream-operator.sh v0.58.1 operator`);
//! under `cargo test` it runs ours once with short windows.

#[path = "support/operator_bed.rs"]
mod operator_bed;

use std::time::{Duration, Instant};

use operator_bed::{Bed, Flavor, Running};

/// What one flavor measured.
#[derive(Debug, Default)]
struct Figures {
    apply_to_ready: Duration,
    idle_requests: f64,
    idle_window: Duration,
    periodic_requests: Option<f64>,
    periodic_writes: Option<f64>,
    rss_mib: f64,
    rss_after: Duration,
    drift: Option<Duration>,
    deleted_deployment: Option<Duration>,
    deleted_crd: Option<Duration>,
    namespace_teardown: Option<Duration>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let flavors = if measuring {
        vec![Flavor::upstream("v0.58.1"), Flavor::Ours]
    } else {
        vec![Flavor::Ours]
    };
    let mut rows = Vec::new();
    for flavor in flavors {
        let label = flavor.label();
        eprintln!("bench operator: {label}");
        let figures = measure(flavor, measuring).await;
        eprintln!("bench operator: {label}: {figures:?}");
        rows.push((label, figures));
    }
    print_table(&rows);
    let (_, ours) = rows.last().expect("ours ran");
    assert!(ours.drift.is_some(), "drift by another field manager was not repaired");
    assert!(
        ours.deleted_deployment.is_some(),
        "a Deployment deleted in the foreground was not put back"
    );
    assert!(ours.deleted_crd.is_some(), "a deleted CRD was not put back");
    assert!(
        ours.namespace_teardown.is_some(),
        "deleting the instance's namespace did not uninstall Flux and let the namespace go"
    );
}

async fn measure(flavor: Flavor, measuring: bool) -> Figures {
    let bed = Bed::up(&format!("bench-operator-{}", flavor.short())).await;
    bed.install_crds().await;
    let operator = Running::start(&flavor, &bed);
    operator.wait_metrics().await;
    let mut f = Figures::default();

    let started = Instant::now();
    bed.apply_instance(&[]).await;
    bed.wait_ready(Duration::from_secs(180)).await;
    f.apply_to_ready = started.elapsed();
    let ready_at = Instant::now();

    // Idle: the default interval (1 h) means no periodic reconcile in the window.
    f.idle_window = Duration::from_secs(if measuring { 62 } else { 8 });
    let before = bed.request_counts().await;
    tokio::time::sleep(f.idle_window).await;
    f.idle_requests = bed.request_counts().await.delta(&before).total;

    if measuring {
        let (requests, writes) = periodic_cost(&bed, &operator, f.idle_requests / f.idle_window.as_secs_f64()).await;
        f.periodic_requests = Some(requests);
        f.periodic_writes = Some(writes);
    }
    f.rss_mib = operator.rss_mib();
    f.rss_after = ready_at.elapsed();

    if measuring {
        // Back to the default interval, so that no periodic reconcile repairs by chance.
        bed.apply_instance(&[]).await;
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    let cap = Duration::from_secs(if measuring { 30 } else { 20 });
    f.drift = bed.time_drift_repair(cap).await;
    f.deleted_deployment = bed.time_deployment_repair(cap).await;
    f.deleted_crd = bed.time_crd_repair(cap).await;
    f.namespace_teardown = bed.time_namespace_teardown(Duration::from_secs(120)).await;
    drop(operator);
    bed.down();
    f
}

/// Requests (and writes) per periodic reconcile with nothing to do: every 10 s for 42 s,
/// the idle rate taken out.
async fn periodic_cost(bed: &Bed, operator: &Running, idle_per_second: f64) -> (f64, f64) {
    bed.apply_instance(&[("fluxcd.controlplane.io/reconcileEvery", "10s")])
        .await;
    // The annotation's own reconcile goes by first.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let window = Duration::from_secs(42);
    let reconciles_before = operator.reconciles().await;
    let before = bed.request_counts().await;
    tokio::time::sleep(window).await;
    let delta = bed.request_counts().await.delta(&before);
    let reconciles = (operator.reconciles().await - reconciles_before).max(1.0);
    let requests = (delta.total - idle_per_second * window.as_secs_f64()).max(0.0) / reconciles;
    (requests, delta.writes / reconciles)
}

fn print_table(rows: &[(String, Figures)]) {
    let secs = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let repair = |d: Option<Duration>| d.map(secs).unwrap_or_else(|| "not repaired".into());
    let num = |v: Option<f64>| v.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into());
    println!();
    println!(
        "{:<48} {}",
        "figure",
        rows.iter().map(|(l, _)| format!("{l:>22}")).collect::<String>()
    );
    let line = |name: &str, cell: &dyn Fn(&Figures) -> String| {
        let cells: String = rows.iter().map(|(_, f)| format!("{:>22}", cell(f))).collect();
        println!("{name:<48} {cells}");
    };
    line("kubectl apply -> Ready", &|f| secs(f.apply_to_ready));
    line("API requests while idle (no reconcile due)", &|f| {
        format!("{:.0} in {:.0} s", f.idle_requests, f.idle_window.as_secs_f64())
    });
    line(
        "API requests per idle periodic reconcile",
        &|f| num(f.periodic_requests),
    );
    line("writes per idle periodic reconcile", &|f| num(f.periodic_writes));
    line("RSS after the idle windows", &|f| {
        format!("{:.1} MiB @{:.0}s", f.rss_mib, f.rss_after.as_secs_f64())
    });
    line("drift by another field manager repaired", &|f| repair(f.drift));
    line("deleted managed Deployment repaired", &|f| repair(f.deleted_deployment));
    line("deleted managed CRD repaired", &|f| repair(f.deleted_crd));
    line("namespace deleted -> it and Flux's CRDs gone", &|f| {
        f.namespace_teardown
            .map(secs)
            .unwrap_or_else(|| "not within 120 s".into())
    });
    if let [(_, upstream), (_, ours)] = rows {
        let ratio = ours.apply_to_ready.as_secs_f64() / upstream.apply_to_ready.as_secs_f64();
        println!("ours / upstream, apply -> Ready: {ratio:.2}x");
        if let (Some(a), Some(b)) = (ours.periodic_requests, upstream.periodic_requests) {
            println!(
                "ours / upstream, requests per idle periodic reconcile: {:.2}x",
                a / b.max(0.1)
            );
        }
        println!("ours / upstream, RSS: {:.2}x", ours.rss_mib / upstream.rss_mib.max(0.1));
    }
}
