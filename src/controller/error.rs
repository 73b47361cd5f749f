use kube::runtime::finalizer;

/// Errors that end a reconciliation and are retried with backoff. A user's mistake is not
/// here: it is written to status as Stalled and the reconciler waits for a spec change.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Kubernetes API error: {0}")]
    Kube(#[source] kube::Error),

    /// A phase of the reconcile failed in a way worth retrying; its status is written.
    #[error("{reason}: {cause}")]
    Failed {
        reason: &'static str,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },

    #[error("uninstall: delete {object}: {source}")]
    UninstallDelete {
        object: String,
        #[source]
        source: kube::Error,
    },

    /// The uninstall's deadline (the instance's reconcile timeout) passed.
    #[error("uninstall: still present after the reconcile timeout of {timeout}: {objects}")]
    UninstallTimeout { timeout: String, objects: String },

    #[error(transparent)]
    Finalizer(Box<finalizer::Error<Error>>),
}

/// Why the operator process stops. Only `main` turns it into an exit code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot connect to Kubernetes: {0}")]
    Kubeconfig(#[source] kube::config::InferConfigError),

    #[error("cannot connect to Kubernetes: {0}")]
    Client(#[source] kube::Error),

    #[error("metrics registry: {0}")]
    Metrics(#[source] prometheus::Error),

    #[error(transparent)]
    Listen(#[from] crate::http::ListenError),

    #[error("notification client: {0}")]
    Notifier(#[source] reqwest::Error),

    /// The baked-in distribution folder (`--storage-path`) is unreadable or holds no
    /// release: no FluxInstance could be built, so the operator does not start.
    #[error("distribution data: {0}")]
    Distribution(#[source] crate::distribution::Error),

    /// The Lease could not be renewed within the renew deadline (an API server outage, or
    /// another replica took it): this replica must stop reconciling at once.
    #[error("leadership lost: the Lease {lease} was not renewed within {renew_deadline:?}")]
    LeadershipLost {
        lease: &'static str,
        renew_deadline: std::time::Duration,
    },
}
