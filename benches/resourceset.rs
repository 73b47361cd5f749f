//! Rendering a ResourceSet of 100 input sets (Permute: 100 inline sets × a Static
//! provider), 3 objects each, against upstream's CLI (`flux-operator build resourceset`
//! v0.58.1) on the same files, in the same run: ours in-process and as a whole process,
//! theirs as a process. `cargo bench --bench resourceset` measures; under `cargo test` it
//! runs once and checks that both print the same 300 objects.

#[path = "../tests/render_parity/upstream_cli.rs"]
mod upstream_cli;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use flux_operator_rs::resourceset::offline::{Offline, build_offline, print};

const SET: &str = r#"apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: apps
  namespace: team
spec:
  inputStrategy:
    name: Permute
  inputs:
INLINE
  inputsFrom:
    - apiVersion: fluxcd.controlplane.io/v1
      kind: ResourceSetInputProvider
      selector:
        matchLabels:
          bench: "true"
  resources:
    - apiVersion: v1
      kind: Namespace
      metadata:
        name: << inputs.apps.app >>-<< inputs.regions.region | slugify >>
    - apiVersion: source.toolkit.fluxcd.io/v1
      kind: OCIRepository
      metadata:
        name: << inputs.apps.app >>
        namespace: << inputs.apps.app >>-<< inputs.regions.region | slugify >>
      spec:
        interval: 10m
        url: oci://registry.example.com/<< inputs.apps.app >>
        ref:
          semver: << inputs.apps.version | quote >>
  resourcesTemplate: |
    apiVersion: helm.toolkit.fluxcd.io/v2
    kind: HelmRelease
    metadata:
      name: << inputs.apps.app >>
      namespace: << inputs.apps.app >>-<< inputs.regions.region | slugify >>
      labels:
        id: << inputs.id | quote >>
    spec:
      interval: 1h
      chartRef:
        kind: OCIRepository
        name: << inputs.apps.app >>
      values:
        replicas: << inputs.apps.replicas >>
        region: << inputs.regions.region | quote >>
        <<- if inputs.regions.primary >>
        primary: true
        <<- end >>
"#;

fn files(dir: &Path) -> (String, String) {
    let inline: String = (0..100)
        .map(|i| format!("    - {{app: app{i}, version: \"1.{i}.x\", replicas: {}}}\n", i % 3 + 1))
        .collect();
    let set = SET.replace("INLINE\n", &inline);
    let providers = "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSetInputProvider\nmetadata:\n  \
                     name: regions\n  namespace: team\n  uid: region-1\n  labels: {bench: \"true\"}\nspec:\n  \
                     type: Static\n  defaultValues: {region: \"EU Region 1\", primary: true}\n"
        .to_owned();
    std::fs::write(dir.join("set.yaml"), &set).expect("write set");
    std::fs::write(dir.join("providers.yaml"), &providers).expect("write providers");
    (set, providers)
}

fn process(binary: &Path, dir: &Path, upstream: bool) -> (Duration, String) {
    let mut cmd = Command::new(binary);
    cmd.args(["build", "resourceset", "-f"]).arg(dir.join("set.yaml"));
    cmd.arg("--inputs-from-provider").arg(dir.join("providers.yaml"));
    if upstream {
        cmd.env("GODEBUG", "fips140=on");
    }
    let start = Instant::now();
    let out = cmd.output().expect("run");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8(out.stdout).expect("utf-8"))
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

fn main() {
    let measuring = std::env::args().any(|a| a == "--bench");
    let iterations = if measuring { 30 } else { 1 };
    let dir = tempfile::tempdir().expect("tempdir");
    let (set, providers) = files(dir.path());
    let from = Offline {
        inputs: None,
        providers: Some(&providers),
    };
    let in_process: Vec<Duration> = (0..iterations)
        .map(|_| {
            let start = Instant::now();
            let built = build_offline(&set, from).expect("build");
            std::hint::black_box(print(&built).expect("print"));
            start.elapsed()
        })
        .collect();
    let ours = Path::new(env!("CARGO_BIN_EXE_flux-operator-rs"));
    let upstream = upstream_cli::cli_path();
    let (mut ours_runs, mut theirs_runs) = (Vec::new(), Vec::new());
    let (mut ours_out, mut theirs_out) = (String::new(), String::new());
    for _ in 0..iterations {
        let (t, out) = process(ours, dir.path(), false);
        ours_runs.push(t);
        ours_out = out;
        let (t, out) = process(&upstream, dir.path(), true);
        theirs_runs.push(t);
        theirs_out = out;
    }
    assert_eq!(ours_out.matches("\n---\n").count() + 1, 300, "300 objects");
    assert!(ours_out == theirs_out, "both print the same objects");
    let (lib, ours_p, theirs_p) = (median(in_process), median(ours_runs), median(theirs_runs));
    println!("resourceset render, 100 input sets (Permute 100 x 1), 300 objects, median of {iterations}:");
    println!("  ours in-process {:.1} ms", lib.as_secs_f64() * 1e3);
    println!("  ours as a process {:.1} ms", ours_p.as_secs_f64() * 1e3);
    println!(
        "  upstream CLI v0.58.1 as a process {:.1} ms",
        theirs_p.as_secs_f64() * 1e3
    );
    println!(
        "  ratio upstream / ours (processes): {:.1}x",
        theirs_p.as_secs_f64() / ours_p.as_secs_f64()
    );
}
