//! The deletions an applier makes itself (prune, a forced recreate, a failed Job run
//! again), told to whoever watches the objects: a watch that took them for a user's
//! deletion would start another reconcile and cancel the health check of this one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::ObjectId;

/// How long an announced deletion is remembered: a deletion whose watch event never came
/// (the object was gone already, the request failed) must not hide a later one for long.
const REMEMBERED: Duration = Duration::from_secs(120);

/// At most this many announced deletions: beyond, all are forgotten (the cost of that is
/// a reconcile more, not a missed change).
const CAPACITY: usize = 10_000;

/// The announced deletions, by group, kind, namespace and name (the version does not name
/// an object).
#[derive(Debug, Default)]
pub struct ExpectedDeletions(Mutex<HashMap<Key, Instant>>);

type Key = (String, String, String, String);

impl ExpectedDeletions {
    /// Announces that `object` is about to be deleted by the operator.
    pub fn expect(&self, object: &ObjectId) {
        let mut expected = self.lock();
        let now = Instant::now();
        expected.retain(|_, at| now.duration_since(*at) < REMEMBERED);
        if expected.len() >= CAPACITY {
            expected.clear();
        }
        expected.insert(key(&object.group, &object.kind, &object.namespace, &object.name), now);
    }

    /// Whether the deletion of this object was announced (recently); the announcement is
    /// used up.
    pub fn take(&self, group: &str, kind: &str, namespace: &str, name: &str) -> bool {
        let at = self.lock().remove(&key(group, kind, namespace, name));
        at.is_some_and(|at| at.elapsed() < REMEMBERED)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Instant>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn key(group: &str, kind: &str, namespace: &str, name: &str) -> Key {
    (group.to_owned(), kind.to_owned(), namespace.to_owned(), name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(name: &str) -> ObjectId {
        ObjectId {
            group: "apps".into(),
            version: "v1".into(),
            kind: "Deployment".into(),
            namespace: "ns".into(),
            name: name.into(),
        }
    }

    #[test]
    fn an_announced_deletion_is_taken_once() {
        let expected = ExpectedDeletions::default();
        assert!(!expected.take("apps", "Deployment", "ns", "a"));
        expected.expect(&id("a"));
        assert!(!expected.take("apps", "Deployment", "other", "a"), "another namespace");
        assert!(!expected.take("", "Deployment", "ns", "a"), "another group");
        assert!(expected.take("apps", "Deployment", "ns", "a"));
        assert!(!expected.take("apps", "Deployment", "ns", "a"), "used up");
    }

    #[test]
    fn announcements_are_bounded() {
        let expected = ExpectedDeletions::default();
        for i in 0..CAPACITY + 5 {
            expected.expect(&id(&i.to_string()));
        }
        assert_eq!(expected.lock().len(), 5);
        assert!(expected.take("apps", "Deployment", "ns", &(CAPACITY + 4).to_string()));
        assert!(!expected.take("apps", "Deployment", "ns", "0"), "forgotten");
    }
}
