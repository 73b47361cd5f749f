use kube::runtime::finalizer;

/// Errors that end a reconciliation and are retried with backoff. A user's mistake is not
/// here: it is written to status as Stalled and the reconciler waits for a spec change.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API error: {0}")]
    Kube(#[source] kube::Error),

    /// The instance's OCI artifact could not be pulled.
    #[error("{0}")]
    Artifact(#[source] crate::distribution::artifact::Error),

    /// The baked-in distribution folder could not be opened.
    #[error("distribution data at {}: {source}", path.display())]
    DistributionData {
        path: std::path::PathBuf,
        #[source]
        source: crate::distribution::Error,
    },

    #[error("{0}")]
    Reconcile(String),

    #[error("uninstall: delete {object}: {source}")]
    UninstallDelete {
        object: String,
        #[source]
        source: kube::Error,
    },

    #[error("uninstall: still present after {seconds}s: {objects}")]
    UninstallTimeout { seconds: u64, objects: String },

    #[error(transparent)]
    Finalizer(Box<finalizer::Error<Error>>),
}
