//! The ResourceSetInputProvider reconciler (SPEC-resourceset §12.6). Only the Static type
//! exports inputs so far; every other type is Stalled, saying so, until this operator
//! implements it.

use std::sync::Arc;
use std::time::Instant;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::Event as FinalizerEvent;

use super::frame::{counted_pass, patch_status, retry_later};
use super::resourceset::status::{Note, emit, every, suspended};
use super::resourceset::{Error, Shared};
use crate::api::annotation::REQUESTED_AT;
use crate::api::reason::{INVALID_SPEC, RECONCILIATION_SUCCEEDED};
use crate::api::{ProviderType, ResourceSetInputProvider, ResourceSetInputProviderSpec, conditions};
use crate::resourceset::exported;

/// The controller label of the provider's reconcile metrics.
pub const PROVIDER_CONTROLLER: &str = "resourcesetinputprovider";

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
    let generation = obj.metadata.generation;
    if obj.is_disabled() {
        return suspended(ctx, obj, status, |s| &mut s.conditions).await;
    }
    status.last_handled_reconcile_at = obj.annotations().get(REQUESTED_AT).cloned();
    if let Err(problem) = check_spec(&obj.spec) {
        let problem = problem.to_string();
        conditions::failed(&mut status.conditions, INVALID_SPEC, &problem, generation, true);
        patch_status(ctx, obj, &status).await.map_err(Error::Kube)?;
        emit(ctx, obj, warning(INVALID_SPEC, &problem)).await;
        return Ok(Action::await_change());
    }
    let sets = exported::static_inputs(&obj.uid().unwrap_or_default(), obj.spec.default_values.as_ref());
    let revision = exported::revision(&sets);
    let changed = status.last_exported_revision.as_deref() != Some(revision.as_str());
    let elapsed = crate::report::rounded(started.elapsed());
    status.exported_inputs = sets;
    status.last_exported_revision = Some(revision.clone());
    let message = format!("Reconciliation finished in {elapsed}");
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
    let every = every(obj.annotations(), shared.settings.provider_every);
    Ok(Action::requeue(every))
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

/// What this operator cannot act on yet.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
enum Unsupported {
    #[error("spec.type: type {0} is not supported by this operator yet")]
    Type(String),
    #[error("spec.schedule: schedules are not supported by this operator yet")]
    Schedule,
}

/// A type other than Static, a schedule.
fn check_spec(spec: &ResourceSetInputProviderSpec) -> Result<(), Unsupported> {
    if spec.type_ != ProviderType::Static {
        let name = serde_json::to_value(spec.type_).unwrap_or_default();
        return Err(Unsupported::Type(name.as_str().unwrap_or_default().to_owned()));
    }
    if !spec.schedule.is_empty() {
        return Err(Unsupported::Schedule);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(value: serde_json::Value) -> ResourceSetInputProviderSpec {
        serde_json::from_value(value).expect("spec")
    }

    #[test]
    fn only_static_without_schedule_is_supported() {
        assert_eq!(check_spec(&spec(serde_json::json!({"type": "Static"}))), Ok(()));
        let github = spec(serde_json::json!({"type": "GitHubBranch", "url": "https://github.com/o/r"}));
        assert_eq!(
            check_spec(&github).unwrap_err().to_string(),
            "spec.type: type GitHubBranch is not supported by this operator yet"
        );
        let scheduled = spec(serde_json::json!({"type": "Static", "schedule": [{"cron": "@daily"}]}));
        assert_eq!(check_spec(&scheduled), Err(Unsupported::Schedule));
    }
}
