//! Watches of every kind the operator applies, selected by the owner labels, so that a
//! deleted or edited managed object is put back within a second instead of at the next
//! periodic reconcile (a deleted Deployment took 69-174 s, a deleted CRD was never put back).
//!
//! The kinds come from what a reconcile applied: a watch starts the first time a kind is
//! applied, which also covers the kinds of Flux's own CRDs (the sync objects) once those
//! CRDs exist. The watches are metadata-only: a change worth a reconcile shows in the
//! metadata (generation, labels, annotations, resourceVersion, deletion).
//!
//! The triggers go through the controller's queue like any other, so the gate still holds
//! a failed instance until its retry and a Stalled one until its spec changes.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind, PartialObjectMeta};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::{self, Event};
use kube::{Client, ResourceExt};

use crate::api::FluxInstance;
use crate::apply::{Discovery, FIELD_MANAGER, ObjectId};
use crate::build::{OWNER_NAME as OWNER_NAME_LABEL, OWNER_NAMESPACE as OWNER_NAMESPACE_LABEL};

type Meta = PartialObjectMeta<DynamicObject>;

/// The running watches, one per kind; all stop when this is dropped.
pub struct ManagedWatches {
    client: Client,
    selector: String,
    trigger: mpsc::Sender<ObjectRef<FluxInstance>>,
    watched: Mutex<HashMap<GroupVersionKind, Watch>>,
    /// Moves on every change the watches report, every watch error and every re-list: a
    /// reconcile that saw the same epoch before and after its apply knows that nothing
    /// managed has changed since (see [`ManagedWatches::epoch`]).
    epoch: Arc<AtomicU64>,
    /// Moves on every deletion of a managed object the watches see: a reconcile waiting for
    /// health restarts to put the object back instead of waiting for it until its timeout.
    deletions: Arc<AtomicU64>,
    /// Counts every event of every watched object, status updates included: a readiness
    /// wait looks again when it moves.
    activity: Arc<tokio::sync::watch::Sender<u64>>,
}

struct Watch {
    task: tokio::task::JoinHandle<()>,
    /// Its first list is done: from then on no change goes unseen.
    listed: Arc<AtomicBool>,
}

impl ManagedWatches {
    /// Watches with `client` (one without a read timeout: watch streams idle for minutes)
    /// the objects owned by instances of `owner_namespace`; the stream yields the instances
    /// to reconcile.
    pub fn new(client: Client, owner_namespace: &str) -> (Self, mpsc::Receiver<ObjectRef<FluxInstance>>) {
        // Bounded: a burst (a deleted namespace) waits for the controller instead of
        // growing a queue; the controller deduplicates the triggers anyway.
        let (trigger, triggers) = mpsc::channel(64);
        let watches = Self {
            client,
            selector: format!("{OWNER_NAME_LABEL},{OWNER_NAMESPACE_LABEL}={owner_namespace}"),
            trigger,
            watched: Mutex::default(),
            epoch: Arc::default(),
            deletions: Arc::default(),
            activity: Arc::new(tokio::sync::watch::Sender::new(0)),
        };
        (watches, triggers)
    }

    /// Starts a watch for each kind of `objects` not watched yet. A kind that cannot be
    /// resolved is tried again by the next reconcile.
    pub async fn ensure(&self, discovery: &Discovery, client: &Client, objects: &[ObjectId]) {
        let mut kinds: Vec<&ObjectId> = Vec::new();
        for object in objects {
            let gvk = gvk(object);
            if !self.lock().contains_key(&gvk) && !kinds.iter().any(|k| gvk == self::gvk(k)) {
                kinds.push(object);
            }
        }
        for object in kinds {
            match discovery.resolve(client, object).await {
                Ok((resource, _)) => self.start(gvk(object), resource),
                Err(error) => tracing::debug!(kind = object.kind, %error, "cannot watch the kind yet"),
            }
        }
    }

    fn start(&self, gvk: GroupVersionKind, resource: ApiResource) {
        let api: Api<Meta> = Api::all_with(self.client.clone(), &resource);
        let config = watcher::Config::default().labels(&self.selector);
        let events = watcher::watcher(api, config).default_backoff();
        let listed = Arc::new(AtomicBool::new(false));
        let seen = Seen {
            epoch: self.epoch.clone(),
            deletions: self.deletions.clone(),
            activity: self.activity.clone(),
            listed: listed.clone(),
        };
        let task = tokio::spawn(forward(events, self.trigger.clone(), resource.kind.clone(), seen));
        tracing::debug!(kind = resource.kind, group = resource.group, "watching managed objects");
        self.lock().insert(gvk, Watch { task, listed });
    }

    /// The change epoch: equal at two moments only if no watched object changed between them
    /// (as far as the watches know) and no watch failed or re-listed.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::SeqCst)
    }

    /// The deletion count: equal at two moments only if no watched object was deleted
    /// between them (as far as the watches know).
    pub fn deletions(&self) -> u64 {
        self.deletions.load(Ordering::SeqCst)
    }

    /// Moves on every event of a watched object, status updates included.
    pub fn activity(&self) -> tokio::sync::watch::Receiver<u64> {
        self.activity.subscribe()
    }

    /// Whether every kind of `objects` is watched and listed, so that a change of any of
    /// them would move the epoch.
    pub fn all_watched(&self, objects: &[ObjectId]) -> bool {
        let watched = self.lock();
        objects.iter().all(|o| {
            watched
                .get(&gvk(o))
                .is_some_and(|w| w.listed.load(Ordering::SeqCst) && !w.task.is_finished())
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<GroupVersionKind, Watch>> {
        self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for ManagedWatches {
    fn drop(&mut self) {
        for watch in self.lock().values() {
            watch.task.abort();
        }
    }
}

/// What a watch tells the reconciler besides its triggers.
struct Seen {
    epoch: Arc<AtomicU64>,
    deletions: Arc<AtomicU64>,
    activity: Arc<tokio::sync::watch::Sender<u64>>,
    listed: Arc<AtomicBool>,
}

impl Seen {
    fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::SeqCst);
    }
}

fn gvk(object: &ObjectId) -> GroupVersionKind {
    GroupVersionKind::gvk(&object.group, &object.version, &object.kind)
}

async fn forward(
    events: impl Stream<Item = Result<Event<Meta>, watcher::Error>>,
    mut trigger: mpsc::Sender<ObjectRef<FluxInstance>>,
    kind: String,
    seen: Seen,
) {
    let mut filter = ChangeFilter::default();
    let mut events = std::pin::pin!(events);
    while let Some(event) = events.next().await {
        match event {
            Ok(event) => {
                if matches!(event, Event::Apply(_) | Event::Delete(_)) {
                    seen.activity.send_modify(|n| *n = n.wrapping_add(1));
                }
                // A re-list may hide changes made while the watch was down.
                if matches!(event, Event::Init) && filter.listed_once {
                    seen.changed();
                }
                let done = matches!(event, Event::InitDone);
                let triggers = filter.on(event);
                if done {
                    seen.listed.store(true, Ordering::SeqCst);
                }
                if !triggers.is_empty() {
                    seen.changed();
                }
                if triggers.iter().any(|(_, why)| why.change.starts_with("deleted")) {
                    seen.deletions.fetch_add(1, Ordering::SeqCst);
                }
                for (owner, why) in triggers {
                    tracing::debug!(kind, object = why.object, change = why.change, "managed object changed");
                    if trigger.send(owner).await.is_err() {
                        return;
                    }
                }
            }
            // A deleted CRD ends the watches of its kind until it is back; the watcher
            // retries with backoff.
            Err(error) => {
                seen.changed();
                tracing::debug!(kind, %error, "watch of managed objects");
            }
        }
    }
}

/// Why a trigger was sent, for the debug log.
#[derive(Debug, PartialEq, Eq)]
struct Why {
    object: String,
    change: &'static str,
}

/// Turns watch events into the instances to reconcile: deletions always, other events only
/// when the object's fingerprint changed by another writer than the operator.
#[derive(Default)]
struct ChangeFilter {
    /// Fingerprint and owner of every object seen, by `namespace/name`.
    seen: HashMap<String, (u64, Option<ObjectRef<FluxInstance>>)>,
    /// The objects of the list in progress (between `Init` and `InitDone`).
    listing: Option<HashSet<String>>,
    /// The first list only records what exists: the reconcile that started the watch has
    /// just applied it.
    listed_once: bool,
}

impl ChangeFilter {
    fn on(&mut self, event: Event<Meta>) -> Vec<(ObjectRef<FluxInstance>, Why)> {
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
                self.seen.remove(&object_key(&obj));
                owner_of(&obj)
                    .map(|owner| (owner, why(&obj, "deleted")))
                    .into_iter()
                    .collect()
            }
        }
    }

    /// Objects that were gone when the watch was re-listed were deleted in the gap.
    fn list_done(&mut self) -> Vec<(ObjectRef<FluxInstance>, Why)> {
        let listed = self.listing.take().unwrap_or_default();
        let first = !std::mem::replace(&mut self.listed_once, true);
        let gone: Vec<String> = self.seen.keys().filter(|k| !listed.contains(*k)).cloned().collect();
        let mut triggers = Vec::new();
        for key in gone {
            if let Some((_, Some(owner))) = self.seen.remove(&key)
                && !first
            {
                let change = "deleted while the watch was down";
                triggers.push((owner, Why { object: key, change }));
            }
        }
        triggers
    }

    fn applied(&mut self, obj: &Meta) -> Option<(ObjectRef<FluxInstance>, Why)> {
        let fingerprint = fingerprint(obj);
        let owner = owner_of(obj);
        let before = self.seen.insert(object_key(obj), (fingerprint, owner.clone()));
        if before.as_ref().is_some_and(|(f, _)| *f == fingerprint) || newest_write_needs_no_look(obj) {
            return None;
        }
        let change = if before.is_none() { "created" } else { "changed" };
        owner.map(|owner| (owner, why(obj, change)))
    }
}

fn why(obj: &Meta, change: &'static str) -> Why {
    Why {
        object: object_key(obj),
        change,
    }
}

fn object_key(obj: &Meta) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
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

/// The FluxInstance that owns a managed object, from its owner labels.
fn owner_of(obj: &Meta) -> Option<ObjectRef<FluxInstance>> {
    let labels = obj.labels();
    let name = labels.get(OWNER_NAME_LABEL)?;
    let namespace = labels.get(OWNER_NAMESPACE_LABEL)?;
    Some(ObjectRef::new(name).within(namespace))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    fn listed(filter: &mut ChangeFilter, objects: Vec<Meta>) -> Vec<String> {
        let mut out = filter.on(Event::Init);
        for obj in objects {
            out.extend(filter.on(Event::InitApply(obj)));
        }
        out.extend(filter.on(Event::InitDone));
        out.into_iter()
            .map(|(_, why)| format!("{} {}", why.object, why.change))
            .collect()
    }

    fn changes(filter: &mut ChangeFilter, event: Event<Meta>) -> Vec<String> {
        let out = filter.on(event);
        assert!(out.iter().all(|(owner, _)| owner.name == "flux"));
        out.into_iter()
            .map(|(_, why)| format!("{} {}", why.object, why.change))
            .collect()
    }

    #[test]
    fn deletions_always_trigger_and_status_churn_never() {
        let mut filter = ChangeFilter::default();
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
        let mut filter = ChangeFilter::default();
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
        let mut filter = ChangeFilter::default();
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
        let mut filter = ChangeFilter::default();
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
}
