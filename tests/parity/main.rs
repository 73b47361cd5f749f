//! The oracle: the upstream Flux Operator (a black-box binary, built by
//! `hack/upstream-operator.sh`) and ours run on the same FluxInstances, each on its own test
//! bed, and what a user can observe is compared: the applied objects, the FluxInstance
//! status, the FluxReport and the metrics. Differences fail the test unless the allowed
//! list (allowed.rs) names them with a reason.

mod allowed;
mod bed;
#[path = "../parity_cases/mod.rs"]
mod cases;
mod clean;
mod compare;
mod diff;
mod kubelet;
mod normalize;
mod observe;
mod plan;
mod process;
mod prom;
mod refused;
mod resourceset;
mod suite;
mod sync;
mod takeover;
#[path = "../render_parity/upstream_cli.rs"]
pub mod upstream_cli;

use std::sync::OnceLock;
use std::time::Instant;

use process::Flavor;

#[derive(Debug, thiserror::Error)]
pub enum ParityError {
    #[error(
        "the upstream operator {0} is not built ({1} is missing): run `hack/upstream-operator.sh {0} operator` first"
    )]
    OracleMissing(String, String),
    #[error("cannot run {0}: {1}")]
    Spawn(String, std::io::Error),
    #[error("hack/testbed.sh up {0} failed: {1}")]
    TestBed(String, String),
    #[error("kubeconfig: {0}")]
    Client(String),
    #[error("API request: {0}")]
    Kube(#[from] kube::Error),
    #[error("timed out waiting for {0}")]
    Timeout(String),
    #[error("the operator exited {0} (log: {1})")]
    OperatorExited(String, String),
    #[error("metrics: {0}")]
    Metrics(String),
    #[error("inventory id {0:?} is not <namespace>_<name>_<group>_<kind>")]
    Inventory(String),
    #[error("{0}: {1}")]
    Run(String, Box<ParityError>),
}

/// A helper task of a run (playing a Flux controller or a provisioner), stopped when dropped.
pub struct Background(tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// When the first test of this binary started: each test prints the time since, so the
/// last line printed is the binary's total.
fn binary_started() -> Instant {
    static STARTED: OnceLock<Instant> = OnceLock::new();
    *STARTED.get_or_init(Instant::now)
}

/// The shared instances, then those the build refuses.
fn all_cases() -> Vec<(String, serde_json::Value)> {
    let mut all = cases::cases();
    all.extend(refused::cases());
    all
}

/// Runs `cases` against upstream `version` and ours, prints the table, and fails on any
/// difference not in `allowed`.
async fn oracle_suite(version: &str, cases: Vec<observe::Case>, allowed: &[compare::Allowed]) {
    let started = binary_started();
    let upstream = Flavor::upstream(version).unwrap_or_else(|e| panic!("{e}"));
    let results = suite::run(&upstream, cases, allowed).await;
    suite::print(&format!("parity with upstream {version}"), &results, started);
    for r in results.iter().filter(|r| r.case.flags.leader_election) {
        let family = r
            .upstream
            .as_ref()
            .map(|s| s.metrics["families"]["leader_election_master_status"].clone());
        assert!(
            family.as_ref().is_ok_and(|v| !v.is_null()),
            "upstream's run of {} (leader election on) must expose leader_election_master_status: {family:?}",
            r.case.name
        );
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.passed())
        .map(|r| r.case.name.as_str())
        .collect();
    println!(
        "parity binary: {:.0} s since its first test started",
        started.elapsed().as_secs_f64()
    );
    assert!(
        failed.is_empty(),
        "{} instances differ from upstream {version}: {failed:?}",
        failed.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parity_with_upstream_v0_58_1() {
    binary_started();
    let cases = plan::select(plan::plan(all_cases()));
    assert!(
        cases.len() >= 40 || plan::filtered(),
        "the suite needs at least 40 instances, has {}",
        cases.len()
    );
    oracle_suite("v0.58.1", cases, allowed::V0_58).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parity_takeover_from_upstream_v0_58_1() {
    let started = binary_started();
    let upstream = Flavor::upstream("v0.58.1").unwrap_or_else(|e| panic!("{e}"));
    let measured = takeover::run(&upstream)
        .await
        .unwrap_or_else(|e| panic!("takeover: {e}"));
    eprintln!("{}", takeover::figure(&measured));
    println!(
        "parity binary: {:.0} s since its first test started",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        measured.ready, "True/ReconciliationSucceeded",
        "our Ready after the takeover"
    );
    assert!(
        measured.changed_deployments.is_empty() && measured.new_replica_sets.is_empty(),
        "the takeover changed pod templates: Deployments {:?}, new ReplicaSets {:?}",
        measured.changed_deployments,
        measured.new_replica_sets
    );
}

/// The second oracle: upstream v0.59.0 on every sixth case (a spread over all options, to
/// keep the suite's time), against its own allowed list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parity_with_upstream_v0_59_0() {
    binary_started();
    let cases = plan::select(plan::plan(all_cases())).into_iter().step_by(6).collect();
    oracle_suite("v0.59.0", cases, allowed::V0_59).await;
}

/// ResourceSets and Static providers: the same manifests under upstream v0.58.1 and ours
/// give the same objects, names, inventories and exported inputs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parity_resourceset_with_upstream_v0_58_1() {
    let started = binary_started();
    let upstream = Flavor::upstream("v0.58.1").unwrap_or_else(|e| panic!("{e}"));
    let theirs = resourceset::observe(&upstream)
        .await
        .unwrap_or_else(|e| panic!("upstream: {e}"));
    let ours = resourceset::observe(&Flavor::Ours)
        .await
        .unwrap_or_else(|e| panic!("ours: {e}"));
    eprintln!(
        "FIGURE parity ResourceSet: {} objects, {} inventories, {} providers compared",
        theirs.objects.len(),
        theirs.inventories.len(),
        theirs.exported.len()
    );
    println!(
        "parity binary: {:.0} s since its first test started",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(
        theirs.objects.len(),
        8,
        "upstream made the expected objects: {:?}",
        theirs.objects.keys()
    );
    assert_eq!(
        ours.objects, theirs.objects,
        "the generated objects differ from upstream's"
    );
    assert_eq!(
        ours.inventories, theirs.inventories,
        "the inventories differ from upstream's"
    );
    assert_eq!(
        ours.exported, theirs.exported,
        "the exported inputs differ from upstream's"
    );
}
