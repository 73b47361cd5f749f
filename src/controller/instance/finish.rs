//! The one exit of a reconcile: conditions, history, status and events for whatever the
//! phases returned, and what to do next.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::events::EventType;

use super::outcome::{self, Cause, PhaseError};
use super::{Done, Run, key};
use crate::api::reason::{HEALTH_CHECK_CANCELED, RECONCILIATION_SUCCEEDED};
use crate::api::{conditions, history};
use crate::controller::error::Error;
use crate::controller::gate;

pub async fn finish(run: &mut Run<'_>, result: Result<Done, PhaseError>) -> Result<Action, Error> {
    match result {
        Ok(done) => succeeded(run, done).await,
        Err(PhaseError::Canceled) => canceled(run).await,
        Err(PhaseError::Restart) => restart(run).await,
        Err(PhaseError::Failed(cause)) => failed(run, cause).await,
    }
}

async fn succeeded(run: &mut Run<'_>, done: Done) -> Result<Action, Error> {
    let Done { built, changes, pruned } = done;
    let revision = built.revision.clone();
    let duration = format_duration(run.started.elapsed());
    let changed = run.is_new || changes.has_changes() || !pruned.deleted.is_empty();
    let status = &mut run.status;
    if changed {
        let mut message = format!("Reconciliation finished in {duration}");
        if let Some(note) = &run.timing.floored {
            message.push_str("; ");
            message.push_str(note);
        }
        conditions::succeeded(
            &mut status.conditions,
            RECONCILIATION_SUCCEEDED,
            &message,
            run.generation,
        );
        let digest = revision.split_once('@').map(|(_, d)| d).unwrap_or(&revision).to_owned();
        let metadata = BTreeMap::from([("flux".to_owned(), format!("v{}", built.version))]);
        history::record(
            &mut status.history,
            &digest,
            RECONCILIATION_SUCCEEDED,
            &duration,
            &history::now(),
            metadata,
        );
    }
    status.last_applied_revision = Some(revision.clone());
    status.last_attempted_revision = Some(revision.clone());
    status.components = built.components;
    status.last_handled_reconcile_at = run.requested_at.clone();
    if run.force_at.is_some() {
        status.last_handled_force_at = run.force_at.clone();
    }
    if run.status != run.old {
        run.write_status().await.map_err(Error::Kube)?;
    }
    if changed {
        let mut note = format!("Reconciliation finished in {duration}, revision {revision}");
        let summary = changes.summary();
        if !summary.is_empty() {
            note.push('\n');
            note.push_str(&summary);
        }
        for deleted in &pruned.deleted {
            note.push_str(&format!("\n{deleted} deleted"));
        }
        tracing::info!(revision, "Reconciliation finished in {duration}");
        run.event(EventType::Normal, RECONCILIATION_SUCCEEDED, &note).await;
    }
    run.ctx.reset_failures(&key(run.obj));
    run.ctx.gates.release(&key(run.obj));
    run.ctx.settled.record(&key(run.obj), &revision, run.epoch);
    Ok(Action::requeue(crate::controller::jittered(
        run.timing.every,
        run.ctx.config.interval_jitter_percentage,
    )))
}

async fn canceled(run: &mut Run<'_>) -> Result<Action, Error> {
    run.ctx.settled.forget(&key(run.obj));
    let message = "Health check canceled: a newer change of the instance arrived";
    conditions::failed(
        &mut run.status.conditions,
        HEALTH_CHECK_CANCELED,
        message,
        run.generation,
        false,
    );
    run.write_status().await.map_err(Error::Kube)?;
    run.event(EventType::Normal, HEALTH_CHECK_CANCELED, message).await;
    Ok(Action::requeue(Duration::from_secs(1)))
}

/// Neither success nor failure: the inventory the apply recorded is kept, the conditions
/// stay as announced, and the next reconcile starts at once.
async fn restart(run: &mut Run<'_>) -> Result<Action, Error> {
    run.ctx.settled.forget(&key(run.obj));
    tracing::info!("a managed object was deleted during the health check; applying again");
    if run.status != run.old {
        run.write_status().await.map_err(Error::Kube)?;
    }
    Ok(Action::requeue(Duration::ZERO))
}

/// A failure: Stalled until the spec changes, or retried with backoff (the error goes to
/// the error policy).
async fn failed(run: &mut Run<'_>, cause: Cause) -> Result<Action, Error> {
    run.ctx.settled.forget(&key(run.obj));
    let disposition = outcome::classify(&cause);
    let message = outcome::message(&cause);
    let duration = format_duration(run.started.elapsed());
    let status = &mut run.status;
    conditions::failed(
        &mut status.conditions,
        disposition.reason,
        &message,
        run.generation,
        disposition.stalled,
    );
    if disposition.build_failed {
        // Nothing was built: the entry is the spec's, without a Flux version.
        let digest = history::spec_digest(&run.obj.spec);
        history::record(
            &mut status.history,
            &digest,
            disposition.reason,
            &duration,
            &history::now(),
            BTreeMap::new(),
        );
    } else {
        let attempted = status.last_attempted_revision.clone().unwrap_or_default();
        if let Some((version, digest)) = attempted.split_once('@').filter(|(_, d)| !d.is_empty()) {
            let metadata = BTreeMap::from([("flux".to_owned(), version.to_owned())]);
            history::record(
                &mut status.history,
                digest,
                disposition.reason,
                &duration,
                &history::now(),
                metadata,
            );
        }
    }
    run.write_status().await.map_err(Error::Kube)?;
    run.event(EventType::Warning, disposition.reason, &message).await;
    if disposition.stalled {
        run.ctx.gates.hold(&key(run.obj), gate::fingerprint(run.obj), None);
        return Ok(Action::await_change());
    }
    Err(Error::Failed {
        reason: disposition.reason,
        cause: Box::new(cause),
    })
}

/// `1.234s`, `2m3s`: the style of Go's durations, which upstream's messages use.
pub fn format_duration(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        let (m, s) = (secs / 60, secs % 60);
        if m >= 60 {
            format!("{}h{}m{}s", m / 60, m % 60, s)
        } else {
            format!("{m}m{s}s")
        }
    } else {
        format!("{:.3}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.234s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m5s");
        assert_eq!(format_duration(Duration::from_secs(3725)), "1h2m5s");
    }

    #[test]
    fn the_spec_digest_follows_the_spec() {
        let spec: crate::api::FluxInstanceSpec = serde_json::from_value(
            serde_json::json!({"distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"}}),
        )
        .expect("spec");
        let mut other = spec.clone();
        other.distribution.version = "3.x".into();
        assert!(history::spec_digest(&spec).starts_with("sha256:"));
        assert_eq!(history::spec_digest(&spec).len(), "sha256:".len() + 64);
        assert_ne!(history::spec_digest(&spec), history::spec_digest(&other));
    }
}
