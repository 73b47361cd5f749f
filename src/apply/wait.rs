use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use super::{Applier, Error, ObjectId, Readiness, readiness};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    Ready,
    /// Objects still not ready at the deadline.
    TimedOut(Vec<NotReady>),
    /// Objects that will not become ready without a change: waiting longer cannot help.
    Failed(Vec<NotReady>),
    /// A newer change of the instance arrived while waiting.
    Canceled,
}

/// An object that is not ready, with its kstatus status (`InProgress`, `NotFound`,
/// `Failed`) and what its status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotReady {
    pub object: ObjectId,
    pub status: &'static str,
    pub detail: String,
}

impl WaitOutcome {
    /// The message of a failed wait in the words of Flux's health checks (fluxcd/pkg/ssa), the
    /// words upstream's status and alerts carry: `timeout waiting for: [Kind/ns/name status:
    /// 'InProgress', ...]`, sorted, with a trailing newline.
    pub fn message(&self) -> Option<String> {
        let (lead, items) = match self {
            WaitOutcome::TimedOut(items) => ("timeout waiting for", items),
            WaitOutcome::Failed(items) => ("failed early due to stalled resources", items),
            WaitOutcome::Ready | WaitOutcome::Canceled => return None,
        };
        let mut listed: Vec<String> = items
            .iter()
            .map(|n| format!("{} status: '{}'", n.object, n.status))
            .collect();
        listed.sort();
        Some(format!("{lead}: [{}]\n", listed.join(", ")))
    }

    /// `Kind/ns/name: detail` of each object, for the log.
    pub fn details(&self) -> String {
        match self {
            WaitOutcome::TimedOut(items) | WaitOutcome::Failed(items) => items
                .iter()
                .map(|n| format!("{}: {}", n.object, n.detail))
                .collect::<Vec<_>>()
                .join("; "),
            WaitOutcome::Ready | WaitOutcome::Canceled => String::new(),
        }
    }
}

/// When the readiness wait looks again.
pub struct Polling {
    /// At the latest after this long.
    pub every: Duration,
    /// Earlier when this moves: a watch of the objects counting their changes (status
    /// included), so that a Deployment that became Available is seen within
    /// [`COALESCE`] instead of at the next poll.
    pub woken_by: Option<tokio::sync::watch::Receiver<u64>>,
}

/// How long a wake-up waits for more changes before it reads: a rollout changes each
/// Deployment's status several times in a burst.
pub const COALESCE: Duration = Duration::from_millis(100);

impl Polling {
    /// Sleeps until the next look, at most `limit`.
    async fn nap(&mut self, limit: Duration) {
        let nap = self.every.min(limit);
        let Some(changes) = &mut self.woken_by else {
            return tokio::time::sleep(nap).await;
        };
        let started = tokio::time::Instant::now();
        tokio::select! {
            () = tokio::time::sleep(nap) => {}
            changed = changes.changed() => {
                if changed.is_err() {
                    // The watch is gone: plain polling from now on.
                    self.woken_by = None;
                }
                let left = nap.saturating_sub(started.elapsed());
                tokio::time::sleep(COALESCE.min(left)).await;
            }
        }
    }

    /// Marks the changes seen so far as read, before a look.
    fn mark_read(&mut self) {
        if let Some(changes) = &mut self.woken_by {
            changes.mark_unchanged();
        }
    }
}

/// Polls the objects until all are ready, one fails, the timeout passes, or `canceled`,
/// shown the objects still pending, says to stop.
pub async fn wait_ready<F, Fut>(
    applier: &Applier<'_>,
    objects: &[ObjectId],
    timeout: Duration,
    mut polling: Polling,
    mut canceled: F,
) -> Result<WaitOutcome, Error>
where
    F: FnMut(&[NotReady]) -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        polling.mark_read();
        let (pending, failed) = check(applier, objects).await?;
        if !failed.is_empty() {
            return Ok(WaitOutcome::Failed(failed));
        }
        if pending.is_empty() {
            return Ok(WaitOutcome::Ready);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(WaitOutcome::TimedOut(pending));
        }
        if canceled(&pending).await {
            return Ok(WaitOutcome::Canceled);
        }
        polling.nap(deadline - tokio::time::Instant::now()).await;
    }
}

/// The objects not ready (pending, failed).
async fn check(applier: &Applier<'_>, objects: &[ObjectId]) -> Result<(Vec<NotReady>, Vec<NotReady>), Error> {
    let live = read_by_list(applier, objects, &applier.options.owner.selector()).await?;
    let (mut pending, mut failed) = (Vec::new(), Vec::new());
    for object in objects {
        let not_ready = |status, detail| NotReady {
            object: object.clone(),
            status,
            detail,
        };
        match live.get(&object.id()).map(readiness) {
            None => pending.push(not_ready("NotFound", "not found".into())),
            Some(Readiness::Ready) => {}
            Some(Readiness::InProgress(m)) => pending.push(not_ready("InProgress", m)),
            Some(Readiness::Failed(m)) => failed.push(not_ready("Failed", m)),
        }
    }
    Ok((pending, failed))
}

/// The live objects by inventory id: one LIST per kind and namespace, selected by the owner
/// labels, so that a poll of a Flux install is a handful of requests, not one per object.
async fn read_by_list(
    applier: &Applier<'_>,
    objects: &[ObjectId],
    selector: &str,
) -> Result<HashMap<String, Value>, Error> {
    let mut groups: Vec<&ObjectId> = Vec::new();
    for object in objects {
        if !groups.iter().any(|g| same_list(g, object)) {
            groups.push(object);
        }
    }
    let mut live = HashMap::new();
    for group in groups {
        let api = applier.api_for(group).await?;
        let params = kube::api::ListParams::default().labels(selector);
        let list = api.list(&params).await.map_err(|source| Error::Read {
            object: group.to_string(),
            source,
        })?;
        // List items carry no apiVersion and kind: their id is the group's with their name.
        for item in &list.items {
            let id = ObjectId {
                name: item.metadata.name.clone().unwrap_or_default(),
                namespace: item.metadata.namespace.clone().unwrap_or_default(),
                ..group.clone()
            };
            let mut obj = serde_json::to_value(item).unwrap_or(Value::Null);
            obj["kind"] = Value::String(group.kind.clone());
            live.insert(id.id(), obj);
        }
    }
    Ok(live)
}

/// Whether two objects are read by the same LIST: same kind and namespace.
fn same_list(a: &ObjectId, b: &ObjectId) -> bool {
    a.group == b.group && a.kind == b.kind && a.namespace == b.namespace
}

#[cfg(test)]
mod tests {
    use super::*;

    fn not_ready(kind: &str, name: &str, status: &'static str) -> NotReady {
        NotReady {
            object: ObjectId {
                group: "source.toolkit.fluxcd.io".into(),
                version: "v1".into(),
                kind: kind.into(),
                namespace: "flux-system".into(),
                name: name.into(),
            },
            status,
            detail: "observedGeneration -1 behind generation 1".into(),
        }
    }

    #[test]
    fn messages_read_like_flux_health_checks_sorted() {
        let timed_out = WaitOutcome::TimedOut(vec![
            not_ready("Kustomization", "fleet", "InProgress"),
            not_ready("GitRepository", "fleet", "NotFound"),
        ]);
        assert_eq!(
            timed_out.message().unwrap(),
            "timeout waiting for: [GitRepository/flux-system/fleet status: 'NotFound', \
             Kustomization/flux-system/fleet status: 'InProgress']\n"
        );
        let failed = WaitOutcome::Failed(vec![not_ready("Bucket", "b", "Failed")]);
        assert_eq!(
            failed.message().unwrap(),
            "failed early due to stalled resources: [Bucket/flux-system/b status: 'Failed']\n"
        );
        assert!(
            timed_out
                .details()
                .contains("Kustomization/flux-system/fleet: observedGeneration")
        );
        assert_eq!(WaitOutcome::Ready.message(), None);
    }
}
