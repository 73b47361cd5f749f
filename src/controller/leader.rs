//! Leader election on a coordination.k8s.io Lease, with controller-runtime's timings, so
//! that two replicas never reconcile at once.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, ObjectMeta, PostParams};

pub const LEASE_NAME: &str = "flux-operator";

/// The `--leader-election-*` durations (controller-runtime's defaults: 35 s, 30 s, 5 s).
#[derive(Debug, Clone, Copy)]
pub struct LeaderTimings {
    /// How long a Lease lasts without renewal before a standby may take it.
    pub lease_duration: Duration,
    /// How long the leader retries failed renewals before it gives up.
    pub renew_deadline: Duration,
    /// The pause between attempts to take or renew the Lease.
    pub retry_period: Duration,
}

pub struct LeaderElection {
    api: Api<Lease>,
    identity: String,
    timings: LeaderTimings,
}

impl LeaderElection {
    /// `identity` names the holder; a per-elector nonce is appended so that two electors
    /// with the same host name and pid (a restarted container, or two in one process) never
    /// pass for each other.
    pub fn new(client: Client, namespace: &str, identity: String, timings: LeaderTimings) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let nonce = Timestamp::now().subsec_nanosecond();
        Self {
            api: Api::namespaced(client, namespace),
            identity: format!("{identity}_{nonce:x}{n}"),
            timings,
        }
    }

    /// Returns once this process holds the Lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(lease = LEASE_NAME, identity = %self.identity, "acquired leadership");
                    return;
                }
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, "leader election"),
            }
            tokio::time::sleep(self.timings.retry_period).await;
        }
    }

    /// Renews the Lease until a renewal fails for longer than the renew deadline, or
    /// another replica holds it; returns then.
    pub async fn hold(&self) {
        let mut last_renewed = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.timings.retry_period).await;
            // An attempt that hangs (a server that accepts and never answers) must not
            // outlive the deadline it is measured against.
            let attempt = tokio::time::timeout(self.timings.renew_deadline, self.try_acquire_or_renew()).await;
            match attempt {
                Ok(Ok(true)) => last_renewed = tokio::time::Instant::now(),
                Ok(Ok(false)) => {
                    tracing::warn!(lease = LEASE_NAME, "another replica holds the leader Lease");
                    return;
                }
                Ok(Err(error)) => tracing::warn!(%error, "renewing the leader Lease"),
                Err(_) => tracing::warn!(lease = LEASE_NAME, "renewing the leader Lease timed out"),
            }
            if last_renewed.elapsed() > self.timings.renew_deadline {
                return;
            }
        }
    }

    /// Gives the Lease up if this elector holds it, so that a standby takes over at its next
    /// attempt instead of waiting for the Lease to expire (a rolling update's new pod).
    pub async fn release(&self) -> Result<(), kube::Error> {
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            return Ok(());
        };
        let spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        let now = MicroTime(Timestamp::now());
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            acquire_time: Some(now.clone()),
            renew_time: Some(now),
            ..spec
        });
        self.api.replace(LEASE_NAME, &PostParams::default(), &lease).await?;
        tracing::info!(lease = LEASE_NAME, identity = %self.identity, "released leadership");
        Ok(())
    }

    /// Takes the Lease when it is free, expired or ours; the resourceVersion makes the
    /// update fail if another replica got there first.
    async fn try_acquire_or_renew(&self) -> Result<bool, kube::Error> {
        let now = Timestamp::now();
        let Some(mut lease) = self.api.get_opt(LEASE_NAME).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(LEASE_NAME.into()),
                    ..ObjectMeta::default()
                },
                spec: Some(self.spec(now, now, 0)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renewed = spec.renew_time.as_ref().map(|t| t.0).unwrap_or(Timestamp::UNIX_EPOCH);
        let duration = Duration::from_secs(spec.lease_duration_seconds.unwrap_or(0).max(0) as u64);
        let expired = renewed.as_millisecond() + (duration.as_millis() as i64) < now.as_millisecond();
        let ours = holder == self.identity;
        if !ours && !holder.is_empty() && !expired {
            return Ok(false);
        }
        let acquired = if ours {
            spec.acquire_time.map(|t| t.0).unwrap_or(now)
        } else {
            now
        };
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        lease.spec = Some(self.spec(acquired, now, transitions));
        match self.api.replace(LEASE_NAME, &PostParams::default(), &lease).await {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn spec(&self, acquired: Timestamp, renewed: Timestamp, transitions: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.timings.lease_duration.as_secs().max(1) as i32),
            acquire_time: Some(MicroTime(acquired)),
            renew_time: Some(MicroTime(renewed)),
            lease_transitions: Some(transitions),
            ..LeaseSpec::default()
        }
    }
}
