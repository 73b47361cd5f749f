//! The dashboard ConfigMap and the PrometheusRule as the chart renders them, the rule file
//! under promtool, and the dashboard's own consistency.

use serde_json::{Value, json};

use crate::assets::*;
use crate::common;
use crate::helm::{find, helm, helm_ok, kinds, permissive_crd, render, values_file};
use crate::prometheus::promtool;

/// Both monitoring objects on, every value of theirs set.
const MONITORING_VALUES: &str = r#"
fullnameOverride: fo
commonLabels:
  team: platform
commonAnnotations:
  owner: sre
prometheusRule:
  create: true
  labels:
    release: prometheus
  additionalRules:
    - alert: FluxManySuspended
      expr: count(flux_resource_info{suspended="True"}) > 10
      for: 1h
      labels:
        severity: info
      annotations:
        summary: Many Flux objects are suspended
    - record: flux:resources:count
      expr: count by (kind) (flux_resource_info)
grafana:
  dashboards:
    create: true
    namespace: monitoring
    labels:
      grafana_dashboard: flux
      app.kubernetes.io/name: not-the-chart
    annotations:
      grafana_folder: Flux
      owner: grafana-team
"#;

#[test]
fn rules_pass_promtool_check_and_unit_tests() {
    let (ok, out) = promtool(&["check", "rules", RULES], None);
    assert!(ok, "promtool check rules {RULES}:\n{out}");
    let (ok, out) = promtool(&["test", "rules", RULE_TESTS], None);
    assert!(ok, "promtool test rules {RULE_TESTS}:\n{out}");

    let rules = rule_file();
    for rule in rules["groups"][0]["rules"].as_array().expect("rules") {
        let name = &rule["alert"];
        assert!(rule["for"].is_string(), "{name}: a `for` clause");
        assert!(
            matches!(rule["labels"]["severity"].as_str(), Some("critical" | "warning")),
            "{name}: severity"
        );
        for key in ["summary", "description"] {
            assert!(rule["annotations"][key].is_string(), "{name}: annotation {key}");
        }
    }
    let names: Vec<String> = alerts(&rules).into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        names,
        [
            "FluxInstanceNotReady",
            "FluxResourceFailing",
            "FluxOperatorReconcileErrors",
            "FluxOperatorDown",
            "FluxOperatorAbsent"
        ]
    );
}

#[test]
fn monitoring_objects_are_off_by_default() {
    let (_, objects) = render(CHART, "flux-system", None, &[]);
    let names = kinds(&objects);
    assert!(
        !names
            .iter()
            .any(|k| k.starts_with("ConfigMap/") || k.starts_with("PrometheusRule/")),
        "{names:?}"
    );
}

#[test]
fn dashboard_configmap_renders_the_chart_file() {
    let (_, objects) = render(CHART, "flux-system", Some(MONITORING_VALUES), &[]);
    let map = find(&objects, "ConfigMap", "fo-dashboards");
    assert_eq!(map["metadata"]["namespace"], "monitoring");
    let labels = &map["metadata"]["labels"];
    assert_eq!(
        labels["grafana_dashboard"], "flux",
        "values override the sidecar label's value"
    );
    assert_eq!(
        labels["app.kubernetes.io/name"], "flux-operator",
        "the chart's labels win"
    );
    assert_eq!(labels["team"], "platform");
    assert_eq!(
        map["metadata"]["annotations"],
        json!({"grafana_folder": "Flux", "owner": "grafana-team"}),
        "the dashboard's annotations win over commonAnnotations"
    );
    let file = std::fs::read_to_string(path(DASHBOARD)).expect("read the dashboard");
    let data = map["data"].as_object().expect("data");
    assert_eq!(data.keys().collect::<Vec<_>>(), ["flux-operator-rs.json"]);
    assert_eq!(
        data["flux-operator-rs.json"].as_str().map(str::trim_end),
        Some(file.trim_end())
    );

    let (_, objects) = render(CHART, "flux-system", None, &["grafana.dashboards.create=true"]);
    let map = find(&objects, "ConfigMap", "release-flux-operator-dashboards");
    assert_eq!(map["metadata"]["namespace"], "flux-system");
    assert_eq!(map["metadata"]["labels"]["grafana_dashboard"], "1");
    assert!(map["metadata"].get("annotations").is_none());
}

#[test]
fn prometheus_rule_renders_the_rule_file() {
    let (_, objects) = render(CHART, "flux-system", Some(MONITORING_VALUES), &[]);
    let rule = find(&objects, "PrometheusRule", "fo");
    assert_eq!(rule["apiVersion"], "monitoring.coreos.com/v1");
    assert_eq!(rule["metadata"]["namespace"], "flux-system");
    assert_eq!(rule["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(rule["metadata"]["labels"]["team"], "platform");
    assert_eq!(rule["metadata"]["annotations"], json!({"owner": "sre"}));
    let groups = rule["spec"]["groups"].as_array().expect("groups");
    let file = rule_file();
    assert_eq!(
        groups[..1],
        file["groups"].as_array().expect("groups")[..],
        "the file's groups, unchanged"
    );
    let values: Value = flux_operator_rs::yaml::from_str(MONITORING_VALUES).expect("values");
    assert_eq!(
        groups[1],
        json!({"name": "fo-additional", "rules": values["prometheusRule"]["additionalRules"]})
    );
    // What the Prometheus Operator would hand Prometheus is a valid rule file.
    let dir = tempfile::tempdir().expect("tempdir");
    let rendered = dir.path().join("rendered.yaml");
    std::fs::write(&rendered, json!({"groups": groups}).to_string()).expect("write rules");
    let (ok, out) = promtool(&["check", "rules", &rendered.to_string_lossy()], None);
    assert!(ok && out.contains("7 rules found"), "{out}");
}

#[test]
fn monitoring_values_are_validated() {
    let (_guard, values) = values_file(MONITORING_VALUES);
    helm_ok(&["lint", "--strict", CHART, "--values", &values]);
    let cases = [
        (
            "grafana.dashbords.create=true",
            "additional properties 'dashbords' not allowed",
        ),
        ("grafana.dashboards.create=yes", "/grafana/dashboards/create"),
        ("prometheusRule.create=1", "/prometheusRule/create"),
        (
            "prometheusRule.additionalRules[0].expr=up",
            "/prometheusRule/additionalRules/0",
        ),
    ];
    for (set, expected) in cases {
        let (ok, _, stderr) = helm(&["template", "release", CHART, "--set", set]);
        assert!(!ok, "{CHART} accepted --set {set}");
        assert!(stderr.contains(expected), "--set {set}: {stderr:?} lacks {expected:?}");
    }
}

#[tokio::test]
async fn monitoring_objects_pass_a_server_side_dry_run() {
    let client = common::client().await;
    let ns = common::namespace(&client, "monitoring-dry-run").await;
    let crd = permissive_crd("monitoring.coreos.com", "PrometheusRule", "prometheusrules");
    let apply = |args: &[&str], stdin: &str| {
        let (ok, stdout, stderr) = common::kubectl(args, Some(stdin));
        assert!(ok, "kubectl {args:?}:\n{stdout}\n{stderr}");
    };
    apply(&["apply", "--server-side", "-f", "-"], &crd);
    apply(
        &[
            "wait",
            "--for=condition=Established",
            "crd/prometheusrules.monitoring.coreos.com",
        ],
        "",
    );
    let (_guard, values) = values_file(MONITORING_VALUES);
    let yaml = helm_ok(&[
        "template",
        "release",
        CHART,
        "--namespace",
        &ns,
        "--values",
        &values,
        "--set",
        &format!("grafana.dashboards.namespace={ns}"),
        "--show-only",
        "templates/grafana-dashboards.yaml",
        "--show-only",
        "templates/prometheusrule.yaml",
    ]);
    apply(
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "--field-manager=monitoring-test",
            "-f",
            "-",
        ],
        &yaml,
    );
}

/// Every query is for the template's Prometheus data source and every panel has a place of
/// its own on the grid.
#[test]
fn dashboard_panels_are_consistent() {
    let dashboard = dashboard();
    assert_eq!(dashboard["uid"], "flux-operator-rs");
    assert!(dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 36));
    assert!(dashboard.get("__inputs").is_none(), "loadable by the sidecar as is");
    let datasource = json!({"type": "prometheus", "uid": "${datasource}"});
    let mut all = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        all.push(panel);
        all.extend(panel["panels"].as_array().into_iter().flatten());
    }
    let mut ids = std::collections::BTreeSet::new();
    let mut boxes: Vec<(&str, [u64; 4])> = Vec::new();
    for panel in all {
        let title = panel["title"].as_str().expect("title");
        assert!(ids.insert(panel["id"].as_u64().expect("id")), "{title}: id taken");
        let g = &panel["gridPos"];
        let pos = ["x", "y", "w", "h"].map(|k| g[k].as_u64().unwrap_or_else(|| panic!("{title}: gridPos.{k}")));
        assert!(pos[2] > 0 && pos[3] > 0 && pos[0] + pos[2] <= 24, "{title}: {g}");
        let apart = |o: &[u64; 4]| {
            pos[0] + pos[2] <= o[0] || o[0] + o[2] <= pos[0] || pos[1] + pos[3] <= o[1] || o[1] + o[3] <= pos[1]
        };
        if let Some((other, _)) = boxes.iter().find(|(_, o)| !apart(o)) {
            panic!("{title} overlaps {other}");
        }
        boxes.push((title, pos));
        if panel["type"] == "row" {
            continue;
        }
        assert_eq!(panel["datasource"], datasource, "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        let refs: std::collections::BTreeSet<&str> = targets.iter().filter_map(|t| t["refId"].as_str()).collect();
        assert_eq!(refs.len(), targets.len(), "{title}: refIds are unique");
        assert!(targets.iter().all(|t| t["datasource"] == datasource), "{title}");
    }
}

/// Every variable a query uses is defined before it, every variable query is one the
/// live test can resolve, and the panels cover the families the operator exports.
#[test]
fn dashboard_variables_and_families() {
    let dashboard = dashboard();
    let mut defined: Vec<String> = BUILTINS.iter().map(|(n, _)| n.to_string()).collect();
    for (name, kind, query) in variables(&dashboard) {
        match kind.as_str() {
            "datasource" => assert_eq!(query, "prometheus", "${name}"),
            "query" => {
                assert!(label_values_query(&query).is_some(), "${name}: {query}");
                for r in references(&query) {
                    assert!(defined.contains(&r), "${name} uses ${r} before it is defined");
                }
            }
            other => panic!("${name}: variable type {other}"),
        }
        defined.push(name);
    }
    let queries = panel_queries(&dashboard);
    for (title, _, expr) in &queries {
        for r in references(expr) {
            assert!(defined.contains(&r), "{title}: ${r} is not defined");
        }
    }
    let all: String = queries.iter().map(|(_, _, e)| e.as_str()).collect();
    for family in [
        "flux_instance_info{",
        "flux_resource_info{",
        "flux_operator_info{",
        "controller_runtime_reconcile_total{",
        "controller_runtime_reconcile_time_seconds_bucket{",
        "up{",
        "process_resident_memory_bytes{",
    ] {
        assert!(all.contains(family), "no panel shows {family}");
    }
}
