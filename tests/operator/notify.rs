//! The operator's events reach a real notification-controller (Flux's, built from its Go
//! module by hack/notification-controller.sh and run as a process against the test bed),
//! which forwards them through a `generic` Provider to an HTTP receiver on loopback, as an
//! Alert on `FluxInstance` asks.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::common::{self, FIELD_MANAGER, client, install_crds, namespace};
use crate::harness::*;

type Received = Arc<Mutex<Vec<Value>>>;

/// The events the Provider posts, collected.
async fn start_receiver() -> (String, Received) {
    let received: Received = Arc::default();
    let app = axum::Router::new()
        .route(
            "/",
            post(|State(r): State<Received>, body: String| async move {
                if let Ok(event) = serde_json::from_str::<Value>(&body) {
                    r.lock().unwrap().push(event);
                }
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}/", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, received)
}

/// The notification-controller process; killed when dropped.
struct NotificationController(Child);

impl Drop for NotificationController {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn start_notification_controller(namespace: &str) -> (NotificationController, String) {
    let script = common::project_root().join("hack/notification-controller.sh");
    let out = Command::new(&script)
        .output()
        .expect("run hack/notification-controller.sh");
    assert!(
        out.status.success(),
        "hack/notification-controller.sh failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let binary = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let (events, health) = (free_port(), free_port());
    let child = Command::new(binary)
        .env("KUBECONFIG", common::kubeconfig())
        .env("RUNTIME_NAMESPACE", namespace)
        .args([
            format!("--events-addr=127.0.0.1:{events}"),
            format!("--health-addr=127.0.0.1:{health}"),
            format!("--receiverAddr=127.0.0.1:{}", free_port()),
            format!("--metrics-addr=127.0.0.1:{}", free_port()),
            "--log-level=debug".into(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start notification-controller");
    let process = NotificationController(child);
    let ready = format!("http://127.0.0.1:{health}/readyz");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !http_ok(&ready).await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "notification-controller not ready in 60s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    (process, format!("http://127.0.0.1:{events}/"))
}

async fn http_ok(url: &str) -> bool {
    flux_operator_rs::tls::install_crypto_provider();
    reqwest::get(url).await.is_ok_and(|r| r.status().is_success())
}

fn notification_resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "notification.toolkit.fluxcd.io",
        "v1beta3",
        kind,
    ))
}

/// The CRDs the operator would install for `version`, applied beforehand (as the operator's
/// field manager) so that the Provider and Alert exist before the first install event.
async fn preinstall_flux_crds(client: &Client, namespace: &str, version: &str) {
    let spec = json!({"distribution": {"version": version, "registry": "ghcr.io/fluxcd"}});
    let spec = serde_json::from_value(spec).expect("spec");
    let distribution = flux_operator_rs::distribution::Distribution::open(std::path::Path::new(&distribution()))
        .expect("distribution");
    let built = flux_operator_rs::build::resolve_and_build(namespace, &spec, &distribution).expect("build");
    let crds = ApiResource::from_gvk(&GroupVersionKind::gvk(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
    ));
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &crds);
    for crd in built.objects.iter().filter(|o| o["kind"] == "CustomResourceDefinition") {
        let name = crd["metadata"]["name"].as_str().expect("name");
        api.patch(name, &PatchParams::apply("flux-operator").force(), &Patch::Apply(crd))
            .await
            .expect("apply Flux CRD");
    }
    let established = Api::all(client.clone());
    for name in [
        "providers.notification.toolkit.fluxcd.io",
        "alerts.notification.toolkit.fluxcd.io",
    ] {
        common::wait_established(&established, name).await;
    }
}

async fn alert_on_flux_instance(client: &Client, namespace: &str, receiver: &str) {
    let objects = [
        (
            notification_resource("Provider"),
            json!({"metadata": {"name": "receiver", "namespace": namespace},
                   "spec": {"type": "generic", "address": receiver}}),
        ),
        (
            notification_resource("Alert"),
            json!({"metadata": {"name": "flux-instance", "namespace": namespace},
                   "spec": {"providerRef": {"name": "receiver"}, "eventSeverity": "info",
                            "eventSources": [{"kind": "FluxInstance", "name": "flux"}]}}),
        ),
    ];
    for (resource, mut obj) in objects {
        obj["apiVersion"] = json!(resource.api_version);
        obj["kind"] = json!(resource.kind);
        let name = obj["metadata"]["name"].as_str().expect("name").to_owned();
        Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &resource)
            .patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
            .await
            .expect("apply notification object");
    }
}

/// Deletes the Provider and Alert while the notification-controller still runs to remove
/// its finalizers: left behind, they would hold the Flux CRDs of later tests terminating
/// forever once an uninstall deletes those.
async fn remove_alert(client: &Client, namespace: &str) {
    for (kind, name) in [("Alert", "flux-instance"), ("Provider", "receiver")] {
        let api = Api::<DynamicObject>::namespaced_with(client.clone(), namespace, &notification_resource(kind));
        api.delete(name, &Default::default())
            .await
            .expect("delete notification object");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while api.get_opt(name).await.expect("get").is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{kind} {name} was not removed within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Waits until a received event has `reason` and a message starting with `prefix`.
async fn wait_event(received: &Received, reason: &str, prefix: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let found = received
            .lock()
            .unwrap()
            .iter()
            .find(|e| e["reason"] == reason && e["message"].as_str().is_some_and(|m| m.starts_with(prefix)))
            .cloned();
        if let Some(event) = found {
            return event;
        }
        let seen: Vec<String> = received
            .lock()
            .unwrap()
            .iter()
            .map(|e| e["message"].to_string())
            .collect();
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {reason} event starting {prefix:?} within 60s; received: {seen:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn install_and_upgrade_events_reach_an_alert_on_flux_instance() {
    let _serial = serial().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "notify").await;
    let (receiver, received) = start_receiver().await;
    preinstall_flux_crds(&client, &ns, "2.8.x").await;
    let (_nc, events_address) = start_notification_controller(&ns).await;
    alert_on_flux_instance(&client, &ns, &receiver).await;

    let address = format!("--notification-controller-address={events_address}");
    let _operator = start_operator(&ns, &[&address]);
    let _kubelet = start_kubelet(&client, &ns);
    let spec = |version: &str| json!({"distribution": {"version": version, "registry": "ghcr.io/fluxcd"}});
    apply_instance(&client, &ns, spec("2.8.x"), json!({})).await;
    wait_instance(&client, &ns, 120, "Ready on 2.8", |o| is_ready_at(o, "v2.8.")).await;
    let installing = wait_event(&received, "Progressing", "Installing revision v2.8.").await;
    assert_eq!(installing["involvedObject"]["kind"], "FluxInstance");
    assert_eq!(installing["involvedObject"]["name"], "flux");
    assert_eq!(installing["severity"], "info");
    // The Provider's payload carries the revision, with the group prefix stripped.
    let revision = installing["metadata"]["revision"].as_str().unwrap_or_default();
    assert!(
        revision.starts_with("v2.8.") && revision.contains("@sha256:"),
        "{installing}"
    );
    wait_event(&received, "ReconciliationSucceeded", "Reconciliation finished").await;

    apply_instance(&client, &ns, spec("2.9.x"), json!({})).await;
    wait_instance(&client, &ns, 120, "Ready on 2.9", |o| is_ready_at(o, "v2.9.")).await;
    let upgrading = wait_event(&received, "Progressing", "Upgrading to revision v2.9.").await;
    assert!(
        upgrading["metadata"]["revision"]
            .as_str()
            .unwrap_or_default()
            .starts_with("v2.9.")
    );
    remove_alert(&client, &ns).await;
}

#[tokio::test]
async fn an_unreachable_notification_controller_does_not_hold_up_ready() {
    let _serial = serial().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "notify-down").await;
    // Nothing listens there: every event fails, in the background.
    let address = format!("--notification-controller-address=http://127.0.0.1:{}/", free_port());
    let metrics_port = free_port();
    let metrics = format!("--metrics-addr=127.0.0.1:{metrics_port}");
    let _operator = start_operator(&ns, &[&address, &metrics]);
    let _kubelet = start_kubelet(&client, &ns);
    let spec = json!({"distribution": {"version": "2.9.x", "registry": "ghcr.io/fluxcd"}, "wait": false});
    let started = tokio::time::Instant::now();
    apply_instance(&client, &ns, spec, json!({})).await;
    wait_instance(&client, &ns, 60, "Ready", |o| is_ready_at(o, "v2.9.")).await;
    println!(
        "FIGURE unreachable notification-controller: apply -> Ready in {:?}",
        started.elapsed()
    );
    // The events were tried (and failed) without the reconcile waiting for them.
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = reqwest::get(&url).await.expect("metrics").text().await.expect("text");
        let failed = text
            .lines()
            .find(|l| l.starts_with("flux_operator_notifications_total{result=\"failed\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        if failed >= 2.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "events were not tried: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
