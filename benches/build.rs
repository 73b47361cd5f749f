//! Rendering Flux v2.9.4 with all seven components, the large size profile and ten user
//! patches, against `kubectl kustomize` of the same release files and the same ten patches,
//! in the same run. `cargo bench --bench build` measures; under `cargo test` it runs once.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/proc_status.rs"]
pub mod proc_status;

use flux_operator_rs::api::FluxInstanceSpec;
use flux_operator_rs::build;
use flux_operator_rs::distribution::Distribution;
use proc_status::peak_rss_kib;
use serde_json::{Value, json};

const COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
    "source-watcher",
];

/// Ten patches of the kinds platform teams write: args, resources, env, volumes, labels.
fn patches() -> Vec<Value> {
    let arg = |name: &str, value: &str| {
        json!({"target": {"kind": "Deployment", "name": name},
               "patch": format!("- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: {value}\n")})
    };
    let smp = |name: &str, body: &str| {
        json!({"target": {"kind": "Deployment", "name": name},
               "patch": format!("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: all\nspec:\n  template:\n    spec:\n{body}")})
    };
    vec![
        arg("(kustomize-controller|helm-controller)", "--concurrent=30"),
        arg("(kustomize-controller|helm-controller)", "--requeue-dependency=10s"),
        arg("helm-controller", "--feature-gates=OOMWatch=true"),
        arg("kustomize-controller", "--feature-gates=InMemoryBuild=true"),
        arg("source-controller", "--helm-cache-max-size=200"),
        smp(
            ".*-controller",
            "      containers:\n      - name: manager\n        resources:\n          limits:\n            memory: 3Gi\n",
        ),
        smp(
            "source-controller",
            "      containers:\n      - name: manager\n        env:\n        - name: HTTPS_PROXY\n          value: http://proxy:3128\n",
        ),
        smp(
            "kustomize-controller",
            "      volumes:\n      - name: temp\n        emptyDir:\n          medium: Memory\n",
        ),
        smp(
            ".*",
            "      tolerations:\n      - key: flux\n        operator: Exists\n",
        ),
        json!({"target": {"kind": "Deployment", "labelSelector": "app.kubernetes.io/part-of=flux"},
               "patch": "- op: add\n  path: /spec/template/metadata/labels/team\n  value: platform\n"}),
    ]
}

fn spec() -> FluxInstanceSpec {
    serde_json::from_value(json!({
        "distribution": {"version": "2.9.4", "registry": "ghcr.io/fluxcd"},
        "components": COMPONENTS,
        "cluster": {"size": "large"},
        "kustomize": {"patches": patches()},
    }))
    .expect("spec")
}

/// The same inputs for kustomize: the release files as resources, the same patches.
fn kustomization(dir: &Path, release: &Path) {
    let mut files: Vec<String> = COMPONENTS.iter().map(|c| format!("{c}.yaml")).collect();
    files.extend(["rbac.yaml".into(), "policies.yaml".into()]);
    for f in &files {
        std::fs::copy(release.join(f), dir.join(f)).expect("copy release file");
    }
    let doc = json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
        "namespace": "flux-system", "resources": files, "patches": patches()});
    std::fs::write(dir.join("kustomization.yaml"), doc.to_string()).expect("write kustomization");
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Peak resident memory of the largest child waited for so far, in KiB.
fn children_peak_rss_kib() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given, which we own.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) } == 0;
    // SAFETY: initialised by the successful call above (and zeroed before it).
    if ok {
        unsafe { usage.assume_init() }.ru_maxrss as u64
    } else {
        0
    }
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let iterations = if measuring { 50 } else { 1 };
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution");
    let distribution = Distribution::open(&root).expect("distribution");
    let version = semver::Version::new(2, 9, 4);
    let spec = spec();

    let before = peak_rss_kib();
    let first = Instant::now();
    let release = distribution.release(&version).expect("release");
    let built = build::build("flux-system", &spec, &release).expect("build");
    let first = first.elapsed();
    let mut ours = Vec::new();
    for _ in 0..iterations {
        let t = Instant::now();
        let b = build::build("flux-system", &spec, &release).expect("build");
        ours.push(t.elapsed());
        assert_eq!(b.revision, built.revision, "the build is deterministic");
    }
    let ours_peak = peak_rss_kib();

    let dir = tempfile::tempdir().expect("tempdir");
    kustomization(dir.path(), &root.join("flux/v2.9.4"));
    let mut theirs = Vec::new();
    for _ in 0..iterations.min(10) {
        let t = Instant::now();
        let out = Command::new("kubectl")
            .arg("kustomize")
            .arg(dir.path())
            .output()
            .expect("kubectl kustomize");
        theirs.push(t.elapsed());
        assert!(
            out.status.success(),
            "kubectl kustomize: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let (ours, theirs) = (median(ours), median(theirs));
    println!(
        "build: {} objects, {} patches, {iterations} iterations",
        built.objects.len(),
        patches().len()
    );
    println!(
        "flux-operator-rs build (median):   {:>9.2} ms  (first, reading and parsing the release: {:.2} ms)",
        ms(ours),
        ms(first)
    );
    println!("kubectl kustomize (median):        {:>9.2} ms", ms(theirs));
    println!(
        "ratio kubectl/ours:                {:>9.1}x",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
    println!(
        "peak RSS: flux-operator-rs process {} KiB (+{} KiB over start), kubectl {} KiB",
        ours_peak,
        ours_peak.saturating_sub(before),
        children_peak_rss_kib()
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
