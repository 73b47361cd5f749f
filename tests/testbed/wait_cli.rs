//! `flux-operator-rs wait instance` against the real API server: the status is written
//! by the test (no operator runs here), so each outcome is forced and checked.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use flux_operator_rs::api::FluxInstance;

use crate::common::{apply_dynamic, client, flux_instance_resource, install_crds, kubeconfig, namespace};

fn wait_command(ns: &str, timeout: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"));
    command
        .args(["wait", "instance", "flux", "-n", ns, "--timeout", timeout])
        .env("KUBECONFIG", kubeconfig())
        .env_remove("KUBERNETES_SERVICE_HOST");
    command
}

/// The single stderr line of a failed wait.
fn failure(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "the wait succeeded: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr:?}");
    stderr.trim_end().to_string()
}

fn condition(type_: &str, status: &str, reason: &str, message: &str, generation: i64) -> Value {
    json!({
        "type": type_, "status": status, "reason": reason, "message": message,
        "lastTransitionTime": "2025-01-01T00:00:00Z", "observedGeneration": generation,
    })
}

async fn set_status(api: &Api<FluxInstance>, generation: i64, conditions: Value) {
    let patch = json!({"status": {"observedGeneration": generation, "conditions": conditions}});
    api.patch_status("flux", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch status");
}

#[tokio::test]
async fn wait_instance_follows_the_ready_condition_of_the_current_generation() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "wait").await;
    let mut instance = json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
        "metadata": {"name": "flux", "namespace": ns},
        "spec": {"distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"}}
    });
    apply_dynamic(&client, &flux_instance_resource(), &instance)
        .await
        .expect("create");
    let api: Api<FluxInstance> = Api::namespaced(client.clone(), &ns);

    // Nothing reconciled it: the timeout names the instance and what it waits for.
    let output = wait_command(&ns, "3s").output().expect("run wait");
    assert_eq!(
        failure(&output),
        format!("error: FluxInstance {ns}/flux is not ready after 3s: generation 1 not reconciled yet")
    );

    // A waiter already running sees Ready=True arrive and ends at once.
    let waiter = wait_command(&ns, "60s").spawn().expect("spawn wait");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let ready_at = Instant::now();
    let ready = condition(
        "Ready",
        "True",
        "ReconciliationSucceeded",
        "Reconciliation finished in 2s",
        1,
    );
    set_status(&api, 1, json!([ready])).await;
    let output = tokio::task::spawn_blocking(move || waiter.wait_with_output())
        .await
        .expect("join")
        .expect("wait output");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(ready_at.elapsed() < Duration::from_secs(10), "{:?}", ready_at.elapsed());

    // A spec change makes the old Ready=True stale.
    instance["spec"]["distribution"]["version"] = json!("2.8.x");
    apply_dynamic(&client, &flux_instance_resource(), &instance)
        .await
        .expect("update");
    let output = wait_command(&ns, "3s").output().expect("run wait");
    let line = failure(&output);
    assert!(line.contains("generation 2 not reconciled yet"), "{line}");

    // Stalled fails long before the timeout, with the Ready message.
    let message = "no Flux version matches 2.8.x";
    let conditions = json!([
        condition("Ready", "False", "BuildFailed", message, 2),
        condition("Stalled", "True", "BuildFailed", message, 2),
    ]);
    set_status(&api, 2, conditions).await;
    let started = Instant::now();
    let output = wait_command(&ns, "60s").output().expect("run wait");
    assert_eq!(
        failure(&output),
        format!("error: FluxInstance {ns}/flux is stalled: {message}")
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}
