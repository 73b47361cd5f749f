//! `wait instance`: blocks until a FluxInstance is Ready for the generation its spec is at,
//! as a Helm hook or a CI step needs; gives up early when the operator reports it Stalled
//! (retrying will not help until the spec changes), and at the deadline otherwise.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Client};

use crate::api::FluxInstance;
use crate::api::condition_type;

/// How often the instance is read: cheap (one GET), and short next to any reconcile.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("FluxInstance {namespace}/{name} is not ready after {timeout}: {message}")]
    TimedOut {
        namespace: String,
        name: String,
        timeout: String,
        message: String,
    },
    #[error("FluxInstance {namespace}/{name} is stalled: {message}")]
    Stalled {
        namespace: String,
        name: String,
        message: String,
    },
    #[error("FluxInstance {namespace}/{name} cannot be read: {message}")]
    Denied {
        namespace: String,
        name: String,
        message: String,
    },
}

/// Where an instance stands for its current generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Stalled=True for the current generation; the Ready message says why.
    Stalled(String),
    /// Anything else, with what a user would want to read about it.
    Pending(String),
}

/// Reads the instance's conditions. A condition only counts when it was written for the
/// current generation: a Ready=True left from before a spec change says nothing of the change.
pub fn readiness(instance: Option<&FluxInstance>) -> Readiness {
    let Some(instance) = instance else {
        return Readiness::Pending("not found".into());
    };
    let generation = instance.metadata.generation;
    let status = instance.status.as_ref();
    let conditions = status.map(|s| s.conditions.as_slice()).unwrap_or_default();
    let current = |c: &&Condition| c.observed_generation == generation;
    let find = |type_: &str| conditions.iter().find(|c| c.type_ == type_).filter(current);
    let ready = find(condition_type::READY);
    let ready_message = ready.map(|c| c.message.clone()).filter(|m| !m.is_empty());
    if ready.is_some_and(|c| c.status == "True") {
        return Readiness::Ready;
    }
    if let Some(stalled) = find(condition_type::STALLED).filter(|c| c.status == "True") {
        return Readiness::Stalled(ready_message.unwrap_or_else(|| stalled.message.clone()));
    }
    Readiness::Pending(ready_message.unwrap_or_else(|| match generation {
        Some(generation) => format!("generation {generation} not reconciled yet"),
        None => "not reconciled yet".into(),
    }))
}

/// Polls the instance until it is Ready (Ok), Stalled, or `timeout` has passed.
pub async fn instance(client: Client, namespace: &str, name: &str, timeout: Duration) -> Result<(), WaitError> {
    let api: Api<FluxInstance> = Api::namespaced(client, namespace);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let message = match api.get_opt(name).await {
            Ok(found) => match readiness(found.as_ref()) {
                Readiness::Ready => return Ok(()),
                Readiness::Stalled(message) => {
                    return Err(WaitError::Stalled {
                        namespace: namespace.into(),
                        name: name.into(),
                        message,
                    });
                }
                Readiness::Pending(message) => message,
            },
            // Missing rights do not come back by waiting.
            Err(kube::Error::Api(status)) if status.code == 401 || status.code == 403 => {
                return Err(WaitError::Denied {
                    namespace: namespace.into(),
                    name: name.into(),
                    message: status.message,
                });
            }
            // The API server may be restarting or overloaded: the deadline decides.
            Err(kube::Error::Api(status)) => format!("cannot read it: {}", status.message),
            Err(e) => format!("cannot read it: {e}"),
        };
        if tokio::time::Instant::now() + POLL_INTERVAL > deadline {
            return Err(WaitError::TimedOut {
                namespace: namespace.into(),
                name: name.into(),
                timeout: format_duration(timeout),
                message,
            });
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// `5m`, `90s`, `1h`: the way the timeout was most likely written.
fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0 => format!("{}ms", duration.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::FluxInstanceStatus;

    fn condition(type_: &str, status: &str, message: &str, generation: Option<i64>) -> Condition {
        serde_json::from_value(serde_json::json!({
            "type": type_, "status": status, "reason": "R", "message": message,
            "lastTransitionTime": "2025-01-01T00:00:00Z", "observedGeneration": generation,
        }))
        .expect("condition")
    }

    fn instance(generation: i64, conditions: Vec<Condition>) -> FluxInstance {
        let mut instance: FluxInstance = serde_json::from_value(serde_json::json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
            "metadata": {"name": "flux", "namespace": "flux-system", "generation": generation},
            "spec": {"distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"}},
        }))
        .expect("instance");
        instance.status = Some(FluxInstanceStatus {
            conditions,
            ..Default::default()
        });
        instance
    }

    #[test]
    fn ready_counts_only_for_the_current_generation() {
        let done = condition("Ready", "True", "Reconciliation finished in 3s", Some(2));
        assert_eq!(readiness(Some(&instance(2, vec![done.clone()]))), Readiness::Ready);
        assert_eq!(
            readiness(Some(&instance(3, vec![done]))),
            Readiness::Pending("generation 3 not reconciled yet".into()),
            "a Ready=True of generation 2 says nothing of generation 3"
        );
    }

    #[test]
    fn stalled_gives_the_ready_message() {
        let conditions = vec![
            condition("Ready", "False", "build failed: no Flux version matches 9.x", Some(1)),
            condition("Stalled", "True", "BuildFailed", Some(1)),
        ];
        assert_eq!(
            readiness(Some(&instance(1, conditions))),
            Readiness::Stalled("build failed: no Flux version matches 9.x".into())
        );
        let old = vec![condition("Stalled", "True", "old", Some(1))];
        assert!(matches!(readiness(Some(&instance(2, old))), Readiness::Pending(_)));
    }

    #[test]
    fn pending_says_why() {
        assert_eq!(readiness(None), Readiness::Pending("not found".into()));
        assert_eq!(
            readiness(Some(&instance(4, vec![]))),
            Readiness::Pending("generation 4 not reconciled yet".into())
        );
        let progressing = vec![condition("Ready", "Unknown", "Reconciliation in progress", Some(4))];
        assert_eq!(
            readiness(Some(&instance(4, progressing))),
            Readiness::Pending("Reconciliation in progress".into())
        );
    }

    #[test]
    fn timeouts_read_as_written() {
        assert_eq!(format_duration(Duration::from_secs(300)), "5m");
        assert_eq!(format_duration(Duration::from_secs(90)), "90s");
        assert_eq!(format_duration(Duration::from_secs(7200)), "2h");
        assert_eq!(format_duration(Duration::from_millis(500)), "500ms");
    }
}
