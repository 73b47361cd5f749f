//! What the watches tell a reconcile besides their triggers, per owner: whether anything
//! of it changed (the epoch), whether anything of it was deleted, and every event of its
//! objects, status updates included (to wake a readiness wait).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use kube::Resource;
use kube::runtime::reflector::ObjectRef;

pub struct Counters<K: Resource<DynamicType = ()>> {
    /// Moves on every watch error and re-list, which may hide a change of any owner.
    all: AtomicU64,
    owners: Mutex<HashMap<ObjectRef<K>, Owner>>,
}

#[derive(Default)]
struct Owner {
    changes: u64,
    deletions: u64,
    /// Created by the first reader.
    activity: Option<tokio::sync::watch::Sender<u64>>,
}

impl<K: Resource<DynamicType = ()>> Default for Counters<K> {
    fn default() -> Self {
        Self {
            all: AtomicU64::new(0),
            owners: Mutex::default(),
        }
    }
}

impl<K: Resource<DynamicType = ()>> Counters<K> {
    /// Equal at two moments only if no object of `owner` changed and no watch failed or
    /// re-listed between them: the sum of two counters that only grow.
    pub fn epoch(&self, owner: &ObjectRef<K>) -> u64 {
        let all = self.all.load(Ordering::SeqCst);
        let own = self.lock().get(owner).map_or(0, |o| o.changes);
        all.wrapping_add(own)
    }

    pub fn deletions(&self, owner: &ObjectRef<K>) -> u64 {
        self.lock().get(owner).map_or(0, |o| o.deletions)
    }

    pub fn activity(&self, owner: &ObjectRef<K>) -> tokio::sync::watch::Receiver<u64> {
        let mut owners = self.lock();
        let entry = owners.entry(owner.clone()).or_default();
        entry
            .activity
            .get_or_insert_with(|| tokio::sync::watch::Sender::new(0))
            .subscribe()
    }

    pub fn forget(&self, owner: &ObjectRef<K>) {
        self.lock().remove(owner);
    }

    pub fn all_changed(&self) {
        self.all.fetch_add(1, Ordering::SeqCst);
    }

    pub fn changed(&self, owner: &ObjectRef<K>, deleted: bool) {
        let mut owners = self.lock();
        let entry = owners.entry(owner.clone()).or_default();
        entry.changes = entry.changes.wrapping_add(1);
        if deleted {
            entry.deletions = entry.deletions.wrapping_add(1);
        }
    }

    /// An event of an object of `owner`: wakes its readers, if any.
    pub fn active(&self, owner: &ObjectRef<K>) {
        if let Some(activity) = self.lock().get(owner).and_then(|o| o.activity.as_ref()) {
            activity.send_modify(|n| *n = n.wrapping_add(1));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectRef<K>, Owner>> {
        self.owners.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ResourceSet;

    #[test]
    fn each_owner_counts_its_own_changes_and_every_watch_failure() {
        let counters = Counters::<ResourceSet>::default();
        let (a, b) = (ObjectRef::new("a").within("ns"), ObjectRef::new("b").within("ns"));
        let (epoch_a, epoch_b) = (counters.epoch(&a), counters.epoch(&b));
        counters.changed(&a, false);
        assert_ne!(counters.epoch(&a), epoch_a);
        assert_eq!(counters.epoch(&b), epoch_b, "another owner's change");
        assert_eq!(counters.deletions(&a), 0);
        counters.changed(&a, true);
        assert_eq!(counters.deletions(&a), 1);
        let epoch_b = counters.epoch(&b);
        counters.all_changed();
        assert_ne!(counters.epoch(&b), epoch_b, "a re-list moves every owner");
        counters.forget(&a);
        assert_eq!(counters.deletions(&a), 0);
    }

    #[test]
    fn activity_wakes_only_the_owners_readers() {
        let counters = Counters::<ResourceSet>::default();
        let (a, b) = (ObjectRef::new("a").within("ns"), ObjectRef::new("b").within("ns"));
        let reader = counters.activity(&a);
        counters.active(&b);
        assert!(!reader.has_changed().unwrap_or(true));
        counters.active(&a);
        assert!(reader.has_changed().unwrap_or(false));
    }
}
