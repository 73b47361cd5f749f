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

    #[error("{object} apply failed: {message}")]
    Apply { object: String, message: String },

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
            Error::Apply { message, .. } => message.contains("is invalid"),
            _ => false,
        }
    }
}
