//! The chart's Grafana dashboard and alert rules as the tests read them: the PromQL of
//! every panel and rule, the dashboard's template variables and how Grafana substitutes them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use regex::Regex;
use serde_json::Value;

use crate::common::project_root;

pub const CHART: &str = "charts/flux-operator-rs";
pub const DASHBOARD: &str = "charts/flux-operator-rs/files/dashboards/flux-operator-rs.json";
pub const RULES: &str = "charts/flux-operator-rs/files/alerts/flux-operator-rs.yaml";
pub const RULE_TESTS: &str = "tests/monitoring/alerts.test.yaml";

/// Grafana's own variables the dashboard may use, and what the tests put in their place:
/// a window that holds a few of the test's 1 s scrapes.
pub const BUILTINS: &[(&str, &str)] = &[("__rate_interval", "20s")];

pub fn path(relative: &str) -> PathBuf {
    project_root().join(relative)
}

pub fn dashboard() -> Value {
    let text = std::fs::read_to_string(path(DASHBOARD)).expect("read the dashboard");
    serde_json::from_str(&text).expect("the dashboard is JSON")
}

/// The panels, those inside collapsed rows included, rows left out.
pub fn panels(dashboard: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        if panel["type"] == "row" {
            out.extend(panel["panels"].as_array().into_iter().flatten());
        } else {
            out.push(panel);
        }
    }
    out
}

/// (panel title, refId, expr) of every query of the dashboard.
pub fn panel_queries(dashboard: &Value) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for panel in panels(dashboard) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            out.push((
                panel["title"].as_str().unwrap_or_default().to_owned(),
                target["refId"].as_str().unwrap_or_default().to_owned(),
                target["expr"].as_str().unwrap_or_default().to_owned(),
            ));
        }
    }
    out
}

/// The dashboard's template variables in order: (name, type, query).
pub fn variables(dashboard: &Value) -> Vec<(String, String, String)> {
    dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list")
        .iter()
        .map(|v| {
            let field = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            (field("name"), field("type"), field("query"))
        })
        .collect()
}

fn variable_reference() -> Regex {
    Regex::new(r"\$\{(\w+)\}|\$(\w+)").expect("regex")
}

/// The variables a query refers to, as `$name` or `${name}`.
pub fn references(expr: &str) -> BTreeSet<String> {
    variable_reference()
        .captures_iter(expr)
        .map(|c| c.get(1).or(c.get(2)).expect("a name").as_str().to_owned())
        .collect()
}

/// Replaces variables as Grafana does; every reference must have a value.
pub fn substitute(expr: &str, values: &BTreeMap<String, String>) -> String {
    variable_reference()
        .replace_all(expr, |c: &regex::Captures| {
            let name = c.get(1).or(c.get(2)).expect("a name").as_str();
            values
                .get(name)
                .unwrap_or_else(|| panic!("no value for ${name} in {expr}"))
                .clone()
        })
        .into_owned()
}

/// How Grafana writes the selected values of a multi-value variable into a Prometheus
/// regex matcher: one value escaped, several as an alternation.
pub fn regex_value(values: &[String]) -> String {
    let escaped: Vec<String> = values.iter().map(|v| regex::escape(v).replace('\\', "\\\\")).collect();
    match escaped.as_slice() {
        [one] => one.clone(),
        many => format!("({})", many.join("|")),
    }
}

/// (selector, label) of Grafana's `label_values(selector, label)` variable query.
pub fn label_values_query(query: &str) -> Option<(String, String)> {
    let inner = query.strip_prefix("label_values(")?.strip_suffix(')')?;
    let (selector, label) = inner.rsplit_once(',')?;
    Some((selector.trim().to_owned(), label.trim().to_owned()))
}

/// The rule file as parsed YAML.
pub fn rule_file() -> Value {
    crate::common::read_yaml(RULES)
}

/// (alert name, expr) of every alerting rule.
pub fn alerts(rules: &Value) -> Vec<(String, String)> {
    rules["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .filter_map(|r| Some((r["alert"].as_str()?.to_owned(), r["expr"].as_str()?.to_owned())))
        .collect()
}
