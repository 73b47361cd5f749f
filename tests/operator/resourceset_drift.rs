//! Issue 15's watches of generated objects: a set whose objects are edited or deleted
//! puts them back within seconds, with no reconcile request and the default
//! one-hour interval (upstream waits for the interval); its own prune is not taken for a
//! deletion, so a health check in progress is not canceled by it.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use crate::rset_bed::*;

fn data_of(obj: Option<ConfigMap>) -> Option<String> {
    obj?.data?.get("k").cloned()
}

#[tokio::test]
async fn resourceset_generated_objects_drift_and_deletion_repaired_within_seconds() {
    let bed = Bed::start("rs-drift").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    let spec = json!({"wait": true, "resources": [cm(ns, "a", json!({"k": "v"})), cm(ns, "b", json!({"k": "v"}))]});
    apply_set(client, ns, "set", spec, json!({})).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;

    let edit = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "a", "namespace": ns}, "data": {"k": "edited"}});
    api.patch("a", &PatchParams::apply("someone").force(), &Patch::Apply(&edit))
        .await
        .expect("hand edit");
    wait_until(15, "the hand edit reverted without a request", || async {
        data_of(config_map(client, ns, "a").await).as_deref() == Some("v")
    })
    .await;

    api.delete("a", &DeleteParams::default()).await.expect("delete a");
    wait_until(15, "the deleted ConfigMap created again", || async {
        data_of(config_map(client, ns, "a").await).as_deref() == Some("v")
    })
    .await;

    wait_set(client, ns, "set", 30, "Ready after the repairs", is_ready).await;

    // The set's own prune during a health check (the new Widget is not ready yet): the
    // deletion is the set's, not a reason to cancel the check.
    let spec = json!({"wait": true, "resources": [cm(ns, "a", json!({"k": "v"})), widget(ns, "w", json!({}))]});
    apply_set(client, ns, "set", spec, json!({})).await;
    wait_config_maps(client, ns, 30, "b pruned", &["a"]).await;
    wait_until(15, "the Widget created", || async {
        widgets(client, ns).get_opt("w").await.ok().flatten().is_some()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    set_widget_ready(client, ns, "w", "True").await;
    wait_set(client, ns, "set", 30, "Ready after the prune", |s| {
        is_ready(s) && inventory_ids(s).len() == 2
    })
    .await;
    let canceled = events(client, ns, "ResourceSet", "HealthCheckCanceled").await;
    assert!(canceled.is_empty(), "the prune canceled a health check: {canceled:?}");
}
