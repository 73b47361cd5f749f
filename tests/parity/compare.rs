//! The differences between upstream's run and ours of one case, each either allowed (with
//! its reason) or a failure.

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::Value;

use crate::diff::{Difference, diff};
use crate::observe::Snapshot;

/// One differing field of one case.
#[derive(Debug, Clone)]
pub struct Finding {
    /// `object`, `instance`, `report` or `metrics`.
    pub area: &'static str,
    /// The inventory id for objects; the area's name otherwise.
    pub subject: String,
    pub diff: Difference,
    /// The reason when an allowed entry matches.
    pub allowed: Option<&'static str>,
}

impl Finding {
    pub fn show(&self, limit: usize) -> String {
        format!("{} {} {}", self.area, self.subject, self.diff.show(limit))
    }
}

/// A difference accepted on purpose: which findings it matches (regular expressions over
/// the case name, the area, the subject and the path, each matched in full) and why.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub case: &'static str,
    pub area: &'static str,
    pub subject: &'static str,
    pub path: &'static str,
    /// When not empty, a regular expression: the finding is allowed only if both values are
    /// equal once each match of it is blanked out (the digest of a revision may differ, its
    /// version not).
    pub masked: &'static str,
    pub reason: &'static str,
}

/// An [`Allowed`] entry with its patterns compiled.
struct Matcher {
    patterns: [Regex; 4],
    masked: Option<Regex>,
    reason: &'static str,
}

impl Matcher {
    fn new(entry: &Allowed) -> Self {
        let full = |pattern: &str| {
            Regex::new(&format!("^(?:{pattern})$")).unwrap_or_else(|e| panic!("allowed-list pattern {pattern:?}: {e}"))
        };
        Self {
            patterns: [
                full(entry.case),
                full(entry.area),
                full(entry.subject),
                full(entry.path),
            ],
            masked: (!entry.masked.is_empty())
                .then(|| Regex::new(entry.masked).unwrap_or_else(|e| panic!("masked pattern {:?}: {e}", entry.masked))),
            reason: entry.reason,
        }
    }

    fn matches(&self, case: &str, finding: &Finding) -> bool {
        let texts = [case, finding.area, &finding.subject, &finding.diff.path];
        let blank = |re: &Regex, v: &Option<Value>| v.as_ref().map(|v| re.replace_all(&v.to_string(), "").into_owned());
        self.patterns.iter().zip(texts).all(|(p, t)| p.is_match(t))
            && self
                .masked
                .as_ref()
                .is_none_or(|re| blank(re, &finding.diff.upstream) == blank(re, &finding.diff.ours))
    }
}

/// Every difference between the two snapshots, each marked allowed or not by `allowed`.
pub fn compare(case: &str, upstream: &Snapshot, ours: &Snapshot, allowed: &[Allowed]) -> Vec<Finding> {
    let mut findings = Vec::new();
    let ids: BTreeSet<&String> = upstream.objects.keys().chain(ours.objects.keys()).collect();
    for id in ids {
        let absent = Value::Null;
        let a = upstream.objects.get(id).unwrap_or(&absent);
        let b = ours.objects.get(id).unwrap_or(&absent);
        add(&mut findings, "object", id, a, b);
    }
    add(
        &mut findings,
        "instance",
        "instance",
        &upstream.instance,
        &ours.instance,
    );
    add(&mut findings, "report", "report", &upstream.report, &ours.report);
    add(&mut findings, "metrics", "metrics", &upstream.metrics, &ours.metrics);
    mark(case, &mut findings, allowed);
    findings
}

/// Marks each finding with the reason of the first `allowed` entry that matches it.
pub fn mark(case: &str, findings: &mut [Finding], allowed: &[Allowed]) {
    let matchers: Vec<Matcher> = allowed.iter().map(Matcher::new).collect();
    for finding in findings {
        finding.allowed = matchers.iter().find(|m| m.matches(case, finding)).map(|m| m.reason);
    }
}

fn add(findings: &mut Vec<Finding>, area: &'static str, subject: &str, upstream: &Value, ours: &Value) {
    let mut diffs = Vec::new();
    diff("", upstream, ours, &mut diffs);
    findings.extend(diffs.into_iter().map(|diff| Finding {
        area,
        subject: subject.to_owned(),
        diff,
        allowed: None,
    }));
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snapshot(version: &str) -> Snapshot {
        Snapshot {
            objects: [("ns_a__ConfigMap".to_owned(), json!({"data": {"k": version}}))].into(),
            instance: json!({}),
            report: json!({"spec": {"operator": {"version": version}}}),
            metrics: json!({}),
            ready: "True/ReconciliationSucceeded".into(),
            seconds: 0.0,
            phases: Vec::new(),
        }
    }

    #[test]
    fn findings_are_allowed_only_where_an_entry_matches_in_full() {
        let allowed = [Allowed {
            case: ".*",
            area: "report",
            subject: "report",
            path: r"\.spec\.operator\.version",
            masked: "",
            reason: "ours",
        }];
        let findings = compare("c", &snapshot("v1"), &snapshot("v2"), &allowed);
        let marks: Vec<(&str, Option<&str>)> = findings.iter().map(|f| (f.area, f.allowed)).collect();
        assert_eq!(marks, [("object", None), ("report", Some("ours"))]);
        assert!(compare("c", &snapshot("v1"), &snapshot("v1"), &allowed).is_empty());
    }
}
