//! The differences from upstream accepted on purpose, each with the reason the README's
//! "Differences from upstream" gives. Anything else that differs fails the suite.

use crate::compare::Allowed;

/// Accepted against upstream v0.58.1.
pub const V0_58: &[Allowed] = &[
    Allowed {
        case: ".*",
        area: "report",
        subject: "report",
        path: r"\.spec\.operator\.version",
        reason: "the operator's own version: this project's release, not upstream's",
    },
    Allowed {
        case: ".*",
        area: "metrics",
        subject: "metrics",
        path: r"\.flux\.flux_operator_info\[\]\.version",
        reason: "the operator's own version: this project's release, not upstream's",
    },
];
