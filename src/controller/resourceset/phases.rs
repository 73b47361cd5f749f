//! The phases of a ResourceSet reconcile after its dependencies: build, apply step by
//! step, collect garbage, wait for health. Each returns its result or a typed failure;
//! none writes the final status (that is [`super::finish`]'s).

use std::collections::BTreeSet;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;

use super::outcome::Cause;
use super::sources::{self, Resolved};
use super::{Run, all_ids, gc, recreate, stages};
use crate::api::ResourceInventory;
use crate::api::reason::APPLY_SUCCEEDED;
use crate::apply::{self, Applier, ChangeSet, ObjectId, PruneResult, WaitOutcome};
use crate::controller::config::parse_duration;
use crate::resourceset::build::{self, Build, BuiltStep};
use crate::resourceset::inputs::Inputs;

/// The pure build, then the config helpers (copyFrom, convertKubeConfigFrom,
/// checksumFrom), then the revision of the result.
pub async fn build(run: &mut Run<'_>, inputs: &Inputs) -> Result<Build, Cause> {
    let obj = run.obj;
    let mut built = build::build(&obj.name_any(), &obj.namespace().unwrap_or_default(), &obj.spec, inputs)?;
    let mut resolved = Resolved::default();
    let result = sources::resolve(&run.client, &mut built, &mut resolved).await;
    // Recorded also on failure: the creation of a missing source reconciles the set.
    run.shared.sources.record(obj, resolved.sources);
    result?;
    run.status.external_checksum_refs = resolved.external;
    run.revision = Some(build::revision(built.objects()));
    run.resources = built.objects().count();
    run.steps = (!obj.spec.steps.is_empty()).then_some(built.steps.len());
    Ok(built)
}

/// Applies each step in order; a step before the last is waited for before the next.
/// The inventory grows with every step applied (or attempted), so that nothing applied is
/// ever orphaned; the final step's changes are returned for the event.
pub async fn apply_steps(run: &mut Run<'_>, built: &Build) -> Result<ChangeSet, Cause> {
    run.epoch = run.shared.watches.epoch(&ObjectRef::from_obj(run.obj));
    if settled(run, built) {
        // Applied before, and no generated object changed since: nothing to ask.
        return Ok(ChangeSet::default());
    }
    let options = run.apply_options();
    let client = run.client.clone();
    let applier = super::applier(&client, run.shared, &options);
    let total = built.steps.len();
    let set_forced = recreate::forced(&serde_json::to_value(run.obj.annotations()).unwrap_or_default());
    let mut attempted: Vec<ObjectId> = Vec::new();
    for (index, step) in built.steps.iter().enumerate() {
        let last = index + 1 == total;
        if let (Some(name), false) = (&step.name, last) {
            run.progress(&format!("Applying step {}/{total} {name:?}", index + 1))
                .await?;
        }
        attempted.extend(step.objects.iter().filter_map(ObjectId::from_object));
        let applied = match recreate::delete_failed_jobs(&applier, &step.objects).await {
            Ok(()) => stages::apply(&applier, &step.objects, set_forced).await,
            Err(error) => Err(error),
        };
        run.status.inventory = Some(sorted_inventory(&union(run, &attempted)));
        let changes = applied.map_err(|source| Cause::Apply {
            step: step.name.clone(),
            source,
        })?;
        // From now on a deletion or edit of any of them reconciles the set.
        let ctx = &run.shared.ctx;
        run.shared.watches.ensure(&ctx.discovery, &ctx.client, &attempted).await;
        if last {
            return Ok(changes);
        }
        let name = step.name.clone().unwrap_or_default();
        if changes.has_changes() {
            let note = format!("step {name:?}: {}", changes.summary());
            run.event(EventType::Normal, APPLY_SUCCEEDED, &note, false).await;
        }
        wait_step(run, &applier, step).await?;
    }
    Ok(ChangeSet::default())
}

/// Whether the last successful reconcile applied this very build and none of its objects
/// changed since, as far as the watches can tell; a failed Job to run again is only seen
/// by looking.
fn settled(run: &Run<'_>, built: &Build) -> bool {
    let ids = all_ids(built);
    let revision = run.revision.as_deref().unwrap_or_default();
    !run.new_request()
        && run.shared.settled.holds(&super::key(run.obj), revision, run.epoch)
        && run.shared.watches.all_watched(&ids)
        && apply::stale_entries(run.old.inventory.as_ref(), &ids).is_empty()
        && !built.objects().any(recreate::recreated_on_failure)
}

/// The inventory in the order upstream writes it, by entry id: a takeover then rewrites no
/// status for the order alone (found by the parity suite).
fn sorted_inventory(ids: &[ObjectId]) -> ResourceInventory {
    let mut inventory = apply::inventory(ids);
    inventory.entries.sort_by(|a, b| a.id.cmp(&b.id));
    inventory.entries.dedup_by(|a, b| a.id == b.id);
    inventory
}

/// The old inventory and `attempted`, without duplicates, the old entries first.
fn union(run: &Run<'_>, attempted: &[ObjectId]) -> Vec<ObjectId> {
    let mut ids = apply::stale_entries(run.old.inventory.as_ref(), attempted);
    ids.extend(attempted.iter().cloned());
    ids
}

async fn wait_step(run: &Run<'_>, applier: &Applier<'_>, step: &BuiltStep) -> Result<(), Cause> {
    let timeout = step
        .timeout
        .as_deref()
        .and_then(|t| parse_duration(t).ok())
        .unwrap_or(run.timeout);
    let ids: Vec<ObjectId> = step.objects.iter().filter_map(ObjectId::from_object).collect();
    await_ready(run, applier, &ids, timeout, step.name.clone()).await
}

/// Deletes what the old inventory has and this build does not; the inventory becomes
/// exactly the built objects. On failure the union inventory stays, for the next attempt.
pub async fn collect_garbage(run: &mut Run<'_>, built: &Build) -> Result<PruneResult, Cause> {
    let options = run.apply_options();
    let client = run.client.clone();
    let applier = super::applier(&client, run.shared, &options);
    let applied = all_ids(built);
    let stale = apply::stale_entries(run.old.inventory.as_ref(), &applied);
    let timeout = run.shared.settings.appliers_gone_timeout;
    let pruned = gc::delete_in_stages(&applier, &stale, timeout, gc::OnError::Stop)
        .await
        .map_err(Cause::Prune)?;
    run.status.inventory = Some(sorted_inventory(&applied));
    Ok(pruned)
}

/// With `wait: true`, waits for the final step's objects within the reconcile timeout.
pub async fn wait(run: &Run<'_>, built: &Build) -> Result<(), Cause> {
    if !run.obj.spec.wait {
        return Ok(());
    }
    let options = run.apply_options();
    let client = run.client.clone();
    let applier = super::applier(&client, run.shared, &options);
    let Some(step) = built.steps.last() else { return Ok(()) };
    let ids: Vec<ObjectId> = step.objects.iter().filter_map(ObjectId::from_object).collect();
    await_ready(run, &applier, &ids, run.timeout, None).await
}

/// Polls until the objects are ready; a newer change of the set cancels the wait.
async fn await_ready(
    run: &Run<'_>,
    applier: &Applier<'_>,
    ids: &[ObjectId],
    timeout: Duration,
    step: Option<String>,
) -> Result<(), Cause> {
    // Woken by the generated objects' events: upstream polls only.
    let poll = apply::Polling {
        every: run.shared.settings.wait_poll,
        woken_by: Some(run.shared.watches.activity(&ObjectRef::from_obj(run.obj))),
    };
    let canceled = |_: &[apply::NotReady]| async move { run.superseded().is_some() };
    match apply::wait_ready(applier, ids, timeout, poll, canceled).await {
        Err(source) => Err(Cause::Apply { step, source }),
        Ok(WaitOutcome::Ready) => Ok(()),
        Ok(WaitOutcome::Canceled) => Err(Cause::Canceled {
            by: run.superseded().unwrap_or_else(|| run.object_name()),
        }),
        Ok(outcome) => {
            tracing::info!(details = outcome.details(), "health check failed");
            Err(Cause::Health { step, outcome })
        }
    }
}

/// `Kind/ns/name action` lines of the final step and the garbage collection.
pub fn apply_summary(changes: &ChangeSet, pruned: &PruneResult) -> String {
    let mut lines: Vec<String> = changes
        .changed()
        .map(|e| format!("{} {}", e.object, e.action))
        .collect();
    lines.extend(pruned.deleted.iter().map(|d| format!("{d} deleted")));
    let kept: BTreeSet<String> = pruned.kept.iter().map(|(o, _)| format!("{o} skipped")).collect();
    lines.extend(kept);
    lines.join("\n")
}
