//! Provider schedules, the FluxReport's counts of the ResourceSet kinds and their metric
//! series (SPEC-resourceset §14.24).

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use k8s_openapi::jiff::tz::TimeZone;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use flux_operator_rs::api::{FluxReport, ResourceSetInputProvider};
use flux_operator_rs::report::classify;

use crate::harness::{request_report, resource, wait_for};
use crate::provider_services::{apply_provider_meta, exported, install_artifact_crd, pcond, wait_provider};
use crate::rset_bed::{Bed, apply_set, cm, events, is_ready, wait_set};

/// A daily schedule half a day away from now: its one-hour window never covers the test.
fn far_schedule() -> Value {
    let hour = Timestamp::now().to_zoned(TimeZone::UTC).hour();
    json!([{"cron": format!("0 {} * * *", (hour + 12) % 24), "window": "1h"}])
}

fn static_spec(schedule: Value) -> Value {
    json!({"type": "Static", "defaultValues": {"env": "x"}, "schedule": schedule})
}

async fn provider_events(client: &Client, ns: &str, name: &str, reason: &str) -> Vec<Event> {
    let all = events(client, ns, "ResourceSetInputProvider", reason).await;
    all.into_iter()
        .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .collect()
}

/// §14.24: outside its window a provider skips and says when it runs next; an equal
/// requestedAt/forceAt runs it anyway, once; bad schedules are Stalled.
#[tokio::test]
async fn provider_schedule_s24_windows_force_and_invalid_schedules() {
    let bed = Bed::start("ps24").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let schedule = far_schedule();
    let meta = |annotations: Value| json!({"name": "p", "annotations": annotations});
    apply_provider_meta(client, ns, meta(json!({})), static_spec(schedule.clone()))
        .await
        .expect("apply");
    let p = wait_provider(client, ns, "p", "Ready", "True", "SkippedDueToSchedule").await;
    let (_, _, message) = pcond(&p, "Ready").expect("Ready");
    let next = p
        .status
        .as_ref()
        .and_then(|s| s.next_schedule.clone())
        .expect("nextSchedule");
    assert_eq!(next.cron, schedule[0]["cron"].as_str().unwrap());
    assert_eq!((next.time_zone.as_str(), next.window.as_str()), ("UTC", "1h"));
    let until = next.when.0.duration_since(Timestamp::now()).as_secs();
    assert!((36_000..=46_800).contains(&until), "next run in {until}s");
    assert_eq!(
        message,
        format!("Reconciliation skipped, next scheduled at {}", next.when.0)
    );
    assert!(exported(&p).as_array().is_some_and(Vec::is_empty));
    let skips = provider_events(client, ns, "p", "SkippedDueToSchedule").await;
    assert!(skips.iter().any(|e| e.note.as_deref() == Some(message.as_str())));

    let forced = json!({"reconcile.fluxcd.io/requestedAt": "f1", "reconcile.fluxcd.io/forceAt": "f1"});
    apply_provider_meta(client, ns, meta(forced), static_spec(schedule.clone()))
        .await
        .expect("apply");
    let p = wait_provider(client, ns, "p", "Ready", "True", "ReconciliationSucceeded").await;
    let status = p.status.clone().expect("status");
    assert_eq!(status.last_handled_force_at.as_deref(), Some("f1"));
    assert_eq!(status.exported_inputs[0]["env"], "x");
    assert!(status.next_schedule.is_some(), "the next run is the next trigger");

    // A request without an equal forceAt is skipped again; the conditions stay.
    let requested = json!({"reconcile.fluxcd.io/requestedAt": "r2", "reconcile.fluxcd.io/forceAt": "f1"});
    apply_provider_meta(client, ns, meta(requested), static_spec(schedule))
        .await
        .expect("apply");
    let api = Api::<ResourceSetInputProvider>::namespaced(client.clone(), ns);
    let p = wait_for(&api, "p", 30, "r2 handled", |p| {
        p.status.as_ref().and_then(|s| s.last_handled_reconcile_at.as_deref()) == Some("r2")
    })
    .await;
    let ready = pcond(&p, "Ready").expect("Ready");
    assert_eq!(
        (ready.0.as_str(), ready.1.as_str()),
        ("True", "ReconciliationSucceeded")
    );
    assert_eq!(
        p.status.as_ref().and_then(|s| s.last_handled_force_at.as_deref()),
        Some("f1")
    );

    let stalled = [
        ("bad-cron", json!([{"cron": "every day"}]), "spec.schedule[0].cron"),
        (
            "short",
            json!([{"cron": "@daily", "window": "3m"}]),
            "must be 0s or at least twice",
        ),
    ];
    for (name, schedule, says) in stalled {
        let meta = json!({"name": name});
        apply_provider_meta(client, ns, meta, static_spec(schedule))
            .await
            .expect("apply");
        let p = wait_provider(client, ns, name, "Stalled", "True", "InvalidSchedule").await;
        let (_, _, message) = pcond(&p, "Ready").expect("Ready");
        assert!(message.contains(says), "{name}: {message}");
    }
    // Fixed, but outside its window: the old Stalled goes (SPEC §15), nothing runs yet.
    apply_provider_meta(client, ns, json!({"name": "short"}), static_spec(far_schedule()))
        .await
        .expect("apply");
    wait_for(&api, "short", 30, "skipped, Stalled gone", |p| {
        p.status.as_ref().is_some_and(|s| s.next_schedule.is_some()) && pcond(p, "Stalled").is_none()
    })
    .await;
}

/// (running, failing, suspended) of `kind` outside `ns`, as the report counts them.
async fn elsewhere(client: &Client, ns: &str, kind: &str) -> (i64, i64, i64) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource("fluxcd.controlplane.io", "v1", kind));
    let mut counts = (0, 0, 0);
    for item in api.list(&ListParams::default()).await.unwrap().items {
        if item.namespace().as_deref() == Some(ns) {
            continue;
        }
        let state = classify(kind, &serde_json::to_value(&item).unwrap());
        counts.0 += i64::from(!state.suspended);
        counts.1 += i64::from(state.failing);
        counts.2 += i64::from(state.suspended);
    }
    counts
}

fn counts(report: &FluxReport, kind: &str) -> Option<(i64, i64, i64)> {
    let r = report.spec.reconcilers.iter().find(|r| r.kind == kind)?;
    let s = r.stats.as_ref()?;
    Some((s.running, s.failing, s.suspended))
}

/// Waits until the report counts `ours` plus what other namespaces hold of `kind` (the
/// operator watches them too, so their states may still move).
async fn wait_counts(client: &Client, ns: &str, kind: &str, ours: (i64, i64, i64)) {
    let mut last = None;
    for round in 0..20 {
        let o = elsewhere(client, ns, kind).await;
        let expected = (ours.0 + o.0, ours.1 + o.1, ours.2 + o.2);
        let report = request_report(client, ns, &format!("{kind}-{round}")).await;
        last = counts(&report, kind);
        if last == Some(expected) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    panic!("{kind}: the report counts {last:?}, not ours {ours:?} plus the others");
}

/// §14.24: the FluxReport counts ResourceSets and providers (running, failing,
/// suspended); a deleted provider's metric series goes.
#[tokio::test]
async fn provider_schedule_s24_report_counts_and_series() {
    let bed = Bed::start("ps24r").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    // The report lists reconcilers only where Flux is installed: one Flux CRD says so.
    install_artifact_crd(client).await;
    let providers = [
        ("fine", json!({}), static_spec(json!([]))),
        ("failing", json!({}), static_spec(json!([{"cron": "x"}]))),
        (
            "paused",
            json!({"fluxcd.controlplane.io/reconcile": "disabled"}),
            static_spec(json!([])),
        ),
    ];
    for (name, annotations, spec) in providers {
        let meta = json!({"name": name, "annotations": annotations});
        apply_provider_meta(client, ns, meta, spec).await.expect("apply");
    }
    let resources = json!({"resources": [cm(ns, "c", json!({}))]});
    apply_set(client, ns, "set", resources.clone(), json!({})).await;
    let paused = json!({"fluxcd.controlplane.io/reconcile": "disabled"});
    apply_set(client, ns, "paused-set", resources, paused).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    wait_provider(client, ns, "fine", "Ready", "True", "ReconciliationSucceeded").await;
    wait_provider(client, ns, "failing", "Stalled", "True", "InvalidSchedule").await;
    wait_provider(client, ns, "paused", "Ready", "True", "ReconciliationDisabled").await;
    wait_counts(client, ns, "ResourceSetInputProvider", (2, 1, 1)).await;
    wait_counts(client, ns, "ResourceSet", (1, 0, 1)).await;

    let metric = "flux_resourcesetinputprovider_info";
    bed.wait_series(metric, "failing", "Stalled", |s| {
        s.is_some_and(|s| s["ready"] == "False" && s["reason"] == "InvalidSchedule")
    })
    .await;
    let api = Api::<ResourceSetInputProvider>::namespaced(client.clone(), ns);
    api.delete("failing", &DeleteParams::default()).await.expect("delete");
    bed.wait_series(metric, "failing", "gone with its provider", |s| s.is_none())
        .await;
    bed.wait_series(metric, "fine", "still there", |s| s.is_some()).await;
}
