use std::path::PathBuf;

use crate::text::shorten;

/// Everything that can go wrong between a `spec.distribution.artifact` reference and a
/// distribution folder on disk. Each message names the field (or flag) and the value it
/// came from, since it ends up verbatim in a status condition or on a terminal; none
/// carries a credential.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{field}: invalid OCI artifact reference {:?}: {message}", shorten(value))]
    Reference {
        field: String,
        value: String,
        message: String,
    },

    /// The pull secret, a docker config file or `--creds`.
    #[error("{field}: {message}")]
    Credentials { field: String, message: String },

    #[error("{field}: cannot use the CA bundle {}: {message}", path.display())]
    CaBundle {
        field: String,
        path: PathBuf,
        message: String,
    },

    #[error("{field} {reference:?}: {message}")]
    NotFound {
        field: String,
        reference: String,
        message: String,
    },

    #[error("{field} {reference:?}: {message}")]
    Unauthorized {
        field: String,
        reference: String,
        message: String,
    },

    #[error("{field} {reference:?}: registry unreachable: {message}")]
    Unreachable {
        field: String,
        reference: String,
        message: String,
    },

    #[error("{field} {reference:?}: no complete answer from the registry within {limit:?}")]
    Timeout {
        field: String,
        reference: String,
        limit: std::time::Duration,
    },

    /// The layer's bytes do not match its digest or size, or are not a tar+gzip stream.
    #[error("{field} {reference:?}: corrupt layer: {message}")]
    CorruptLayer {
        field: String,
        reference: String,
        message: String,
    },

    /// A valid artifact, but not a Flux distribution.
    #[error("{field} {reference:?}: not a Flux distribution artifact: {message}")]
    Layout {
        field: String,
        reference: String,
        message: String,
    },

    /// Past one of the limits on the manifest, the layer or what it unpacks to.
    #[error("{field} {reference:?}: too large: {message}")]
    TooLarge {
        field: String,
        reference: String,
        message: String,
    },

    #[error("{field} {reference:?}: {message}")]
    Registry {
        field: String,
        reference: String,
        message: String,
    },

    #[error("artifact cache {}: {message}", path.display())]
    Cache { path: PathBuf, message: String },

    /// A folder that cannot be published.
    #[error("{}: {message}", path.display())]
    Pack { path: PathBuf, message: String },
}

impl Error {
    /// The status condition reason of every artifact error: the registry, the network or
    /// the artifact may recover, so the reconciler retries with backoff.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::ARTIFACT_FAILED
    }
}

/// `error` and its sources on one line: reqwest hides the useful part ("Connection
/// refused", "invalid peer certificate: UnknownIssuer") in its source chain.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_is_artifact_failed_and_names_its_field() {
        let e = Error::NotFound {
            field: "spec.distribution.artifact".into(),
            reference: "oci://127.0.0.1:5000/flux:v1".into(),
            message: "tag \"v1\" not found".into(),
        };
        assert_eq!(e.reason(), "ArtifactFailed");
        assert_eq!(
            e.to_string(),
            "spec.distribution.artifact \"oci://127.0.0.1:5000/flux:v1\": tag \"v1\" not found"
        );
    }

    #[test]
    fn chain_joins_sources_without_repeating_them() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        let outer = std::io::Error::other(inner);
        assert_eq!(chain(&outer), "Connection refused");
    }
}
