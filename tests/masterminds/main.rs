//! Version resolution against the real library: thousands of generated constraints go
//! through our resolver and through github.com/Masterminds/semver/v3 v3.5.0 (the library
//! upstream resolves `spec.distribution.version` with, in the Go program hack/masterminds
//! that hack/masterminds.sh builds), over the carried Flux releases and over a made-up list
//! with prereleases. Each answer (the version selected, "no match", or "refused") must be
//! the same, except in the classes of difference listed in [`CLASSES`].

mod generate;
#[path = "../oracles/go_program.rs"]
mod go_program;
#[path = "../oracles/splitmix.rs"]
mod splitmix;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::LazyLock;

use flux_operator_rs::distribution::{Distribution, Error, resolve_version};
use regex::Regex;
use semver::Version;
use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Go program's path, built (once, cached) by its script.
fn masterminds() -> PathBuf {
    go_program::build("masterminds.sh", "the Masterminds/semver program")
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    Selected(Version),
    NoMatch,
    Refused,
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Selected(v) => write!(f, "v{v}"),
            Answer::NoMatch => f.write_str("no match"),
            Answer::Refused => f.write_str("refused"),
        }
    }
}

fn theirs(binary: &Path, versions: &[Version], constraints: &[String]) -> Vec<Answer> {
    let request = json!({
        "versions": versions.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "constraints": constraints,
    });
    let mut child = Command::new(binary)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("running {}: {e}", binary.display()));
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(request.to_string().as_bytes())
        .expect("writing the request");
    drop(stdin);
    let out = child.wait_with_output().expect("waiting for the Go program");
    assert!(out.status.success(), "{} failed: {}", binary.display(), out.status);
    let answers: Vec<Value> = serde_json::from_slice(&out.stdout).expect("a JSON array of answers");
    assert_eq!(answers.len(), constraints.len(), "one answer per constraint");
    answers
        .iter()
        .map(|a| match (&a["selected"], &a["error"]) {
            (_, Value::String(_)) => Answer::Refused,
            (Value::String(v), _) => Answer::Selected(Version::parse(v).expect("a version")),
            (Value::Null, Value::Null) => Answer::NoMatch,
            other => panic!("unexpected answer {other:?}"),
        })
        .collect()
}

fn ours(constraint: &str, versions: &[Version]) -> Answer {
    match resolve_version(constraint, versions) {
        Ok(version) => Answer::Selected(version),
        Err(Error::NoMatch { .. }) => Answer::NoMatch,
        Err(Error::InvalidConstraint { .. }) => Answer::Refused,
        Err(other) => panic!("{constraint:?}: unexpected error {other}"),
    }
}

/// A difference we keep, with what identifies it and an example (README: "Constraints").
struct Class {
    name: &'static str,
    example: &'static str,
    applies: fn(&str) -> bool,
}

/// A wildcard major version (`*`, `x.x.x`, `*.4` ...) after `^`, `>`, `<=`, `!=`, or as the
/// upper bound of a hyphen range: all versions or none here, accidental subsets in the
/// library, against its documentation ("`*` is equivalent to `>= 0.0.0`").
static WILDCARD_MAJOR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(\^|<=|=<|!=|(?:^|[^=~])>|[\t\n\x0C\r ]-)[\t\n\x0C\r ]*v?[xX*]").expect("regex"));

const CLASSES: &[Class] = &[Class {
    name: "wildcard major with ^, >, <=, != (all versions or none here)",
    example: "<=x.x.x: the newest version here, only 0.0.x in Masterminds",
    applies: |c| WILDCARD_MAJOR.is_match(c),
}];

fn compare(list: &str, versions: &[Version], constraints: &[String], binary: &Path) {
    let expected = theirs(binary, versions, constraints);
    let mut same = 0;
    let mut per_class = vec![Vec::new(); CLASSES.len()];
    let mut unexplained = Vec::new();
    for (constraint, theirs) in constraints.iter().zip(expected) {
        let ours = ours(constraint, versions);
        if ours == theirs {
            same += 1;
            continue;
        }
        let line = format!("{constraint:?}: ours {ours}, Masterminds {theirs}");
        // A class covers what a comparator matches, never what the grammar accepts.
        let both_parsed = ![&ours, &theirs].contains(&&Answer::Refused);
        match CLASSES
            .iter()
            .position(|class| both_parsed && (class.applies)(constraint))
        {
            Some(i) => per_class[i].push(line),
            None => unexplained.push(line),
        }
    }
    println!("{list}: {} constraints, {same} answered alike", constraints.len());
    for (class, lines) in CLASSES.iter().zip(&per_class) {
        println!(
            "  allowed class \"{}\" ({}): {}",
            class.name,
            class.example,
            lines.len()
        );
        let shown = std::env::var("MASTERMINDS_SHOW")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(3);
        for line in lines.iter().take(shown) {
            println!("    e.g. {line}");
        }
    }
    println!("  unexplained: {}", unexplained.len());
    assert!(
        unexplained.is_empty(),
        "{list}: {} differences from Masterminds/semver outside the allowed classes:\n{}",
        unexplained.len(),
        unexplained.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn resolution_matches_masterminds() {
    let binary = masterminds();
    let constraints = generate::constraints();
    assert!(constraints.len() >= 2_000, "only {} constraints", constraints.len());
    let carried = Distribution::open(&root().join("../shared/flux-distribution"))
        .expect("the carried releases")
        .versions()
        .to_vec();
    compare("carried releases", &carried, &constraints, &binary);
    let made_up: Vec<Version> = [
        "0.0.0",
        "0.0.1",
        "0.1.0",
        "0.1.2",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.3",
        "2.2.0",
        "2.8.0",
        "2.8.3",
        "2.8.5-rc.1",
        "2.9.0-rc.1",
        "2.9.0-rc.2",
        "2.9.0",
        "2.9.3",
        "2.9.4-rc.1",
        "3.0.0-alpha",
        "3.0.0-beta.2",
        "3.0.0-rc.1",
        "3.0.0",
        "3.1.0-rc.1",
        "10.0.0",
    ]
    .iter()
    .map(|v| Version::parse(v).expect("a version"))
    .collect();
    compare("made-up versions with prereleases", &made_up, &constraints, &binary);
}
