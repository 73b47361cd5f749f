//! ResourceSet steps and health checks (SPEC-resourceset §14.12, 14.13, 14.18).

use serde_json::json;

use crate::rset_bed::*;

fn step(name: &str, resources: serde_json::Value) -> serde_json::Value {
    json!({"name": name, "resources": resources})
}

/// §14.12: step b waits for step a's health; stale objects go only once both succeed.
#[tokio::test]
async fn resourceset_s12_steps_apply_in_order() {
    let bed = Bed::start("rs12").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let timeout = json!({"fluxcd.controlplane.io/reconcileTimeout": "5s"});
    let v1 = json!({"steps": [step("a", json!([widget(ns, "w1", json!({}))])),
        step("b", json!([cm(ns, "old", json!({}))]))]});
    apply_set(client, ns, "set", v1, timeout.clone()).await;
    let applying = |s: &flux_operator_rs::api::ResourceSet| {
        cond(s, "Reconciling").is_some_and(|(_, _, m)| m == "Applying step 1/2 \"a\"")
    };
    wait_set(client, ns, "set", 30, "Reconciling at step a", applying).await;
    // The progress message is written before the step's apply, so the Widget may lag it.
    wait_until(30, "the Widget of step a applied", || async {
        widgets(client, ns).get_opt("w1").await.unwrap().is_some()
    })
    .await;
    assert!(config_map(client, ns, "old").await.is_none(), "step b waits for step a");
    set_widget_ready(client, ns, "w1", "True").await;
    let set = wait_set(client, ns, "set", 30, "Ready", is_ready).await;
    assert!(config_map(client, ns, "old").await.is_some());
    let history = &set.status.as_ref().unwrap().history[0];
    assert_eq!(history.metadata.get("steps").map(String::as_str), Some("2"));

    let v2 = json!({"steps": [step("a", json!([widget(ns, "w1", json!({})), widget(ns, "w2", json!({}))])),
        step("b", json!([cm(ns, "new", json!({}))]))]});
    apply_set(client, ns, "set", v2, timeout).await;
    let (_, message) = wait_reason(client, ns, "set", "Ready", "False", "ReconciliationFailed").await;
    let pending = format!("Widget/{ns}/w2 status: 'InProgress'");
    says(
        &message,
        "reconciliation failed: step \"a\" health check failed: ",
        &[&pending],
    );
    assert!(config_map(client, ns, "new").await.is_none(), "step b is not applied");
    assert!(config_map(client, ns, "old").await.is_some(), "nothing is pruned yet");
    set_widget_ready(client, ns, "w2", "True").await;
    wait_set(client, ns, "set", 30, "Ready at the new generation", is_ready).await;
    assert!(config_map(client, ns, "new").await.is_some());
    assert!(config_map(client, ns, "old").await.is_none(), "pruned after both steps");
}

/// §14.13: one object in two steps stalls the build, naming both steps.
#[tokio::test]
async fn resourceset_s13_an_object_in_two_steps_stalls() {
    let bed = Bed::start("rs13").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let same = json!([cm(ns, "x", json!({}))]);
    let spec = json!({"steps": [step("a", same.clone()), step("b", same)]});
    apply_set(client, ns, "set", spec, json!({})).await;
    let (set, message) = wait_reason(client, ns, "set", "Ready", "False", "BuildFailed").await;
    assert!(has_reason(&set, "Stalled", "True", "BuildFailed"));
    let dup = format!("duplicate resource ConfigMap/{ns}/x in step \"b\", already defined in step \"a\"");
    says(&message, "build failed: ", &[&dup]);
    assert!(config_map(client, ns, "x").await.is_none());
}

/// §14.18: a spec change during a health check cancels it and starts a new reconcile.
#[tokio::test]
async fn resourceset_s18_a_change_cancels_the_health_check() {
    let bed = Bed::start("rs18").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let timeout = json!({"fluxcd.controlplane.io/reconcileTimeout": "2m"});
    let v1 = json!({"wait": true, "resources": [widget(ns, "w", json!({}))]});
    apply_set(client, ns, "set", v1, timeout.clone()).await;
    wait_until(30, "the Widget applied", || async {
        widgets(client, ns).get_opt("w").await.unwrap().is_some()
    })
    .await;
    let v2 = json!({"wait": true, "resources": [widget(ns, "w", json!({})), cm(ns, "more", json!({}))]});
    apply_set(client, ns, "set", v2, timeout).await;
    wait_until(15, "a HealthCheckCanceled event", || async {
        !events(client, ns, "ResourceSet", "HealthCheckCanceled")
            .await
            .is_empty()
    })
    .await;
    let event = events(client, ns, "ResourceSet", "HealthCheckCanceled").await.remove(0);
    assert_eq!(event.type_.as_deref(), Some("Normal"));
    let note = event.note.unwrap_or_default();
    assert_eq!(note, format!("New reconciliation triggered by ResourceSet/{ns}/set"));
    wait_until(15, "the new generation applied", || async {
        config_map(client, ns, "more").await.is_some()
    })
    .await;
}

/// §11.6 step 13: a provider change during a health check cancels it too, naming the
/// provider, and the new reconcile reads the new inputs.
#[tokio::test]
async fn resourceset_a_provider_change_cancels_the_health_check() {
    let bed = Bed::start("rs-cancel").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    apply_provider(client, ns, "p1", json!({"team": "a"}), json!({"type": "Static"})).await;
    let timeout = json!({"fluxcd.controlplane.io/reconcileTimeout": "2m"});
    let spec = json!({"wait": true, "inputsFrom": [{"apiVersion": "fluxcd.controlplane.io/v1",
        "kind": "ResourceSetInputProvider", "selector": {"matchLabels": {"team": "a"}}}],
        "resources": [widget(ns, "w-<< inputs.provider.name >>", json!({}))]});
    apply_set(client, ns, "set", spec, timeout).await;
    wait_until(30, "w-p1 applied", || async {
        widgets(client, ns).get_opt("w-p1").await.unwrap().is_some()
    })
    .await;
    apply_provider(client, ns, "p2", json!({"team": "a"}), json!({"type": "Static"})).await;
    wait_until(15, "a HealthCheckCanceled event", || async {
        !events(client, ns, "ResourceSet", "HealthCheckCanceled")
            .await
            .is_empty()
    })
    .await;
    let note = events(client, ns, "ResourceSet", "HealthCheckCanceled")
        .await
        .remove(0)
        .note;
    assert_eq!(
        note,
        Some(format!(
            "New reconciliation triggered by ResourceSetInputProvider/{ns}/p2"
        ))
    );
    wait_until(15, "w-p2 applied by the new reconcile", || async {
        widgets(client, ns).get_opt("w-p2").await.unwrap().is_some()
    })
    .await;
}

fn job(ns: &str, image: &str, force: bool) -> serde_json::Value {
    let annotations = if force {
        json!({"fluxcd.controlplane.io/force": "enabled"})
    } else {
        json!({})
    };
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": "j", "namespace": ns, "annotations": annotations},
        "spec": {"template": {"spec": {"restartPolicy": "Never",
            "containers": [{"name": "main", "image": image}]}}}})
}

async fn job_uid(client: &kube::Client, ns: &str) -> Option<String> {
    let api: kube::Api<k8s_openapi::api::batch::v1::Job> = kube::Api::namespaced(client.clone(), ns);
    api.get_opt("j").await.expect("get Job").and_then(|j| j.metadata.uid)
}

/// §14.17 (force): a Job whose template changes fails as immutable, and is recreated once
/// it is marked `force: enabled`.
#[tokio::test]
async fn resourceset_s17_force_recreates_an_immutable_object() {
    let bed = Bed::start("rs17").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let set_job = |image: &'static str, force: bool| async move {
        let spec = json!({"resources": [job(ns, image, force)]});
        apply_set(client, ns, "set", spec, json!({})).await;
    };
    set_job("busybox:1", false).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    let first = job_uid(client, ns).await.expect("Job");
    set_job("busybox:2", false).await;
    let (_, message) = wait_reason(client, ns, "set", "Ready", "False", "ReconciliationFailed").await;
    let refused = format!("Job/{ns}/j dry-run failed");
    says(&message, "reconciliation failed: ", &[&refused, "immutable"]);
    let unforced = job_uid(client, ns).await;
    assert_eq!(unforced.as_ref(), Some(&first), "not recreated without force");
    set_job("busybox:2", true).await;
    wait_set(client, ns, "set", 60, "Ready with force", is_ready).await;
    let second = job_uid(client, ns).await.expect("Job recreated");
    assert_ne!(second, first);
}

/// §14.17 (recreateOnFailure): a Failed Job of the set is deleted before its step and
/// created again.
#[tokio::test]
async fn resourceset_s17_a_failed_job_is_recreated() {
    let bed = Bed::start("rs17f").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let mut failing = job(ns, "busybox:1", false);
    failing["metadata"]["annotations"] = json!({"fluxcd.controlplane.io/recreateOnFailure": "enabled"});
    let spec = json!({"resources": [failing]});
    apply_set(client, ns, "set", spec.clone(), json!({})).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    let first = job_uid(client, ns).await.expect("Job");
    let at = "2026-01-01T00:00:00Z";
    let status = json!({"status": {"startTime": at, "conditions": [
        {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": at},
        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "lastTransitionTime": at}]}});
    let api: kube::Api<k8s_openapi::api::batch::v1::Job> = kube::Api::namespaced(client.clone(), ns);
    api.patch_status(
        "j",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&status),
    )
    .await
    .expect("Job status Failed");
    apply_set(client, ns, "set", spec, json!({"reconcile.fluxcd.io/requestedAt": "1"})).await;
    wait_until(30, "the Job created again", || async {
        job_uid(client, ns).await.is_some_and(|uid| uid != first)
    })
    .await;
}
