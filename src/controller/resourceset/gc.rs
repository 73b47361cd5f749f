//! Deleting a set's objects (SPEC-resourceset §11.8, §11.9): Flux appliers
//! (Kustomizations, HelmReleases) first, waiting a while for them to go so that their
//! controllers finalize them while the RBAC they need still exists, then the rest, in
//! reverse apply order. Only objects carrying this set's owner labels and no `prune:
//! disabled` are deleted (the generic prune checks both).

use std::time::Duration;

use crate::apply::{self, Applier, ObjectId, PruneResult};

/// What a failed deletion does to the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Garbage collection: stop, keep the union inventory, try again next time.
    Stop,
    /// The set's own deletion: log it and go on, the set is going away anyway.
    Continue,
}

pub async fn delete_in_stages(
    applier: &Applier<'_>,
    objects: &[ObjectId],
    appliers_timeout: Duration,
    on_error: OnError,
) -> Result<PruneResult, apply::Error> {
    let reversed: Vec<ObjectId> = objects.iter().rev().cloned().collect();
    let (first, rest): (Vec<ObjectId>, Vec<ObjectId>) = reversed.into_iter().partition(is_flux_applier);
    let mut result = delete(applier, &first, on_error).await?;
    wait_gone(applier, &result.deleted, appliers_timeout).await;
    let later = delete(applier, &rest, on_error).await?;
    result.deleted.extend(later.deleted);
    result.kept.extend(later.kept);
    Ok(result)
}

async fn delete(applier: &Applier<'_>, objects: &[ObjectId], on_error: OnError) -> Result<PruneResult, apply::Error> {
    if on_error == OnError::Stop {
        return apply::prune(applier, objects).await;
    }
    let mut result = PruneResult::default();
    for object in objects {
        match apply::prune(applier, std::slice::from_ref(object)).await {
            Ok(one) => {
                result.deleted.extend(one.deleted);
                result.kept.extend(one.kept);
            }
            Err(error) => tracing::warn!(%object, %error, "cannot delete an object of the ResourceSet"),
        }
    }
    Ok(result)
}

fn is_flux_applier(id: &ObjectId) -> bool {
    matches!(
        id.group.as_str(),
        "kustomize.toolkit.fluxcd.io" | "helm.toolkit.fluxcd.io"
    )
}

/// Polls until the objects are gone or `timeout` passed; what is left is deleted anyway
/// later, so a timeout or a read error only ends the wait.
async fn wait_gone(applier: &Applier<'_>, objects: &[ObjectId], timeout: Duration) {
    let deadline = tokio::time::Instant::now() + timeout;
    for object in objects {
        let Ok(api) = applier.api_for(object).await else {
            continue;
        };
        while let Ok(Some(_)) = api.get_opt(&object.name).await {
            if tokio::time::Instant::now() >= deadline {
                tracing::info!(%object, "still present after the wait for Flux appliers to go");
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}
