//! The provider's schedule gate (SPEC-resourceset §12.5): a pass outside every window is
//! skipped until the next trigger, unless `forceAt` asks for a run.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::super::Context;
use super::super::frame::patch_status;
use super::super::resourceset::Error;
use super::super::resourceset::status::{Note, emit};
use crate::api::annotation::{FORCE_AT, REQUESTED_AT};
use crate::api::condition_type::STALLED;
use crate::api::reason::SKIPPED_DUE_TO_SCHEDULE;
use crate::api::{ResourceSetInputProvider, ResourceSetInputProviderStatus, conditions};
use crate::resourceset::schedule::Plan;

/// The `forceAt` value to handle now: equal to `requestedAt` and not handled yet.
pub fn forced(obj: &ResourceSetInputProvider, status: &ResourceSetInputProviderStatus) -> Option<String> {
    let force = obj.annotations().get(FORCE_AT)?;
    let requested = obj.annotations().get(REQUESTED_AT)?;
    (force == requested && status.last_handled_force_at.as_ref() != Some(force)).then(|| force.clone())
}

/// A pass outside the schedule: `nextSchedule` and a Normal event, the conditions as they
/// were (but a never-reconciled provider says Ready, and an old Stalled goes: the spec it
/// was about has changed), and a wake-up at the next trigger (`every` if there is none).
pub async fn skipped(
    ctx: &Context,
    obj: &ResourceSetInputProvider,
    mut status: ResourceSetInputProviderStatus,
    plan: &Plan,
    every: Duration,
) -> Result<Action, Error> {
    let now = Timestamp::now();
    let next = plan.next(now);
    let when = next.as_ref().map(|n| n.when.0);
    let message = match when {
        Some(when) => format!("Reconciliation skipped, next scheduled at {when}"),
        None => "Reconciliation skipped, no schedule triggers again".to_owned(),
    };
    status.next_schedule = next;
    if status.conditions.is_empty() {
        let generation = obj.metadata.generation;
        conditions::succeeded(&mut status.conditions, SKIPPED_DUE_TO_SCHEDULE, &message, generation);
    }
    conditions::remove(&mut status.conditions, STALLED);
    patch_status(ctx, obj, &status).await.map_err(Error::Kube)?;
    let note = Note {
        type_: EventType::Normal,
        reason: SKIPPED_DUE_TO_SCHEDULE,
        message: &message,
        revision: None,
        forward: true,
    };
    emit(ctx, obj, note).await;
    Ok(Action::requeue(when.map_or(every, |w| until(now, w))))
}

/// From `now` to `when`, at least a second: a wake-up a hair early would find the
/// trigger not yet passed and skip again.
pub fn until(now: Timestamp, when: Timestamp) -> Duration {
    let left = Duration::try_from(when.duration_since(now)).unwrap_or_default();
    left.max(Duration::from_secs(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider(annotations: serde_json::Value) -> ResourceSetInputProvider {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
            "metadata": {"name": "p", "namespace": "apps", "annotations": annotations},
            "spec": {"type": "Static"}
        }))
        .expect("provider")
    }

    #[test]
    fn force_at_counts_once_and_only_with_an_equal_request() {
        let both = provider(serde_json::json!({FORCE_AT: "1", REQUESTED_AT: "1"}));
        let mut status = ResourceSetInputProviderStatus::default();
        assert_eq!(forced(&both, &status).as_deref(), Some("1"));
        status.last_handled_force_at = Some("1".into());
        assert_eq!(forced(&both, &status), None, "handled already");
        let unequal = provider(serde_json::json!({FORCE_AT: "2", REQUESTED_AT: "1"}));
        assert_eq!(forced(&unequal, &status), None);
        assert_eq!(forced(&provider(serde_json::json!({FORCE_AT: "2"})), &status), None);
    }

    #[test]
    fn wake_ups_are_never_immediate() {
        let now: Timestamp = "2026-01-10T10:00:00Z".parse().unwrap();
        let later: Timestamp = "2026-01-10T10:05:00Z".parse().unwrap();
        assert_eq!(until(now, later), Duration::from_secs(300));
        assert_eq!(until(later, now), Duration::from_secs(1));
    }
}
