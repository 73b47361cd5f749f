use std::future::Future;
use std::time::Duration;

use serde_json::Value;

use super::{Applier, Error, ObjectId, Readiness, readiness};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitOutcome {
    Ready,
    /// The objects not ready at the deadline (or failed), with their own messages.
    NotReady(Vec<(ObjectId, String)>),
    /// A newer change of the instance arrived while waiting.
    Canceled,
}

impl WaitOutcome {
    /// `Kind/ns/name: message` lines, for status and events.
    pub fn describe(items: &[(ObjectId, String)]) -> String {
        items
            .iter()
            .map(|(o, m)| format!("{o}: {m}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Polls the objects until all are ready, one fails, the timeout passes, or `canceled`
/// says a newer change arrived.
pub async fn wait_ready<F, Fut>(
    applier: &Applier<'_>,
    objects: &[ObjectId],
    timeout: Duration,
    poll: Duration,
    mut canceled: F,
) -> Result<WaitOutcome, Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut pending = Vec::new();
        let mut failed = Vec::new();
        for object in objects {
            let api = applier.api_for(object).await?;
            let live = api.get_opt(&object.name).await.map_err(|source| Error::Read {
                object: object.to_string(),
                source,
            })?;
            let state = match live {
                None => Readiness::InProgress("not found".into()),
                Some(live) => readiness(&serde_json::to_value(&live).unwrap_or(Value::Null)),
            };
            match state {
                Readiness::Ready => {}
                Readiness::InProgress(m) => pending.push((object.clone(), m)),
                Readiness::Failed(m) => failed.push((object.clone(), m)),
            }
        }
        if !failed.is_empty() {
            return Ok(WaitOutcome::NotReady(failed));
        }
        if pending.is_empty() {
            return Ok(WaitOutcome::Ready);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(WaitOutcome::NotReady(pending));
        }
        if canceled().await {
            return Ok(WaitOutcome::Canceled);
        }
        tokio::time::sleep(poll.min(deadline - tokio::time::Instant::now())).await;
    }
}
