use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use std::sync::Arc;

use kube::Client;
use kube::runtime::reflector::Store;
use tokio::sync::Notify;

use super::config::OperatorConfig;
use super::events::EventRecorder;
use super::gate::Gates;
use super::settled::Settled;
use super::watches::ManagedWatches;
use crate::api::FluxInstance;
use crate::apply::Discovery;
use crate::distribution::{Distribution, ReleaseCache};
use crate::metrics::{ControllerMetrics, Metrics};
use crate::notifier::Notifier;

/// What every reconciliation shares: the client, the event recorder, the configuration.
pub struct Context {
    pub client: Client,
    pub recorder: EventRecorder,
    pub config: OperatorConfig,
    pub discovery: Discovery,
    pub metrics: Arc<Metrics>,
    /// Forwards events to Flux's notification-controller.
    pub notifier: Notifier,
    /// The workqueue and reconcile metrics of the FluxInstance controller.
    pub instance_queue: ControllerMetrics,
    /// Wakes the FluxReport refresher after each FluxInstance reconcile.
    pub report_notify: Arc<Notify>,
    /// The FluxInstances as the watch last saw them.
    pub instances: Store<FluxInstance>,
    /// The baked-in releases (`--storage-path`), listed once at start.
    pub baked: Distribution,
    /// The Flux releases built from, loaded once per folder and version.
    pub releases: ReleaseCache,
    /// Instances held back until their retry or a change.
    pub gates: Gates,
    /// Watches of the kinds the reconciles applied.
    pub watches: ManagedWatches<crate::api::FluxInstance>,
    /// The revision and watch epoch of each instance's last successful apply.
    pub settled: Settled,
    /// Consecutive failures per object, for the exponential retry delay.
    failures: Mutex<HashMap<String, u32>>,
}

/// What the process starts a [`Context`] from.
pub struct ContextParts {
    pub client: Client,
    pub recorder: EventRecorder,
    pub config: OperatorConfig,
    pub metrics: Arc<Metrics>,
    pub notifier: Notifier,
    pub instances: Store<FluxInstance>,
    pub watches: ManagedWatches<crate::api::FluxInstance>,
    pub baked: Distribution,
}

impl Context {
    pub fn new(parts: ContextParts) -> Self {
        let ContextParts {
            client,
            recorder,
            config,
            metrics,
            notifier,
            instances,
            watches,
            baked,
        } = parts;
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
            instances,
            baked,
            releases: ReleaseCache::default(),
            gates: Gates::default(),
            watches,
            settled: Settled::default(),
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
