//! The differences from upstream accepted on purpose, each with the reason the README's
//! "Differences from upstream" gives. Anything else that differs fails the suite.

use crate::compare::Allowed;

const VERSION: &str = "the operator's own version: this project's release, not upstream's";
const ENTITLEMENT: &str = "no vendor entitlement: upstream's distribution registers itself with \
    its vendor (a `flux-operator-entitlement` Secret) and reports \"Issued by controlplane\"";
const CONTROLLERS: &str = "controllers this project does not have: upstream's vendor \
    entitlement controller (`namespace`) and its separate artifact poller \
    (`fluxinstance_artifact`), so no controller_runtime/workqueue series carry these \
    controller names; the ResourceSet and ResourceSetInputProvider controllers are new here \
    and the parity cases have no ResourceSets, so their series are not compared yet";
const TOKEN_CACHE: &str =
    "no workload-identity token cache, so no flux_token_cache_evictions_total and flux_token_cached_items";
const DIGEST: &str = "the revision digest (`vX.Y.Z@sha256:<digest>`) is this project's own hash of \
    the built objects: upstream hashes its internal serialisation, which neither its CLI nor the \
    cluster shows (measured: about 40 serialisations of the same objects, none matches); the \
    version part and when the digest changes are the same";

const REPORT_TRIGGER: &str = "upstream marks its FluxReport with `reconcile.fluxcd.io/requestedAt` after \
    every instance reconcile, its way to make its report controller refresh; ours refreshes the report \
    in process and saves that write on every reconcile (a user's own requestedAt on the report is \
    honoured by both)";
const NOTIFICATIONS: &str = "ours counts the events it forwards to notification-controller \
    (`flux_operator_notifications_total{result}`), an added family with a bounded label set";
const BUILD_MESSAGE: &str = "a spec that cannot be built: both say `build failed: ...`, ours then \
    names the field and value at fault and what is available (upstream names its internal paths)";

const ROLLOUT_SNAPSHOT: &str = "with `wait: false` the instance is Ready before its Deployments \
    are rolled out, so the report's component readiness is a snapshot whose moment relative to the \
    rollout differs between runs (measured: in one of four full runs, on a loaded machine, upstream's \
    snapshot was taken before the stand-in kubelet marked two Deployments ready, ours after)";

/// A sha256 digest, blanked out where only the digest may differ.
const SHA256: &str = "sha256:[0-9a-f]{64}";

/// An entry for every case, on `area` (whose subject is the area itself).
const fn any(area: &'static str, path: &'static str, reason: &'static str) -> Allowed {
    Allowed {
        case: ".*",
        area,
        subject: area,
        path,
        masked: "",
        reason,
    }
}

/// Like [`any`], only where the values are equal but for the matches of `masked`.
const fn masked(area: &'static str, path: &'static str, masked: &'static str, reason: &'static str) -> Allowed {
    Allowed {
        case: ".*",
        area,
        subject: area,
        path,
        masked,
        reason,
    }
}

/// Accepted against upstream v0.58.1.
pub const V0_58: &[Allowed] = &[
    any("report", r"\.spec\.operator\.version", VERSION),
    any("metrics", r"\.flux\.flux_operator_info\[\]\.version", VERSION),
    any("report", r"\.spec\.distribution\.entitlement", ENTITLEMENT),
    any(
        "metrics",
        r"\.reconcile_results\.(fluxinstance_artifact|namespace|resourceset|resourcesetinputprovider)",
        CONTROLLERS,
    ),
    any(
        "metrics",
        r"\.flux\.flux_token_(cache_evictions_total|cached_items)\[\]",
        TOKEN_CACHE,
    ),
    masked(
        "instance",
        r"\.status\.(lastAppliedRevision|lastAttemptedRevision|history\[\d+\]\.digest)",
        SHA256,
        DIGEST,
    ),
    masked(
        "metrics",
        r"\.flux\.flux_instance_info\[[^\]]*\]\.revision",
        SHA256,
        DIGEST,
    ),
    any("report", r"\.metadata\.annotations", REPORT_TRIGGER),
    any(
        "metrics",
        r"\.flux\.flux_operator_notifications_total\[\]",
        NOTIFICATIONS,
    ),
    Allowed {
        case: "wait-off.*",
        area: "report",
        subject: "report",
        path: r"\.spec\.components\[name=[a-z-]+\]\.(ready|status)",
        masked: "",
        reason: ROLLOUT_SNAPSHOT,
    },
    masked(
        "instance",
        r"\.status\.conditions\[type=(Ready|Stalled)\]\.message",
        r#"(?s)^"build failed: .*"$"#,
        BUILD_MESSAGE,
    ),
];

/// Accepted against upstream v0.59.0: on every case of the suite, what v0.59.0 shows is what
/// v0.58.1 shows (measured), so the same list.
pub const V0_59: &[Allowed] = V0_58;

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::compare::{Finding, mark};
    use crate::diff::Difference;

    fn allowed(area: &'static str, path: &str, upstream: Value, ours: Value) -> bool {
        let mut findings = vec![Finding {
            area,
            subject: area.to_owned(),
            diff: Difference {
                path: path.to_owned(),
                upstream: Some(upstream),
                ours: Some(ours),
            },
            allowed: None,
        }];
        mark("any-case", &mut findings, V0_58);
        findings[0].allowed.is_some()
    }

    /// Paths as the suite reported them from upstream v0.58.1, each allowed.
    #[test]
    fn entries_match_the_paths_they_were_written_for() {
        let paths = [
            ("report", ".spec.operator.version"),
            ("metrics", ".flux.flux_operator_info[].version"),
            ("report", ".spec.distribution.entitlement"),
            ("metrics", ".reconcile_results.fluxinstance_artifact"),
            ("metrics", ".reconcile_results.resourcesetinputprovider"),
            ("metrics", ".flux.flux_token_cache_evictions_total[]"),
            ("metrics", ".flux.flux_token_cached_items[]"),
            ("report", ".metadata.annotations"),
            ("metrics", ".flux.flux_operator_notifications_total[]"),
        ];
        for (area, path) in paths {
            assert!(allowed(area, path, json!(1), json!(2)), "{area} {path} is not allowed");
        }
        assert!(
            !allowed(
                "metrics",
                ".reconcile_results.fluxinstance",
                json!("error"),
                json!("success")
            ),
            "fluxinstance's results must match upstream"
        );
    }

    #[test]
    fn component_readiness_may_differ_only_without_wait() {
        let finding = |case: &str| {
            let mut findings = vec![Finding {
                area: "report",
                subject: "report".to_owned(),
                diff: Difference {
                    path: ".spec.components[name=source-controller].ready".to_owned(),
                    upstream: Some(json!(false)),
                    ours: Some(json!(true)),
                },
                allowed: None,
            }];
            mark(case, &mut findings, V0_58);
            findings[0].allowed.is_some()
        };
        assert!(finding("wait-off-no-migration"));
        assert!(!finding("example-minimal"));
    }

    #[test]
    fn build_failure_messages_may_differ_after_their_common_start_only() {
        let path = ".status.conditions[type=Stalled].message";
        let upstream = json!("build failed: no match found for semver: 3.x in /data");
        assert!(allowed(
            "instance",
            path,
            upstream.clone(),
            json!("build failed: spec.distribution.version: no Flux version matches \"3.x\"")
        ));
        assert!(!allowed("instance", path, upstream, json!("reconciliation failed: x")));
    }

    #[test]
    fn a_revision_may_differ_in_its_digest_only() {
        let revision = |version: &str, digit: char| json!(format!("{version}@sha256:{}", digit.to_string().repeat(64)));
        let digest = |digit: char| json!(format!("sha256:{}", digit.to_string().repeat(64)));
        let metric = ".flux.flux_instance_info[FluxInstance/flux-system/flux].revision";
        let table = [
            (
                "instance",
                ".status.lastAppliedRevision",
                revision("v2.9.4", 'a'),
                revision("v2.9.4", 'b'),
                true,
            ),
            (
                "instance",
                ".status.lastAppliedRevision",
                revision("v2.9.4", 'a'),
                revision("v2.8.8", 'b'),
                false,
            ),
            (
                "metrics",
                metric,
                revision("v2.9.4", 'a'),
                revision("v2.9.4", 'c'),
                true,
            ),
            ("instance", ".status.history[0].digest", digest('1'), digest('2'), true),
        ];
        for (area, path, upstream, ours, expected) in table {
            assert_eq!(
                allowed(area, path, upstream.clone(), ours.clone()),
                expected,
                "{area} {path} {upstream} {ours}"
            );
        }
    }
}
