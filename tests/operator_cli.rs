//! The binary's command line as upstream's chart and shell pipelines use it, without a
//! cluster: flags alone mean `run`, bad flag values are one line naming the value, and a
//! closed stdout ends a command quietly.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"));
    // No cluster: a started operator must fail at its first API call, not hang.
    command
        .env("KUBECONFIG", "/nonexistent/kubeconfig")
        .env_remove("KUBERNETES_SERVICE_HOST");
    command
}

fn run(args: &[&str]) -> Output {
    binary().args(args).output().expect("run the binary")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn flags_alone_start_the_operator() {
    // Upstream's chart passes flags only; with no cluster reachable the operator itself
    // (not clap) must be what fails.
    let output = run(&[
        "--log-level=info",
        "--metrics-addr=127.0.0.1:0",
        "--health-addr=127.0.0.1:0",
        "--enable-leader-election",
        "--leader-election-lease-duration=40s",
        "--leader-election-release-on-cancel=true",
        "--requeue-dependency=10s",
        "--default-service-account=flux-tenant",
        "--default-workload-identity-service-account=flux-wi",
        "--token-cache-max-duration=30m",
        "--token-cache-max-size=10",
        "--watch-configs-label-selector=team=a",
        "--web-server-port=0",
    ]);
    let text = stderr(&output);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("cannot connect to Kubernetes"), "{text}");
    for flag in ["--token-cache-max-size", "--web-server-port"] {
        assert!(
            text.lines().any(|l| l.contains(flag) && l.contains("no effect")),
            "{flag} not logged as without effect: {text}"
        );
    }
    // The ResourceSet controllers use these.
    for flag in [
        "--requeue-dependency",
        "--default-service-account",
        "--watch-configs-label-selector",
    ] {
        assert!(
            !text.lines().any(|l| l.contains(flag) && l.contains("no effect")),
            "{flag} logged as without effect: {text}"
        );
    }
}

#[test]
fn an_unknown_log_level_is_refused_naming_it() {
    for args in [&["--log-level=verbose"][..], &["run", "--log-level", "verbose"][..]] {
        let output = run(args);
        let text = stderr(&output);
        assert!(!output.status.success(), "{text}");
        assert!(text.contains("\"verbose\""), "{text}");
        assert!(!text.contains("cannot connect"), "refused too late: {text}");
    }
}

#[test]
fn help_and_version_are_not_taken_for_run() {
    let output = run(&["--version"]);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn a_closed_stdout_ends_build_quietly() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution");
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/minimal.yaml");
    let mut child = binary()
        .args(["build", "instance", "-f"])
        .arg(&example)
        .arg("--storage-path")
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read one line");
    // The reader is gone now, as with `| head -1`; the render is far larger than a pipe buffer.
    let output = child.wait_with_output().expect("wait");
    let text = stderr(&output);
    assert!(!first.is_empty());
    assert!(output.status.success(), "{text}");
    assert!(!text.contains("panicked") && !text.contains("Broken pipe"), "{text}");
}
