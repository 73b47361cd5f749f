//! Holds an object's reconciles back between a failure and its retry, and after a stall
//! until its spec or annotations change. Without it, every event of a managed object (a
//! Deployment created by the failed attempt itself) would start the next attempt at once:
//! the backoff would be cut short and the failure counted again in the status history.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kube::ResourceExt;
use kube::runtime::controller::Action;

/// A hash of what a user changes to ask for a new attempt: the generation and annotations.
pub fn fingerprint<K: ResourceExt>(obj: &K) -> u64 {
    let mut hasher = DefaultHasher::new();
    obj.meta().generation.hash(&mut hasher);
    obj.annotations().hash(&mut hasher);
    hasher.finish()
}

#[derive(Debug, Clone, Copy)]
struct Held {
    fingerprint: u64,
    /// None: until the fingerprint changes (Stalled).
    until: Option<Instant>,
}

/// The held objects, by `namespace/name`.
#[derive(Debug, Default)]
pub struct Gates(Mutex<HashMap<String, Held>>);

impl Gates {
    /// Holds `key` while its fingerprint stays the same, for `hold` (None: until it changes).
    pub fn hold(&self, key: &str, fingerprint: u64, hold: Option<Duration>) {
        let until = hold.map(|d| Instant::now() + d);
        self.lock().insert(key.to_owned(), Held { fingerprint, until });
    }

    pub fn release(&self, key: &str) {
        self.lock().remove(key);
    }

    /// What to do instead of a reconcile while `key` is held: wait for the retry, or for a
    /// change; None when the reconcile may go ahead.
    pub fn check(&self, key: &str, fingerprint: u64) -> Option<Action> {
        let held = *self.lock().get(key)?;
        if held.fingerprint != fingerprint {
            return None;
        }
        match held.until {
            None => Some(Action::await_change()),
            Some(until) => {
                let left = until.saturating_duration_since(Instant::now());
                (!left.is_zero()).then(|| Action::requeue(left))
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_object_waits_for_its_retry_or_a_change() {
        let gates = Gates::default();
        assert_eq!(gates.check("ns/a", 1), None);
        gates.hold("ns/a", 1, Some(Duration::from_secs(60)));
        let action = gates.check("ns/a", 1).expect("held");
        assert_ne!(action, Action::await_change());
        assert_eq!(gates.check("ns/a", 2), None, "a changed spec goes ahead");
        gates.hold("ns/a", 1, Some(Duration::ZERO));
        assert_eq!(gates.check("ns/a", 1), None, "a due retry goes ahead");
        gates.hold("ns/a", 1, None);
        assert_eq!(gates.check("ns/a", 1), Some(Action::await_change()));
        gates.release("ns/a");
        assert_eq!(gates.check("ns/a", 1), None);
    }
}
