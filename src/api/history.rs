//! `status.history`: at most five entries, newest first, one per (digest, status).

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Snapshot;

pub const MAX_ENTRIES: usize = 5;

/// `sha256:<hex>` of a spec as JSON: the history key of a build that produced nothing.
pub fn spec_digest(spec: &impl Serialize) -> String {
    let json = serde_json::to_vec(spec).unwrap_or_default();
    format!("sha256:{}", hex::encode(Sha256::digest(&json)))
}

/// The time of an entry, as the status writes it.
pub fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// Records a reconciliation: updates the entry of the same (digest, status) and moves it
/// to the front, or adds a new one.
pub fn record(
    history: &mut Vec<Snapshot>,
    digest: &str,
    status: &str,
    duration: &str,
    now: &str,
    metadata: BTreeMap<String, String>,
) {
    if let Some(pos) = history
        .iter()
        .position(|s| s.digest == digest && s.last_reconciled_status == status)
    {
        let mut entry = history.remove(pos);
        entry.last_reconciled = now.to_owned();
        entry.last_reconciled_duration = duration.to_owned();
        entry.total_reconciliations += 1;
        entry.metadata = metadata;
        history.insert(0, entry);
    } else {
        history.insert(
            0,
            Snapshot {
                digest: digest.to_owned(),
                first_reconciled: now.to_owned(),
                last_reconciled: now.to_owned(),
                last_reconciled_duration: duration.to_owned(),
                last_reconciled_status: status.to_owned(),
                total_reconciliations: 1,
                metadata,
            },
        );
    }
    history.truncate(MAX_ENTRIES);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(v: &str) -> BTreeMap<String, String> {
        BTreeMap::from([("flux".to_owned(), v.to_owned())])
    }

    #[test]
    fn dedups_moves_to_front_and_caps() {
        let mut h = Vec::new();
        record(
            &mut h,
            "sha256:a",
            "ReconciliationSucceeded",
            "1s",
            "t1",
            meta("v2.8.8"),
        );
        record(
            &mut h,
            "sha256:a",
            "ReconciliationSucceeded",
            "2s",
            "t2",
            meta("v2.8.8"),
        );
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].total_reconciliations, 2);
        assert_eq!(h[0].first_reconciled, "t1");
        assert_eq!(h[0].last_reconciled, "t2");
        record(
            &mut h,
            "sha256:b",
            "ReconciliationSucceeded",
            "1s",
            "t3",
            meta("v2.9.4"),
        );
        record(
            &mut h,
            "sha256:a",
            "ReconciliationSucceeded",
            "1s",
            "t4",
            meta("v2.8.8"),
        );
        assert_eq!(
            h.iter().map(|s| s.digest.as_str()).collect::<Vec<_>>(),
            ["sha256:a", "sha256:b"]
        );
        for i in 0..10 {
            record(
                &mut h,
                &format!("sha256:{i}"),
                "ReconciliationFailed",
                "1s",
                "t",
                meta("x"),
            );
        }
        assert_eq!(h.len(), MAX_ENTRIES);
        assert_eq!(h[0].digest, "sha256:9");
    }
}
