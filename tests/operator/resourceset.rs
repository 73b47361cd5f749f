//! Acceptance scenarios of the ResourceSet and ResourceSetInputProvider reconcilers
//! (SPEC-resourceset §14), against the real API server. Numbers are the spec's.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use flux_operator_rs::api::ResourceSetInputProvider;
use flux_operator_rs::resourceset::template::ids::adler32;

use crate::harness::wait_for;
use crate::rset_bed::*;

const OWNER_NAME: &str = "resourceset.fluxcd.controlplane.io/name";
const OWNER_NAMESPACE: &str = "resourceset.fluxcd.controlplane.io/namespace";

fn annotated(mut obj: Value, key: &str, value: &str) -> Value {
    obj["metadata"]["annotations"][key] = json!(value);
    obj
}

/// A ConfigMap `c-<t>` per input set, annotated `key: value` (a template).
fn per_input(ns: &str, key: &str, value: &str) -> Value {
    annotated(cm(ns, "c-<< inputs.t >>", json!({})), key, value)
}

fn cm_id(ns: &str, name: &str) -> String {
    format!("{ns}_{name}__ConfigMap")
}

async fn providers(client: &kube::Client, ns: &str) -> Api<ResourceSetInputProvider> {
    Api::namespaced(client.clone(), ns)
}

fn provider_ready(p: &ResourceSetInputProvider) -> bool {
    p.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True" && c.observed_generation == p.metadata.generation)
    })
}

/// §14.1: two input sets make two Widgets, with owner labels and an integer field.
#[tokio::test]
async fn resourceset_s01_inputs_render_one_object_per_set() {
    let bed = Bed::start("rs01").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let template = widget(ns, "w-<< inputs.t >>", json!({"n": "<< inputs.n | int >>"}));
    let spec = json!({"inputs": [{"t": "a", "n": 2}, {"t": "b", "n": 3}], "resources": [template]});
    apply_set(client, ns, "set", spec, json!({})).await;
    let set = wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    for (name, n) in [("w-a", 2), ("w-b", 3)] {
        let w = widgets(client, ns).get(name).await.expect("Widget");
        assert_eq!(w.labels().get(OWNER_NAME).map(String::as_str), Some("set"));
        assert_eq!(w.labels().get(OWNER_NAMESPACE).map(String::as_str), Some(ns));
        assert_eq!(w.data["spec"]["n"], json!(n), "an integer, not a string");
    }
    let ids = [
        format!("{ns}_w-a_{WIDGET_GROUP}_Widget"),
        format!("{ns}_w-b_{WIDGET_GROUP}_Widget"),
    ];
    assert_eq!(inventory_ids(&set), ids);
    let status = set.status.as_ref().expect("status");
    assert!(
        status
            .last_applied_revision
            .as_deref()
            .is_some_and(|r| r.starts_with("sha256:"))
    );
    assert_eq!(status.history[0].metadata.get("inputs").map(String::as_str), Some("2"));
    assert_eq!(status.history[0].last_reconciled_status, "ReconciliationSucceeded");
    wait_until(10, "one ApplySucceeded event", || async {
        events(client, ns, "ResourceSet", "ApplySucceeded").await.len() == 1
    })
    .await;
    let note = events(client, ns, "ResourceSet", "ApplySucceeded").await[0]
        .note
        .clone()
        .unwrap_or_default();
    for name in ["w-a", "w-b"] {
        assert!(note.contains(&format!("Widget/{ns}/{name} created")), "{note}");
    }
}

/// §14.2: a missing key stalls the build and applies nothing; `get` with a default does not.
#[tokio::test]
async fn resourceset_s02_a_missing_key_stalls_the_build() {
    let bed = Bed::start("rs02").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let bad = json!({"inputs": [{"t": "a"}], "resources": [cm(ns, "c-<< inputs.missing >>", json!({}))]});
    apply_set(client, ns, "bad", bad, json!({})).await;
    let (set, message) = wait_reason(client, ns, "bad", "Ready", "False", "BuildFailed").await;
    assert!(has_reason(&set, "Stalled", "True", "BuildFailed"));
    says(&message, "build failed: ", &["missing"]);
    assert_eq!(
        set.status.as_ref().unwrap().history[0].last_reconciled_status,
        "BuildFailed"
    );
    assert!(config_map_names(client, ns).await.is_empty(), "nothing is applied");
    let good = json!({"inputs": [{"t": "a"}],
        "resources": [cm(ns, "d", json!({"v": "<< get inputs \"missing\" | default \"x\" >>"}))]});
    apply_set(client, ns, "good", good, json!({})).await;
    wait_set(client, ns, "good", 60, "Ready", is_ready).await;
    let d = config_map(client, ns, "d").await.expect("ConfigMap d");
    assert_eq!(d.data.unwrap_or_default().get("v").map(String::as_str), Some("x"));
}

/// §14.3: a template-free object is applied once; `reconcile: disabled` drops an object.
#[tokio::test]
async fn resourceset_s03_duplicates_and_disabled_objects_are_dropped() {
    let bed = Bed::start("rs03").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let only_a = "<< if eq inputs.t \"a\" >>enabled<< else >>disabled<< end >>";
    let gated = per_input(ns, "fluxcd.controlplane.io/reconcile", only_a);
    let spec = json!({"inputs": [{"t": "a"}, {"t": "b"}], "resources": [cm(ns, "static", json!({"k": "v"})), gated]});
    apply_set(client, ns, "set", spec, json!({})).await;
    let set = wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    assert_eq!(inventory_ids(&set), [cm_id(ns, "c-a"), cm_id(ns, "static")]);
    assert_eq!(config_map_names(client, ns).await, ["c-a", "static"]);
}

/// §14.5: removed inputs prune their objects, except `prune: disabled` ones and objects
/// whose owner labels were edited away.
#[tokio::test]
async fn resourceset_s05_removed_inputs_are_pruned_with_exceptions() {
    let bed = Bed::start("rs05").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let but_b = "<< if eq inputs.t \"b\" >>disabled<< else >>enabled<< end >>";
    let template = per_input(ns, "fluxcd.controlplane.io/prune", but_b);
    let all = json!({"inputs": [{"t": "a"}, {"t": "b"}, {"t": "c"}, {"t": "d"}], "resources": [template.clone()]});
    apply_set(client, ns, "set", all, json!({})).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    assert_eq!(config_map_names(client, ns).await, ["c-a", "c-b", "c-c", "c-d"]);
    // c-c is taken away from the set by hand.
    let unlabel = json!({"metadata": {"labels": {OWNER_NAME: null, OWNER_NAMESPACE: null}}});
    Api::<ConfigMap>::namespaced(client.clone(), ns)
        .patch("c-c", &PatchParams::default(), &Patch::Merge(&unlabel))
        .await
        .expect("unlabel c-c");
    let one = json!({"inputs": [{"t": "a"}], "resources": [template]});
    apply_set(client, ns, "set", one, json!({})).await;
    let set = wait_set(client, ns, "set", 60, "Ready again", is_ready).await;
    assert_eq!(
        config_map_names(client, ns).await,
        ["c-a", "c-b", "c-c"],
        "c-d is deleted"
    );
    assert_eq!(inventory_ids(&set), [cm_id(ns, "c-a")]);
    wait_until(10, "an ApplySucceeded event with the prune", || async {
        events(client, ns, "ResourceSet", "ApplySucceeded")
            .await
            .iter()
            .any(|e| e.note.as_deref().is_some_and(|n| n.contains("deleted")))
    })
    .await;
    let notes: Vec<String> = events(client, ns, "ResourceSet", "ApplySucceeded")
        .await
        .into_iter()
        .filter_map(|e| e.note)
        .collect();
    let note = notes.iter().find(|n| n.contains("deleted")).expect("prune event");
    assert!(note.contains(&format!("ConfigMap/{ns}/c-d deleted")), "{note}");
    assert!(note.contains(&format!("ConfigMap/{ns}/c-c skipped")), "{note}");
    assert!(note.contains(&format!("ConfigMap/{ns}/c-b skipped")), "{note}");
}

/// §14.7: a Static provider by name; its id is the Adler-32 of its UID, and a change of
/// its values re-renders the set.
#[tokio::test]
async fn resourceset_s07_a_static_provider_by_name() {
    let bed = Bed::start("rs07").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let spec = |env: &str| json!({"type": "Static", "defaultValues": {"env": env}});
    let provider = apply_provider(client, ns, "p", json!({}), spec("dev")).await;
    let id = adler32(provider.uid().expect("uid").as_bytes()).to_string();
    let template = cm(
        ns,
        "c-<< inputs.id >>",
        json!({"kind": "<< inputs.provider.kind >>", "env": "<< inputs.env >>"}),
    );
    let set_spec = json!({"inputsFrom": [{"apiVersion": "fluxcd.controlplane.io/v1",
        "kind": "ResourceSetInputProvider", "name": "p"}], "resources": [template]});
    apply_set(client, ns, "set", set_spec, json!({})).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    let name = format!("c-{id}");
    // The set may be Ready before the provider's first export (nothing to render yet);
    // the export then re-runs it.
    wait_until(30, "ConfigMap c-<id>", || async {
        config_map(client, ns, &name).await.is_some()
    })
    .await;
    let data = config_map(client, ns, &name)
        .await
        .expect("ConfigMap c-<id>")
        .data
        .unwrap_or_default();
    assert_eq!(data.get("kind").map(String::as_str), Some("ResourceSetInputProvider"));
    assert_eq!(data.get("env").map(String::as_str), Some("dev"));
    apply_provider(client, ns, "p", json!({}), spec("prod")).await;
    wait_until(30, "the set re-rendered with env=prod", || async {
        let data = config_map(client, ns, &name)
            .await
            .and_then(|c| c.data)
            .unwrap_or_default();
        data.get("env").map(String::as_str) == Some("prod")
    })
    .await;
}

/// §14.8: providers by selector: a new one adds objects promptly, a deleted or relabelled
/// one prunes its objects, none left prunes everything and the set stays Ready.
#[tokio::test]
async fn resourceset_s08_providers_by_selector() {
    let bed = Bed::start("rs08").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let team = json!({"team": "a"});
    for name in ["p1", "p2"] {
        apply_provider(client, ns, name, team.clone(), json!({"type": "Static"})).await;
    }
    let spec = json!({"inputsFrom": [{"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
        "selector": {"matchLabels": {"team": "a"}}}],
        "resources": [cm(ns, "c-<< inputs.provider.name >>", json!({}))]});
    apply_set(client, ns, "set", spec, json!({})).await;
    wait_config_maps(client, ns, 60, "c-p1 and c-p2", &["c-p1", "c-p2"]).await;
    apply_provider(client, ns, "p3", team.clone(), json!({"type": "Static"})).await;
    wait_config_maps(client, ns, 15, "c-p3 promptly", &["c-p1", "c-p2", "c-p3"]).await;
    let api = providers(client, ns).await;
    api.delete("p1", &DeleteParams::default()).await.expect("delete p1");
    wait_config_maps(client, ns, 15, "c-p1 pruned", &["c-p2", "c-p3"]).await;
    apply_provider(client, ns, "p2", json!({"team": "b"}), json!({"type": "Static"})).await;
    wait_config_maps(client, ns, 15, "c-p2 pruned after the relabel", &["c-p3"]).await;
    for name in ["p2", "p3"] {
        api.delete(name, &DeleteParams::default())
            .await
            .expect("delete provider");
    }
    wait_config_maps(client, ns, 15, "everything pruned", &[]).await;
    let set = wait_set(client, ns, "set", 15, "Ready with an empty inventory", |s| {
        is_ready(s) && inventory_ids(s).is_empty()
    })
    .await;
    assert_eq!(
        set.status.unwrap().history[0]
            .metadata
            .get("inputs")
            .map(String::as_str),
        Some("0")
    );
}

/// §14.10: a dependency that does not exist holds the set, retried every 5 s; it goes
/// ahead once the object exists. A `readyExpr` gate holds until the data opens it; one
/// that does not parse is Stalled.
#[tokio::test]
async fn resourceset_s10_depends_on() {
    let bed = Bed::start("rs10").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let gate = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "gate", "namespace": ns});
    let spec = json!({"dependsOn": [gate], "resources": [cm(ns, "out", json!({}))]});
    apply_set(client, ns, "set", spec, json!({})).await;
    let (set, message) = wait_reason(client, ns, "set", "Ready", "False", "DependencyNotReady").await;
    assert!(cond(&set, "Stalled").is_none());
    says(
        &message,
        "Retrying dependency check: ",
        &[&format!("ConfigMap/{ns}/gate")],
    );
    assert!(config_map(client, ns, "out").await.is_none());
    assert!(
        set.status.unwrap().history.is_empty(),
        "a dependency wait writes no history"
    );
    let started = std::time::Instant::now();
    let config_maps = Api::<ConfigMap>::namespaced(client.clone(), ns);
    let closed = serde_json::from_value(cm(ns, "gate", json!({"gate": "closed"}))).unwrap();
    config_maps
        .create(&Default::default(), &closed)
        .await
        .expect("create gate");
    wait_set(client, ns, "set", 15, "Ready once the gate exists", is_ready).await;
    assert!(started.elapsed() < Duration::from_secs(12), "{:?}", started.elapsed());
    assert!(config_map(client, ns, "out").await.is_some());

    let cel = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "gate", "namespace": ns,
        "ready": true, "readyExpr": "data.gate == 'open'"});
    let spec = json!({"dependsOn": [cel], "resources": [cm(ns, "x", json!({}))]});
    apply_set(client, ns, "cel", spec, json!({})).await;
    let (_, message) = wait_reason(client, ns, "cel", "Ready", "False", "DependencyNotReady").await;
    says(&message, "Retrying dependency check: ", &["readyExpr is false"]);
    assert!(config_map(client, ns, "x").await.is_none(), "the gate holds");
    let open = json!({"data": {"gate": "open"}});
    config_maps
        .patch("gate", &PatchParams::default(), &Patch::Merge(&open))
        .await
        .expect("open the gate");
    wait_set(client, ns, "cel", 15, "Ready once the gate opens", is_ready).await;
    assert!(config_map(client, ns, "x").await.is_some());

    let broken = json!({"apiVersion": "v1", "kind": "ConfigMap", "name": "gate", "namespace": ns,
        "ready": true, "readyExpr": "data.gate =="});
    let spec = json!({"dependsOn": [broken], "resources": [cm(ns, "y", json!({}))]});
    apply_set(client, ns, "bad", spec, json!({})).await;
    let (set, message) = wait_reason(client, ns, "bad", "Ready", "False", "InvalidCELExpression").await;
    assert!(has_reason(&set, "Stalled", "True", "InvalidCELExpression"));
    says(
        &message,
        "Reconciliation failed terminally due to configuration error:",
        &["dependsOn[0].readyExpr"],
    );
    assert!(config_map(client, ns, "y").await.is_none());
}

/// §14.11: `wait: true` on a Widget that is not Ready fails by the reconcile timeout, and
/// succeeds once it is Ready.
#[tokio::test]
async fn resourceset_s11_wait_for_health() {
    let bed = Bed::start("rs11").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let spec = json!({"wait": true, "resources": [widget(ns, "w", json!({}))]});
    let timeout = json!({"fluxcd.controlplane.io/reconcileTimeout": "5s"});
    apply_set(client, ns, "set", spec, timeout).await;
    let (set, message) = wait_reason(client, ns, "set", "Ready", "False", "ReconciliationFailed").await;
    let pending = format!("Widget/{ns}/w status: 'InProgress'");
    says(&message, "reconciliation failed: timeout waiting for: ", &[&pending]);
    assert!(!is_ready(&set));
    set_widget_ready(client, ns, "w", "True").await;
    wait_set(client, ns, "set", 30, "Ready once the Widget is", is_ready).await;
}

/// §14.15: deleting a set deletes its objects but `prune: disabled` ones; a suspended set
/// applies nothing, says so, and keeps everything when deleted.
#[tokio::test]
async fn resourceset_s15_deletion_and_suspension() {
    let bed = Bed::start("rs15").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let kept = annotated(cm(ns, "kept", json!({})), "fluxcd.controlplane.io/prune", "disabled");
    let spec = json!({"resources": [cm(ns, "gone", json!({})), kept]});
    apply_set(client, ns, "set", spec, json!({})).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    delete_set(client, ns, "set").await;
    assert_eq!(config_map_names(client, ns).await, ["kept"]);

    apply_set(
        client,
        ns,
        "frozen",
        json!({"resources": [cm(ns, "c", json!({}))]}),
        json!({}),
    )
    .await;
    wait_set(client, ns, "frozen", 60, "Ready", is_ready).await;
    let disabled = json!({"fluxcd.controlplane.io/reconcile": "disabled"});
    let more = json!({"resources": [cm(ns, "c", json!({})), cm(ns, "d", json!({}))]});
    apply_set(client, ns, "frozen", more, disabled).await;
    wait_until(15, "a ReconciliationDisabled warning", || async {
        events(client, ns, "ResourceSet", "ReconciliationDisabled")
            .await
            .iter()
            .any(|e| e.type_.as_deref() == Some("Warning"))
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        config_map(client, ns, "d").await.is_none(),
        "a suspended set applies nothing"
    );
    delete_set(client, ns, "frozen").await;
    assert_eq!(config_map_names(client, ns).await, ["c", "kept"]);

    let suspended = json!({"fluxcd.controlplane.io/reconcile": "disabled"});
    let born = json!({"resources": [cm(ns, "never", json!({}))]});
    apply_set(client, ns, "born", born, suspended).await;
    let (_, message) = wait_reason(client, ns, "born", "Ready", "True", "ReconciliationDisabled").await;
    assert_eq!(message, "Initialized with reconciliation suspended");
    assert!(config_map(client, ns, "never").await.is_none());
    let metric = "flux_resourceset_info";
    bed.wait_series(metric, "born", "suspended", |s| {
        s.is_some_and(|s| s["suspended"] == "True" && s["reason"] == "ReconciliationDisabled")
    })
    .await;
    bed.wait_series(metric, "set", "gone with its set", |s| s.is_none())
        .await;
}

/// §14.19: a Static provider exports its default values and its computed id, which wins
/// over a default `id`; a type not implemented yet is Stalled, saying so.
#[tokio::test]
async fn resourceset_s19_static_provider_exports() {
    let bed = Bed::start("rs19").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let spec = json!({"type": "Static", "defaultValues": {"id": "mine", "env": "x", "n": 1}});
    let created = apply_provider(client, ns, "p", json!({}), spec).await;
    let api = providers(client, ns).await;
    let p = wait_for(&api, "p", 60, "Ready", provider_ready).await;
    let status = p.status.clone().expect("status");
    let id = adler32(created.uid().expect("uid").as_bytes()).to_string();
    let expected = json!([{"id": id, "env": "x", "n": 1}]);
    assert_eq!(serde_json::to_value(&status.exported_inputs).unwrap(), expected);
    assert!(
        status
            .last_exported_revision
            .as_deref()
            .is_some_and(|r| r.starts_with("sha256:"))
    );
    let ready = status.conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.reason, "ReconciliationSucceeded");
    assert!(p.finalizers().iter().any(|f| f == "fluxcd.controlplane.io/finalizer"));
    let metric = "flux_resourcesetinputprovider_info";
    bed.wait_series(metric, "p", "Ready, url empty", |s| {
        s.is_some_and(|s| s["ready"] == "True" && s["url"].is_empty() && s["suspended"] == "False")
    })
    .await;

    let azure = json!({"type": "AzureDevOpsBranch", "url": "https://dev.azure.com/o/p/_git/r"});
    apply_provider(client, ns, "gh", json!({}), azure).await;
    let gh = wait_for(&api, "gh", 60, "Stalled", |p| {
        p.status
            .as_ref()
            .is_some_and(|s| s.conditions.iter().any(|c| c.type_ == "Stalled" && c.status == "True"))
    })
    .await;
    let stalled = gh
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Stalled")
        .unwrap();
    assert_eq!(stalled.reason, "InvalidSpec");
    assert!(
        stalled
            .message
            .contains("type AzureDevOpsBranch is not supported by this operator yet"),
        "{}",
        stalled.message
    );
}
