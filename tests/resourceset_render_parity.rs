//! Differential test of `build resourceset` against upstream's CLI v0.58.1
//! (`flux-operator build resourceset`, a black box): each case (the ResourceSet examples and
//! the sets of `resourceset_render_parity/cases.rs`) is built by both binaries from the same
//! files; the printed YAML must be byte for byte the same, or both must refuse.
//!
//! The oracle binary is built by `hack/upstream-operator.sh v0.58.1 cli` into a cache
//! outside the clone; without it the test fails (never skips) and says so.

#[path = "resourceset_render_parity/cases.rs"]
mod cases;
#[path = "render_parity/upstream_cli.rs"]
mod upstream_cli;

use std::path::Path;
use std::process::{Command, Output};

use cases::Case;

/// What a binary printed for a case: its objects, or that it refused.
#[derive(Debug, PartialEq)]
enum Answer {
    Objects(String),
    Refused(String),
}

fn answer(out: Output) -> Answer {
    if out.status.success() {
        Answer::Objects(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Answer::Refused(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    }
}

/// Runs `binary build resourceset` on the case's files in `dir`.
fn build(binary: &Path, dir: &Path, case: &Case, upstream: bool) -> Answer {
    let mut cmd = Command::new(binary);
    cmd.args(["build", "resourceset", "-f"]).arg(dir.join("set.yaml"));
    if case.inputs.is_some() {
        cmd.arg("--inputs-from").arg(dir.join("inputs.yaml"));
    }
    if case.providers.is_some() {
        cmd.arg("--inputs-from-provider").arg(dir.join("providers.yaml"));
    }
    if upstream {
        cmd.env("GODEBUG", "fips140=on");
    }
    answer(cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}")))
}

fn write_case(dir: &Path, case: &Case) {
    std::fs::write(dir.join("set.yaml"), &case.set).expect("write set");
    if let Some(inputs) = &case.inputs {
        std::fs::write(dir.join("inputs.yaml"), inputs).expect("write inputs");
    }
    if let Some(providers) = &case.providers {
        std::fs::write(dir.join("providers.yaml"), providers).expect("write providers");
    }
}

#[test]
fn build_resourceset_prints_what_upstream_prints() {
    let upstream = upstream_cli::cli_path();
    let ours = Path::new(env!("CARGO_BIN_EXE_flux-operator-rs"));
    let cases = cases::all();
    let (mut built, mut refused, mut differences) = (0, 0, Vec::new());
    for case in &cases {
        let dir = tempfile::tempdir().expect("tempdir");
        write_case(dir.path(), case);
        let theirs = build(&upstream, dir.path(), case, true);
        let mine = build(ours, dir.path(), case, false);
        match (&mine, &theirs) {
            (Answer::Objects(a), Answer::Objects(b)) if a == b => built += 1,
            (Answer::Refused(_), Answer::Refused(_)) => refused += 1,
            _ => differences.push(format!("{}:\n ours: {mine:?}\n upstream: {theirs:?}", case.name)),
        }
    }
    println!(
        "FIGURE build resourceset: {} cases, {built} identical renders, {refused} refused by both, {} differences",
        cases.len(),
        differences.len()
    );
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert_eq!(refused, cases::REFUSED_BY_BOTH, "the cases meant to fail");
}
