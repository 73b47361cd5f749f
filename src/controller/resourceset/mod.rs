//! The ResourceSet reconciler (SPEC-resourceset §11): the phases (dependencies ->
//! progress -> inputs -> build -> apply per step -> garbage collection -> wait), then one
//! [`finish::finish`] that writes conditions, history, status and events for whatever the
//! phases returned. The provider reconciler and the controllers' wiring share this module's
//! [`Shared`] state and [`status`] helpers.

mod controllers;
mod deletion;
mod dependencies;
mod finish;
mod gc;
pub(crate) mod impersonation;
mod info;
mod inputs;
mod outcome;
mod phases;
mod recreate;
mod settings;
mod shared;
mod sources;
mod stages;
pub(crate) mod status;

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::Event as FinalizerEvent;
use kube::runtime::reflector::ObjectRef;
use kube::{Client, ResourceExt};

use crate::api::annotation::{RECONCILE_TIMEOUT, REQUESTED_AT};
use crate::api::{ResourceSet, ResourceSetStatus};
use crate::apply::{Applier, ApplyOptions, ChangeSet, Owner, PruneMarker, PruneResult};
use crate::controller::frame::{counted_pass, retry_later};
use crate::resourceset::build::{Build, OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL};

pub use crate::controller::Error;
pub use controllers::spawn;
pub use outcome::Cause;
pub use shared::Shared;

use status::{Note, annotation_duration, emit};

/// The controller label of the ResourceSet's reconcile metrics.
pub const SET_CONTROLLER: &str = "resourceset";

pub async fn reconcile(obj: Arc<ResourceSet>, shared: Arc<Shared>) -> Result<Action, Error> {
    let (client, queue) = (&shared.ctx.client, &shared.set_queue);
    counted_pass(client, queue, &key(&obj), SET_CONTROLLER, obj, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => reconcile_set(&obj, &shared).await,
            FinalizerEvent::Cleanup(obj) => deletion::cleanup(&obj, &shared).await,
        }
    })
    .await
}

pub fn error_policy(obj: Arc<ResourceSet>, error: &Error, shared: Arc<Shared>) -> Action {
    retry_later(&shared.ctx, SET_CONTROLLER, &key(&obj), error)
}

/// The set's key in the retry bookkeeping and the workqueue metrics; the kind keeps it
/// apart from a FluxInstance or provider of the same name.
pub fn key(obj: &ResourceSet) -> String {
    set_key(&obj.namespace().unwrap_or_default(), &obj.name_any())
}

/// [`key`] of the set `set` names.
pub fn ref_key(set: &ObjectRef<ResourceSet>) -> String {
    set_key(set.namespace.as_deref().unwrap_or_default(), &set.name)
}

fn set_key(namespace: &str, name: &str) -> String {
    format!("ResourceSet/{namespace}/{name}")
}

/// The set as the owner of what it applies: the labels its build puts on every object.
pub fn owner(obj: &ResourceSet) -> Owner {
    Owner {
        name_label: OWNER_NAME_LABEL,
        namespace_label: OWNER_NAMESPACE_LABEL,
        name: obj.name_any(),
        namespace: obj.namespace().unwrap_or_default(),
        prune_marker: PruneMarker::AnnotationOrLabelAnyCase,
    }
}

/// One pass over a set that is not being deleted.
async fn reconcile_set(obj: &ResourceSet, shared: &Shared) -> Result<Action, Error> {
    if obj.is_disabled() {
        let status = obj.status.clone().unwrap_or_default();
        return status::suspended(&shared.ctx, obj, status, |s| &mut s.conditions).await;
    }
    let mut run = Run::new(obj, shared);
    let result = phases(&mut run).await;
    finish::finish(&mut run, result).await
}

/// What the phases hand to [`finish::finish`] when all of them succeeded.
struct Done {
    /// What the final step changed.
    changes: ChangeSet,
    pruned: PruneResult,
}

async fn phases(run: &mut Run<'_>) -> Result<Done, Cause> {
    dependencies::check(run).await?;
    run.progress("Reconciliation in progress").await?;
    run.shared.triggers.clear(&key(run.obj));
    let inputs = inputs::compute(run.obj, &run.shared.providers).await?;
    run.inputs = inputs.len();
    let built = phases::build(run, &inputs).await?;
    let changes = phases::apply_steps(run, &built).await?;
    let pruned = phases::collect_garbage(run, &built).await?;
    phases::wait(run, &built).await?;
    Ok(Done { changes, pruned })
}

/// One reconcile of one set: what it started from and what it has found so far.
struct Run<'a> {
    obj: &'a ResourceSet,
    shared: &'a Shared,
    /// Applies, prunes, checks health and reads config sources: the operator's client,
    /// or one acting as the set's ServiceAccount.
    client: Client,
    started: Instant,
    generation: Option<i64>,
    /// The status as read; the finish writes `status`.
    old: ResourceSetStatus,
    status: ResourceSetStatus,
    every: Duration,
    timeout: Duration,
    /// The digest of the built objects, once built.
    revision: Option<String>,
    /// How many input sets, objects and steps the build had, for the history.
    inputs: usize,
    resources: usize,
    steps: Option<usize>,
    /// The managed watches' epoch of this set before its apply (see `settled`).
    epoch: u64,
}

impl<'a> Run<'a> {
    fn new(obj: &'a ResourceSet, shared: &'a Shared) -> Self {
        let old = obj.status.clone().unwrap_or_default();
        let settings = &shared.settings;
        let client = match service_account(obj, settings) {
            Some(sa) => {
                impersonation::as_service_account(&shared.ctx.client, &obj.namespace().unwrap_or_default(), &sa)
                    // An unusable name still must not run with the operator's rights.
                    .unwrap_or_else(|| impersonation::nobody(&shared.ctx.client))
            }
            None => shared.ctx.client.clone(),
        };
        Self {
            obj,
            shared,
            client,
            started: Instant::now(),
            generation: obj.metadata.generation,
            status: old.clone(),
            old,
            every: status::every(obj.annotations(), settings.set_every),
            timeout: annotation_duration(obj.annotations(), RECONCILE_TIMEOUT, settings.set_timeout),
            revision: None,
            inputs: 0,
            resources: 0,
            steps: None,
            epoch: 0,
        }
    }

    fn apply_options(&self) -> ApplyOptions {
        ApplyOptions {
            owner: owner(self.obj),
            extra_takeover_managers: self.shared.ctx.config.override_managers.clone(),
            deletions: Some(self.shared.watches.expected_deletions()),
        }
    }

    /// A generation or reconcile request not handled yet.
    fn new_request(&self) -> bool {
        let ready = crate::api::conditions::get(&self.old.conditions, crate::api::condition_type::READY);
        ready.and_then(|c| c.observed_generation) != self.generation
            || self.old.last_handled_reconcile_at != self.requested_at()
    }

    fn requested_at(&self) -> Option<String> {
        self.obj.annotations().get(REQUESTED_AT).cloned()
    }

    /// What makes a health check of this reconcile moot, if anything: a newer generation
    /// or other annotations of the set in the store (or none at all), or a provider change
    /// since the inputs were read.
    fn superseded(&self) -> Option<String> {
        let changed = match self.shared.sets.get(&ObjectRef::from_obj(self.obj)) {
            Some(live) => {
                super::gate::fingerprint(live.as_ref()) != super::gate::fingerprint(self.obj)
                    || live.metadata.deletion_timestamp.is_some()
            }
            None => true,
        };
        if changed {
            return Some(self.object_name());
        }
        self.shared.triggers.get(&key(self.obj))
    }

    /// Ready=Unknown and Reconciling=True with `message`, written at once.
    async fn progress(&mut self, message: &str) -> Result<(), Cause> {
        let reason = crate::api::reason::PROGRESSING;
        crate::api::conditions::progressing(&mut self.status.conditions, reason, message, self.generation);
        self.write_status().await.map_err(Cause::Kube)
    }

    async fn write_status(&self) -> Result<(), kube::Error> {
        crate::controller::frame::patch_status(&self.shared.ctx, self.obj, &self.status).await
    }

    async fn event(&self, type_: EventType, reason: &str, message: &str, forward: bool) {
        let note = Note {
            type_,
            reason,
            message,
            revision: self.revision.as_deref(),
            forward,
        };
        emit(&self.shared.ctx, self.obj, note).await;
    }

    /// `ResourceSet/<namespace>/<name>`, as messages name it.
    fn object_name(&self) -> String {
        key(self.obj)
    }
}

/// The ServiceAccount a set acts as: its own, else the operator's default, if any.
fn service_account(obj: &ResourceSet, settings: &settings::Settings) -> Option<String> {
    obj.spec
        .service_account_name
        .clone()
        .or_else(|| settings.default_service_account.clone())
}

/// An applier of `client` for `options` (borrowing a client of its own and the shared
/// state, not the run, which the phases keep changing while they apply).
fn applier<'o>(client: &'o Client, shared: &'o Shared, options: &'o ApplyOptions) -> Applier<'o> {
    Applier {
        client,
        discovery: &shared.ctx.discovery,
        options,
    }
}

/// The objects of a build with their identities, in step order.
fn all_ids(built: &Build) -> Vec<crate::apply::ObjectId> {
    built
        .objects()
        .filter_map(crate::apply::ObjectId::from_object)
        .collect()
}
