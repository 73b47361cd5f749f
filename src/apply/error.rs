use crate::api::reason;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("object without apiVersion, kind or metadata.name: {object}")]
    InvalidObject { object: String },

    #[error("{object}: unknown API resource: {source}")]
    Discovery {
        object: String,
        #[source]
        source: kube::Error,
    },

    /// The API server refused the object in the server-side dry-run that precedes every
    /// write. Its own message is what a user needs to read, so it is shown bare.
    #[error("{object} dry-run failed: {}", super::ssa::api_message(source))]
    DryRun {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("{object} apply failed: {}", super::ssa::api_message(source))]
    Apply {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("{object} delete failed: {source}")]
    Delete {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("{object} read failed: {source}")]
    Read {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("CustomResourceDefinitions not Established after {seconds}s: {names}")]
    CrdsNotEstablished { seconds: u64, names: String },
}

impl Error {
    /// The status condition reason of this error.
    pub fn reason(&self) -> &'static str {
        reason::RECONCILIATION_FAILED
    }

    /// Whether the API server refused the object itself (invalid), as opposed to a
    /// transient failure that a retry may fix.
    pub fn is_invalid(&self) -> bool {
        match self {
            Error::InvalidObject { .. } => true,
            // The reason of the API server's 422 "... is invalid: ..." answers.
            Error::Apply {
                source: kube::Error::Api(status),
                ..
            }
            | Error::DryRun {
                source: kube::Error::Api(status),
                ..
            } => status.reason == "Invalid",
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply_error(code: u16, reason: &str, message: &str) -> Error {
        let status = kube::core::Status::failure(message, reason).with_code(code);
        Error::Apply {
            object: "Deployment/flux-system/x".into(),
            source: kube::Error::Api(Box::new(status)),
        }
    }

    #[test]
    fn only_a_refused_object_is_invalid() {
        let invalid = apply_error(422, "Invalid", "Deployment.apps \"x\" is invalid: spec.replicas");
        assert!(invalid.is_invalid());
        assert_eq!(
            invalid.to_string(),
            "Deployment/flux-system/x apply failed: Deployment.apps \"x\" is invalid: spec.replicas"
        );
        assert!(!apply_error(409, "Conflict", "the object has been modified").is_invalid());
        assert!(!apply_error(503, "ServiceUnavailable", "x is invalid").is_invalid());
        assert!(Error::InvalidObject { object: "{}".into() }.is_invalid());
    }
}
