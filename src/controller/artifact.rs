//! The artifact phase of the FluxInstance reconciler (pull `spec.distribution.artifact`
//! into the cache) and the poller that re-checks its digest every
//! `fluxcd.controlplane.io/reconcileArtifactEvery` and triggers a reconcile only when the
//! digest changed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::mpsc::Sender;
use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::time::Instant;

use super::context::Context;
use super::timing::Timing;
use crate::api::{FluxInstance, SINGLETON_NAME};
use crate::distribution::Distribution;
use crate::distribution::artifact::{self, ArtifactRef, Cache, Credentials, Error, Transport, reference::FIELD};

/// The field of the pull secret, in messages.
const SECRET_FIELD: &str = "spec.distribution.artifactPullSecret";
/// How often the poller looks at its schedule.
const POLL_TICK: Duration = Duration::from_secs(1);

/// The distribution pulled from the instance's artifact.
pub struct Fetched {
    pub distribution: Distribution,
    /// The manifest digest: `status.lastArtifactRevision`.
    pub digest: String,
}

/// Pulls the instance's artifact (a cache hit costs one manifest request); None when the
/// instance has no artifact.
pub async fn fetch(obj: &FluxInstance, ctx: &Context) -> Result<Option<Fetched>, Error> {
    let Some(value) = obj.spec.distribution.artifact.as_deref() else {
        return Ok(None);
    };
    let reference = ArtifactRef::parse(FIELD, value)?;
    let transport = transport(ctx)?;
    let credentials = credentials(obj, ctx, &reference).await?;
    let cache = Cache::new(cache_path(ctx));
    let pulled = artifact::pull(&transport, &reference, &credentials, &cache).await?;
    tracing::info!(
        artifact = value,
        digest = pulled.digest,
        cached = pulled.cached,
        elapsed_ms = pulled.elapsed.as_millis() as u64,
        "artifact pulled"
    );
    Ok(Some(Fetched {
        distribution: pulled.distribution,
        digest: pulled.digest,
    }))
}

/// The digest the instance's artifact points to now; None without an artifact.
async fn remote_digest(obj: &FluxInstance, ctx: &Context) -> Result<Option<String>, Error> {
    let Some(value) = obj.spec.distribution.artifact.as_deref() else {
        return Ok(None);
    };
    let reference = ArtifactRef::parse(FIELD, value)?;
    let transport = transport(ctx)?;
    let credentials = credentials(obj, ctx, &reference).await?;
    artifact::resolve_digest(&transport, &reference, &credentials)
        .await
        .map(Some)
}

/// `--artifact-cache-path`, or `<storage-path>/artifacts`.
pub fn cache_path(ctx: &Context) -> PathBuf {
    ctx.config
        .artifact_cache_path
        .clone()
        .unwrap_or_else(|| ctx.config.storage_path.join("artifacts"))
}

/// The transport flags; the CA bundle is read on every use, so a rotated bundle (a
/// mounted ConfigMap) applies without a restart.
fn transport(ctx: &Context) -> Result<Transport, Error> {
    let mut transport =
        Transport::new(ctx.config.artifact_timeout).with_plain_http(&ctx.config.artifact_plain_http_registries);
    if let Some(path) = &ctx.config.artifact_ca_file {
        transport = transport.with_ca_file("--artifact-ca-file", path)?;
    }
    Ok(transport)
}

/// The credentials of `artifactPullSecret`, read from the API server (never cached, as
/// upstream reads Secrets); anonymous without one.
async fn credentials(obj: &FluxInstance, ctx: &Context, reference: &ArtifactRef) -> Result<Credentials, Error> {
    let Some(name) = obj.spec.distribution.artifact_pull_secret.as_deref() else {
        return Ok(Credentials::Anonymous);
    };
    let namespace = obj.namespace().unwrap_or_default();
    let fail = |message: String| Error::Credentials {
        field: SECRET_FIELD.to_owned(),
        message: format!(
            "Secret {:?} in namespace {namespace:?}: {message}",
            crate::text::shorten(name)
        ),
    };
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let secret = match api.get_opt(name).await {
        Ok(Some(secret)) => secret,
        Ok(None) => return Err(fail("not found".to_owned())),
        Err(e) => return Err(fail(format!("cannot read it: {e}"))),
    };
    let data = secret.data.unwrap_or_default();
    let Some(json) = data.get(".dockerconfigjson").or_else(|| data.get(".dockercfg")) else {
        return Err(fail(
            "it has no .dockerconfigjson key (expected a kubernetes.io/dockerconfigjson Secret)".to_owned(),
        ));
    };
    match artifact::from_docker_config(&json.0, reference.registry()) {
        Ok(Some(credentials)) => Ok(credentials),
        Ok(None) => {
            let known = artifact::registries_in(&json.0);
            Err(fail(format!(
                "it has no credentials for the registry {:?} (it has: {})",
                reference.registry(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )))
        }
        Err(e) => Err(fail(e.to_string())),
    }
}

/// Checks the artifact digest of every instance that has one, each on its own
/// `reconcileArtifactEvery` schedule, and sends the instance to `trigger` when the digest
/// differs from `status.lastArtifactRevision`. Runs until the operator stops.
pub async fn poll(ctx: Arc<Context>, store: Store<FluxInstance>, mut trigger: Sender<ObjectRef<FluxInstance>>) {
    // When each instance was last checked (or first seen): an interval changed through the
    // annotation applies from the next tick on.
    let mut last_check: HashMap<ObjectRef<FluxInstance>, Instant> = HashMap::new();
    let mut tick = tokio::time::interval(POLL_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let mut due = Vec::new();
        let mut seen = Vec::new();
        for obj in store.state() {
            let Some(every) = poll_interval(&obj, &ctx) else {
                continue;
            };
            let key = ObjectRef::from_obj(obj.as_ref());
            seen.push(key.clone());
            let now = Instant::now();
            // The first check is one interval after the operator first sees the instance:
            // its own reconcile has just pulled the artifact.
            let last = last_check.entry(key.clone()).or_insert(now);
            if now.duration_since(*last) >= every {
                *last = now;
                due.push((key, obj));
            }
        }
        last_check.retain(|key, _| seen.contains(key));
        for (key, obj) in due {
            let last = obj.status.as_ref().and_then(|s| s.last_artifact_revision.clone());
            match remote_digest(&obj, &ctx).await {
                Ok(Some(digest)) if Some(&digest) != last.as_ref() => {
                    tracing::info!(
                        namespace = obj.namespace(),
                        name = obj.name_any(),
                        digest,
                        last = last.unwrap_or_default(),
                        "artifact changed, reconciling"
                    );
                    if trigger.try_send(key).is_err() {
                        tracing::debug!("reconcile trigger queue full; the next poll retries");
                    }
                }
                Ok(_) => {}
                // The reconcile reports failures in status; the poller only logs them.
                Err(error) => {
                    tracing::warn!(namespace = obj.namespace(), name = obj.name_any(), %error, "artifact check failed")
                }
            }
        }
    }
}

/// The poll interval of an instance that has an artifact and is ours, active and valid.
fn poll_interval(obj: &FluxInstance, ctx: &Context) -> Option<Duration> {
    obj.spec.distribution.artifact.as_ref()?;
    if obj.name_any() != SINGLETON_NAME
        || obj.namespace().as_deref() != Some(ctx.config.runtime_namespace.as_str())
        || obj.metadata.deletion_timestamp.is_some()
        || obj.is_disabled()
    {
        return None;
    }
    Timing::from_annotations(obj.annotations())
        .ok()
        .map(|t| t.artifact_every)
}
