//! How a reconcile ends. Every phase fails with a typed [`Cause`]; [`classify`], a pure
//! function, decides whether the cause is the user's (Stalled until the spec changes) or
//! the world's (retried with backoff), and which condition reason it carries.

use crate::api::reason::{ARTIFACT_FAILED, BUILD_FAILED, RECONCILIATION_FAILED};
use crate::apply::{self, WaitOutcome};
use crate::build;
use crate::distribution;
use crate::distribution::artifact;

use super::super::timing::TimingError;

/// Why a phase failed.
#[derive(Debug, thiserror::Error)]
pub enum Cause {
    /// An interval annotation that cannot be parsed.
    #[error(transparent)]
    Timing(#[from] TimingError),

    /// The instance's OCI artifact could not be pulled.
    #[error(transparent)]
    Artifact(#[from] artifact::Error),

    /// The baked-in distribution folder could not be opened.
    #[error("distribution data at {}: {source}", path.display())]
    DistributionData {
        path: std::path::PathBuf,
        #[source]
        source: distribution::Error,
    },

    /// The version constraint selects nothing, or a downgrade across minors.
    #[error("{source}{}", unsupported_note(unsupported))]
    Version {
        #[source]
        source: distribution::Error,
        /// Versions of an artifact on lines this operator cannot build.
        unsupported: Vec<String>,
    },

    #[error(transparent)]
    Build(#[from] build::Error),

    #[error(transparent)]
    Apply(#[from] apply::Error),

    /// Objects not ready by the deadline, or failed.
    #[error("{}", .0.message().unwrap_or_default())]
    Health(WaitOutcome),

    /// A status write or another API call of the reconciler itself.
    #[error("Kubernetes API error: {0}")]
    Kube(#[source] kube::Error),

    #[error("storage version migration: {0}")]
    Migrate(#[source] Box<super::super::Error>),
}

fn unsupported_note(unsupported: &[String]) -> String {
    if unsupported.is_empty() {
        return String::new();
    }
    format!(
        " (the artifact also has {}, on lines this operator does not support yet)",
        unsupported.join(", ")
    )
}

/// How a failed reconcile is reported and retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disposition {
    /// The Ready (and Stalled) condition reason.
    pub reason: &'static str,
    /// Terminal until the spec changes: no retry.
    pub stalled: bool,
    /// The status records the failure under the digest of the spec rather than of the
    /// revision: nothing was built.
    pub build_failed: bool,
}

/// Stall versus retry: a user's mistake (bad annotation, version, spec) stalls; the
/// registry, the API server and the cluster's state can recover and are retried.
pub fn classify(cause: &Cause) -> Disposition {
    let (reason, stalled) = match cause {
        Cause::Timing(_) | Cause::Version { .. } | Cause::Build(_) => (BUILD_FAILED, true),
        Cause::DistributionData { .. } => (BUILD_FAILED, false),
        Cause::Artifact(_) => (ARTIFACT_FAILED, false),
        Cause::Apply(_) | Cause::Health(_) | Cause::Kube(_) | Cause::Migrate(_) => (RECONCILIATION_FAILED, false),
    };
    Disposition {
        reason,
        stalled,
        build_failed: reason == BUILD_FAILED,
    }
}

/// The Ready message of a failure, in upstream's words: `build failed: ...` for what
/// could not be built, `reconciliation failed: ...` for what could not be applied or
/// became not ready.
pub fn message(cause: &Cause) -> String {
    match classify(cause).reason {
        BUILD_FAILED => format!("build failed: {cause}"),
        RECONCILIATION_FAILED => format!("reconciliation failed: {cause}"),
        _ => cause.to_string(),
    }
}

/// A phase's failure.
#[derive(Debug)]
pub enum PhaseError {
    Failed(Cause),
    /// A newer change of the instance arrived while waiting for health.
    Canceled,
    /// A managed object was deleted while waiting for health: apply again now rather than
    /// wait for the deleted object until the timeout.
    Restart,
}

impl<E: Into<Cause>> From<E> for PhaseError {
    fn from(e: E) -> Self {
        PhaseError::Failed(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{NotReady, ObjectId};

    fn api_error(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status::failure("refused", reason).with_code(code)))
    }

    #[test]
    fn a_users_mistake_stalls_and_the_worlds_is_retried() {
        let timing = Cause::Timing(TimingError {
            key: "fluxcd.controlplane.io/reconcileEvery",
            problem: "bad".into(),
        });
        let version = Cause::Version {
            source: distribution::Error::NoMatch {
                constraint: "3.x".into(),
                available: "v2.9.4".into(),
            },
            unsupported: vec![],
        };
        let build = Cause::Build(build::Error::Spec("spec.components: x".into()));
        for user in [&timing, &version, &build] {
            let d = classify(user);
            assert!(d.stalled && d.build_failed && d.reason == BUILD_FAILED, "{user}");
        }
        let apply = Cause::Apply(apply::Error::DryRun {
            object: "Deployment/flux-system/x".into(),
            source: api_error(422, "Invalid"),
        });
        let health = Cause::Health(WaitOutcome::TimedOut(vec![NotReady {
            object: ObjectId::from_inventory("flux-system_x_apps_Deployment", "v1").expect("id"),
            status: "InProgress",
            detail: String::new(),
        }]));
        for world in [&apply, &health, &Cause::Kube(api_error(503, "ServiceUnavailable"))] {
            let d = classify(world);
            assert!(
                !d.stalled && !d.build_failed && d.reason == RECONCILIATION_FAILED,
                "{world}"
            );
        }
        assert_eq!(
            message(&apply),
            "reconciliation failed: Deployment/flux-system/x dry-run failed: refused"
        );
        assert_eq!(
            message(&health),
            "reconciliation failed: timeout waiting for: [Deployment/flux-system/x status: 'InProgress']\n"
        );
        assert!(message(&version).starts_with("build failed: "), "{}", message(&version));
    }

    #[test]
    fn unsupported_artifact_lines_are_named() {
        let cause = Cause::Version {
            source: distribution::Error::NoMatch {
                constraint: "2.10.x".into(),
                available: "v2.9.4".into(),
            },
            unsupported: vec!["v2.10.0".into()],
        };
        assert!(
            cause
                .to_string()
                .ends_with("(the artifact also has v2.10.0, on lines this operator does not support yet)"),
            "{cause}"
        );
    }
}
