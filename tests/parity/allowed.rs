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

/// Accepted against upstream v0.58.1.
pub const V0_58: &[Allowed] = &[
    Allowed {
        case: ".*",
        area: "report",
        subject: "report",
        path: r"\.spec\.operator\.version",
        reason: VERSION,
    },
    Allowed {
        case: ".*",
        area: "metrics",
        subject: "metrics",
        path: r"\.flux\.flux_operator_info\[\]\.version",
        reason: VERSION,
    },
    Allowed {
        case: ".*",
        area: "report",
        subject: "report",
        path: r"\.spec\.distribution\.entitlement",
        reason: ENTITLEMENT,
    },
    Allowed {
        case: ".*",
        area: "metrics",
        subject: "metrics",
        path: r"\.reconcile_results\.(fluxinstance_artifact|namespace|resourceset|resourcesetinputprovider)",
        reason: CONTROLLERS,
    },
    Allowed {
        case: ".*",
        area: "metrics",
        subject: "metrics",
        path: r"\.flux\.flux_token_(cache_evictions_total|cached_items)\[\]",
        reason: TOKEN_CACHE,
    },
];

/// Accepted against upstream v0.59.0: what v0.59.0 shows of the cases is the same as v0.58.1.
pub const V0_59: &[Allowed] = V0_58;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::compare::{Finding, mark};
    use crate::diff::Difference;

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
            let mut findings = vec![Finding {
                area,
                subject: area.to_owned(),
                diff: Difference {
                    path: path.to_owned(),
                    upstream: Some(json!(1)),
                    ours: None,
                },
                allowed: None,
            }];
            mark("any-case", &mut findings, V0_58);
            assert!(findings[0].allowed.is_some(), "{area} {path} is not allowed");
        }
        let mut other = vec![Finding {
            area: "metrics",
            subject: "metrics".into(),
            diff: Difference {
                path: ".reconcile_results.fluxinstance".into(),
                upstream: None,
                ours: None,
            },
            allowed: None,
        }];
        mark("any-case", &mut other, V0_58);
        assert!(other[0].allowed.is_none(), "fluxinstance's results must match upstream");
    }
}
