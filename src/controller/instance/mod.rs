//! The FluxInstance reconciler: a gate, then the phases (fetch -> resolve -> build ->
//! announce -> apply and prune -> wait -> migrate), then one [`finish::finish`] that
//! writes conditions, history, status and events for whatever the phases returned.

mod finish;
mod outcome;
mod phases;

use std::sync::Arc;
use std::time::Instant;

use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::Event as FinalizerEvent;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};

use super::context::Context;
use super::error::Error;
use super::events::publish;
use super::frame::{patch_status, with_finalizer};
use super::gate;
use super::timing::Timing;
use super::uninstall;
use crate::api::annotation::{FORCE_AT, REQUESTED_AT};
use crate::api::condition_type::READY;
use crate::api::{FluxInstance, FluxInstanceStatus, SINGLETON_NAME, conditions};
use crate::apply::{ApplyOptions, ChangeSet, Owner, PruneMarker, PruneResult};
use crate::build::Build;
use crate::metrics::ReconcileResult;
use crate::notifier::FluxEvent;

pub(crate) use finish::format_duration;
use outcome::PhaseError;

/// The controller label of the instance's reconcile metrics.
pub const INSTANCE_CONTROLLER: &str = "fluxinstance";

pub async fn reconcile(instance: Arc<FluxInstance>, ctx: Arc<Context>) -> Result<Action, Error> {
    let work = ctx.instance_queue.start(&key(&instance));
    let namespace = instance.namespace().unwrap_or_default();
    // Only the singleton in the operator's own namespace is ours; the CRD's CEL rule
    // already refuses other names, the watch other namespaces.
    if instance.name_any() != SINGLETON_NAME || namespace != ctx.config.runtime_namespace {
        work.finish(ReconcileResult::Success);
        return Ok(Action::await_change());
    }
    let api: Api<FluxInstance> = Api::namespaced(ctx.client.clone(), &namespace);
    let deleting = instance.metadata.deletion_timestamp.is_some();
    let result = with_finalizer(&api, INSTANCE_CONTROLLER, instance, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => reconcile_instance(&obj, &ctx).await,
            FinalizerEvent::Cleanup(obj) => uninstall::cleanup(&obj, &ctx).await,
        }
    })
    .await;
    work.finish(ReconcileResult::of(&result));
    crate::memory::release_freed();
    // A failure or an uninstall changes what the report says; a success that changed
    // something wrote status, which already woke the report.
    if result.is_err() || deleting {
        ctx.report_notify.notify_one();
    }
    result
}

pub fn error_policy(instance: Arc<FluxInstance>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = key(&instance);
    let delay = ctx.next_retry_delay(&key);
    // Until then, events of the managed objects do not cut the backoff short.
    ctx.gates.hold(&key, gate::fingerprint(instance.as_ref()), Some(delay));
    tracing::warn!(
        controller = INSTANCE_CONTROLLER,
        namespace = instance.namespace(),
        name = instance.name_any(),
        server = ctx.config.api_server.as_deref(),
        retry_in_ms = delay.as_millis() as u64,
        %error,
        "reconciliation failed"
    );
    Action::requeue(delay)
}

/// `namespace/name`: the object's key in the retry bookkeeping and the workqueue metrics.
pub(crate) fn key(instance: &FluxInstance) -> String {
    format!("{}/{}", instance.namespace().unwrap_or_default(), instance.name_any())
}

/// The instance as the owner of what it applies: the labels its build puts on every object.
pub(crate) fn owner(instance: &FluxInstance) -> Owner {
    Owner {
        name_label: crate::build::OWNER_NAME,
        namespace_label: crate::build::OWNER_NAMESPACE,
        name: instance.name_any(),
        namespace: instance.namespace().unwrap_or_default(),
        prune_marker: PruneMarker::Annotation,
    }
}

/// One pass over an instance that is not being deleted.
async fn reconcile_instance(obj: &FluxInstance, ctx: &Context) -> Result<Action, Error> {
    let mut run = Run::new(obj, ctx);
    if obj.is_disabled() {
        run.event(
            EventType::Normal,
            crate::api::reason::RECONCILIATION_DISABLED,
            "Reconciliation is disabled",
        )
        .await;
        // The report counts suspended instances.
        ctx.report_notify.notify_one();
        return Ok(Action::await_change());
    }
    if let Some(action) = ctx.gates.check(&key(obj), gate::fingerprint(obj)) {
        return Ok(action);
    }
    let result = phases(&mut run).await;
    finish::finish(&mut run, result).await
}

/// What the phases hand to [`finish::finish`] when all of them succeeded.
struct Done {
    built: Build,
    changes: ChangeSet,
    pruned: PruneResult,
}

async fn phases(run: &mut Run<'_>) -> Result<Done, PhaseError> {
    run.timing = Timing::from_annotations(run.obj.annotations())?;
    let source = phases::fetch(run).await?;
    let version = phases::resolve(run, &source)?;
    let built = phases::build(run, &source, &version).await?;
    phases::announce(run, &source, &built).await?;
    let (changes, pruned) = phases::apply(run, &built).await?;
    phases::wait(run, &built).await?;
    phases::migrate(run, &built).await?;
    Ok(Done { built, changes, pruned })
}

/// One reconcile of one instance: what it started from and what it has found so far.
struct Run<'a> {
    obj: &'a FluxInstance,
    ctx: &'a Context,
    started: Instant,
    namespace: String,
    generation: Option<i64>,
    /// The status as read; written back only where `status` differs.
    old: FluxInstanceStatus,
    status: FluxInstanceStatus,
    timing: Timing,
    requested_at: Option<String>,
    force_at: Option<String>,
    /// The revision events are about: the one being reconciled, once built.
    revision: Option<String>,
    /// A new revision, spec or request: worth a progress report, a history entry, events.
    is_new: bool,
    /// The managed watches' epoch before the apply (see `settled`).
    epoch: u64,
    /// The managed watches' deletion count before the apply.
    deletions: u64,
    /// The revision was applied before and nothing managed changed since: apply, prune and
    /// migration had nothing to do.
    settled: bool,
}

impl<'a> Run<'a> {
    fn new(obj: &'a FluxInstance, ctx: &'a Context) -> Self {
        let old = obj.status.clone().unwrap_or_default();
        Self {
            obj,
            ctx,
            started: Instant::now(),
            namespace: obj.namespace().unwrap_or_default(),
            generation: obj.metadata.generation,
            revision: old.last_attempted_revision.clone(),
            status: old.clone(),
            old,
            timing: Timing::default(),
            requested_at: obj.annotations().get(REQUESTED_AT).cloned(),
            force_at: obj.annotations().get(FORCE_AT).cloned(),
            is_new: false,
            epoch: 0,
            deletions: 0,
            settled: false,
        }
    }

    /// The owner (whose labels select what prune and the readiness LISTs may see) and the
    /// field managers taken over, for every apply, prune and wait of this run.
    fn apply_options(&self) -> ApplyOptions {
        ApplyOptions {
            owner: owner(self.obj),
            extra_takeover_managers: self.ctx.config.override_managers.clone(),
            deletions: Some(self.ctx.watches.expected_deletions()),
        }
    }

    /// A generation, reconcile request or force request not handled yet.
    fn new_request(&self) -> bool {
        conditions::get(&self.old.conditions, READY).and_then(|c| c.observed_generation) != self.generation
            || self.old.last_handled_reconcile_at != self.requested_at
            || (self.force_at.is_some() && self.old.last_handled_force_at != self.force_at)
    }

    /// Whether a managed object was deleted since the apply.
    fn lost_object(&self) -> bool {
        self.ctx.watches.deletions(&ObjectRef::from_obj(self.obj)) != self.deletions
    }

    /// Whether the store holds a newer generation of the instance, or none at all.
    fn superseded(&self) -> bool {
        let current = self.ctx.instances.get(&ObjectRef::from_obj(self.obj));
        match current {
            Some(live) => live.metadata.generation != self.generation || live.metadata.deletion_timestamp.is_some(),
            None => true,
        }
    }

    async fn event(&self, type_: EventType, reason: &str, note: &str) {
        let object = self.obj.object_ref(&());
        publish(&self.ctx.recorder, &object, type_, reason, note).await;
        self.ctx.notifier.send(&FluxEvent {
            object,
            warning: type_ == EventType::Warning,
            reason: reason.to_owned(),
            message: note.to_owned(),
            revision: self.revision.clone(),
            token: self.generation.map(|g| g.to_string()),
        });
    }

    /// The only status write of the reconciler: the progress report and the finish.
    async fn write_status(&self) -> Result<(), kube::Error> {
        patch_status(self.ctx, self.obj, &self.status).await?;
        // What the instance says changed: the report follows.
        self.ctx.report_notify.notify_one();
        Ok(())
    }
}
