//! The differences from upstream accepted on purpose, each with the reason the README's
//! "Differences from upstream" gives. Anything else that differs fails the suite.

use crate::compare::Allowed;

const VERSION: &str = "the operator's own version: this project's release, not upstream's";
const ENTITLEMENT: &str = "no vendor entitlement: upstream's distribution registers itself with \
    its vendor (a `flux-operator-entitlement` Secret) and reports \"Issued by controlplane\"";
const CONTROLLERS: &str = "controllers this project does not have: ResourceSet and \
    ResourceSetInputProvider (not implemented), upstream's vendor entitlement controller \
    (`namespace`) and its separate artifact poller (`fluxinstance_artifact`), so no \
    controller_runtime/workqueue series carry these controller names";
const TOKEN_CACHE: &str =
    "no workload-identity token cache, so no flux_token_cache_evictions_total and flux_token_cached_items";
const DIGEST: &str = "the revision digest (`vX.Y.Z@sha256:<digest>`) is this project's own hash of \
    the built objects: upstream hashes its internal serialisation, which neither its CLI nor the \
    cluster shows (measured: about 40 serialisations of the same objects, none matches); the \
    version part and when the digest changes are the same";

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
