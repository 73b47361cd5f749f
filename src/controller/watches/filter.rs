//! Which watch events of managed objects are worth a reconcile of their owner: deletions
//! always, other events only when the object's fingerprint changed by another writer than
//! the operator.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::hash::{Hash, Hasher};

use kube::api::DynamicObject;
use kube::core::PartialObjectMeta;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::Event;
use kube::{Resource, ResourceExt};

use crate::apply::FIELD_MANAGER;

pub type Meta = PartialObjectMeta<DynamicObject>;

/// The labels on a managed object that name its owner.
#[derive(Debug, Clone, Copy)]
pub struct OwnerLabels {
    pub name: &'static str,
    pub namespace: &'static str,
}

impl OwnerLabels {
    /// The owner of a managed object, from its labels.
    pub fn owner_of<K: Resource<DynamicType = ()>>(self, obj: &Meta) -> Option<ObjectRef<K>> {
        let labels = obj.labels();
        let name = labels.get(self.name)?;
        let namespace = labels.get(self.namespace)?;
        Some(ObjectRef::new(name).within(namespace))
    }
}

/// What happened to a managed object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Changed,
    Deleted,
    /// Gone when the watch listed again after a failure.
    DeletedWhileDown,
    /// Its owner labels were edited away: a user took it from its owner (SPEC-resourceset
    /// §14.5), which a reconcile must not undo at once. The next full one does, if the
    /// object is still built, as upstream's periodic re-apply does.
    Released,
}

impl Change {
    pub fn is_deletion(self) -> bool {
        matches!(self, Self::Deleted | Self::DeletedWhileDown)
    }

    /// Whether the owner is reconciled at once; a release only makes its next periodic
    /// reconcile a full one.
    pub fn triggers(self) -> bool {
        self != Self::Released
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Created => "created",
            Self::Changed => "changed",
            Self::Deleted => "deleted",
            Self::DeletedWhileDown => "deleted while the watch was down",
            Self::Released => "released by its owner labels",
        })
    }
}

/// Which object changed how.
#[derive(Debug, PartialEq, Eq)]
pub struct Why {
    pub namespace: String,
    pub name: String,
    pub change: Change,
}

/// An object's namespace and name.
type Key = (String, String);

/// Turns watch events into the owners to reconcile.
pub struct ChangeFilter<K: Resource<DynamicType = ()>> {
    labels: OwnerLabels,
    /// Fingerprint and owner of every object seen.
    seen: HashMap<Key, (u64, Option<ObjectRef<K>>)>,
    /// The objects of the list in progress (between `Init` and `InitDone`).
    listing: Option<HashSet<Key>>,
    /// The first list only records what exists: the reconcile that started the watch has
    /// just applied it.
    listed_once: bool,
}

impl<K: Resource<DynamicType = ()>> ChangeFilter<K> {
    pub fn new(labels: OwnerLabels) -> Self {
        Self {
            labels,
            seen: HashMap::new(),
            listing: None,
            listed_once: false,
        }
    }

    /// Whether the first list is done: from then on no change goes unseen.
    pub fn listed_once(&self) -> bool {
        self.listed_once
    }

    pub fn on(&mut self, event: Event<Meta>) -> Vec<(ObjectRef<K>, Why)> {
        match event {
            Event::Init => {
                self.listing = Some(HashSet::new());
                Vec::new()
            }
            Event::InitApply(obj) => {
                if let Some(listing) = &mut self.listing {
                    listing.insert(object_key(&obj));
                }
                let quiet = !self.listed_once;
                self.applied(&obj).filter(|_| !quiet).into_iter().collect()
            }
            Event::InitDone => self.list_done(),
            Event::Apply(obj) => self.applied(&obj).into_iter().collect(),
            Event::Delete(obj) => {
                let before = self.seen.remove(&object_key(&obj)).and_then(|(_, owner)| owner);
                // An object relabelled out of the selection is deleted for the watch, with
                // the labels it has now when the watch is served from etcd (the watch cache
                // sends the old ones: the forwarder looks, see `released`).
                let found = match self.labels.owner_of(&obj) {
                    Some(owner) => Some((owner, Change::Deleted)),
                    None => before.map(|owner| (owner, Change::Released)),
                };
                found
                    .map(|(owner, change)| (owner, why(object_key(&obj), change)))
                    .into_iter()
                    .collect()
            }
        }
    }

    /// Objects that were gone when the watch was re-listed were deleted in the gap.
    fn list_done(&mut self) -> Vec<(ObjectRef<K>, Why)> {
        let listed = self.listing.take().unwrap_or_default();
        let first = !std::mem::replace(&mut self.listed_once, true);
        let gone: Vec<Key> = self.seen.keys().filter(|k| !listed.contains(*k)).cloned().collect();
        let mut triggers = Vec::new();
        for key in gone {
            if let Some((_, Some(owner))) = self.seen.remove(&key)
                && !first
            {
                triggers.push((owner, why(key, Change::DeletedWhileDown)));
            }
        }
        triggers
    }

    fn applied(&mut self, obj: &Meta) -> Option<(ObjectRef<K>, Why)> {
        let fingerprint = fingerprint(obj);
        let owner = self.labels.owner_of(obj);
        let before = self.seen.insert(object_key(obj), (fingerprint, owner.clone()));
        if before.as_ref().is_some_and(|(f, _)| *f == fingerprint) || newest_write_needs_no_look(obj) {
            return None;
        }
        let change = if before.is_none() {
            Change::Created
        } else {
            Change::Changed
        };
        owner.map(|owner| (owner, why(object_key(obj), change)))
    }
}

fn why((namespace, name): Key, change: Change) -> Why {
    Why {
        namespace,
        name,
        change,
    }
}

fn object_key(obj: &Meta) -> Key {
    (obj.namespace().unwrap_or_default(), obj.name_any())
}

/// What a reconcile would put back. Objects with a generation change it for spec edits
/// and not for status updates; objects without one (ConfigMaps, Services, RBAC) have
/// their whole content in the resourceVersion. Labels and annotations are in neither
/// generation nor status.
fn fingerprint(obj: &Meta) -> u64 {
    let mut hasher = DefaultHasher::new();
    match obj.metadata.generation {
        Some(generation) => generation.hash(&mut hasher),
        None => obj.metadata.resource_version.hash(&mut hasher),
    }
    obj.labels().hash(&mut hasher);
    obj.annotations().hash(&mut hasher);
    obj.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    hasher.finish()
}

/// Whether the newest field-manager entries are the operator's own apply or writes of the
/// status subresource: neither changes what a reconcile applies. A ResourceQuota or a
/// Namespace has no generation, so its resourceVersion moves with every status update
/// (the quota controller's count of pods); only the manager entry tells them apart. A tie
/// with another writer's spec write (the times have seconds only) counts as theirs.
fn newest_write_needs_no_look(obj: &Meta) -> bool {
    let entries = obj.metadata.managed_fields.as_deref().unwrap_or_default();
    let newest = entries.iter().filter_map(|e| e.time.as_ref().map(|t| t.0)).max();
    let Some(newest) = newest else {
        return false;
    };
    let at_newest: Vec<_> = entries
        .iter()
        .filter(|e| e.time.as_ref().is_some_and(|t| t.0 == newest))
        .collect();
    at_newest.iter().all(|e| match e.subresource.as_deref() {
        Some(subresource) => subresource == "status",
        None => e.manager.as_deref() == Some(FIELD_MANAGER),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::FluxInstance;
    use crate::build::{OWNER_NAME as OWNER_NAME_LABEL, OWNER_NAMESPACE as OWNER_NAMESPACE_LABEL};

    fn meta(name: &str, generation: Option<i64>, rv: &str, manager: &str) -> Meta {
        with_subresource(name, generation, rv, manager, None)
    }

    fn with_subresource(name: &str, generation: Option<i64>, rv: &str, manager: &str, sub: Option<&str>) -> Meta {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {
                "name": name, "namespace": "flux-system", "generation": generation,
                "resourceVersion": rv,
                "labels": {OWNER_NAME_LABEL: "flux", OWNER_NAMESPACE_LABEL: "flux-system"},
                "managedFields": [{"manager": manager, "operation": "Apply", "apiVersion": "apps/v1",
                                   "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1", "fieldsV1": {},
                                   "subresource": sub}],
            },
        }))
        .expect("meta")
    }

    fn new_filter() -> ChangeFilter<FluxInstance> {
        ChangeFilter::new(OwnerLabels {
            name: OWNER_NAME_LABEL,
            namespace: OWNER_NAMESPACE_LABEL,
        })
    }

    fn listed(filter: &mut ChangeFilter<FluxInstance>, objects: Vec<Meta>) -> Vec<String> {
        let mut out = filter.on(Event::Init);
        for obj in objects {
            out.extend(filter.on(Event::InitApply(obj)));
        }
        out.extend(filter.on(Event::InitDone));
        out.into_iter()
            .map(|(_, why)| format!("{}/{} {}", why.namespace, why.name, why.change))
            .collect()
    }

    fn changes(filter: &mut ChangeFilter<FluxInstance>, event: Event<Meta>) -> Vec<String> {
        let out = filter.on(event);
        assert!(out.iter().all(|(owner, _)| owner.name == "flux"));
        out.into_iter()
            .map(|(_, why)| format!("{}/{} {}", why.namespace, why.name, why.change))
            .collect()
    }

    #[test]
    fn deletions_always_trigger_and_status_churn_never() {
        let mut filter = new_filter();
        let a = meta("a", Some(1), "10", FIELD_MANAGER);
        assert!(
            listed(&mut filter, vec![a.clone()]).is_empty(),
            "the first list is what was applied"
        );
        // A status update: new resourceVersion, same generation.
        let status = meta("a", Some(1), "11", "kubelet");
        assert!(changes(&mut filter, Event::Apply(status.clone())).is_empty());
        assert_eq!(
            changes(&mut filter, Event::Delete(status)),
            ["flux-system/a deleted"],
            "a delete with an unchanged generation still triggers"
        );
    }

    #[test]
    fn foreign_edits_trigger_and_our_own_writes_do_not() {
        let mut filter = new_filter();
        listed(&mut filter, vec![meta("a", Some(1), "10", FIELD_MANAGER)]);
        assert!(changes(&mut filter, Event::Apply(meta("a", Some(2), "12", FIELD_MANAGER))).is_empty());
        assert_eq!(
            changes(&mut filter, Event::Apply(meta("a", Some(3), "13", "kubectl-edit"))),
            ["flux-system/a changed"]
        );
        // Without a generation (a ConfigMap) the resourceVersion is the content.
        listed(&mut filter, vec![meta("cm", None, "20", FIELD_MANAGER)]);
        assert_eq!(
            changes(&mut filter, Event::Apply(meta("cm", None, "21", "kubectl-edit"))),
            ["flux-system/cm changed"]
        );
    }

    #[test]
    fn status_writes_to_objects_without_a_generation_do_not_trigger() {
        let mut filter = new_filter();
        listed(&mut filter, vec![meta("quota", None, "30", FIELD_MANAGER)]);
        let counted = with_subresource("quota", None, "31", "kube-controller-manager", Some("status"));
        assert!(changes(&mut filter, Event::Apply(counted)).is_empty());
        let scaled = with_subresource("quota", None, "32", "kube-controller-manager", Some("scale"));
        assert_eq!(
            changes(&mut filter, Event::Apply(scaled)),
            ["flux-system/quota changed"],
            "another subresource is a foreign edit"
        );
    }

    #[test]
    fn objects_missing_from_a_relist_were_deleted() {
        let mut filter = new_filter();
        let (a, b) = (
            meta("a", Some(1), "1", FIELD_MANAGER),
            meta("b", Some(1), "2", FIELD_MANAGER),
        );
        listed(&mut filter, vec![a.clone(), b]);
        assert_eq!(
            listed(&mut filter, vec![a]),
            ["flux-system/b deleted while the watch was down"]
        );
        assert_eq!(
            listed(&mut filter, vec![meta("c", Some(1), "3", "someone")]),
            [
                "flux-system/c created",
                "flux-system/a deleted while the watch was down"
            ]
        );
    }

    #[test]
    fn an_object_relabelled_out_of_the_selection_is_released_by_its_old_owner() {
        let mut filter = new_filter();
        listed(&mut filter, vec![meta("a", Some(1), "1", FIELD_MANAGER)]);
        let mut relabelled = meta("a", Some(1), "2", "kubectl-edit");
        relabelled.metadata.labels = None;
        let out = filter.on(Event::Delete(relabelled));
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0.name, "flux");
        assert_eq!(out[0].1.change, Change::Released);
        assert!(!out[0].1.change.triggers() && !out[0].1.change.is_deletion());
    }
}
