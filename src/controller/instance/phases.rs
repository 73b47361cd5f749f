//! The phases of a FluxInstance reconcile, in order: fetch the artifact, resolve the
//! version, build, announce the attempt, apply and prune, wait for health, migrate storage
//! versions. Each returns its result or a typed [`PhaseError`]; none writes the final status
//! (that is [`super::finish`]'s).

use kube::runtime::events::EventType;
use kube::runtime::reflector::ObjectRef;
use semver::Version;

use super::Run;
use super::outcome::{Cause, PhaseError};
use crate::api::condition_type::READY;
use crate::api::conditions;
use crate::api::reason::{OUTDATED_VERSION, PROGRESSING};
use crate::apply::{self, Applier, ChangeSet, NotReady, ObjectId, Polling, PruneResult, WaitOutcome};
use crate::build::{self, Build};
use crate::distribution::{self, Distribution};

use super::super::{artifact, migrate};

/// Where the release comes from: the baked-in folder, or the instance's artifact, with the
/// versions eligible for the constraint.
pub struct Source {
    pub distribution: Distribution,
    pub candidates: Vec<Version>,
    /// Versions of the artifact on lines this operator has no build logic for.
    pub unsupported: Vec<String>,
}

/// The artifact (when the spec names one) or the baked-in folder.
pub async fn fetch(run: &mut Run<'_>) -> Result<Source, PhaseError> {
    let fetched = artifact::fetch(run.obj, run.ctx).await?;
    run.status.last_artifact_revision = fetched.as_ref().map(|f| f.digest.clone());
    let baked = &run.ctx.baked;
    // With an artifact, only the major.minor lines the baked-in data has are eligible: a
    // newer line can need build logic that this operator does not have.
    Ok(match fetched {
        Some(f) => {
            let candidates = distribution::on_known_lines(f.distribution.versions(), baked.versions());
            let unsupported = f
                .distribution
                .versions()
                .iter()
                .filter(|v| !candidates.contains(v))
                .map(|v| format!("v{v}"))
                .collect();
            Source {
                distribution: f.distribution,
                candidates,
                unsupported,
            }
        }
        None => Source {
            candidates: baked.versions().to_vec(),
            distribution: baked.clone(),
            unsupported: Vec::new(),
        },
    })
}

/// The version the constraint selects, refusing a downgrade of (major, minor).
pub fn resolve(run: &Run<'_>, source: &Source) -> Result<Version, PhaseError> {
    let version_error = |e| Cause::Version {
        source: e,
        unsupported: source.unsupported.clone(),
    };
    let version =
        distribution::resolve_version(&run.obj.spec.distribution.version, &source.candidates).map_err(version_error)?;
    if let Some(last) = run.old.last_applied_revision.as_deref().and_then(revision_version) {
        distribution::check_upgrade(&last, &version).map_err(|e| Cause::Version {
            source: e,
            unsupported: Vec::new(),
        })?;
    }
    Ok(version)
}

/// The objects of the instance: the release from the context's cache (read on a blocking
/// thread the first time), then the pure build.
pub async fn build(run: &mut Run<'_>, source: &Source, version: &Version) -> Result<Build, PhaseError> {
    let path = source.distribution.root().to_path_buf();
    let release = run
        .ctx
        .releases
        .get(&source.distribution, version)
        .await
        .map_err(|source| Cause::DistributionData { path, source })?;
    let built = build::build(&run.namespace, &run.obj.spec, &release)?;
    for warning in &built.warnings {
        tracing::warn!(namespace = run.namespace, %warning, "build warning");
    }
    run.revision = Some(built.revision.clone());
    Ok(built)
}

/// A new revision, spec or request is announced (status Reconciling, an event); a periodic
/// drift check that finds nothing to do writes nothing at all.
pub async fn announce(run: &mut Run<'_>, source: &Source, built: &Build) -> Result<(), PhaseError> {
    let revision = &built.revision;
    // A floored interval is said in the Ready message, so its first reconcile reports.
    let floor_unsaid = run.timing.floored.as_ref().is_some_and(|note| {
        conditions::get(&run.status.conditions, READY).is_none_or(|c| !c.message.contains(note.as_str()))
    });
    run.is_new = run.status.last_applied_revision.as_deref() != Some(revision.as_str())
        || run.new_request()
        || !conditions::is_true(&run.status.conditions, READY)
        || floor_unsaid;
    if !run.is_new {
        return Ok(());
    }
    if let Some(latest) = distribution::latest_for_major(&source.candidates, built.version.major)
        && latest != built.version
    {
        let note = format!("Flux v{} is outdated, v{latest} is available", built.version);
        run.event(EventType::Normal, OUTDATED_VERSION, &note).await;
    }
    let verb = match &run.status.last_applied_revision {
        Some(last) if last != revision => "Upgrading to",
        Some(_) => "Reconciling",
        None => "Installing",
    };
    conditions::progressing(
        &mut run.status.conditions,
        PROGRESSING,
        "Reconciliation in progress",
        run.generation,
    );
    run.status.last_attempted_revision = Some(revision.clone());
    run.write_status().await.map_err(Cause::Kube)?;
    run.event(EventType::Normal, PROGRESSING, &format!("{verb} revision {revision}"))
        .await;
    Ok(())
}

/// Server-side apply in stages, then prune what the last inventory had and this build
/// does not. The inventory and components are recorded as soon as the objects are applied.
pub async fn apply(run: &mut Run<'_>, built: &Build) -> Result<(ChangeSet, PruneResult), PhaseError> {
    let options = run.apply_options();
    let applier = Applier {
        client: &run.ctx.client,
        discovery: &run.ctx.discovery,
        options: &options,
    };
    let applied: Vec<ObjectId> = built.objects.iter().filter_map(ObjectId::from_object).collect();
    let owner = ObjectRef::from_obj(run.obj);
    run.epoch = run.ctx.watches.epoch(&owner);
    run.deletions = run.ctx.watches.deletions(&owner);
    if !run.is_new
        && run.ctx.settled.holds(&super::key(run.obj), &built.revision, run.epoch)
        && run.ctx.watches.all_watched(&applied)
    {
        // Applied before, and no managed object changed since: nothing to ask.
        run.settled = true;
        return Ok((ChangeSet::default(), PruneResult::default()));
    }
    let changes = apply::apply_staged(&applier, &built.objects).await?;
    run.status.components = built.components.clone();
    // From now on a deletion or edit of any of them starts a reconcile.
    run.ctx
        .watches
        .ensure(&run.ctx.discovery, &run.ctx.client, &applied)
        .await;
    let stale = apply::stale_entries(run.status.inventory.as_ref(), &applied);
    let pruned = apply::prune(&applier, &stale).await?;
    run.status.inventory = Some(apply::inventory(&applied));
    Ok((changes, pruned))
}

/// Waits until the objects with a notion of readiness are ready, within the instance's
/// reconcile timeout; a newer generation in the store cancels the wait, a deletion of a
/// managed object restarts the reconcile (a deleted Deployment or CRD never gets ready).
pub async fn wait(run: &Run<'_>, built: &Build) -> Result<(), PhaseError> {
    if !run.obj.spec.wait {
        return Ok(());
    }
    let options = run.apply_options();
    let applier = Applier {
        client: &run.ctx.client,
        discovery: &run.ctx.discovery,
        options: &options,
    };
    let watched: Vec<ObjectId> = built
        .objects
        .iter()
        .filter_map(ObjectId::from_object)
        .filter(has_readiness)
        .collect();
    // A pruned object is not awaited: only the deletion of one awaited restarts.
    let canceled = |pending: &[NotReady]| {
        let lost = run.lost_object() && pending.iter().any(|n| n.status == "NotFound");
        async move { lost || run.superseded() }
    };
    let polling = Polling {
        every: WAIT_POLL,
        woken_by: Some(run.ctx.watches.activity(&ObjectRef::from_obj(run.obj))),
    };
    match apply::wait_ready(&applier, &watched, run.timing.timeout, polling, canceled).await? {
        WaitOutcome::Ready => Ok(()),
        WaitOutcome::Canceled if run.superseded() => Err(PhaseError::Canceled),
        WaitOutcome::Canceled => Err(PhaseError::Restart),
        outcome => {
            tracing::info!(details = outcome.details(), "health check failed");
            Err(Cause::Health(outcome).into())
        }
    }
}

/// Rewrites the Flux custom resources in their storage version after an upgrade.
pub async fn migrate(run: &Run<'_>, built: &Build) -> Result<(), PhaseError> {
    if !run.obj.spec.migrate_resources {
        return Ok(());
    }
    let forced = run.force_at.is_some() && run.status.last_handled_force_at != run.force_at;
    // The reconcile that applied these CRDs migrated them; nothing was applied since.
    if run.settled && !forced {
        return Ok(());
    }
    migrate::migrate_storage_versions(run.ctx, &built.objects, forced)
        .await
        .map_err(|e| Cause::Migrate(Box::new(e)))?;
    Ok(())
}

/// How often the wait phase polls readiness.
const WAIT_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Kinds whose readiness is worth polling; the rest are ready once applied.
fn has_readiness(r: &ObjectId) -> bool {
    matches!(
        r.kind.as_str(),
        "Deployment" | "StatefulSet" | "CustomResourceDefinition" | "PersistentVolumeClaim"
    ) || r.group.ends_with(".toolkit.fluxcd.io")
}

/// The version of a `vX.Y.Z@sha256:...` revision.
pub fn revision_version(revision: &str) -> Option<Version> {
    let version = revision.split('@').next()?;
    Version::parse(version.trim_start_matches('v')).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn revision_versions() {
        assert_eq!(revision_version("v2.9.4@sha256:abc"), Some(Version::new(2, 9, 4)));
        assert_eq!(revision_version("garbage"), None);
    }
}
