//! Differential test of the builder against upstream's renderer: every FluxInstance of
//! `parity_cases` is rendered by our builder (library call) and by the upstream Flux
//! Operator CLI v0.58.1 (`flux-operator build instance`, a black box) from the same
//! distribution, pushed by our pusher to a registry this test starts on loopback. The
//! renders are compared object by object and field by field; any difference that is not
//! on the short allowed list below fails the test.
//!
//! The oracle binary is built by `hack/upstream-operator.sh v0.58.1 cli` into a cache
//! outside the clone; without it the test fails (never skips) and says so.

#[path = "render_parity/allowed.rs"]
mod allowed;
#[path = "render_parity/defaults.rs"]
mod defaults;
#[path = "render_parity/diff.rs"]
mod diff;
#[path = "oci_registry/mod.rs"]
mod oci_registry;
#[path = "render_parity/oracle.rs"]
mod oracle;
#[path = "parity_cases/mod.rs"]
mod parity_cases;
#[path = "render_parity/upstream_cli.rs"]
mod upstream_cli;

use serde_json::{Value, json};

use diff::Difference;
use flux_operator_rs::build::{self, parse_instance};
use flux_operator_rs::distribution::Distribution;

/// What one case produced.
struct Row {
    case: String,
    ours: usize,
    upstream: usize,
    differences: Vec<Difference>,
    allowed: usize,
}

/// Our objects, or our error message.
fn try_ours(instance: &Value, distribution: &Distribution) -> Result<Vec<Value>, String> {
    let yaml = flux_operator_rs::yaml::to_string(instance).expect("instance to YAML");
    let parsed = parse_instance(&yaml).unwrap_or_else(|e| panic!("parse {instance}: {e}"));
    build::resolve_and_build(&parsed.namespace, &parsed.instance.spec, distribution)
        .map(|built| built.objects)
        .map_err(|e| e.to_string())
}

fn ours(instance: &Value, distribution: &Distribution) -> Vec<Value> {
    try_ours(instance, distribution).unwrap_or_else(|e| panic!("our build of {instance} failed: {e}"))
}

fn compare(
    case: &str,
    instance: &Value,
    oracle: &oracle::Oracle,
    distribution: &Distribution,
    used: &mut [bool],
) -> Row {
    let instance = defaults::defaulted(instance);
    let mine = ours(&instance, distribution);
    let theirs = oracle.render(case, &instance);
    let mut differences = Vec::new();
    let mut allowed = 0;
    let mut found = diff::objects(&mine, &theirs);
    found.extend(diff::order(&mine, &theirs));
    for d in found {
        match allowed::allowance(&instance, &d) {
            Some(i) => {
                used[i] = true;
                allowed += 1;
            }
            None => differences.push(d),
        }
    }
    Row {
        case: case.to_owned(),
        ours: mine.len(),
        upstream: theirs.len(),
        differences,
        allowed,
    }
}

fn short(value: &Option<Value>) -> String {
    match value {
        None => "(absent)".to_owned(),
        Some(v) => {
            let text = v.to_string();
            if text.chars().count() > 300 {
                format!("{}...", text.chars().take(297).collect::<String>())
            } else {
                text
            }
        }
    }
}

fn print_table(rows: &[Row]) {
    let width = rows.iter().map(|r| r.case.len()).max().unwrap_or(8).max(8);
    println!(
        "{:<width$}  {:>13}  {:>17}  allowed",
        "instance", "objects", "differing fields"
    );
    for row in rows {
        println!(
            "{:<width$}  {:>13}  {:>17}  {}",
            row.case,
            format!("{}/{}", row.ours, row.upstream),
            row.differences.len(),
            row.allowed
        );
    }
    println!("(objects: ours/upstream)");
    for row in rows.iter().filter(|r| !r.differences.is_empty()) {
        println!("\n{}:", row.case);
        for d in &row.differences {
            println!("  {} {}", d.object, d.path);
            println!("    ours:     {}", short(&d.ours));
            println!("    upstream: {}", short(&d.upstream));
        }
    }
}

/// Render-only cases in another namespace (the shared cases all live in flux-system):
/// per-instance names, subjects, addresses and claims follow the namespace.
fn other_namespace_cases() -> Vec<(String, Value)> {
    let instance = |spec: Value| {
        json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
               "metadata": {"name": "flux", "namespace": "gitops"}, "spec": spec})
    };
    let everything = json!({
        "distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"},
        "components": ["source-controller", "kustomize-controller", "helm-controller", "notification-controller",
                       "image-reflector-controller", "image-automation-controller", "source-watcher"],
        "cluster": {"multitenant": true, "domain": "example.local", "size": "medium"},
        "storage": {"class": "standard", "size": "5Gi"},
        "sharding": {"shards": ["one", "two"], "storage": "persistent"},
        "sync": {"kind": "OCIRepository", "url": "oci://example.com/fleet", "ref": "latest", "path": "./"},
    });
    let older = json!({
        "distribution": {"version": "2.4.x", "registry": "ghcr.io/fluxcd"},
        "cluster": {"type": "openshift", "networkPolicy": false},
        "sync": {"kind": "GitRepository", "url": "https://example.com/fleet.git", "ref": "main", "path": "x", "name": "fleet"},
    });
    vec![
        ("namespace-gitops-everything".to_owned(), instance(everything)),
        ("namespace-gitops-2.4-openshift".to_owned(), instance(older)),
    ]
}

#[test]
fn renders_like_upstream() {
    let mut cases = parity_cases::cases();
    cases.extend(other_namespace_cases());
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let oracle = oracle::Oracle::start();
    let distribution = Distribution::open(&oci_registry::shared_distribution()).expect("open the distribution");
    let mut used = vec![false; allowed::ALLOWED.len()];
    let rows: Vec<Row> = cases
        .iter()
        .map(|(case, instance)| compare(case, instance, &oracle, &distribution, &mut used))
        .collect();
    print_table(&rows);
    assert!(
        oracle.artifact_pulls() >= rows.len(),
        "the oracle fetched the artifact {} times for {} renders",
        oracle.artifact_pulls(),
        rows.len()
    );

    let failing: Vec<&str> = rows
        .iter()
        .filter(|r| !r.differences.is_empty())
        .map(|r| r.case.as_str())
        .collect();
    let stale: Vec<&str> = allowed::ALLOWED
        .iter()
        .zip(&used)
        .filter(|(_, used)| !**used)
        .map(|(a, _)| a.reason)
        .collect();
    assert!(failing.is_empty(), "renders differ from upstream: {failing:?}");
    assert!(
        stale.is_empty(),
        "allowed differences that no case shows any more: {stale:?}"
    );
}

/// Instances that the CRD schema accepts and the build refuses; upstream refuses each too
/// (its messages differ from ours, which name the spec field at fault).
fn refused_cases() -> Vec<(&'static str, Value)> {
    let instance = |spec: Value| {
        json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
               "metadata": {"name": "flux", "namespace": "flux-system"}, "spec": spec})
    };
    let dist = |version: &str| json!({"version": version, "registry": "ghcr.io/fluxcd"});
    let untargeted = json!({"patch": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm-controller\n  labels:\n    team: a\n"});
    vec![
        (
            "workload-identity-2.5",
            instance(json!({"distribution": dist("2.5.x"), "cluster": {"objectLevelWorkloadIdentity": true}})),
        ),
        (
            "multitenant-workload-identity-2.6",
            instance(json!({"distribution": dist("2.6.x"), "cluster": {
                "objectLevelWorkloadIdentity": true, "multitenantWorkloadIdentity": true}})),
        ),
        (
            "source-watcher-2.6",
            instance(json!({"distribution": dist("2.6.x"), "components": ["source-controller", "source-watcher"]})),
        ),
        (
            "untargeted-patch-with-shards",
            instance(json!({"distribution": dist("2.x"), "sharding": {"shards": ["s1"]},
                            "kustomize": {"patches": [untargeted]}})),
        ),
        (
            "untargeted-patch-naming-nothing",
            instance(
                json!({"distribution": dist("2.x"), "components": ["source-controller", "kustomize-controller"],
                            "kustomize": {"patches": [untargeted]}}),
            ),
        ),
        (
            "failing-json-patch",
            instance(json!({"distribution": dist("2.x"), "kustomize": {"patches": [{
                "target": {"kind": "Deployment", "name": "helm-controller"},
                "patch": "- op: remove\n  path: /spec/no/such/field\n"}]}})),
        ),
        ("unknown-version", instance(json!({"distribution": dist("3.x")}))),
    ]
}

#[test]
fn refuses_what_upstream_refuses() {
    let oracle = oracle::Oracle::start();
    let distribution = Distribution::open(&oci_registry::shared_distribution()).expect("open the distribution");
    let mut accepted = Vec::new();
    for (case, instance) in refused_cases() {
        let instance = defaults::defaulted(&instance);
        let upstream = oracle.try_render(case, &instance);
        let mine = try_ours(&instance, &distribution);
        println!("{case}:");
        println!(
            "  ours:     {}",
            mine.as_ref().err().map_or("(rendered)", String::as_str)
        );
        println!(
            "  upstream: {}",
            upstream.as_ref().err().map_or("(rendered)", String::as_str)
        );
        if upstream.is_ok() || mine.is_ok() {
            accepted.push(case);
        }
    }
    assert!(accepted.is_empty(), "rendered by one side or both: {accepted:?}");
}
