//! The dashboard's and the alerts' PromQL against a live operator: the operator in-process
//! on this binary's test bed with a FluxInstance and a few Flux objects, scraped by a real
//! Prometheus that loads the chart's rule file. Every panel query (its variables resolved
//! as Grafana would) must return data, and every alert must become active in the phase
//! built to trigger it, and only there.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use kube::Client;
use serde_json::{Value, json};

use crate::assets::*;
use crate::common::{client, install_crds, namespace};
use crate::harness::*;
use crate::prometheus::{Prometheus, free_port, scrape};

/// The scrape job, as the chart's ServiceMonitor names it for a release `flux-operator-rs`.
const JOB: &str = "flux-operator-rs";

fn instance_spec(artifact_port: Option<u16>) -> Value {
    let mut distribution = json!({"version": "2.9.x", "registry": "ghcr.io/fluxcd"});
    if let Some(port) = artifact_port {
        distribution["artifact"] = json!(format!("oci://127.0.0.1:{port}/flux-distribution:latest"));
    }
    json!({"distribution": distribution, "wait": false})
}

/// One ready, one failing, one suspended and one waiting Kustomization, and a ready source.
async fn flux_objects(client: &Client, ns: &str) {
    let ks = resource("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let spec = |suspend: bool| json!({"interval": "10m", "path": "./", "prune": true, "suspend": suspend, "sourceRef": {"kind": "GitRepository", "name": "apps"}});
    for (name, suspend, status, reason) in [
        ("k-ready", false, "True", "ReconciliationSucceeded"),
        ("k-failing", false, "False", "BuildFailed"),
        ("k-suspended", true, "False", "BuildFailed"),
        ("k-waiting", false, "False", "DependencyNotReady"),
    ] {
        let status = json!({"conditions": ready(status, reason)});
        flux_object(client, ns, &ks, name, spec(suspend), status).await;
    }
    let git = resource("source.toolkit.fluxcd.io", "v1", "GitRepository");
    let spec = json!({"interval": "1m", "url": "https://example.com/apps.git", "ref": {"branch": "main"}});
    let status = json!({"conditions": ready("True", "Succeeded")});
    flux_object(client, ns, &git, "apps", spec, status).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_and_alerts_work_on_live_metrics() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "monitoring").await;
    let metrics_port = free_port();
    let metrics_flag = format!("--metrics-addr=127.0.0.1:{metrics_port}");
    let operator = start_operator(&ns, &[&metrics_flag, "--enable-leader-election=true"]);
    let _kubelet = start_kubelet(&client, &ns);
    apply_instance(&client, &ns, instance_spec(None), json!({})).await;
    wait_instance(&client, &ns, 120, "Ready", |o| is_ready_at(o, "v2.9.4@")).await;
    flux_objects(&client, &ns).await;
    request_report(&client, &ns, "objects").await;

    let exposition = scrape(metrics_port);
    let suspended: std::collections::BTreeSet<String> = ["flux_instance_info", "flux_resource_info"]
        .iter()
        .flat_map(|m| crate::prometheus::series(&exposition, m))
        .filter_map(|s| s.get("suspended").cloned())
        .collect();
    // The dashboard and the rules match upstream's spelling of the label.
    assert_eq!(
        suspended,
        ["False".to_owned(), "True".to_owned()].into(),
        "{exposition}"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let rules = dir.path().join("rules.yaml");
    let text = std::fs::read_to_string(path(RULES)).expect("read the rules");
    std::fs::write(&rules, &text).expect("write the rules");
    let prometheus = Prometheus::start(JOB, metrics_port, &[&rules]);
    prometheus.wait_for_data("flux_operator_info", 60).await;

    // Phase 1: Flux installed, one object failing.
    let values = resolve_variables(&prometheus, &ns);
    check_panels(&prometheus, &client, &ns, &values).await;
    check_panel_values(&prometheus, &values);
    let failing = format!("FluxResourceFailing exported_namespace={ns},job={JOB},kind=Kustomization,name=k-failing");
    let mut seen = expect_alerts(&prometheus, std::slice::from_ref(&failing)).await;

    // Phase 2: the instance fails (its artifact registry refuses connections) and is
    // retried with errors.
    apply_instance(&client, &ns, instance_spec(Some(free_port())), json!({})).await;
    wait_instance(&client, &ns, 60, "Ready=False", |o| {
        condition(o, "Ready").is_some_and(|(s, _, _)| s == "False")
    })
    .await;
    let not_ready = format!("FluxInstanceNotReady exported_namespace={ns},job={JOB},name=flux");
    let errors = format!("FluxOperatorReconcileErrors controller=fluxinstance,job={JOB}");
    seen.extend(expect_alerts(&prometheus, &[failing, not_ready, errors.clone()]).await);

    // Phase 3: the operator is gone. The error rate still covers the last 10 minutes.
    drop(operator);
    let down = format!("FluxOperatorDown job={JOB}");
    seen.extend(expect_alerts(&prometheus, &[down, "FluxOperatorAbsent ".to_owned(), errors]).await);

    let every: BTreeSet<String> = alerts(&rule_file()).into_iter().map(|(name, _)| name).collect();
    assert_eq!(seen, every, "every alert was active in some phase");
}

/// Resolves the dashboard's query variables in order through the Prometheus API, selecting
/// every value ("All"), and checks what they offer.
fn resolve_variables(prometheus: &Prometheus, ns: &str) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = BUILTINS.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut offered = BTreeMap::new();
    for (name, kind, query) in variables(&dashboard()) {
        if kind != "query" {
            continue;
        }
        let (selector, label) = label_values_query(&query).expect("label_values");
        let selector = substitute(&selector, &values);
        let series = prometheus
            .api("series", &[("match[]", &selector)])
            .unwrap_or_else(|e| panic!("${name}: {selector}: {e}"));
        let found: Vec<String> = series
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s[&label].as_str().map(str::to_owned))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        assert!(!found.is_empty(), "${name} offers nothing: {selector}");
        values.insert(name.clone(), regex_value(&found));
        offered.insert(name, found);
    }
    assert_eq!(offered["job"], [JOB]);
    assert_eq!(offered["namespace"], [ns]);
    assert_eq!(offered["kind"], ["GitRepository", "Kustomization"]);
    values
}

/// Whether any sample of an instant query result is a number (not NaN, as a quantile of
/// no observations is).
fn has_number(result: &[Value]) -> bool {
    result
        .iter()
        .filter_map(|s| s["value"][1].as_str())
        .any(|v| v.parse::<f64>().is_ok_and(f64::is_finite))
}

/// Every panel query returns numbers. Reconciles keep coming meanwhile, so that rates and
/// quantiles have samples.
async fn check_panels(prometheus: &Prometheus, client: &Client, ns: &str, values: &BTreeMap<String, String>) {
    let queries = panel_queries(&dashboard());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    for round in 0.. {
        request_report(client, ns, &format!("panels-{round}")).await;
        let failures: Vec<String> = queries
            .iter()
            .filter_map(|(title, ref_id, expr)| {
                let query = substitute(expr, values);
                match prometheus.query(&query) {
                    Ok(result) if has_number(&result) => None,
                    Ok(result) => Some(format!("{title} ({ref_id}): {query}: no number in {result:?}")),
                    Err(e) => Some(format!("{title} ({ref_id}): {query}: {e}")),
                }
            })
            .collect();
        if failures.is_empty() {
            println!("{} panel queries return data", queries.len());
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "panel queries without data:\n{}",
            failures.join("\n")
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The single query of the panel titled `title`, substituted.
fn panel_query(title: &str, values: &BTreeMap<String, String>) -> String {
    let queries = panel_queries(&dashboard());
    let (_, _, expr) = queries
        .iter()
        .find(|(t, _, _)| t == title)
        .unwrap_or_else(|| panic!("no panel {title}"));
    substitute(expr, values)
}

/// What the overview and the resource panels show for the objects of this test. The
/// counting stats fall back to `vector(0)`, so only their values can tell a misspelt
/// selector from a true zero.
fn check_panel_values(prometheus: &Prometheus, values: &BTreeMap<String, String>) {
    let query = |title: &str| {
        let q = panel_query(title, values);
        prometheus.query(&q).unwrap_or_else(|e| panic!("{title}: {q}: {e}"))
    };
    for (title, expected) in [
        ("Operator", "1"),
        ("Instances not ready", "0"),
        ("Resources", "5"),
        ("Failing", "1"),
        ("Suspended", "1"),
    ] {
        let result = query(title);
        assert_eq!(result.len(), 1, "{title}: {result:?}");
        assert_eq!(result[0]["value"][1], expected, "{title}");
    }
    let failing: Vec<String> = query("Failing resources")
        .iter()
        .filter_map(|s| s["metric"]["name"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(failing, ["k-failing"]);
    let by_kind: BTreeMap<String, String> = query("Resources by kind and readiness")
        .iter()
        .map(|s| {
            let m = &s["metric"];
            (
                format!(
                    "{} {}",
                    m["kind"].as_str().unwrap_or_default(),
                    m["ready"].as_str().unwrap_or_default()
                ),
                s["value"][1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("GitRepository True", "1"),
        ("Kustomization False", "3"),
        ("Kustomization True", "1"),
    ]
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .into();
    assert_eq!(by_kind, expected);
    let instances = query("Flux instances");
    assert_eq!(instances.len(), 1, "{instances:?}");
    assert_eq!(instances[0]["metric"]["ready"], "True");
}

/// `alertname label=value,...` of an active alert, severity left out.
fn alert_key(alert: &Value) -> String {
    let labels = alert["labels"].as_object().expect("labels");
    let rest: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != "alertname" && *k != "severity")
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect();
    format!(
        "{} {}",
        labels["alertname"].as_str().unwrap_or_default(),
        rest.join(",")
    )
}

/// Waits until the active (pending or firing) alerts are exactly `expected`; returns their
/// names.
async fn expect_alerts(prometheus: &Prometheus, expected: &[String]) -> BTreeSet<String> {
    let expected: BTreeSet<String> = expected.iter().cloned().collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let active = prometheus
            .alerts()
            .map(|a| a.iter().map(alert_key).collect::<BTreeSet<_>>());
        if active.as_ref() == Ok(&expected) {
            println!("active alerts: {expected:?}");
            return expected
                .iter()
                .filter_map(|k| k.split(' ').next())
                .map(str::to_owned)
                .collect();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "active alerts {active:?}, expected {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
