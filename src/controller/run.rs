//! `flux-operator-rs run`: the operator process.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use kube::client::ClientBuilder;
use kube::runtime::WatchStreamExt;
use kube::runtime::controller::{Config as ControllerConfig, Controller, Error as ControllerError};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, Lookup, ObjectRef};
use kube::runtime::watcher::{self, Config as WatcherConfig};
use kube::{Client, Config, ResourceExt};

use super::config::RunArgs;
use super::context::Context;
use super::instance::{error_policy, key, reconcile};
use super::leader::{LEASE_NAME, LeaderElection, LeaderTimings};
use crate::api::FluxInstance;
use crate::apply::{OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL};
use crate::metrics::Metrics;
use crate::notifier::{Notifier, Reporting};
use crate::report::ReportContext;

/// The name events are reported under.
pub const CONTROLLER_NAME: &str = "flux-operator";

pub async fn run(args: RunArgs) -> Result<(), String> {
    let config = Config::infer()
        .await
        .map_err(|e| format!("cannot connect to Kubernetes: {e}"))?;
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

/// The operator on a given cluster until `shutdown` resolves; tests start it in-process.
pub async fn run_with(
    config: Config,
    args: RunArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), String> {
    let mut args = args;
    // Failure logs name the server, so that a user sees which one could not be reached.
    args.api_server = Some(config.cluster_url.to_string());
    tracing::info!(server = args.api_server.as_deref(), "connecting to Kubernetes");
    let namespace = args.runtime_namespace.clone();
    let metrics = Arc::new(Metrics::new().map_err(|e| format!("metrics registry: {e}"))?);
    let client = counted_client(config, &metrics)?;
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
    let election = args.enable_leader_election.then(|| {
        let timings = LeaderTimings {
            lease_duration: args.leader_election_lease_duration,
            renew_deadline: args.leader_election_renew_deadline,
            retry_period: args.leader_election_retry_period,
        };
        Arc::new(LeaderElection::new(
            client.clone(),
            &namespace,
            identity.clone(),
            timings,
        ))
    });
    if let Some(election) = &election {
        let leading = metrics.leader_status(LEASE_NAME);
        election.acquire().await;
        leading.set(1);
        let holder = election.clone();
        tasks.spawn(async move {
            holder.hold().await;
            // As controller-runtime does: a replica that lost the Lease must stop at once.
            tracing::error!("leadership lost, exiting");
            std::process::exit(1);
        });
    }

    let notifier = notifier(&args, &metrics, &identity)?;
    let recorder = Recorder::new(
        client.clone(),
        Reporter {
            controller: CONTROLLER_NAME.into(),
            instance: Some(identity),
        },
    );
    let ctx = Arc::new(Context::new(client.clone(), recorder, args.clone(), metrics, notifier));
    let report = ReportContext::new(
        client.clone(),
        namespace.clone(),
        ctx.metrics.clone(),
        args.reporting_interval,
        ctx.report_notify.clone(),
    );
    tasks.spawn(crate::report::run_reporter(Arc::new(report)));
    // The workqueue metrics see what enters kube-runtime's queue: every trigger below.
    let queue = ctx.instance_queue.clone();

    let instances: Api<FluxInstance> = Api::namespaced(client.clone(), &namespace);
    let (reader, writer) = reflector::store();
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

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &namespace);
    let deployment_stream = watcher::watcher(
        deployments,
        WatcherConfig::default().labels("app.kubernetes.io/managed-by=flux-operator"),
    )
    .default_backoff()
    .touched_objects()
    .predicate_filter(deployment_change, Default::default())
    .inspect_ok({
        let queue = queue.clone();
        move |deployment| {
            if let Some(owner) = owner_of(deployment.clone()) {
                queue.add(&ref_key(&owner));
            }
        }
    });

    // The artifact poller: a reconcile only when an artifact's digest changed.
    let (artifact_trigger, artifact_changes) = futures::channel::mpsc::channel(16);
    tasks.spawn(super::artifact::poll(ctx.clone(), reader.clone(), artifact_trigger));
    let artifact_changes = artifact_changes.inspect({
        let queue = queue.clone();
        move |instance| queue.add(&ref_key(instance))
    });

    tracing::info!(namespace, "starting the FluxInstance controller");
    Controller::for_stream(instance_stream, reader)
        .with_config(ControllerConfig::default().concurrency(args.concurrent))
        .watches_stream(deployment_stream, owner_of)
        .reconcile_on(artifact_changes)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| {
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
        .await;
    if let Some(election) = election.filter(|_| args.leader_election_release_on_cancel) {
        drop(tasks);
        if let Err(error) = election.release().await {
            tracing::warn!(%error, "cannot release the leader Lease");
        }
    }
    Ok(())
}

/// Events go to `NOTIFICATION_CONTROLLER_ADDRESS`, by default the notification-controller
/// Service of the runtime namespace (the name resolves through the pod's DNS search path,
/// whatever the cluster domain), unless `NOTIFICATIONS_DISABLED`.
fn notifier(args: &RunArgs, metrics: &Metrics, identity: &str) -> Result<Notifier, String> {
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
    Notifier::start(address, reporting, outcomes)
}

/// The kube client, with every request it makes counted in `rest_client_requests_total`.
fn counted_client(config: Config, metrics: &Metrics) -> Result<Client, String> {
    let host = config
        .cluster_url
        .authority()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let builder = ClientBuilder::try_from(config).map_err(|e| format!("cannot connect to Kubernetes: {e}"))?;
    Ok(builder.with_layer(&metrics.rest_layer(host)).build())
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
    obj.metadata.generation.hash(&mut hasher);
    obj.annotations().hash(&mut hasher);
    obj.finalizers().hash(&mut hasher);
    obj.metadata.deletion_timestamp.is_some().hash(&mut hasher);
    Some(hasher.finish())
}

/// Spec edits (drift to correct) and label changes of a managed Deployment; its status
/// churn during rollouts is left to the wait phase.
fn deployment_change(obj: &Deployment) -> Option<u64> {
    let mut hasher = DefaultHasher::new();
    obj.metadata.generation.hash(&mut hasher);
    obj.labels().hash(&mut hasher);
    Some(hasher.finish())
}

/// The FluxInstance a managed Deployment belongs to, from its owner labels.
fn owner_of(deployment: Deployment) -> Option<ObjectRef<FluxInstance>> {
    let labels = deployment.labels();
    let name = labels.get(OWNER_NAME_LABEL)?;
    let namespace = labels.get(OWNER_NAMESPACE_LABEL)?;
    Some(ObjectRef::new(name).within(namespace))
}
