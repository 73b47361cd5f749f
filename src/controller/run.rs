//! `flux-operator-rs run`: the operator process.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, TryStreamExt};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Config as ControllerConfig, Controller, Error as ControllerError};
use kube::runtime::events::Reporter;
use kube::runtime::reflector::{self, Lookup, ObjectRef};
use kube::runtime::watcher::{self, Config as WatcherConfig};
use kube::{Client, Config, ResourceExt};
use tokio::sync::oneshot;

use super::clients::{CallTimeouts, Clients};
use super::config::OperatorConfig;
use super::context::{Context, ContextParts};
use super::error::RunError;
use super::events::EventRecorder;
use super::instance::{error_policy, key, reconcile};
use super::leader::{LEASE_NAME, LeaderElection, LeaderTimings};
use super::watches::{ManagedWatches, OwnerLabels, Trigger};
use crate::api::FluxInstance;
use crate::distribution::Distribution;
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Reporting};
use crate::report::ReportContext;

/// The name events are reported under.
pub const CONTROLLER_NAME: &str = "flux-operator";

pub async fn run(args: OperatorConfig) -> Result<(), RunError> {
    let config = Config::infer().await.map_err(RunError::Kubeconfig)?;
    run_with(config, args, shutdown_signal()).await
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}

/// The operator on a given cluster until `shutdown` resolves (Ok) or this replica loses
/// the leader Lease ([`RunError::LeadershipLost`]); tests start it in-process.
pub async fn run_with(
    config: Config,
    args: OperatorConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), RunError> {
    let mut args = args;
    // Failure logs name the server, so that a user sees which one could not be reached.
    args.api_server = Some(config.cluster_url.to_string());
    tracing::info!(server = args.api_server.as_deref(), "connecting to Kubernetes");
    let namespace = args.runtime_namespace.clone();
    let metrics = Arc::new(Metrics::new().map_err(RunError::Metrics)?);
    let clients = Clients::new(config, CallTimeouts::default(), &metrics)?;
    let ready = Arc::new(AtomicBool::new(false));
    let metrics_listener = crate::http::bind(&args.metrics_addr).await?;
    let probe_listener = crate::http::bind(&args.health_addr).await?;
    let mut tasks = TaskGuard::default();
    tasks.spawn(crate::http::serve_metrics(metrics_listener, metrics.clone()));
    tasks.spawn(crate::http::serve_probes(probe_listener, ready.clone()));
    let identity = format!(
        "{}_{}",
        std::env::var("HOSTNAME").unwrap_or_else(|_| "flux-operator-rs".into()),
        std::process::id()
    );
    // A standby is ready too: it serves probes and takes over when the leader goes.
    ready.store(true, Ordering::Relaxed);
    let storage = args.storage_path.clone();
    let baked = tokio::task::spawn_blocking(move || Distribution::open(&storage))
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))
        .map_err(RunError::Distribution)?;
    let election = elect(&args, &clients, &metrics, &identity, &mut tasks).await;

    let notifier = notifier(&args, &metrics, &identity)?;
    let reporter = Reporter {
        controller: CONTROLLER_NAME.into(),
        instance: Some(identity),
    };
    tasks.spawn(super::foreign::warn_foreign(
        clients.watch.clone(),
        EventRecorder::new(clients.call.clone(), reporter.clone()),
        namespace.clone(),
    ));
    let recorder = EventRecorder::new(clients.call.clone(), reporter);
    let (reader, writer) = reflector::store();
    let labels = OwnerLabels {
        name: crate::build::OWNER_NAME,
        namespace: crate::build::OWNER_NAMESPACE,
    };
    let (watches, managed_changes) = ManagedWatches::new(clients.watch.clone(), labels, Some(&namespace));
    let ctx = Arc::new(Context::new(ContextParts {
        client: clients.call.clone(),
        recorder,
        config: args.clone(),
        metrics,
        notifier,
        instances: reader,
        watches,
        baked,
    }));
    let report = ReportContext::new(
        clients.call.clone(),
        namespace.clone(),
        ctx.metrics.clone(),
        args.reporting_interval,
        ctx.report_notify.clone(),
    )
    .with_watch_client(clients.watch.clone());
    tasks.spawn(crate::report::run_reporter(Arc::new(report)));
    tasks.spawn(super::resourceset::spawn(ctx.clone(), clients.watch.clone()));
    let controller = instance_controller(ctx, clients.watch, writer, managed_changes, shutdown, &mut tasks);
    let Some(Leading { election, lost }) = election else {
        controller.await;
        return Ok(());
    };
    tokio::select! {
        () = controller => {}
        // As controller-runtime does: a replica that lost the Lease stops reconciling at
        // once; dropping the controller ends the reconciles in flight at their next await.
        _ = lost => {
            return Err(RunError::LeadershipLost {
                lease: LEASE_NAME,
                renew_deadline: args.leader_election_renew_deadline,
            });
        }
    }
    if args.leader_election_release_on_cancel {
        drop(tasks);
        if let Err(error) = election.release().await {
            tracing::warn!(%error, "cannot release the leader Lease");
        }
    }
    Ok(())
}

/// The FluxInstance controller, triggered by its instances, their managed objects and the
/// artifact poller, until `shutdown`.
fn instance_controller(
    ctx: Arc<Context>,
    watch_client: Client,
    writer: reflector::store::Writer<FluxInstance>,
    managed_changes: futures::channel::mpsc::Receiver<Trigger<FluxInstance>>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
    tasks: &mut TaskGuard,
) -> impl std::future::Future<Output = ()> {
    // The workqueue metrics see what enters kube-runtime's queue: every trigger below.
    let queue = ctx.instance_queue.clone();
    let namespace = ctx.config.runtime_namespace.clone();
    let instances: Api<FluxInstance> = Api::namespaced(watch_client, &namespace);
    // Our own status writes must not trigger reconciles: only spec, annotations, finalizers
    // and deletion do.
    let instance_stream = watcher::watcher(instances, WatcherConfig::default())
        .default_backoff()
        .reflect(writer)
        .applied_objects()
        .predicate_filter(instance_change, Default::default())
        .inspect_ok({
            let queue = queue.clone();
            move |instance| queue.add(&key(instance))
        });
    // Deleted or edited managed objects (see `watches`).
    let managed_changes = managed_changes.map(|trigger| trigger.owner).inspect({
        let queue = queue.clone();
        move |instance| queue.add(&ref_key(instance))
    });

    // The artifact poller: a reconcile only when an artifact's digest changed.
    let (artifact_trigger, artifact_changes) = futures::channel::mpsc::channel(16);
    tasks.spawn(super::artifact::poll(
        ctx.clone(),
        ctx.instances.clone(),
        artifact_trigger,
    ));
    let artifact_changes = artifact_changes.inspect({
        let queue = queue.clone();
        move |instance| queue.add(&ref_key(instance))
    });

    tracing::info!(namespace, "starting the FluxInstance controller");
    Controller::for_stream(instance_stream, ctx.instances.clone())
        .with_config(ControllerConfig::default().concurrency(ctx.config.concurrent))
        .reconcile_on(managed_changes)
        .reconcile_on(artifact_changes)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(move |result| {
            // A trigger for an object that is gone never reaches a worker: the queue drops it.
            if let Err(ControllerError::ObjectNotFound(gone)) = &result {
                queue.forget(&ref_key(gone.as_ref()));
            }
            async move {
                if let Err(error) = result {
                    tracing::debug!(%error, "reconcile");
                }
            }
        })
}

/// The elected leader: the election (to release the Lease on a graceful stop) and the
/// signal that the Lease could not be renewed.
struct Leading {
    election: Arc<LeaderElection>,
    lost: oneshot::Receiver<()>,
}

/// With leader election on: waits until this replica holds the Lease, then renews it in
/// the background. None when leader election is off.
async fn elect(
    args: &OperatorConfig,
    clients: &Clients,
    metrics: &Metrics,
    identity: &str,
    tasks: &mut TaskGuard,
) -> Option<Leading> {
    if !args.enable_leader_election {
        return None;
    }
    let timings = LeaderTimings {
        lease_duration: args.leader_election_lease_duration,
        renew_deadline: args.leader_election_renew_deadline,
        retry_period: args.leader_election_retry_period,
    };
    let election = Arc::new(LeaderElection::new(
        clients.call.clone(),
        &args.runtime_namespace,
        identity.to_owned(),
        timings,
    ));
    let leading = metrics.leader_status(LEASE_NAME);
    election.acquire().await;
    leading.set(1);
    let (lost_tx, lost) = oneshot::channel();
    let holder = election.clone();
    tasks.spawn(async move {
        holder.hold().await;
        leading.set(0);
        let _ = lost_tx.send(());
    });
    Some(Leading { election, lost })
}

/// Events go to `NOTIFICATION_CONTROLLER_ADDRESS`, by default the notification-controller
/// Service of the runtime namespace (the name resolves through the pod's DNS search path,
/// whatever the cluster domain), unless `NOTIFICATIONS_DISABLED`.
fn notifier(args: &OperatorConfig, metrics: &Metrics, identity: &str) -> Result<Notifier, RunError> {
    let outcomes = metrics.notification_outcomes();
    if args.notifications_disabled {
        return Ok(Notifier::disabled(outcomes));
    }
    let address = args
        .notification_controller_address
        .clone()
        .unwrap_or_else(|| format!("http://notification-controller.{}.svc/", args.runtime_namespace));
    let reporting = Reporting {
        controller: CONTROLLER_NAME.into(),
        instance: identity.to_owned(),
    };
    Notifier::start(address, reporting, outcomes).map_err(RunError::Notifier)
}

fn ref_key<K: Lookup + ?Sized>(r: &ObjectRef<K>) -> String {
    format!("{}/{}", r.namespace.as_deref().unwrap_or_default(), r.name)
}

/// Background tasks that live exactly as long as the operator: aborted when `run_with`
/// returns or is dropped (tests stop an operator by dropping it).
#[derive(Default)]
struct TaskGuard(Vec<tokio::task::JoinHandle<()>>);

impl TaskGuard {
    fn spawn(&mut self, task: impl std::future::Future<Output = ()> + Send + 'static) {
        self.0.push(tokio::spawn(task));
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Changes that deserve a reconcile.
fn instance_change(obj: &FluxInstance) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    // What a user changes to ask for a new attempt, as the gate sees it, plus the
    // finalizer and deletion steps.
    super::gate::fingerprint(obj).hash(&mut hasher);
    obj.finalizers().hash(&mut hasher);
    obj.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}
