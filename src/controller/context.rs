use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use std::sync::Arc;

use kube::Client;
use kube::runtime::events::Recorder;
use tokio::sync::Notify;

use super::config::RunArgs;
use crate::apply::Discovery;
use crate::metrics::{ControllerMetrics, Metrics};
use crate::notifier::Notifier;

/// What every reconciliation shares: the client, the event recorder, the configuration.
pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub config: RunArgs,
    pub discovery: Discovery,
    pub metrics: Arc<Metrics>,
    /// Forwards events to Flux's notification-controller.
    pub notifier: Notifier,
    /// The workqueue and reconcile metrics of the FluxInstance controller.
    pub instance_queue: ControllerMetrics,
    /// Wakes the FluxReport refresher after each FluxInstance reconcile.
    pub report_notify: Arc<Notify>,
    /// Consecutive failures per object, for the exponential retry delay.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(client: Client, recorder: Recorder, config: RunArgs, metrics: Arc<Metrics>, notifier: Notifier) -> Self {
        let instance_queue = metrics.add_controller(super::instance::INSTANCE_CONTROLLER, config.concurrent.into());
        Self {
            client,
            recorder,
            config,
            discovery: Discovery::default(),
            metrics,
            notifier,
            instance_queue,
            report_notify: Arc::new(Notify::new()),
            failures: Mutex::default(),
        }
    }

    /// The delay before the next retry of `key`: min_retry_delay doubled per consecutive
    /// failure, capped at max_retry_delay.
    pub fn next_retry_delay(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = failures.entry(key.to_owned()).or_insert(0);
        let delay = self
            .config
            .min_retry_delay
            .saturating_mul(2u32.saturating_pow((*n).min(30)));
        *n = n.saturating_add(1);
        delay.min(self.config.max_retry_delay)
    }

    pub fn reset_failures(&self, key: &str) {
        self.failures.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}
