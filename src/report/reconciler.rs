//! Keeps the singleton FluxReport `flux` up to date: at start, every reporting interval,
//! after each FluxInstance reconcile, on `requestedAt`, and when it is deleted.

use std::sync::Arc;

use futures::StreamExt;
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use serde_json::json;

use super::compute::compute;
use crate::api::annotation::REQUESTED_AT;
use crate::api::reason::{RECONCILIATION_FAILED, RECONCILIATION_SUCCEEDED};
use crate::api::{API_VERSION, FluxReport, FluxReportStatus, SINGLETON_NAME};
use crate::apply::FIELD_MANAGER;
use crate::controller::Context;
use crate::metrics::ReconcileResult;

/// The controller label of the report's reconcile metrics.
pub const REPORT_CONTROLLER: &str = "fluxreport";

pub async fn run_reporter(ctx: Arc<Context>) {
    let api: Api<FluxReport> = Api::namespaced(ctx.client.clone(), &ctx.config.runtime_namespace);
    let config = watcher::Config::default().fields(&format!("metadata.name={SINGLETON_NAME}"));
    let mut events = watcher::watcher(api.clone(), config).default_backoff().boxed();
    let key = format!("{}/{SINGLETON_NAME}", ctx.config.runtime_namespace);
    let queue = &ctx.report_queue;
    queue.add(&key);
    loop {
        let work = queue.start(&key);
        let ok = refresh(&ctx).await;
        // Like upstream's report reconciler, a good refresh is requeued after the interval.
        work.finish(if ok {
            ReconcileResult::RequeueAfter
        } else {
            ReconcileResult::Error
        });
        let sleep = tokio::time::sleep(ctx.config.reporting_interval);
        tokio::pin!(sleep);
        let timer_fired = loop {
            tokio::select! {
                // The delayed requeue fires: `start` counts its add.
                _ = &mut sleep => break true,
                _ = ctx.report_notify.notified() => break false,
                event = events.next() => match event {
                    Some(Ok(Event::Delete(_))) => break false,
                    Some(Ok(Event::Apply(report))) if wants_refresh(&report) => break false,
                    None => return,
                    _ => {}
                },
            }
        };
        if !timer_fired {
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

/// Computes the report and writes what changed; true when it succeeded.
pub async fn refresh(ctx: &Context) -> bool {
    match refresh_inner(ctx).await {
        Ok(computed) => computed,
        Err(error) => {
            tracing::warn!(%error, "writing the FluxReport");
            false
        }
    }
}

/// Ok(false) when the report could not be computed (its Ready condition says why).
async fn refresh_inner(ctx: &Context) -> Result<bool, kube::Error> {
    let namespace = &ctx.config.runtime_namespace;
    let api: Api<FluxReport> = Api::namespaced(ctx.client.clone(), namespace);
    let live = api.get_opt(SINGLETON_NAME).await?;
    if live
        .as_ref()
        .is_some_and(|r| crate::controller::is_disabled(r.annotations()))
    {
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
        api.patch(SINGLETON_NAME, &params, &Patch::Apply(&obj)).await?;
    }
    let live = match live {
        Some(live) => live,
        None => match api.get_opt(SINGLETON_NAME).await? {
            Some(created) => created,
            // The report could not be computed and never existed: nothing to put a status on.
            None => return Ok(false),
        },
    };
    let mut status = live.status.clone().unwrap_or_default();
    match &outcome {
        Ok(()) => set_ready(&mut status, "True", RECONCILIATION_SUCCEEDED, "Reporting finished"),
        Err(e) => set_ready(&mut status, "False", RECONCILIATION_FAILED, &e.to_string()),
    }
    status.last_handled_reconcile_at = live.annotations().get(REQUESTED_AT).cloned();
    if live.status.as_ref() != Some(&status) {
        let obj = json!({"apiVersion": API_VERSION, "kind": "FluxReport", "status": status});
        api.patch_status(SINGLETON_NAME, &params, &Patch::Apply(&obj)).await?;
    }
    Ok(outcome.is_ok())
}

fn set_ready(status: &mut FluxReportStatus, value: &str, reason: &str, message: &str) {
    crate::controller::set_condition(
        &mut status.conditions,
        crate::api::condition_type::READY,
        value,
        reason,
        message,
        None,
    );
}
