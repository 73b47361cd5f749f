use kube::runtime::finalizer;

/// Errors that end a reconciliation and are retried with backoff. A user's mistake is not
/// here: it is written to status as Stalled and the reconciler waits for a spec change.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API error: {0}")]
    Kube(#[source] kube::Error),

    #[error("{0}")]
    Distribution(String),

    #[error("{0}")]
    Reconcile(String),

    #[error("uninstall: {0}")]
    Uninstall(String),

    #[error(transparent)]
    Finalizer(Box<finalizer::Error<Error>>),
}

impl Error {
    /// The status condition reason of this error.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::RECONCILIATION_FAILED
    }
}
