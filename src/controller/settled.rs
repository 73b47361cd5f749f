//! What the last successful reconcile of each instance left behind: its revision and the
//! managed watches' epoch before its apply. A periodic reconcile of the same revision at
//! the same epoch has nothing to apply: no managed object changed since (the watches would
//! have moved the epoch), so it asks the API server only for readiness.

use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Debug, Default)]
pub struct Settled(Mutex<HashMap<String, (String, u64)>>);

impl Settled {
    pub fn record(&self, key: &str, revision: &str, epoch: u64) {
        self.lock().insert(key.to_owned(), (revision.to_owned(), epoch));
    }

    pub fn forget(&self, key: &str) {
        self.lock().remove(key);
    }

    /// Whether `revision` was applied successfully at `epoch`.
    pub fn holds(&self, key: &str, revision: &str, epoch: u64) -> bool {
        self.lock().get(key).is_some_and(|(r, e)| r == revision && *e == epoch)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_revision_at_the_same_epoch_is_settled() {
        let settled = Settled::default();
        assert!(!settled.holds("ns/flux", "v2.9.4@sha256:a", 3));
        settled.record("ns/flux", "v2.9.4@sha256:a", 3);
        assert!(settled.holds("ns/flux", "v2.9.4@sha256:a", 3));
        assert!(
            !settled.holds("ns/flux", "v2.9.4@sha256:a", 4),
            "a change moved the epoch"
        );
        assert!(!settled.holds("ns/flux", "v2.9.4@sha256:b", 3), "a new revision");
        settled.forget("ns/flux");
        assert!(!settled.holds("ns/flux", "v2.9.4@sha256:a", 3));
    }
}
