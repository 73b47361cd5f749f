//! Forwards the operator's events to Flux's notification-controller, so that Alerts with a
//! `FluxInstance` event source fire, as they do under the upstream operator.
//!
//! The wire format is Flux's event API: a JSON `Event` (involved object, severity `info` or
//! `error`, timestamp, message, reason, metadata, reporting controller and instance) POSTed
//! to the events address. Metadata keys carry the involved object's API group as prefix:
//! `fluxcd.controlplane.io/revision` and `fluxcd.controlplane.io/token`, which the
//! notification-controller uses to tell one event from a repeat of it (it answers a repeat
//! within its rate-limit window with 429).
//!
//! A reconcile never waits on this: [`Notifier::send`] puts the event into a bounded queue
//! and returns; one background task posts events one by one, each with a timeout, without
//! retries. A full queue drops the event. Every outcome is counted in
//! `flux_operator_notifications_total{result}` (`sent`, `duplicate`, `failed`, `dropped`).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use prometheus::IntCounterVec;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// Events waiting to be posted; beyond this, new ones are dropped.
const QUEUE: usize = 256;
/// One POST's time limit.
const POST_TIMEOUT: Duration = Duration::from_secs(5);
/// The API group events' metadata keys are prefixed with.
const GROUP: &str = "fluxcd.controlplane.io";
/// Flux's event API caps messages at this many characters.
const MAX_MESSAGE: usize = 39_000;

/// One event, as the operator records it for the Kubernetes API too.
#[derive(Debug, Clone)]
pub struct FluxEvent {
    pub object: ObjectReference,
    /// `true` for a Warning event: severity `error`; otherwise `info`.
    pub warning: bool,
    pub reason: String,
    pub message: String,
    /// The revision the event is about (`vX.Y.Z@sha256:...`), when there is one.
    pub revision: Option<String>,
    /// What makes this event different from an earlier one with the same message and
    /// revision (the object's generation): a new spec is a new notification.
    pub token: Option<String>,
}

/// Who reports the events: the controller's name and this replica's name.
#[derive(Debug, Clone)]
pub struct Reporting {
    pub controller: String,
    pub instance: String,
}

/// The sending side; cheap to share. A disabled notifier accepts events and does nothing.
pub struct Notifier {
    queue: Option<mpsc::Sender<Value>>,
    outcomes: IntCounterVec,
}

impl Notifier {
    /// Counts outcomes in `outcomes` (labels: `result`) and sends nothing.
    pub fn disabled(outcomes: IntCounterVec) -> Self {
        Self { queue: None, outcomes }
    }

    /// Starts the task that posts to `address` (`http://host[:port]/`); events name
    /// `reporter` (controller, instance) as their source.
    pub fn start(address: String, reporter: Reporting, outcomes: IntCounterVec) -> Result<Self, reqwest::Error> {
        crate::tls::install_crypto_provider();
        let client = reqwest::Client::builder().timeout(POST_TIMEOUT).build()?;
        let (queue, events) = mpsc::channel(QUEUE);
        tokio::spawn(post_all(client, address, reporter, events, outcomes.clone()));
        Ok(Self {
            queue: Some(queue),
            outcomes,
        })
    }

    /// Queues the event; never waits.
    pub fn send(&self, event: &FluxEvent) {
        let Some(queue) = &self.queue else { return };
        if queue.try_send(body(event)).is_err() {
            self.outcomes.with_label_values(&["dropped"]).inc();
        }
    }
}

async fn post_all(
    client: reqwest::Client,
    address: String,
    reporter: Reporting,
    mut events: mpsc::Receiver<Value>,
    outcomes: IntCounterVec,
) {
    while let Some(mut event) = events.recv().await {
        event["reportingController"] = Value::from(reporter.controller.as_str());
        event["reportingInstance"] = Value::from(reporter.instance.as_str());
        let result = match client.post(&address).json(&event).send().await {
            Ok(response) if response.status().is_success() => "sent",
            Ok(response) if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS => "duplicate",
            Ok(response) => {
                tracing::debug!(status = %response.status(), address, "notification-controller refused an event");
                "failed"
            }
            Err(error) => {
                tracing::debug!(%error, address, "cannot send an event to notification-controller");
                "failed"
            }
        };
        outcomes.with_label_values(&[result]).inc();
    }
}

/// The JSON of Flux's event API.
fn body(event: &FluxEvent) -> Value {
    let mut metadata = BTreeMap::new();
    if let Some(revision) = &event.revision {
        metadata.insert(format!("{GROUP}/revision"), revision.clone());
    }
    if let Some(token) = &event.token {
        metadata.insert(format!("{GROUP}/token"), token.clone());
    }
    let o = &event.object;
    let mut message = event.message.clone();
    if let Some((cut, _)) = message.char_indices().nth(MAX_MESSAGE) {
        message.truncate(cut);
    }
    json!({
        "involvedObject": {
            "apiVersion": o.api_version, "kind": o.kind, "name": o.name, "namespace": o.namespace,
            "uid": o.uid, "resourceVersion": o.resource_version,
        },
        "severity": if event.warning { "error" } else { "info" },
        "timestamp": now(),
        "message": message,
        "reason": event.reason,
        "metadata": metadata,
    })
}

/// RFC 3339 in seconds, as Kubernetes' metav1.Time marshals.
fn now() -> String {
    format!("{:.0}", k8s_openapi::jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> FluxEvent {
        FluxEvent {
            object: ObjectReference {
                api_version: Some("fluxcd.controlplane.io/v1".into()),
                kind: Some("FluxInstance".into()),
                name: Some("flux".into()),
                namespace: Some("flux-system".into()),
                uid: Some("u1".into()),
                ..Default::default()
            },
            warning: false,
            reason: "ReconciliationSucceeded".into(),
            message: "Reconciliation finished in 2s".into(),
            revision: Some("v2.9.4@sha256:abc".into()),
            token: Some("3".into()),
        }
    }

    #[test]
    fn the_body_is_fluxs_event_with_group_prefixed_metadata() {
        let b = body(&event());
        assert_eq!(b["involvedObject"]["kind"], "FluxInstance");
        assert_eq!(b["severity"], "info");
        assert_eq!(b["metadata"]["fluxcd.controlplane.io/revision"], "v2.9.4@sha256:abc");
        assert_eq!(b["metadata"]["fluxcd.controlplane.io/token"], "3");
        let ts = b["timestamp"].as_str().unwrap();
        assert!(ts.ends_with('Z') && !ts.contains('.'), "{ts}");
        let mut warning = event();
        warning.warning = true;
        assert_eq!(body(&warning)["severity"], "error");
    }

    fn reporting() -> Reporting {
        Reporting {
            controller: "flux-operator".into(),
            instance: "test".into(),
        }
    }

    fn outcomes() -> IntCounterVec {
        IntCounterVec::new(prometheus::Opts::new("n", "n"), &["result"]).unwrap()
    }

    #[tokio::test]
    async fn an_unreachable_controller_never_delays_the_sender() {
        // A port nobody listens on: every post fails, and send() still returns at once.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = format!("http://{}/", closed.local_addr().unwrap());
        drop(closed);
        let counts = outcomes();
        let notifier = Notifier::start(address, reporting(), counts.clone()).unwrap();
        let started = std::time::Instant::now();
        for _ in 0..(QUEUE * 2) {
            notifier.send(&event());
        }
        assert!(
            started.elapsed() < Duration::from_millis(200),
            "{:?}",
            started.elapsed()
        );
        assert!(counts.with_label_values(&["dropped"]).get() > 0);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while counts.with_label_values(&["failed"]).get() == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(counts.with_label_values(&["failed"]).get() > 0);
    }
}
