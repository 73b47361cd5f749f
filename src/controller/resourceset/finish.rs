//! The one exit of a ResourceSet reconcile: conditions, history, status and events for
//! whatever the phases returned, and what to do next.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::outcome::{self, Cause, Record};
use super::phases::apply_summary;
use super::{Done, Error, Run, key};
use crate::api::condition_type::READY;
use crate::api::reason::{APPLY_SUCCEEDED, DEPENDENCY_NOT_READY, HEALTH_CHECK_CANCELED, RECONCILIATION_SUCCEEDED};
use crate::api::{conditions, history};
use crate::controller::jittered;

pub async fn finish(run: &mut Run<'_>, result: Result<Done, Cause>) -> Result<Action, Error> {
    run.status.last_handled_reconcile_at = run.requested_at();
    match (&result, &run.revision) {
        (Ok(_), Some(revision)) => run.shared.settled.record(&key(run.obj), revision, run.epoch),
        _ => run.shared.settled.forget(&key(run.obj)),
    }
    match result {
        Ok(done) => succeeded(run, done).await,
        Err(cause @ Cause::Canceled { .. }) => canceled(run, &cause).await,
        Err(cause @ Cause::DependencyNotReady(_)) => waiting(run, &cause).await,
        Err(cause) => failed(run, cause).await,
    }
}

async fn succeeded(run: &mut Run<'_>, done: Done) -> Result<Action, Error> {
    let revision = run.revision.clone().unwrap_or_default();
    let elapsed = crate::report::rounded(run.started.elapsed());
    let message = format!("Reconciliation finished in {elapsed}");
    let status = &mut run.status;
    conditions::succeeded(
        &mut status.conditions,
        RECONCILIATION_SUCCEEDED,
        &message,
        run.generation,
    );
    let metadata = history_metadata(run.inputs, run.resources, run.steps);
    history::record(
        &mut status.history,
        &revision,
        RECONCILIATION_SUCCEEDED,
        &elapsed,
        &history::now(),
        metadata,
    );
    let new_revision = status.last_applied_revision.as_deref() != Some(revision.as_str());
    status.last_applied_revision = Some(revision);
    run.write_status().await.map_err(Error::Kube)?;
    let summary = apply_summary(&done.changes, &done.pruned);
    if !summary.is_empty() {
        run.event(EventType::Normal, APPLY_SUCCEEDED, &summary, true).await;
    }
    // Said to the notification-controller only when something happened, not every hour.
    let forward = new_revision || !summary.is_empty();
    run.event(EventType::Normal, RECONCILIATION_SUCCEEDED, &message, forward)
        .await;
    run.shared.ctx.reset_failures(&key(run.obj));
    let percent = run.shared.ctx.config.interval_jitter_percentage;
    Ok(Action::requeue(jittered(run.every, percent)))
}

/// A newer change of the set arrived during the health check: it starts over at once.
async fn canceled(run: &mut Run<'_>, cause: &Cause) -> Result<Action, Error> {
    let message = outcome::message(cause);
    mark_failed(run, HEALTH_CHECK_CANCELED, &message, false);
    run.write_status().await.map_err(Error::Kube)?;
    run.event(EventType::Normal, HEALTH_CHECK_CANCELED, &message, true)
        .await;
    Ok(Action::requeue(Duration::ZERO))
}

/// A dependency is not ready: looked at again soon, without backoff or history; the
/// event only on the first time, so that a long wait is not an event every 5 s.
async fn waiting(run: &mut Run<'_>, cause: &Cause) -> Result<Action, Error> {
    let message = outcome::message(cause);
    let first = conditions::get(&run.old.conditions, READY).is_none_or(|c| c.reason != DEPENDENCY_NOT_READY);
    // Not stalled: this also clears a Stalled left by an earlier mistake (§15).
    mark_failed(run, DEPENDENCY_NOT_READY, &message, false);
    run.write_status().await.map_err(Error::Kube)?;
    if first {
        run.event(EventType::Normal, DEPENDENCY_NOT_READY, &message, true).await;
    }
    Ok(Action::requeue(run.shared.settings.requeue_dependency))
}

/// A failure: Stalled until the set or a provider changes, or retried with backoff (the
/// error goes to the error policy).
async fn failed(run: &mut Run<'_>, cause: Cause) -> Result<Action, Error> {
    let disposition = outcome::classify(&cause);
    let message = outcome::message(&cause);
    let elapsed = crate::report::rounded(run.started.elapsed());
    mark_failed(run, disposition.reason, &message, disposition.stalled);
    let status = &mut run.status;
    let entry = match (disposition.record, &run.revision) {
        (Record::Objects, Some(revision)) => {
            Some((revision.clone(), history_metadata(run.inputs, run.resources, run.steps)))
        }
        (Record::Nothing, _) => None,
        _ => Some((history::spec_digest(&run.obj.spec), BTreeMap::new())),
    };
    if let Some((digest, metadata)) = entry {
        history::record(
            &mut status.history,
            &digest,
            disposition.reason,
            &elapsed,
            &history::now(),
            metadata,
        );
    }
    run.write_status().await.map_err(Error::Kube)?;
    run.event(EventType::Warning, disposition.reason, &message, true).await;
    if disposition.stalled {
        return Ok(Action::await_change());
    }
    Err(Error::Failed {
        reason: disposition.reason,
        cause: Box::new(cause),
    })
}

/// Ready=False with `reason`; Stalled too when retrying cannot help.
fn mark_failed(run: &mut Run<'_>, reason: &str, message: &str, stalled: bool) {
    conditions::failed(&mut run.status.conditions, reason, message, run.generation, stalled);
}

/// `inputs` and `resources` counts, and `steps` when the set has steps.
fn history_metadata(inputs: usize, resources: usize, steps: Option<usize>) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::from([
        ("inputs".to_owned(), inputs.to_string()),
        ("resources".to_owned(), resources.to_string()),
    ]);
    if let Some(steps) = steps {
        metadata.insert("steps".to_owned(), steps.to_string());
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_metadata_names_steps_only_when_used() {
        let plain = history_metadata(2, 4, None);
        assert_eq!(plain.get("inputs").map(String::as_str), Some("2"));
        assert_eq!(plain.get("resources").map(String::as_str), Some("4"));
        assert!(!plain.contains_key("steps"));
        assert_eq!(
            history_metadata(1, 2, Some(2)).get("steps").map(String::as_str),
            Some("2")
        );
    }
}
