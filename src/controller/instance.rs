//! The FluxInstance reconciler, as phases: resolve -> build -> apply -> prune -> wait ->
//! migrate -> status.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::{Resource, ResourceExt};
use semver::Version;
use serde_json::json;
use tracing::Instrument;

use super::context::Context;
use super::error::Error;
use super::events::publish;
use super::timing::Timing;
use super::{artifact, migrate, uninstall};
use crate::api::annotation::{FINALIZER, FORCE_AT, REQUESTED_AT};
use crate::api::reason::*;
use crate::api::{FluxInstance, FluxInstanceStatus, ResourceInventory, ResourceRef, SINGLETON_NAME};
use crate::api::{conditions, history};
use crate::apply::{self, Applier, ApplyOptions, FIELD_MANAGER, ObjectId, WaitOutcome};
use crate::build;
use crate::distribution::{self, Distribution};
use crate::metrics::ReconcileResult;
use crate::notifier::FluxEvent;

/// The controller label of the instance's reconcile metrics.
pub const INSTANCE_CONTROLLER: &str = "fluxinstance";

/// How often the wait phase polls readiness.
const WAIT_POLL: Duration = Duration::from_secs(2);

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
    // The keys controller-runtime puts on every reconcile log line, which users query.
    let span = tracing::info_span!(
        "reconcile",
        controller = INSTANCE_CONTROLLER,
        controllerGroup = "fluxcd.controlplane.io",
        controllerKind = "FluxInstance",
        name = instance.name_any(),
        namespace = namespace.as_str(),
        reconcileID = %uuid::Uuid::new_v4(),
    );
    let result = finalizer(&api, FINALIZER, instance, |event| async {
        match event {
            FinalizerEvent::Apply(obj) => reconcile_instance(&obj, &ctx).await,
            FinalizerEvent::Cleanup(obj) => uninstall::cleanup(&obj, &ctx).await,
        }
    })
    .instrument(span)
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    work.finish(ReconcileResult::of(&result));
    ctx.report_notify.notify_one();
    result
}

pub fn error_policy(instance: Arc<FluxInstance>, error: &Error, ctx: Arc<Context>) -> Action {
    let delay = ctx.next_retry_delay(&key(&instance));
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

/// One pass over an instance that is not being deleted.
async fn reconcile_instance(obj: &FluxInstance, ctx: &Context) -> Result<Action, Error> {
    let started = Instant::now();
    let namespace = obj.namespace().unwrap_or_default();
    let generation = obj.metadata.generation;
    let old_status = obj.status.clone().unwrap_or_default();
    let mut status = old_status.clone();
    let mut reporter = StatusWriter {
        obj,
        ctx,
        revision: old_status.last_attempted_revision.clone(),
    };

    if obj.is_disabled() {
        reporter
            .event(EventType::Normal, RECONCILIATION_DISABLED, "Reconciliation is disabled")
            .await;
        return Ok(Action::await_change());
    }
    let timing = match Timing::from_annotations(obj.annotations()) {
        Ok(t) => t,
        Err(message) => return reporter.stall(&mut status, BUILD_FAILED, &message, generation).await,
    };
    let requested_at = obj.annotations().get(REQUESTED_AT).cloned();
    let force_at = obj.annotations().get(FORCE_AT).cloned();

    // fetch: the artifact, when the spec names one. A registry or artifact failure is
    // retried with backoff and leaves everything applied as it is.
    let fetched = match artifact::fetch(obj, ctx).await {
        Ok(f) => f,
        Err(e) => {
            reporter
                .fail(&mut status, e.reason(), &e.to_string(), generation)
                .await?;
            return Err(Error::Artifact(e));
        }
    };
    status.last_artifact_revision = fetched.as_ref().map(|f| f.digest.clone());

    // resolve + build: pure, and a user's mistake here is terminal until the spec changes.
    let baked = match Distribution::open(&ctx.config.storage_path) {
        Ok(d) => d,
        Err(source) => {
            let e = Error::DistributionData {
                path: ctx.config.storage_path.clone(),
                source,
            };
            reporter
                .fail(&mut status, BUILD_FAILED, &e.to_string(), generation)
                .await?;
            return Err(e);
        }
    };
    // With an artifact, only the major.minor lines the baked-in data has are eligible: a
    // newer line can need build logic that this operator does not have.
    let (distribution, candidates, unsupported) = match fetched {
        Some(f) => {
            let candidates = distribution::on_known_lines(f.distribution.versions(), baked.versions());
            let unsupported: Vec<String> = f
                .distribution
                .versions()
                .iter()
                .filter(|v| !candidates.contains(v))
                .map(|v| format!("v{v}"))
                .collect();
            (f.distribution, candidates, unsupported)
        }
        None => {
            let candidates = baked.versions().to_vec();
            (baked, candidates, Vec::new())
        }
    };
    let version = match resolve(obj, &status, &candidates) {
        Ok(v) => v,
        Err(e) => {
            let mut message = e.to_string();
            if matches!(e, distribution::Error::NoMatch { .. }) && !unsupported.is_empty() {
                message.push_str(&format!(
                    " (the artifact also has {}, on lines this operator does not support yet)",
                    unsupported.join(", ")
                ));
            }
            return reporter.stall(&mut status, BUILD_FAILED, &message, generation).await;
        }
    };
    let built = match build::build(&namespace, &obj.spec, &distribution, &version) {
        Ok(b) => b,
        Err(e) => {
            return reporter
                .stall(&mut status, e.reason(), &e.to_string(), generation)
                .await;
        }
    };
    for warning in &built.warnings {
        tracing::warn!(namespace, %warning, "build warning");
    }
    let revision = built.revision.clone();
    reporter.revision = Some(revision.clone());

    // A new revision, spec or request is worth a progress report; a periodic drift check
    // that finds nothing to do writes nothing at all.
    let is_new = status.last_applied_revision.as_deref() != Some(revision.as_str())
        || status.observed_generation != generation
        || !conditions::is_true(&status.conditions, crate::api::condition_type::READY)
        || status.last_handled_reconcile_at != requested_at
        || (force_at.is_some() && status.last_handled_force_at != force_at);
    if is_new {
        if let Some(latest) = distribution::latest_for_major(&candidates, version.major)
            && latest != version
        {
            let note = format!("Flux v{version} is outdated, v{latest} is available");
            reporter.event(EventType::Normal, OUTDATED_VERSION, &note).await;
        }
        let verb = match &status.last_applied_revision {
            Some(last) if last != &revision => "Upgrading to",
            Some(_) => "Reconciling",
            None => "Installing",
        };
        conditions::progressing(
            &mut status.conditions,
            PROGRESSING,
            "Reconciliation in progress",
            generation,
        );
        status.last_attempted_revision = Some(revision.clone());
        reporter.write_status(&status).await?;
        reporter
            .event(EventType::Normal, PROGRESSING, &format!("{verb} revision {revision}"))
            .await;
    }

    // apply + prune
    let options = ApplyOptions {
        owner_name: obj.name_any(),
        owner_namespace: namespace.clone(),
        extra_takeover_managers: ctx.config.override_managers.clone(),
    };
    let applier = Applier {
        client: &ctx.client,
        discovery: &ctx.discovery,
        options: &options,
    };
    let changes = match apply::apply_staged(&applier, &built.objects).await {
        Ok(c) => c,
        Err(e) => return Err(reporter.failed_to(&mut status, "apply", e, generation).await),
    };
    let new_refs: Vec<ObjectId> = built.objects.iter().filter_map(ObjectId::from_object).collect();
    let stale = stale_entries(status.inventory.as_ref(), &new_refs);
    let pruned = match apply::prune(&applier, &stale).await {
        Ok(p) => p,
        Err(e) => return Err(reporter.failed_to(&mut status, "prune", e, generation).await),
    };
    status.inventory = Some(inventory(&new_refs));

    // wait
    if obj.spec.wait {
        let watched: Vec<ObjectId> = new_refs.iter().filter(|r| has_readiness(r)).cloned().collect();
        let api: Api<FluxInstance> = Api::namespaced(ctx.client.clone(), &namespace);
        let name = obj.name_any();
        let canceled = || {
            let api = api.clone();
            let name = name.clone();
            async move {
                match api.get_opt(&name).await {
                    Ok(Some(live)) => {
                        live.metadata.generation != generation || live.metadata.deletion_timestamp.is_some()
                    }
                    Ok(None) => true,
                    Err(_) => false,
                }
            }
        };
        match apply::wait_ready(&applier, &watched, timing.timeout, WAIT_POLL, canceled).await {
            Ok(WaitOutcome::Ready) => {}
            Ok(WaitOutcome::Canceled) => {
                let message = "Health check canceled: a newer change of the instance arrived";
                conditions::failed(
                    &mut status.conditions,
                    HEALTH_CHECK_CANCELED,
                    message,
                    generation,
                    false,
                );
                reporter.write_status(&status).await?;
                reporter.event(EventType::Normal, HEALTH_CHECK_CANCELED, message).await;
                return Ok(Action::requeue(Duration::from_secs(1)));
            }
            Ok(WaitOutcome::NotReady(items)) => {
                let message = format!(
                    "health check failed after {}: {}",
                    format_duration(started.elapsed()),
                    WaitOutcome::describe(&items)
                );
                return Err(reporter
                    .failed(&mut status, RECONCILIATION_FAILED, &message, generation)
                    .await);
            }
            Err(e) => return Err(reporter.failed_to(&mut status, "health check", e, generation).await),
        }
    }

    // migrate
    if obj.spec.migrate_resources {
        let forced = force_at.is_some() && status.last_handled_force_at != force_at;
        if let Err(e) = migrate::migrate_storage_versions(ctx, &built.objects, forced).await {
            return Err(reporter
                .failed(&mut status, RECONCILIATION_FAILED, &e.to_string(), generation)
                .await);
        }
    }

    // status
    let duration = format_duration(started.elapsed());
    let something_changed = is_new || changes.has_changes() || !pruned.deleted.is_empty();
    if something_changed {
        let message = format!("Reconciliation finished in {duration}");
        conditions::succeeded(&mut status.conditions, RECONCILIATION_SUCCEEDED, &message, generation);
        let digest = revision.split_once('@').map(|(_, d)| d).unwrap_or(&revision).to_owned();
        let metadata = BTreeMap::from([("flux".to_owned(), format!("v{version}"))]);
        history::record(
            &mut status.history,
            &digest,
            RECONCILIATION_SUCCEEDED,
            &duration,
            &now(),
            metadata,
        );
    }
    status.observed_generation = generation;
    status.last_applied_revision = Some(revision.clone());
    status.last_attempted_revision = Some(revision.clone());
    status.components = built.components.clone();
    status.last_handled_reconcile_at = requested_at;
    if force_at.is_some() {
        status.last_handled_force_at = force_at;
    }
    if status != old_status {
        reporter.write_status(&status).await?;
    }
    if something_changed {
        let summary = changes.summary();
        let mut note = format!("Reconciliation finished in {duration}, revision {revision}");
        if !summary.is_empty() {
            note.push('\n');
            note.push_str(&summary);
        }
        for deleted in &pruned.deleted {
            note.push_str(&format!("\n{deleted} deleted"));
        }
        tracing::info!(revision, "Reconciliation finished in {duration}");
        reporter.event(EventType::Normal, RECONCILIATION_SUCCEEDED, &note).await;
    }
    ctx.reset_failures(&key(obj));
    Ok(Action::requeue(super::jittered(
        timing.every,
        ctx.config.interval_jitter_percentage,
    )))
}

/// Resolves the version constraint among `candidates` and refuses a downgrade of (major, minor).
fn resolve(
    obj: &FluxInstance,
    status: &FluxInstanceStatus,
    candidates: &[Version],
) -> Result<Version, distribution::Error> {
    let version = distribution::resolve_version(&obj.spec.distribution.version, candidates)?;
    if let Some(last) = status.last_applied_revision.as_deref().and_then(revision_version) {
        distribution::check_upgrade(&last, &version)?;
    }
    Ok(version)
}

/// The version of a `vX.Y.Z@sha256:...` revision.
fn revision_version(revision: &str) -> Option<Version> {
    let version = revision.split('@').next()?;
    Version::parse(version.trim_start_matches('v')).ok()
}

fn stale_entries(old: Option<&ResourceInventory>, new: &[ObjectId]) -> Vec<ObjectId> {
    old.map(|inv| {
        inv.entries
            .iter()
            .filter_map(|e| ObjectId::from_inventory(&e.id, &e.v))
            .filter(|o| !new.iter().any(|n| n.same_object(o)))
            .collect()
    })
    .unwrap_or_default()
}

fn inventory(refs: &[ObjectId]) -> ResourceInventory {
    ResourceInventory {
        entries: refs
            .iter()
            .map(|r| ResourceRef {
                id: r.id(),
                v: r.version.clone(),
            })
            .collect(),
    }
}

/// Kinds whose readiness is worth polling; the rest are ready once applied.
fn has_readiness(r: &ObjectId) -> bool {
    matches!(
        r.kind.as_str(),
        "Deployment" | "StatefulSet" | "CustomResourceDefinition" | "PersistentVolumeClaim"
    ) || r.group.ends_with(".toolkit.fluxcd.io")
}

fn now() -> String {
    Timestamp::now().to_string()
}

/// `1.234s`, `2m3s`: the style of Go's durations, which upstream's messages use.
pub(crate) fn format_duration(d: Duration) -> String {
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

/// Writes status and events for one instance.
struct StatusWriter<'a> {
    obj: &'a FluxInstance,
    ctx: &'a Context,
    /// The revision events are about: the one being reconciled, once built.
    revision: Option<String>,
}

impl StatusWriter<'_> {
    async fn event(&mut self, type_: EventType, reason: &str, note: &str) {
        let object = self.obj.object_ref(&());
        publish(&self.ctx.recorder, &object, type_, reason, note).await;
        self.ctx.notifier.send(&FluxEvent {
            object,
            warning: type_ == EventType::Warning,
            reason: reason.to_owned(),
            message: note.to_owned(),
            revision: self.revision.clone(),
            token: self.obj.metadata.generation.map(|g| g.to_string()),
        });
    }

    async fn write_status(&self, status: &FluxInstanceStatus) -> Result<(), Error> {
        let api: Api<FluxInstance> =
            Api::namespaced(self.ctx.client.clone(), &self.obj.namespace().unwrap_or_default());
        let patch = json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance", "status": status});
        api.patch_status(
            &self.obj.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await
        .map_err(Error::Kube)?;
        Ok(())
    }

    /// A terminal failure: Stalled until the spec changes.
    async fn stall(
        &mut self,
        status: &mut FluxInstanceStatus,
        reason: &str,
        message: &str,
        generation: Option<i64>,
    ) -> Result<Action, Error> {
        conditions::failed(&mut status.conditions, reason, message, generation, true);
        status.observed_generation = generation;
        self.write_status(status).await?;
        self.event(EventType::Warning, reason, message).await;
        Ok(Action::await_change())
    }

    /// A failure worth retrying; records it and returns the error for the retry policy.
    async fn fail(
        &mut self,
        status: &mut FluxInstanceStatus,
        reason: &str,
        message: &str,
        generation: Option<i64>,
    ) -> Result<(), Error> {
        conditions::failed(&mut status.conditions, reason, message, generation, false);
        let attempted = status.last_attempted_revision.clone().unwrap_or_default();
        if let Some((version, digest)) = attempted.split_once('@').filter(|(_, d)| !d.is_empty()) {
            let metadata = BTreeMap::from([("flux".to_owned(), version.to_owned())]);
            history::record(&mut status.history, digest, reason, "0s", &now(), metadata);
        }
        self.write_status(status).await?;
        self.event(EventType::Warning, reason, message).await;
        Ok(())
    }

    async fn failed(
        &mut self,
        status: &mut FluxInstanceStatus,
        reason: &str,
        message: &str,
        generation: Option<i64>,
    ) -> Error {
        match self.fail(status, reason, message, generation).await {
            Ok(()) => Error::Reconcile(message.to_owned()),
            Err(e) => e,
        }
    }

    async fn failed_to(
        &mut self,
        status: &mut FluxInstanceStatus,
        phase: &str,
        e: apply::Error,
        generation: Option<i64>,
    ) -> Error {
        let message = format!("{phase} failed: {e}");
        self.failed(status, e.reason(), &message, generation).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_versions() {
        assert_eq!(revision_version("v2.9.4@sha256:abc"), Some(Version::new(2, 9, 4)));
        assert_eq!(revision_version("garbage"), None);
    }

    #[test]
    fn stale_entries_ignore_api_version_changes() {
        let old = ResourceInventory {
            entries: vec![
                ResourceRef {
                    id: "flux-system_a_apps_Deployment".into(),
                    v: "v1".into(),
                },
                ResourceRef {
                    id: "flux-system_b_source.toolkit.fluxcd.io_OCIRepository".into(),
                    v: "v1beta2".into(),
                },
            ],
        };
        let new = vec![ObjectId::from_inventory("flux-system_b_source.toolkit.fluxcd.io_OCIRepository", "v1").unwrap()];
        let stale = stale_entries(Some(&old), &new);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].name, "a");
    }

    #[test]
    fn durations_read_like_go() {
        assert_eq!(format_duration(Duration::from_millis(1234)), "1.234s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2m5s");
        assert_eq!(format_duration(Duration::from_secs(3725)), "1h2m5s");
    }
}
