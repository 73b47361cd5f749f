//! Keeps the singleton FluxReport `flux` up to date: at start, every reporting interval,
//! after each FluxInstance reconcile, on `requestedAt`, and when it is deleted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::json;

use super::compute::compute;
use super::context::ReportContext;
use crate::api::annotation::REQUESTED_AT;
use crate::api::condition_type::READY;
use crate::api::conditions;
use crate::api::reason::{RECONCILIATION_FAILED, SUCCEEDED};
use crate::api::{API_VERSION, FluxReport, FluxReportStatus, SINGLETON_NAME};
use crate::apply::FIELD_MANAGER;
use crate::metrics::ReconcileResult;

/// The controller label of the report's reconcile metrics.
pub const REPORT_CONTROLLER: &str = "fluxreport";

/// Why a refresh runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    /// The reporting interval elapsed.
    Interval,
    /// A new `requestedAt` annotation.
    Requested,
    /// The report was deleted: it is recreated.
    Deleted,
    /// A FluxInstance reconcile finished.
    InstanceReconciled,
}

impl Trigger {
    /// Whether the refresh writes the status even when nothing in it changed, so that its
    /// Ready time (the `LastUpdated` column) shows the reporter is alive: one write per
    /// interval, and one per explicit request. Refreshes after instance reconciles write
    /// only what changed, so a no-op reconcile costs no write.
    fn heartbeat(self) -> bool {
        !matches!(self, Self::InstanceReconciled)
    }
}

pub async fn run_reporter(ctx: Arc<ReportContext>) {
    let api: Api<FluxReport> = Api::namespaced(ctx.watch_client.clone(), &ctx.namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={SINGLETON_NAME}"));
    let mut events = watcher::watcher(api, config).default_backoff().boxed();
    let key = format!("{}/{SINGLETON_NAME}", ctx.namespace);
    let queue = &ctx.queue;
    queue.add(&key);
    let mut trigger = Trigger::Start;
    loop {
        let work = queue.start(&key);
        let ok = refresh(&ctx, trigger).await;
        crate::memory::release_freed();
        // Like upstream's report reconciler, a good refresh is requeued after the interval.
        work.finish(if ok {
            ReconcileResult::RequeueAfter
        } else {
            ReconcileResult::Error
        });
        let sleep = tokio::time::sleep(ctx.interval);
        tokio::pin!(sleep);
        trigger = loop {
            tokio::select! {
                // The delayed requeue fires: `start` counts its add.
                _ = &mut sleep => break Trigger::Interval,
                _ = ctx.notify.notified() => break Trigger::InstanceReconciled,
                event = events.next() => match event {
                    Some(Ok(Event::Delete(_))) => break Trigger::Deleted,
                    Some(Ok(Event::Apply(report))) if wants_refresh(&report) => break Trigger::Requested,
                    None => return,
                    _ => {}
                },
            }
        };
        if trigger != Trigger::Interval {
            queue.add(&key);
        }
    }
}

/// A new `requestedAt` that the status has not handled yet.
fn wants_refresh(report: &FluxReport) -> bool {
    let requested = report.annotations().get(REQUESTED_AT);
    let handled = report
        .status
        .as_ref()
        .and_then(|s| s.last_handled_reconcile_at.as_ref());
    requested.is_some() && requested != handled
}

/// Computes the report and writes what the trigger calls for; true when it succeeded.
pub async fn refresh(ctx: &ReportContext, trigger: Trigger) -> bool {
    match refresh_inner(ctx, trigger).await {
        Ok(computed) => computed,
        Err(error) => {
            tracing::warn!(%error, "writing the FluxReport");
            false
        }
    }
}

/// Ok(false) when the report could not be computed (its Ready condition says why).
async fn refresh_inner(ctx: &ReportContext, trigger: Trigger) -> Result<bool, kube::Error> {
    let started = Instant::now();
    let namespace = &ctx.namespace;
    let api: Api<FluxReport> = Api::namespaced(ctx.client.clone(), namespace);
    let mut live = api.get_opt(SINGLETON_NAME).await?;
    if live.as_ref().is_some_and(FluxReport::is_disabled) {
        return Ok(true);
    }
    let params = PatchParams::apply(FIELD_MANAGER).force();
    let (spec, outcome) = match compute(&ctx.client, namespace).await {
        Ok(computed) => {
            ctx.metrics.set_instances(&computed.instances);
            ctx.metrics.set_resources(&computed.resources);
            (Some(computed.spec), Ok(()))
        }
        Err(e) => {
            tracing::warn!(error = %e, "computing the FluxReport");
            (None, Err(e))
        }
    };
    if let Some(spec) = &spec
        && live.as_ref().map(|r| &r.spec) != Some(spec)
    {
        let obj = json!({"apiVersion": API_VERSION, "kind": "FluxReport",
            "metadata": {"name": SINGLETON_NAME, "namespace": namespace}, "spec": spec});
        live = Some(api.patch(SINGLETON_NAME, &params, &Patch::Apply(&obj)).await?);
    }
    // The report could not be computed and never existed: nothing to put a status on.
    let Some(live) = live else { return Ok(false) };
    let old = live.status.clone().unwrap_or_default();
    let mut status = old.clone();
    let (value, reason, message) = match &outcome {
        Ok(()) => (
            "True",
            SUCCEEDED,
            format!("Reporting finished in {}", rounded(started.elapsed())),
        ),
        Err(e) => ("False", RECONCILIATION_FAILED, e.to_string()),
    };
    conditions::set(
        &mut status.conditions,
        READY,
        value,
        reason,
        &message,
        live.metadata.generation,
    );
    status.last_handled_reconcile_at = live.annotations().get(REQUESTED_AT).cloned();
    if trigger.heartbeat() || changed(&old, &status) {
        stamp(&mut status.conditions);
        let obj = json!({"apiVersion": API_VERSION, "kind": "FluxReport", "status": status});
        api.patch_status(SINGLETON_NAME, &params, &Patch::Apply(&obj)).await?;
    }
    Ok(outcome.is_ok())
}

/// A change worth a write: anything but the refresh's own duration in a success message.
fn changed(old: &FluxReportStatus, new: &FluxReportStatus) -> bool {
    Essence::of(old) != Essence::of(new)
}

/// What of the status matters to a reader.
#[derive(PartialEq)]
struct Essence<'a> {
    ready: Option<(&'a str, &'a str, Option<i64>)>,
    failure: &'a str,
    handled: Option<&'a str>,
}

impl<'a> Essence<'a> {
    fn of(s: &'a FluxReportStatus) -> Self {
        let ready = conditions::get(&s.conditions, READY);
        Self {
            ready: ready.map(|c| (c.status.as_str(), c.reason.as_str(), c.observed_generation)),
            failure: ready
                .filter(|c| c.status != "True")
                .map(|c| c.message.as_str())
                .unwrap_or_default(),
            handled: s.last_handled_reconcile_at.as_deref(),
        }
    }
}

/// Ready's time moves with every written refresh, as upstream's does: the `LastUpdated`
/// column says when the report was last computed.
fn stamp(conditions: &mut [Condition]) {
    if let Some(ready) = conditions.iter_mut().find(|c| c.type_ == READY) {
        ready.last_transition_time = Time(Timestamp::now());
    }
}

/// A duration as upstream's messages print it: Go's format, rounded to milliseconds under
/// a second and to seconds above (`29ms`, `3s`, `1m5s`).
pub(crate) fn rounded(d: Duration) -> String {
    if d < Duration::from_millis(999) + Duration::from_micros(500) {
        let ms = (d.as_micros() + 500) / 1000;
        return if ms == 0 { "0s".into() } else { format!("{ms}ms") };
    }
    let secs = (d.as_millis() + 500) / 1000;
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) => format!("{m}m{s}s"),
        _ => format!("{h}h{m}m{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(status: &str, reason: &str, message: &str, generation: i64) -> FluxReportStatus {
        let mut s = FluxReportStatus::default();
        conditions::set(&mut s.conditions, READY, status, reason, message, Some(generation));
        s
    }

    #[test]
    fn durations_read_as_upstream_prints_them() {
        assert_eq!(rounded(Duration::from_micros(29_400)), "29ms");
        assert_eq!(rounded(Duration::from_micros(400)), "0s");
        assert_eq!(rounded(Duration::from_micros(999_400)), "999ms");
        assert_eq!(rounded(Duration::from_micros(999_600)), "1s");
        assert_eq!(rounded(Duration::from_millis(3_499)), "3s");
        assert_eq!(rounded(Duration::from_secs(65)), "1m5s");
        assert_eq!(rounded(Duration::from_secs(3_725)), "1h2m5s");
    }

    #[test]
    fn a_new_duration_alone_is_no_change() {
        let old = ready("True", SUCCEEDED, "Reporting finished in 29ms", 2);
        assert!(!changed(
            &old,
            &ready("True", SUCCEEDED, "Reporting finished in 31ms", 2)
        ));
        assert!(changed(
            &old,
            &ready("True", SUCCEEDED, "Reporting finished in 31ms", 3)
        ));
        assert!(changed(&old, &ready("False", RECONCILIATION_FAILED, "boom", 2)));
        let failed = ready("False", RECONCILIATION_FAILED, "boom", 2);
        assert!(changed(&failed, &ready("False", RECONCILIATION_FAILED, "bang", 2)));
        let mut handled = old.clone();
        handled.last_handled_reconcile_at = Some("t1".into());
        assert!(changed(&old, &handled));
        assert!(changed(&FluxReportStatus::default(), &old));
    }

    #[test]
    fn only_instance_reconciles_skip_the_heartbeat() {
        assert!(!Trigger::InstanceReconciled.heartbeat());
        for t in [Trigger::Start, Trigger::Interval, Trigger::Requested, Trigger::Deleted] {
            assert!(t.heartbeat(), "{t:?}");
        }
    }

    #[test]
    fn stamping_moves_ready_time_only() {
        let mut s = ready("True", SUCCEEDED, "m", 1);
        s.conditions[0].last_transition_time = Time(Timestamp::UNIX_EPOCH);
        s.conditions.push(Condition {
            type_: "Other".into(),
            last_transition_time: Time(Timestamp::UNIX_EPOCH),
            ..s.conditions[0].clone()
        });
        stamp(&mut s.conditions);
        assert!(s.conditions[0].last_transition_time.0 > Timestamp::UNIX_EPOCH);
        assert_eq!(s.conditions[1].last_transition_time.0, Timestamp::UNIX_EPOCH);
    }
}
