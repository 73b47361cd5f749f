//! The Prometheus text format, read into series, and the part of it a dashboard depends on.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::ParityError;

#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// Every sample line of an exposition (comments skipped).
pub fn parse(text: &str) -> Result<Vec<Series>, ParityError> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(parse_line)
        .collect()
}

fn parse_line(line: &str) -> Result<Series, ParityError> {
    let bad = || ParityError::Metrics(format!("unreadable sample line: {line}"));
    let name_end = line.find(['{', ' ']).ok_or_else(bad)?;
    let name = line[..name_end].to_owned();
    let mut labels = BTreeMap::new();
    let mut rest = &line[name_end..];
    if let Some(body) = rest.strip_prefix('{') {
        let (parsed, tail) = parse_labels(body).ok_or_else(bad)?;
        labels = parsed;
        rest = tail;
    }
    let value = rest.split_whitespace().next().ok_or_else(bad)?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().map_err(|_| bad())?,
    };
    Ok(Series { name, labels, value })
}

/// `k="v",...}` with the format's escapes; returns the labels and what follows the `}`.
fn parse_labels(body: &str) -> Option<(BTreeMap<String, String>, &str)> {
    let mut labels = BTreeMap::new();
    let mut rest = body;
    loop {
        rest = rest.trim_start_matches([',', ' ']);
        if let Some(tail) = rest.strip_prefix('}') {
            return Some((labels, tail));
        }
        let (key, tail) = rest.split_once("=\"")?;
        let mut value = String::new();
        let mut chars = tail.char_indices();
        let end = loop {
            let (i, c) = chars.next()?;
            match c {
                '\\' => match chars.next()?.1 {
                    'n' => value.push('\n'),
                    other => value.push(other),
                },
                '"' => break i,
                c => value.push(c),
            }
        };
        labels.insert(key.trim().to_owned(), value);
        rest = &tail[end + 1..];
    }
}

/// The controller-runtime families whose presence dashboards and upstream's monitoring guide
/// rely on.
pub const RUNTIME_FAMILIES: &[&str] = &[
    "controller_runtime_reconcile_total",
    "controller_runtime_reconcile_errors_total",
    "controller_runtime_reconcile_time_seconds",
    "workqueue_adds_total",
    "workqueue_depth",
    "workqueue_queue_duration_seconds",
    "workqueue_work_duration_seconds",
    "workqueue_retries_total",
    "workqueue_unfinished_work_seconds",
    "workqueue_longest_running_processor_seconds",
    "rest_client_requests_total",
    "leader_election_master_status",
];

/// Labels that name the object a `flux_*` series is about.
const IDENTITY: [&str; 3] = ["kind", "exported_namespace", "name"];

/// What is compared of an operator's metrics:
/// - `flux`: every `flux_*` series, keyed by family and object, with its other labels and
///   value; `uid` labels are replaced by the object they name (`uids`: uid -> kind/ns/name),
///   as uids differ between runs;
/// - `families`: for each of [`RUNTIME_FAMILIES`], its label names (null when absent);
/// - `reconcile_results`: the `result` values of `controller_runtime_reconcile_total` per
///   controller.
pub fn observe(series: &[Series], uids: &BTreeMap<String, String>) -> Value {
    let mut flux = Map::new();
    for s in series.iter().filter(|s| s.name.starts_with("flux_")) {
        let identity: Vec<&str> = IDENTITY
            .iter()
            .filter_map(|k| s.labels.get(*k).map(String::as_str))
            .collect();
        let key = format!("{}[{}]", s.name, identity.join("/"));
        let mut rest: Map<String, Value> = s
            .labels
            .iter()
            .filter(|(k, _)| !IDENTITY.contains(&k.as_str()))
            .map(|(k, v)| {
                let v = match (k.as_str(), uids.get(v)) {
                    ("uid", Some(object)) => format!("<uid of {object}>"),
                    _ => v.clone(),
                };
                (k.clone(), Value::String(v))
            })
            .collect();
        rest.insert("value".into(), json!(s.value));
        flux.insert(key, Value::Object(rest));
    }
    json!({
        "flux": flux,
        "families": families(series),
        "reconcile_results": reconcile_results(series),
    })
}

fn families(series: &[Series]) -> Value {
    let mut out = Map::new();
    for family in RUNTIME_FAMILIES {
        let members = series.iter().filter(|s| in_family(&s.name, family));
        let names: BTreeSet<&str> = members
            .flat_map(|s| s.labels.keys().map(String::as_str))
            .filter(|l| *l != "le" && *l != "quantile")
            .collect();
        let present = series.iter().any(|s| in_family(&s.name, family));
        out.insert((*family).to_owned(), if present { json!(names) } else { Value::Null });
    }
    Value::Object(out)
}

/// Histograms expose `<family>_bucket`, `_sum` and `_count`.
fn in_family(name: &str, family: &str) -> bool {
    name == family
        || name
            .strip_prefix(family)
            .is_some_and(|suffix| ["_bucket", "_sum", "_count"].contains(&suffix))
}

fn reconcile_results(series: &[Series]) -> Value {
    let mut by_controller: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for s in series.iter().filter(|s| s.name == "controller_runtime_reconcile_total") {
        let controller = s.labels.get("controller").map(String::as_str).unwrap_or_default();
        let result = s.labels.get("result").map(String::as_str).unwrap_or_default();
        by_controller.entry(controller).or_default().insert(result);
    }
    // One string per controller: a missing result shows as one difference, not a shift.
    let joined: BTreeMap<&str, String> = by_controller
        .into_iter()
        .map(|(c, results)| (c, results.into_iter().collect::<Vec<_>>().join(",")))
        .collect();
    json!(joined)
}

/// The sum of a family's samples whose `name` or `controller` label is `queue`, if any.
pub fn queue_value(series: &[Series], family: &str, queue: &str) -> Option<f64> {
    let matching: Vec<f64> = series
        .iter()
        .filter(|s| s.name == family)
        .filter(|s| {
            s.labels
                .get("name")
                .or(s.labels.get("controller"))
                .is_some_and(|n| n == queue)
        })
        .map(|s| s.value)
        .collect();
    (!matching.is_empty()).then(|| matching.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_labels_with_escapes_and_histogram_members() {
        let text = "# TYPE a counter\na{x=\"1\",y=\"q\\\"uote, and\\\\\"} 3\nb 1.5\nh_bucket{le=\"+Inf\"} 2\n";
        let series = parse(text).unwrap();
        assert_eq!(series.len(), 3);
        assert_eq!(series[0].labels["y"], "q\"uote, and\\");
        assert_eq!(series[1].value, 1.5);
        assert!(in_family("h_bucket", "h"));
        assert!(!in_family("h_total", "h"));
    }
}
