//! ResourceSet config helpers (SPEC-resourceset §14.16): copyFrom and checksumFrom, and
//! the watch of labelled sources.

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use crate::rset_bed::*;

const WATCH: &str = "reconcile.fluxcd.io/watch";

async fn put(client: &kube::Client, ns: &str, obj: Value) {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default().to_owned();
    let params = PatchParams::apply("test").force();
    if obj["kind"] == "Secret" {
        let api: Api<Secret> = Api::namespaced(client.clone(), ns);
        api.patch(&name, &params, &Patch::Apply(&obj)).await.expect("Secret");
    } else {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
        api.patch(&name, &params, &Patch::Apply(&obj)).await.expect("ConfigMap");
    }
}

fn source_secret(ns: &str, user: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/basic-auth",
        "metadata": {"name": "src", "namespace": ns, "labels": {WATCH: "Enabled"}},
        "stringData": {"username": user}})
}

fn source_config(ns: &str, a: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "cfg", "namespace": ns, "labels": {WATCH: "Enabled"}}, "data": {"a": a}})
}

async fn copied_user(client: &kube::Client, ns: &str) -> Option<String> {
    let secret = Api::<Secret>::namespaced(client.clone(), ns)
        .get_opt("copy")
        .await
        .expect("get copy")?;
    let ByteString(bytes) = secret.data?.get("username")?.clone();
    String::from_utf8(bytes).ok()
}

async fn checksum(client: &kube::Client, ns: &str) -> Option<String> {
    let w = widgets(client, ns).get_opt("w").await.expect("get Widget")?;
    w.data["spec"]["template"]["metadata"]["annotations"]["fluxcd.controlplane.io/checksum"]
        .as_str()
        .map(str::to_owned)
}

/// §14.16: a copy follows its labelled source without waiting; a checksum follows its
/// ConfigMap and the cluster refs are listed; a missing source fails the reconcile.
#[tokio::test]
async fn resourceset_s16_copy_and_checksum_follow_their_sources() {
    let bed = Bed::start("rs16").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    put(client, ns, source_secret(ns, "user")).await;
    put(client, ns, source_config(ns, "1")).await;
    let copy = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "copy", "namespace": ns, "annotations": {"fluxcd.controlplane.io/copyFrom": format!("{ns}/src")}}});
    let pod_template = json!({"template": {"metadata": {"annotations":
        {"fluxcd.controlplane.io/checksumFrom": format!("ConfigMap/{ns}/cfg")}}}});
    let spec = json!({"resources": [copy, widget(ns, "w", pod_template)]});
    apply_set(client, ns, "set", spec, json!({})).await;
    let set = wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    let copied = Api::<Secret>::namespaced(client.clone(), ns)
        .get("copy")
        .await
        .expect("copy");
    assert_eq!(copied.type_.as_deref(), Some("kubernetes.io/basic-auth"));
    assert_eq!(copied_user(client, ns).await.as_deref(), Some("user"));
    let first = checksum(client, ns).await.expect("checksum");
    assert!(first.starts_with("sha256:"), "{first}");
    let refs = set.status.unwrap().external_checksum_refs;
    assert_eq!(refs, [format!("ConfigMap/{ns}/cfg")]);

    put(client, ns, source_secret(ns, "admin")).await;
    wait_until(15, "the copy follows its source", || async {
        copied_user(client, ns).await.as_deref() == Some("admin")
    })
    .await;
    put(client, ns, source_config(ns, "2")).await;
    wait_until(15, "the checksum follows its ConfigMap", || async {
        checksum(client, ns).await.is_some_and(|c| c != first)
    })
    .await;

    let orphan = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "orphan", "namespace": ns, "annotations": {"fluxcd.controlplane.io/copyFrom": format!("{ns}/nope")}}});
    apply_set(client, ns, "missing", json!({"resources": [orphan]}), json!({})).await;
    let (_, message) = wait_reason(client, ns, "missing", "Ready", "False", "ReconciliationFailed").await;
    says(
        &message,
        "reconciliation failed: ",
        &[&format!("Secret/{ns}/orphan: Secret/{ns}/nope not found")],
    );
}
