//! controller-runtime's reconcile and workqueue families, fed by our reconcilers. Names and
//! labels are controller-runtime's so that the dashboards and alerts written for the upstream
//! operator read ours unchanged.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::runtime::controller::Action;
use prometheus::{
    GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, exponential_buckets,
};

/// controller-runtime's reconcile buckets, so that existing dashboards' quantiles read the same.
const RECONCILE_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5,
    1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0,
];

/// client-go's workqueue priority label: our queues have one priority.
const PRIORITY: &str = "0";

/// How one reconciliation ended, in controller-runtime's `result` label values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReconcileResult {
    Success,
    Error,
    /// Requeued at once.
    Requeue,
    /// Requeued after a delay (the periodic reconcile of a healthy object).
    RequeueAfter,
}

impl ReconcileResult {
    pub const ALL: [ReconcileResult; 4] = [Self::Success, Self::Error, Self::Requeue, Self::RequeueAfter];

    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Requeue => "requeue",
            Self::RequeueAfter => "requeue_after",
        }
    }

    /// What controller-runtime would count for this outcome of a kube-runtime reconciler.
    pub fn of<E>(result: &Result<Action, E>) -> Self {
        match result {
            Err(_) => Self::Error,
            Ok(action) if *action == Action::await_change() => Self::Success,
            Ok(action) if *action == Action::requeue(Duration::ZERO) => Self::Requeue,
            Ok(_) => Self::RequeueAfter,
        }
    }

    /// Whether the object goes back into the queue with a delay (client-go counts those as retries).
    fn requeues(self) -> bool {
        !matches!(self, Self::Success)
    }
}

/// The families, registered once per process.
#[derive(Clone)]
pub(super) struct Families {
    reconcile_total: IntCounterVec,
    reconcile_errors: IntCounterVec,
    reconcile_time: HistogramVec,
    active_workers: IntGaugeVec,
    max_concurrent: IntGaugeVec,
    adds: IntCounterVec,
    retries: IntCounterVec,
    depth: IntGaugeVec,
    queue_duration: HistogramVec,
    work_duration: HistogramVec,
    unfinished: GaugeVec,
    longest: GaugeVec,
}

impl Families {
    pub(super) fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let queue_buckets = exponential_buckets(1e-8, 10.0, 10)?;
        let q = &["controller", "name"];
        let f = Self {
            reconcile_total: IntCounterVec::new(
                Opts::new(
                    "controller_runtime_reconcile_total",
                    "Total number of reconciliations per controller",
                ),
                &["controller", "result"],
            )?,
            reconcile_errors: IntCounterVec::new(
                Opts::new(
                    "controller_runtime_reconcile_errors_total",
                    "Total number of reconciliation errors per controller",
                ),
                &["controller"],
            )?,
            reconcile_time: HistogramVec::new(
                HistogramOpts::new(
                    "controller_runtime_reconcile_time_seconds",
                    "Length of time per reconciliation per controller",
                )
                .buckets(RECONCILE_BUCKETS.to_vec()),
                &["controller"],
            )?,
            active_workers: IntGaugeVec::new(
                Opts::new(
                    "controller_runtime_active_workers",
                    "Number of currently used workers per controller",
                ),
                &["controller"],
            )?,
            max_concurrent: IntGaugeVec::new(
                Opts::new(
                    "controller_runtime_max_concurrent_reconciles",
                    "Maximum number of concurrent reconciles per controller",
                ),
                &["controller"],
            )?,
            adds: IntCounterVec::new(
                Opts::new("workqueue_adds_total", "Total number of adds handled by a workqueue"),
                q,
            )?,
            retries: IntCounterVec::new(
                Opts::new(
                    "workqueue_retries_total",
                    "Total number of items requeued with a delay by a workqueue",
                ),
                q,
            )?,
            depth: IntGaugeVec::new(
                Opts::new("workqueue_depth", "Current depth of a workqueue"),
                &["controller", "name", "priority"],
            )?,
            queue_duration: HistogramVec::new(
                HistogramOpts::new(
                    "workqueue_queue_duration_seconds",
                    "How long in seconds an item stays in a workqueue before being processed",
                )
                .buckets(queue_buckets.clone()),
                q,
            )?,
            work_duration: HistogramVec::new(
                HistogramOpts::new(
                    "workqueue_work_duration_seconds",
                    "How long in seconds processing an item from a workqueue takes",
                )
                .buckets(queue_buckets),
                q,
            )?,
            unfinished: GaugeVec::new(
                Opts::new(
                    "workqueue_unfinished_work_seconds",
                    "Seconds of work in progress not yet observed by work_duration; large values mean stuck work",
                ),
                q,
            )?,
            longest: GaugeVec::new(
                Opts::new(
                    "workqueue_longest_running_processor_seconds",
                    "How many seconds the longest running processor of a workqueue has been running",
                ),
                q,
            )?,
        };
        registry.register(Box::new(f.reconcile_total.clone()))?;
        registry.register(Box::new(f.reconcile_errors.clone()))?;
        registry.register(Box::new(f.reconcile_time.clone()))?;
        registry.register(Box::new(f.active_workers.clone()))?;
        registry.register(Box::new(f.max_concurrent.clone()))?;
        registry.register(Box::new(f.adds.clone()))?;
        registry.register(Box::new(f.retries.clone()))?;
        registry.register(Box::new(f.depth.clone()))?;
        registry.register(Box::new(f.queue_duration.clone()))?;
        registry.register(Box::new(f.work_duration.clone()))?;
        registry.register(Box::new(f.unfinished.clone()))?;
        registry.register(Box::new(f.longest.clone()))?;
        Ok(f)
    }
}

/// One item's place in the queue, keyed by `namespace/name`.
#[derive(Debug, Default)]
struct Entry {
    /// Added and not yet picked up.
    queued_at: Option<Instant>,
    /// Being reconciled since.
    started: Option<Instant>,
}

/// The workqueue and reconcile metrics of one controller. kube-runtime's scheduler has no
/// hooks, so the reconcilers tell this tracker what their queue does: an add when a watch
/// event or a trigger arrives, a start and a finish around each reconciliation.
#[derive(Clone)]
pub struct ControllerMetrics {
    name: &'static str,
    families: Families,
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

impl ControllerMetrics {
    /// Creates every series of the controller at zero, as controller-runtime does at start,
    /// so that rates and alerts have a series before the first reconcile.
    pub(super) fn new(name: &'static str, families: Families, max_concurrent: i64) -> Self {
        for result in ReconcileResult::ALL {
            families.reconcile_total.with_label_values(&[name, result.label()]);
        }
        families.reconcile_errors.with_label_values(&[name]);
        families.active_workers.with_label_values(&[name]);
        families.max_concurrent.with_label_values(&[name]).set(max_concurrent);
        let q = [name, name];
        families.adds.with_label_values(&q);
        families.retries.with_label_values(&q);
        families.depth.with_label_values(&[name, name, PRIORITY]);
        families.queue_duration.with_label_values(&q);
        families.work_duration.with_label_values(&q);
        families.unfinished.with_label_values(&q);
        families.longest.with_label_values(&q);
        Self {
            name,
            families,
            entries: Arc::default(),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A watch event or a trigger asks for `key`; an item already queued is not added twice.
    pub fn add(&self, key: &str) {
        let mut entries = self.entries();
        let entry = entries.entry(key.to_owned()).or_default();
        if entry.queued_at.is_none() {
            entry.queued_at = Some(Instant::now());
            self.families.adds.with_label_values(&[self.name, self.name]).inc();
        }
    }

    /// The queue forgets `key`: the object is gone, nothing will pick it up.
    pub fn forget(&self, key: &str) {
        let mut entries = self.entries();
        if entries.get(key).is_some_and(|e| e.started.is_none()) {
            entries.remove(key);
        }
    }

    /// A worker picks `key` up; the returned guard records the work when finished or dropped.
    pub fn start(&self, key: &str) -> Work {
        let now = Instant::now();
        let mut entries = self.entries();
        let entry = entries.entry(key.to_owned()).or_default();
        let q = [self.name, self.name];
        match entry.queued_at.take() {
            Some(at) => self
                .families
                .queue_duration
                .with_label_values(&q)
                .observe(now.duration_since(at).as_secs_f64()),
            // A delayed requeue whose timer fired: its add happens now. Its time in the
            // queue is not known (the scheduler does not say when the timer fired), so no
            // queue duration is made up for it.
            None => self.families.adds.with_label_values(&q).inc(),
        }
        entry.started = Some(now);
        Work {
            metrics: self.clone(),
            key: key.to_owned(),
            started: now,
            done: false,
        }
    }

    /// Scrape-time gauges: depth, work in progress and its age.
    pub(super) fn refresh_gauges(&self) {
        let now = Instant::now();
        let entries = self.entries();
        let depth = entries
            .values()
            .filter(|e| e.queued_at.is_some() && e.started.is_none())
            .count();
        let running: Vec<f64> = entries
            .values()
            .filter_map(|e| e.started.map(|s| now.duration_since(s).as_secs_f64()))
            .collect();
        let q = [self.name, self.name];
        let f = &self.families;
        f.depth
            .with_label_values(&[self.name, self.name, PRIORITY])
            .set(depth as i64);
        f.active_workers
            .with_label_values(&[self.name])
            .set(running.len() as i64);
        f.unfinished.with_label_values(&q).set(running.iter().sum());
        f.longest
            .with_label_values(&q)
            .set(running.iter().copied().fold(0.0, f64::max));
    }

    fn finish(&self, key: &str, started: Instant, result: Option<ReconcileResult>) {
        let elapsed = started.elapsed();
        let q = [self.name, self.name];
        let f = &self.families;
        f.work_duration.with_label_values(&q).observe(elapsed.as_secs_f64());
        let mut entries = self.entries();
        if let Some(result) = result {
            f.reconcile_total.with_label_values(&[self.name, result.label()]).inc();
            f.reconcile_time
                .with_label_values(&[self.name])
                .observe(elapsed.as_secs_f64());
            if result == ReconcileResult::Error {
                f.reconcile_errors.with_label_values(&[self.name]).inc();
            }
            if result.requeues() {
                f.retries.with_label_values(&q).inc();
            }
        }
        // An item added again while it was worked on stays queued; a delayed requeue is
        // counted when its timer fires and a worker picks it up.
        if let Some(entry) = entries.get_mut(key) {
            entry.started = None;
            if entry.queued_at.is_none() {
                entries.remove(key);
            }
        }
    }
}

/// One reconciliation in progress.
pub struct Work {
    metrics: ControllerMetrics,
    key: String,
    started: Instant,
    done: bool,
}

impl Work {
    pub fn finish(mut self, result: ReconcileResult) {
        self.done = true;
        self.metrics.finish(&self.key, self.started, Some(result));
    }
}

impl Drop for Work {
    /// A reconciliation cancelled mid-way (shutdown) still ends its work in the queue.
    fn drop(&mut self) {
        if !self.done {
            self.metrics.finish(&self.key, self.started, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_as_controller_runtime_counts_them() {
        let of = |r: Result<Action, ()>| ReconcileResult::of(&r).label();
        assert_eq!(of(Ok(Action::await_change())), "success");
        assert_eq!(of(Ok(Action::requeue(Duration::ZERO))), "requeue");
        assert_eq!(of(Ok(Action::requeue(Duration::from_secs(3600)))), "requeue_after");
        assert_eq!(of(Err(())), "error");
    }
}
