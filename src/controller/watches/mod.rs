//! Watches of every kind an owner (a FluxInstance, a ResourceSet) applies, selected by
//! the owner labels, so that a deleted or edited managed object is put back within a
//! second instead of at the next periodic reconcile (a deleted Deployment took 69-174 s,
//! a deleted CRD was never put back).
//!
//! The kinds come from what a reconcile applied: a watch starts the first time a kind is
//! applied, which also covers the kinds of Flux's own CRDs (the sync objects) once those
//! CRDs exist. The watches are metadata-only: a change worth a reconcile shows in the
//! metadata (generation, labels, annotations, resourceVersion, deletion). Deletions the
//! operator announced ([`ExpectedDeletions`]: prune, recreate) are not changes.
//!
//! The triggers go through the controller's queue like any other, so the gate still holds
//! a failed owner until its retry and a Stalled one until its spec changes.

mod counters;
mod filter;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc;
use futures::{SinkExt, Stream, StreamExt};
use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource};

use crate::apply::{Discovery, ExpectedDeletions, ObjectId};
use counters::Counters;
use filter::{Change, ChangeFilter, Meta, Why};

pub use filter::OwnerLabels;

/// A managed object changed: its owner, the object as `Kind/namespace/name`, and whether
/// it is gone.
pub struct Trigger<K: Resource<DynamicType = ()>> {
    pub owner: ObjectRef<K>,
    pub by: String,
    pub deleted: bool,
}

/// The running watches, one per kind; all stop when this is dropped.
pub struct ManagedWatches<K: Resource<DynamicType = ()>> {
    client: Client,
    labels: OwnerLabels,
    selector: String,
    trigger: mpsc::Sender<Trigger<K>>,
    watched: Mutex<HashMap<GroupVersionKind, Watch>>,
    counters: Arc<Counters<K>>,
    expected: Arc<ExpectedDeletions>,
}

struct Watch {
    task: tokio::task::JoinHandle<()>,
    /// Its first list is done: from then on no change goes unseen.
    listed: Arc<AtomicBool>,
}

impl<K> ManagedWatches<K>
where
    K: Resource<DynamicType = ()> + Send + Sync + 'static,
{
    /// Watches with `client` (one without a read timeout: watch streams idle for minutes)
    /// the objects carrying both owner `labels`, the namespace label equal to
    /// `owner_namespace` when given; the stream yields the owners to reconcile.
    pub fn new(
        client: Client,
        labels: OwnerLabels,
        owner_namespace: Option<&str>,
    ) -> (Self, mpsc::Receiver<Trigger<K>>) {
        // Bounded: a burst (a deleted namespace) waits for the controller instead of
        // growing a queue; the controller deduplicates the triggers anyway.
        let (trigger, triggers) = mpsc::channel(64);
        let selector = match owner_namespace {
            Some(namespace) => format!("{},{}={namespace}", labels.name, labels.namespace),
            None => format!("{},{}", labels.name, labels.namespace),
        };
        let watches = Self {
            client,
            labels,
            selector,
            trigger,
            watched: Mutex::default(),
            counters: Arc::new(Counters::default()),
            expected: Arc::default(),
        };
        (watches, triggers)
    }

    /// Where appliers announce their own deletions (see [`crate::apply::ApplyOptions`]).
    pub fn expected_deletions(&self) -> Arc<ExpectedDeletions> {
        self.expected.clone()
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
        let forwarder = Forwarder {
            client: self.client.clone(),
            filter: ChangeFilter::new(self.labels),
            labels: self.labels,
            counters: self.counters.clone(),
            expected: self.expected.clone(),
            listed: listed.clone(),
            trigger: self.trigger.clone(),
            resource: resource.clone(),
        };
        let task = tokio::spawn(forwarder.run(events));
        tracing::debug!(kind = resource.kind, group = resource.group, "watching managed objects");
        self.lock().insert(gvk, Watch { task, listed });
    }

    /// The change epoch of `owner`: equal at two moments only if none of its watched
    /// objects changed between them (as far as the watches know) and no watch failed or
    /// re-listed.
    pub fn epoch(&self, owner: &ObjectRef<K>) -> u64 {
        self.counters.epoch(owner)
    }

    /// The deletion count of `owner`: equal at two moments only if none of its watched
    /// objects was deleted between them (as far as the watches know).
    pub fn deletions(&self, owner: &ObjectRef<K>) -> u64 {
        self.counters.deletions(owner)
    }

    /// Moves on every event of a watched object of `owner`, status updates included.
    pub fn activity(&self, owner: &ObjectRef<K>) -> tokio::sync::watch::Receiver<u64> {
        self.counters.activity(owner)
    }

    /// Drops what is kept for `owner`, which is gone.
    pub fn forget(&self, owner: &ObjectRef<K>) {
        self.counters.forget(owner);
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

impl<K: Resource<DynamicType = ()>> Drop for ManagedWatches<K> {
    fn drop(&mut self) {
        for watch in self.watched.lock().unwrap_or_else(|e| e.into_inner()).values() {
            watch.task.abort();
        }
    }
}

/// How long a watch waits for the look at an object it saw go.
const LOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn gvk(object: &ObjectId) -> GroupVersionKind {
    GroupVersionKind::gvk(&object.group, &object.version, &object.kind)
}

/// One kind's watch events, turned into triggers and counts.
struct Forwarder<K: Resource<DynamicType = ()>> {
    client: Client,
    filter: ChangeFilter<K>,
    labels: OwnerLabels,
    counters: Arc<Counters<K>>,
    expected: Arc<ExpectedDeletions>,
    listed: Arc<AtomicBool>,
    trigger: mpsc::Sender<Trigger<K>>,
    resource: ApiResource,
}

impl<K: Resource<DynamicType = ()>> Forwarder<K> {
    async fn run(mut self, events: impl Stream<Item = Result<Event<Meta>, watcher::Error>>) {
        let mut events = std::pin::pin!(events);
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => {
                    if !self.on(event).await {
                        return;
                    }
                }
                // A deleted CRD ends the watches of its kind until it is back; the watcher
                // retries with backoff.
                Err(error) => {
                    self.counters.all_changed();
                    tracing::debug!(kind = self.resource.kind, %error, "watch of managed objects");
                }
            }
        }
    }

    /// False when nobody takes triggers any more.
    async fn on(&mut self, event: Event<Meta>) -> bool {
        if let Event::Apply(obj) | Event::Delete(obj) = &event
            && let Some(owner) = self.labels.owner_of::<K>(obj)
        {
            self.counters.active(&owner);
        }
        // A re-list may hide changes made while the watch was down.
        if matches!(event, Event::Init) && self.filter.listed_once() {
            self.counters.all_changed();
        }
        let done = matches!(event, Event::InitDone);
        let triggers = self.filter.on(event);
        if done {
            self.listed.store(true, Ordering::SeqCst);
        }
        for (owner, mut why) in triggers {
            if why.change.is_deletion() {
                if self.announced(&why) {
                    continue;
                }
                if self.released(&why).await {
                    why.change = Change::Released;
                }
            }
            let deleted = why.change.is_deletion();
            self.counters.changed(&owner, deleted);
            if !why.change.triggers() {
                continue;
            }
            let by = self.name(&why);
            tracing::debug!(object = by, change = %why.change, "managed object changed");
            if self.trigger.send(Trigger { owner, by, deleted }).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Whether an object the watch reports deleted is still there without its owner
    /// labels. An object that leaves the label selection is a deletion for the watch, and
    /// the API server's watch cache sends it with the labels it had: only a look tells.
    async fn released(&self, why: &Why) -> bool {
        let api: Api<DynamicObject> = if why.namespace.is_empty() {
            Api::all_with(self.client.clone(), &self.resource)
        } else {
            Api::namespaced_with(self.client.clone(), &why.namespace, &self.resource)
        };
        // The watch client has no read timeout; a deletion is assumed when no answer comes.
        let live = tokio::time::timeout(LOOK_TIMEOUT, api.get_metadata_opt(&why.name)).await;
        matches!(live, Ok(Ok(Some(live))) if self.labels.owner_of::<K>(&live).is_none())
    }

    fn announced(&self, why: &Why) -> bool {
        let ApiResource { group, kind, .. } = &self.resource;
        self.expected.take(group, kind, &why.namespace, &why.name)
    }

    /// `Kind/namespace/name`, or `Kind/name` for a cluster-scoped object.
    fn name(&self, why: &Why) -> String {
        let kind = &self.resource.kind;
        if why.namespace.is_empty() {
            format!("{kind}/{}", why.name)
        } else {
            format!("{kind}/{}/{}", why.namespace, why.name)
        }
    }
}
