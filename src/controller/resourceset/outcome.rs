//! How a ResourceSet reconcile ends. Every phase fails with a typed [`Cause`];
//! [`classify`], a pure function, decides (SPEC-resourceset §11.10) whether it is the
//! user's mistake (Stalled until the spec or a provider changes) or the world's (retried
//! with backoff), its reason, and what the history records.

use crate::api::reason::{
    BUILD_FAILED, DEPENDENCY_NOT_READY, HEALTH_CHECK_CANCELED, INVALID_CEL_EXPRESSION, RECONCILIATION_FAILED,
};
use crate::apply::{self, WaitOutcome};
use crate::resourceset::build::BuildError;
use crate::resourceset::inputs::InputsError;

/// Why a phase failed.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// A `dependsOn` entry that cannot be evaluated.
    #[error("dependsOn[{index}].readyExpr: {problem}")]
    InvalidReadyExpr { index: usize, problem: String },

    /// A dependency is missing or not ready.
    #[error("{0}")]
    DependencyNotReady(String),

    #[error("spec.inputsFrom[{index}].selector: {problem}")]
    InvalidSelector { index: usize, problem: String },

    /// A provider named in `inputsFrom` does not exist (yet).
    #[error("ResourceSetInputProvider/{namespace}/{name} not found")]
    ProviderMissing { namespace: String, name: String },

    /// The providers could not be listed (yet), or the watch is gone.
    #[error("the ResourceSetInputProviders could not be listed")]
    ProvidersUnknown,

    #[error(transparent)]
    Inputs(#[from] InputsError),

    #[error(transparent)]
    Build(#[from] BuildError),

    #[error("{}{source}", step_prefix(step.as_deref(), "apply failed"))]
    Apply {
        step: Option<String>,
        #[source]
        source: apply::Error,
    },

    /// A copyFrom, convertKubeConfigFrom or checksumFrom source that cannot be used.
    #[error("{object}: {source}")]
    ConfigSource {
        object: String,
        #[source]
        source: crate::resourceset::config_sources::SourceError,
    },

    #[error("garbage collection failed: {0}")]
    Prune(#[source] apply::Error),

    #[error("{}{}{}", step_prefix(step.as_deref(), "health check failed"), outcome.message().unwrap_or_default(), flux_messages(outcome))]
    Health { step: Option<String>, outcome: WaitOutcome },

    /// A newer change of the set arrived while waiting for health: neither success nor
    /// failure, the next reconcile starts at once.
    #[error("health check canceled by a change of {by}")]
    Canceled { by: String },

    /// A status write or another API call of the reconciler itself.
    #[error("Kubernetes API error: {0}")]
    Kube(#[source] kube::Error),
}

/// The Ready messages of the Flux objects (`*.fluxcd.io`) not ready, one per line: what
/// their own controllers say is wrong.
fn flux_messages(outcome: &WaitOutcome) -> String {
    let (WaitOutcome::TimedOut(items) | WaitOutcome::Failed(items)) = outcome else {
        return String::new();
    };
    items
        .iter()
        .filter(|n| n.object.group.ends_with(".fluxcd.io") && !n.detail.is_empty())
        .map(|n| format!("{}: {}\n", n.object, n.detail))
        .collect()
}

fn step_prefix(step: Option<&str>, what: &str) -> String {
    step.map(|s| format!("step {s:?} {what}: ")).unwrap_or_default()
}

/// What the history records of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Record {
    /// Nothing: dependency waits write no history.
    Nothing,
    /// Nothing was built: the entry is keyed by the spec's digest, without metadata.
    Spec,
    /// The build's objects were attempted: keyed by their revision.
    Objects,
}

/// How a failed reconcile is reported and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disposition {
    pub reason: &'static str,
    /// Terminal until the object (or a provider it reads) changes: no retry.
    pub stalled: bool,
    pub record: Record,
}

/// Stall versus retry (§11.10): what the user wrote wrong stalls; what the API server,
/// the cluster or a dependency can fix by itself is retried.
pub fn classify(cause: &Cause) -> Disposition {
    let (reason, stalled, record) = match cause {
        Cause::InvalidReadyExpr { .. } => (INVALID_CEL_EXPRESSION, true, Record::Spec),
        Cause::DependencyNotReady(_) => (DEPENDENCY_NOT_READY, false, Record::Nothing),
        Cause::Canceled { .. } => (HEALTH_CHECK_CANCELED, false, Record::Nothing),
        Cause::InvalidSelector { .. } | Cause::Inputs(_) | Cause::Build(_) => (BUILD_FAILED, true, Record::Spec),
        // Upstream stalls on a missing named provider (§15): it may be created any time.
        Cause::ProviderMissing { .. } | Cause::ProvidersUnknown => (RECONCILIATION_FAILED, false, Record::Spec),
        Cause::Apply { .. } | Cause::ConfigSource { .. } | Cause::Prune(_) | Cause::Health { .. } | Cause::Kube(_) => {
            (RECONCILIATION_FAILED, false, Record::Objects)
        }
    };
    Disposition {
        reason,
        stalled,
        record,
    }
}

/// The Ready message of a failure, in upstream's words.
pub fn message(cause: &Cause) -> String {
    match cause {
        Cause::InvalidReadyExpr { .. } => {
            format!("Reconciliation failed terminally due to configuration error: {cause}")
        }
        Cause::DependencyNotReady(_) => format!("Retrying dependency check: {cause}"),
        Cause::Canceled { by } => format!("New reconciliation triggered by {by}"),
        Cause::InvalidSelector { .. } | Cause::Inputs(_) | Cause::ProviderMissing { .. } | Cause::ProvidersUnknown => {
            format!("failed to compute inputs: {cause}")
        }
        Cause::Build(_) => format!("build failed: {cause}"),
        Cause::Apply { .. } | Cause::ConfigSource { .. } | Cause::Prune(_) | Cause::Health { .. } | Cause::Kube(_) => {
            format!("reconciliation failed: {cause}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{NotReady, ObjectId};

    fn api_error(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("refused", reason).with_code(code)))
    }

    fn timed_out() -> WaitOutcome {
        WaitOutcome::TimedOut(vec![NotReady {
            object: ObjectId::from_inventory("apps_w-a_example.io_Widget", "v1").expect("id"),
            status: "InProgress",
            detail: String::new(),
        }])
    }

    #[test]
    fn the_users_mistakes_stall() {
        let mistakes = [
            Cause::InvalidSelector {
                index: 0,
                problem: "bad".into(),
            },
            Cause::Inputs(InputsError::TooManyPermutations { count: "10001".into() }),
            Cause::Build(BuildError::NothingToBuild),
        ];
        for cause in &mistakes {
            let d = classify(cause);
            assert!(
                d.stalled && d.reason == BUILD_FAILED && d.record == Record::Spec,
                "{cause}"
            );
        }
        let cel = Cause::InvalidReadyExpr {
            index: 1,
            problem: "x".into(),
        };
        assert_eq!(classify(&cel).reason, INVALID_CEL_EXPRESSION);
        assert!(classify(&cel).stalled);
        assert!(message(&cel).starts_with("Reconciliation failed terminally due to configuration error:"));
    }

    #[test]
    fn the_worlds_failures_are_retried() {
        let apply = Cause::Apply {
            step: None,
            source: apply::Error::DryRun {
                object: "ConfigMap/apps/x".into(),
                source: api_error(422, "Invalid"),
            },
        };
        let missing = Cause::ProviderMissing {
            namespace: "apps".into(),
            name: "p".into(),
        };
        let health = Cause::Health {
            step: Some("a".into()),
            outcome: timed_out(),
        };
        for cause in [&apply, &missing, &health, &Cause::Kube(api_error(503, "Unavailable"))] {
            let d = classify(cause);
            assert!(!d.stalled && d.reason == RECONCILIATION_FAILED, "{cause}");
        }
        assert_eq!(classify(&health).record, Record::Objects);
        let kustomization = NotReady {
            object: ObjectId::from_inventory("apps_k_kustomize.toolkit.fluxcd.io_Kustomization", "v1").expect("id"),
            status: "InProgress",
            detail: "source not found".into(),
        };
        let flux = Cause::Health {
            step: None,
            outcome: WaitOutcome::TimedOut(vec![kustomization]),
        };
        assert!(
            message(&flux).ends_with("status: 'InProgress']\nKustomization/apps/k: source not found\n"),
            "{}",
            message(&flux)
        );
        assert_eq!(
            message(&health),
            "reconciliation failed: step \"a\" health check failed: timeout waiting for: \
             [Widget/apps/w-a status: 'InProgress']\n"
        );
        assert_eq!(
            message(&apply),
            "reconciliation failed: ConfigMap/apps/x dry-run failed: refused"
        );
        let waiting = Cause::DependencyNotReady("ConfigMap/apps/gate not found".into());
        let d = classify(&waiting);
        assert!(!d.stalled && d.reason == DEPENDENCY_NOT_READY && d.record == Record::Nothing);
        assert_eq!(
            message(&waiting),
            "Retrying dependency check: ConfigMap/apps/gate not found"
        );
    }
}
