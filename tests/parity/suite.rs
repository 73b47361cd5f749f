//! Runs upstream and ours on every case, each on its own test bed, a few cases at once, and
//! prints the comparison.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Semaphore;

use crate::bed::TestBed;
use crate::compare::{Allowed, Finding, compare};
use crate::observe::{self, Case, Snapshot};
use crate::process::Flavor;

/// Lanes running at once across all tests of this binary: `FLUX_PARITY_LANES`, default 3.
/// A lane is two test beds (upstream's and ours; each an etcd and an apiserver, the harness
/// playing kubelet) that run one case after another.
pub static LANES: Semaphore = Semaphore::const_new(0);

pub fn lanes() -> usize {
    static ONCE: std::sync::Once = std::sync::Once::new();
    let n = std::env::var("FLUX_PARITY_LANES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    ONCE.call_once(|| LANES.add_permits(n));
    n
}

pub struct CaseResult {
    pub case: Case,
    pub upstream: Result<Snapshot, String>,
    pub ours: Result<Snapshot, String>,
    pub findings: Vec<Finding>,
}

impl CaseResult {
    pub fn failing(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.allowed.is_none())
    }

    pub fn passed(&self) -> bool {
        self.upstream.is_ok() && self.ours.is_ok() && self.failing().next().is_none()
    }
}

/// Runs every case against `upstream` and ours, on [`lanes`] lanes. Both snapshots and the
/// findings of each case are written to `target/parity-results/<oracle>/<case>/`.
pub async fn run(upstream: &Flavor, cases: Vec<Case>, allowed: &[Allowed]) -> Vec<CaseResult> {
    // Only this run's cases are left there.
    let _ = std::fs::remove_dir_all(results_dir(upstream));
    let queue = Mutex::new(cases.into_iter().enumerate().collect::<VecDeque<_>>());
    let done = Mutex::new(Vec::new());
    futures::future::join_all((0..lanes()).map(|i| lane(i, upstream, &queue, &done, allowed))).await;
    let mut done = done.into_inner().expect("results");
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

type Queue = Mutex<VecDeque<(usize, Case)>>;

async fn lane(i: usize, upstream: &Flavor, queue: &Queue, done: &Mutex<Vec<(usize, CaseResult)>>, allowed: &[Allowed]) {
    let _permit = LANES.acquire().await.expect("semaphore");
    let oracle = upstream.label().replace(' ', "-");
    let mut theirs = Lane {
        bed: None,
        name: format!("{oracle}-lane{i}-upstream"),
    };
    let mut ours = Lane {
        bed: None,
        name: format!("{oracle}-lane{i}-ours"),
    };
    loop {
        let Some((index, case)) = queue.lock().expect("queue").pop_front() else {
            break;
        };
        let (a, b) = tokio::join!(theirs.run(upstream, &case), ours.run(&Flavor::Ours, &case));
        let findings = match (&a, &b) {
            (Ok(a), Ok(b)) => compare(&case.name, a, b, allowed),
            _ => Vec::new(),
        };
        let result = CaseResult {
            case,
            upstream: a,
            ours: b,
            findings,
        };
        dump(upstream, &result);
        eprintln!(
            "parity: {} done ({})",
            result.case.name,
            if result.passed() { "same" } else { "DIFFERENT" }
        );
        done.lock().expect("results").push((index, result));
    }
    for lane in [theirs, ours] {
        if let Some(bed) = lane.bed {
            bed.down().await;
        }
    }
}

/// One flavour's test bed of a lane, started on first use and replaced when it cannot be
/// cleaned.
struct Lane {
    bed: Option<TestBed>,
    name: String,
}

impl Lane {
    async fn run(&mut self, flavor: &Flavor, case: &Case) -> Result<Snapshot, String> {
        let started = Instant::now();
        if self.bed.is_none() {
            self.bed = Some(TestBed::up(&self.name, false).await.map_err(|e| e.to_string())?);
        }
        let bed_seconds = started.elapsed().as_secs_f64();
        let bed = self.bed.as_ref().expect("bed");
        let mut result = observe::run(flavor, case, bed).await.map_err(|e| e.to_string());
        let cleaning = Instant::now();
        if let Err(e) = crate::clean::clean(&bed.client, &case.namespace()).await {
            eprintln!("parity: {}: replacing the test bed: {e}", self.name);
            if let Some(bed) = self.bed.take() {
                bed.down().await;
            }
        }
        if let Ok(snapshot) = &mut result {
            snapshot.phases.insert(0, ("bed", bed_seconds));
            snapshot.phases.push(("clean", cleaning.elapsed().as_secs_f64()));
        }
        result
    }
}

fn results_dir(upstream: &Flavor) -> std::path::PathBuf {
    crate::bed::project_root()
        .join("target/parity-results")
        .join(upstream.label().replace(' ', "-"))
}

fn dump(upstream: &Flavor, r: &CaseResult) {
    let dir = results_dir(upstream).join(&r.case.name);
    let write = |file: &str, text: String| {
        let _ = std::fs::create_dir_all(&dir);
        if let Err(e) = std::fs::write(dir.join(file), text) {
            eprintln!("parity: writing {}: {e}", dir.join(file).display());
        }
    };
    for (file, run) in [("upstream.json", &r.upstream), ("ours.json", &r.ours)] {
        let text = match run {
            Ok(s) => serde_json::to_string_pretty(s).expect("snapshot as JSON"),
            Err(e) => e.clone(),
        };
        write(file, text);
    }
    let findings: Vec<String> = r
        .findings
        .iter()
        .map(|f| {
            format!(
                "{}{}",
                if f.allowed.is_some() { "allowed " } else { "" },
                f.show(usize::MAX)
            )
        })
        .collect();
    write("findings.txt", findings.join("\n"));
}

/// The table (case, outcomes, objects, differing fields), then each case's differences not
/// on the allowed list, then how often each allowed reason applied.
pub fn print(title: &str, results: &[CaseResult], started: Instant) {
    println!("\n{title}");
    println!(
        "{:<32} {:<7} {:<34} {:<34} {:>9} {:>6} {:>7} {:>11}",
        "instance", "sync", "upstream Ready", "ours Ready", "objects", "diffs", "allowed", "seconds"
    );
    let outcome = |s: &Result<Snapshot, String>| {
        s.as_ref()
            .map(|s| s.ready.clone())
            .unwrap_or_else(|_| "RUN FAILED".into())
    };
    let count = |s: &Result<Snapshot, String>| s.as_ref().map(|s| s.objects.len().to_string()).unwrap_or("-".into());
    let secs = |s: &Result<Snapshot, String>| s.as_ref().map(|s| format!("{:.0}", s.seconds)).unwrap_or("-".into());
    for r in results {
        println!(
            "{:<32} {:<7} {:<34} {:<34} {:>9} {:>6} {:>7} {:>11}",
            r.case.name,
            r.case.sync.label(),
            outcome(&r.upstream),
            outcome(&r.ours),
            format!("{}/{}", count(&r.upstream), count(&r.ours)),
            r.failing().count(),
            r.findings.len() - r.failing().count(),
            format!("{}/{}", secs(&r.upstream), secs(&r.ours)),
        );
    }
    for r in results {
        print_failures(r);
    }
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for f in results.iter().flat_map(|r| &r.findings) {
        if let Some(reason) = f.allowed {
            *reasons.entry(reason).or_default() += 1;
        }
    }
    println!("\nallowed differences applied:");
    for (reason, n) in reasons {
        println!("  {n:>5} x {reason}");
    }
    let passed = results.iter().filter(|r| r.passed()).count();
    println!(
        "{passed}/{} instances without unallowed differences; {:.0} s",
        results.len(),
        started.elapsed().as_secs_f64()
    );
}

fn print_failures(r: &CaseResult) {
    for (who, run) in [("upstream", &r.upstream), ("ours", &r.ours)] {
        if let Err(e) = run {
            println!("\n{}: {who} run failed: {e}", r.case.name);
        }
    }
    let failing: Vec<&Finding> = r.failing().collect();
    if failing.is_empty() {
        return;
    }
    println!("\n{}: {} differences not allowed", r.case.name, failing.len());
    for f in failing.iter().take(60) {
        println!("  {}", f.show(160));
    }
    if failing.len() > 60 {
        println!("  ... {} more", failing.len() - 60);
    }
}
