//! What the FluxReport refresher needs, and nothing of the FluxInstance controller's: the
//! controller and the refresher share only the wake-up handle.

use std::sync::Arc;
use std::time::Duration;

use kube::Client;
use tokio::sync::Notify;

use crate::metrics::{ControllerMetrics, Metrics};

pub struct ReportContext {
    pub client: Client,
    /// For the report's watch: without the per-call read timeout, which would end a
    /// watch that is silent for longer (see `controller::clients`).
    pub watch_client: Client,
    /// Where the operator runs: the report `flux` lives there.
    pub namespace: String,
    pub metrics: Arc<Metrics>,
    /// How often the report is recomputed without being asked.
    pub interval: Duration,
    /// The workqueue and reconcile metrics of the refresher.
    pub queue: ControllerMetrics,
    /// Woken after each FluxInstance reconcile.
    pub notify: Arc<Notify>,
}

impl ReportContext {
    pub fn new(
        client: Client,
        namespace: String,
        metrics: Arc<Metrics>,
        interval: Duration,
        notify: Arc<Notify>,
    ) -> Self {
        // The refresher is one loop: one reconcile at a time.
        let queue = metrics.add_controller(super::REPORT_CONTROLLER, 1);
        Self {
            watch_client: client.clone(),
            client,
            namespace,
            metrics,
            interval,
            queue,
            notify,
        }
    }

    /// Watches with `client` instead of the client for calls.
    pub fn with_watch_client(mut self, client: Client) -> Self {
        self.watch_client = client;
        self
    }
}
