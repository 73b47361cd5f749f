//! The ResourceSetInputProvider reconciler (SPEC-resourceset §12.6): check the spec and
//! the schedule, ask the provider ([`fetch`]) within its timeout, merge `defaultValues`,
//! export, and wake up for the next period or schedule trigger. A type this
//! operator does not implement yet is Stalled, saying so.

use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::Event as FinalizerEvent;

use super::Context;
use super::frame::{counted_pass, patch_status, retry_later};
use super::resourceset::status::{Note, annotation_duration, emit, every, suspended};
use super::resourceset::{Error, Shared};
use crate::api::annotation::{RECONCILE_TIMEOUT, REQUESTED_AT};
use crate::api::reason::{
    INVALID_SCHEDULE, INVALID_SPEC, PROGRESSING, RECONCILIATION_FAILED, RECONCILIATION_SUCCEEDED,
};
use crate::api::{InputSet, ResourceSetInputProvider, ResourceSetInputProviderStatus, conditions};
use crate::resourceset::exported;
use crate::resourceset::schedule::Plan;

pub mod artifact;
pub mod fetch;
pub mod forge;
mod oci;
mod scheduling;
mod secrets;
mod service;
pub mod watch;

use fetch::FetchError;

/// The controller label of the provider's reconcile metrics.
pub const PROVIDER_CONTROLLER: &str = "resourcesetinputprovider";

/// The Warning event's reason when a filter field is read unlike upstream (§15).
const AMBIGUOUS_FILTER: &str = "AmbiguousFilter";

/// A provider call's bound without `fluxcd.controlplane.io/reconcileTimeout`.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(120);

pub async fn reconcile(obj: Arc<ResourceSetInputProvider>, shared: Arc<Shared>) -> Result<Action, Error> {
    let (client, queue) = (&shared.ctx.client, &shared.provider_queue);
    counted_pass(client, queue, &key_of(&obj), PROVIDER_CONTROLLER, obj, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => reconcile_provider(&obj, &shared).await,
            // The sets that read it are not touched: they see it gone and prune.
            FinalizerEvent::Cleanup(obj) => {
                shared.ctx.reset_failures(&key_of(&obj));
                Ok(Action::await_change())
            }
        }
    })
    .await
}

pub fn error_policy(obj: Arc<ResourceSetInputProvider>, error: &Error, shared: Arc<Shared>) -> Action {
    retry_later(&shared.ctx, PROVIDER_CONTROLLER, &key_of(&obj), error)
}

/// The provider's key in the retry bookkeeping and the workqueue metrics; the kind keeps
/// it apart from a ResourceSet or FluxInstance of the same name.
pub fn key_of(obj: &ResourceSetInputProvider) -> String {
    format!(
        "ResourceSetInputProvider/{}/{}",
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

async fn reconcile_provider(obj: &ResourceSetInputProvider, shared: &Shared) -> Result<Action, Error> {
    let started = Instant::now();
    let ctx = shared.ctx.as_ref();
    let mut status = obj.status.clone().unwrap_or_default();
    if obj.is_disabled() {
        return suspended(ctx, obj, status, |s| &mut s.conditions).await;
    }
    status.last_handled_reconcile_at = obj.annotations().get(REQUESTED_AT).cloned();
    let timeout = annotation_duration(obj.annotations(), RECONCILE_TIMEOUT, PROVIDER_TIMEOUT);
    let every = every(obj.annotations(), shared.settings.provider_every);
    let plan = match Plan::parse(&obj.spec.schedule, timeout) {
        Ok(plan) => plan,
        Err(problem) => return stall(ctx, obj, status, INVALID_SCHEDULE, &problem.to_string()).await,
    };
    if let Some(force) = scheduling::forced(obj, &status) {
        status.last_handled_force_at = Some(force);
    } else if !plan.allows(Timestamp::now(), timeout) {
        return scheduling::skipped(ctx, obj, status, &plan, every).await;
    }
    if let Err(problem) = fetch::check_spec(&obj.spec) {
        return stall(ctx, obj, status, INVALID_SPEC, &problem.to_string()).await;
    }
    for note in forge::filter_notes(obj.spec.type_, obj.spec.filter.as_ref()) {
        emit(ctx, obj, warning(AMBIGUOUS_FILTER, &note)).await;
    }
    if fetch::is_remote(obj.spec.type_) {
        let message = "Reconciliation in progress";
        let generation = obj.metadata.generation;
        conditions::progressing(&mut status.conditions, PROGRESSING, message, generation);
        patch_status(ctx, obj, &status).await.map_err(Error::Kube)?;
    }
    let call = fetch::Call {
        obj,
        client: &ctx.client,
        timeout,
        default_service_account: shared.settings.default_service_account.as_deref(),
    };
    let answer = match tokio::time::timeout(timeout, fetch::fetch(&call)).await {
        Ok(answer) => answer,
        Err(_) => Err(FetchError::failed(
            "provider call",
            format!("timed out after {timeout:?}"),
        )),
    };
    let sets = match answer {
        Ok(sets) => exported::with_defaults(sets, obj.spec.default_values.as_ref()),
        Err(FetchError::Invalid(problem)) => {
            return stall(ctx, obj, status, INVALID_SPEC, &problem.to_string()).await;
        }
        Err(failure) => return failed(ctx, obj, status, &failure).await,
    };
    let wake = plan.after_run(Timestamp::now(), timeout, every);
    status.next_schedule = wake.next;
    export(ctx, obj, status, sets, started).await?;
    Ok(Action::requeue(scheduling::until(Timestamp::now(), wake.at)))
}

/// Stores the sets and their revision, says Ready, and tells (notification-controller
/// only when the revision changed).
async fn export(
    ctx: &Context,
    obj: &ResourceSetInputProvider,
    mut status: ResourceSetInputProviderStatus,
    sets: Vec<InputSet>,
    started: Instant,
) -> Result<(), Error> {
    let revision = exported::revision(&sets);
    let changed = status.last_exported_revision.as_deref() != Some(revision.as_str());
    let elapsed = crate::report::rounded(started.elapsed());
    status.exported_inputs = sets;
    status.last_exported_revision = Some(revision.clone());
    let message = format!("Reconciliation finished in {elapsed}");
    let generation = obj.metadata.generation;
    conditions::succeeded(&mut status.conditions, RECONCILIATION_SUCCEEDED, &message, generation);
    patch_status(ctx, obj, &status).await.map_err(Error::Kube)?;
    let note = format!("{message}, revision {revision}");
    let event = Note {
        type_: EventType::Normal,
        reason: RECONCILIATION_SUCCEEDED,
        message: &note,
        revision: Some(&revision),
        forward: changed,
    };
    emit(ctx, obj, event).await;
    ctx.reset_failures(&key_of(obj));
    Ok(())
}

/// A spec the operator cannot act on: Stalled with `reason` until the spec changes.
async fn stall(
    ctx: &Context,
    obj: &ResourceSetInputProvider,
    mut status: ResourceSetInputProviderStatus,
    reason: &str,
    problem: &str,
) -> Result<Action, Error> {
    let generation = obj.metadata.generation;
    conditions::failed(&mut status.conditions, reason, problem, generation, true);
    patch_status(ctx, obj, &status).await.map_err(Error::Kube)?;
    emit(ctx, obj, warning(reason, problem)).await;
    Ok(Action::await_change())
}

/// A provider that could not be asked: Ready=False `ReconciliationFailed` naming the type
/// and the cause, the exported inputs kept, and a retry after the key's backoff.
async fn failed(
    ctx: &Context,
    obj: &ResourceSetInputProvider,
    mut status: ResourceSetInputProviderStatus,
    failure: &FetchError,
) -> Result<Action, Error> {
    let message = format!("{} provider failed: {failure}", fetch::type_name(obj.spec.type_));
    let generation = obj.metadata.generation;
    conditions::failed(
        &mut status.conditions,
        RECONCILIATION_FAILED,
        &message,
        generation,
        false,
    );
    patch_status(ctx, obj, &status).await.map_err(Error::Kube)?;
    emit(ctx, obj, warning(RECONCILIATION_FAILED, &message)).await;
    Ok(Action::requeue(ctx.next_retry_delay(&key_of(obj))))
}

fn warning<'a>(reason: &'a str, message: &'a str) -> Note<'a> {
    Note {
        type_: EventType::Warning,
        reason,
        message,
        revision: None,
        forward: true,
    }
}
