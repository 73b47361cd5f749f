//! ResourceSetInputProvider types that ask something outside the provider: ExternalService
//! on a local HTTP server (SPEC-resourceset §14.20) and ExternalArtifact (§14.23).

use std::collections::BTreeMap;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::get;
use base64::Engine;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use flux_operator_rs::api::ResourceSetInputProvider;
use flux_operator_rs::resourceset::template::ids::adler32;

use crate::common::{FIELD_MANAGER, namespace};
use crate::harness::{distribution, find_condition, resource, wait_for};
use crate::rset_bed::{Bed, apply_crd};

/// Server-side applies a provider with `metadata` (name, labels, annotations).
pub async fn apply_provider_meta(client: &Client, ns: &str, metadata: Value, spec: Value) -> Result<(), kube::Error> {
    let name = metadata["name"].as_str().unwrap_or_default().to_owned();
    let mut metadata = metadata;
    metadata["namespace"] = json!(ns);
    let obj = json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
        "metadata": metadata, "spec": spec});
    Api::<ResourceSetInputProvider>::namespaced(client.clone(), ns)
        .patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .map(|_| ())
}

/// (status, reason, message) of a provider's condition.
pub fn pcond(p: &ResourceSetInputProvider, type_: &str) -> Option<(String, String, String)> {
    find_condition(&p.status.as_ref()?.conditions, type_)
}

/// Waits until the provider's condition `type_` has `status` and `reason`.
pub async fn wait_provider(
    client: &Client,
    ns: &str,
    name: &str,
    type_: &str,
    status: &str,
    reason: &str,
) -> ResourceSetInputProvider {
    let what = format!("{name}: {type_}={status} {reason}");
    let api = Api::namespaced(client.clone(), ns);
    wait_for(&api, name, 60, &what, |p| {
        pcond(p, type_).is_some_and(|(s, r, _)| s == status && r == reason)
    })
    .await
}

pub fn exported(p: &ResourceSetInputProvider) -> Value {
    json!(p.status.as_ref().map(|s| s.exported_inputs.clone()).unwrap_or_default())
}

fn message(p: &ResourceSetInputProvider) -> String {
    pcond(p, "Ready").map(|c| c.2).unwrap_or_default()
}

/// The fake service: each path answers one way; the authenticated ones check the headers
/// an ExternalService call must send.
async fn serve() -> u16 {
    fn sent_properly(headers: &HeaderMap, authorization: &str) -> bool {
        let h = |name| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
        h(header::AUTHORIZATION) == authorization
            && h(header::ACCEPT) == "application/json"
            && h(header::USER_AGENT).starts_with("flux-operator/")
    }
    let two = r#"{"inputs": [{"id": "1", "branch": "a", "n": 1}, {"id": "2", "branch": "b"}]}"#;
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("user:pass")
    );
    let big = format!(r#"{{"inputs": [{{"id": "1", "pad": "{}"}}]}}"#, "x".repeat(1 << 20));
    let app = Router::new()
        .route(
            "/bearer",
            get(move |h: HeaderMap| async move {
                match sent_properly(&h, "Bearer s3cret") {
                    true => (StatusCode::OK, two),
                    false => (StatusCode::UNAUTHORIZED, "{}"),
                }
            }),
        )
        .route(
            "/basic",
            get(move |h: HeaderMap| async move {
                match sent_properly(&h, &basic) {
                    true => (StatusCode::OK, two),
                    false => (StatusCode::UNAUTHORIZED, "{}"),
                }
            }),
        )
        .route(
            "/no-id",
            get(|| async { r#"{"inputs": [{"id": "1"}, {"name": "x"}]}"# }),
        )
        .route("/dup", get(|| async { r#"{"inputs": [{"id": "1"}, {"id": "1"}]}"# }))
        .route("/error", get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }))
        .route("/big", get(move || async move { big }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    port
}

async fn secret(client: &Client, ns: &str, name: &str, data: Value) {
    let obj = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
        "stringData": data});
    Api::<Secret>::namespaced(client.clone(), ns)
        .patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .expect("Secret");
}

/// §14.20: Bearer and Basic credentials are sent, `limit: 1` keeps the first input; a
/// missing id, duplicate ids, HTTP 500 and a 1 MiB body fail; plain HTTP needs insecure.
#[tokio::test]
async fn provider_services_s20_external_service() {
    let bed = Bed::start("ps20").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let port = serve().await;
    secret(client, ns, "token", json!({"token": "  s3cret\n"})).await;
    secret(client, ns, "basic", json!({"username": "user", "password": "pass"})).await;
    let spec = |path: &str, secret: Option<&str>, limit: Option<i64>| {
        let mut spec = json!({"type": "ExternalService", "url": format!("http://127.0.0.1:{port}/{path}"),
            "insecure": true});
        if let Some(secret) = secret {
            spec["secretRef"] = json!({"name": secret});
        }
        if let Some(limit) = limit {
            spec["filter"] = json!({"limit": limit});
        }
        spec
    };
    let providers = [
        ("bearer", spec("bearer", Some("token"), Some(1))),
        ("basic", spec("basic", Some("basic"), None)),
        ("anonymous", spec("bearer", None, None)),
        ("no-id", spec("no-id", None, None)),
        ("dup", spec("dup", None, None)),
        ("error", spec("error", None, None)),
        ("big", spec("big", None, None)),
    ];
    for (name, spec) in &providers {
        apply_provider_meta(client, ns, json!({"name": name}), spec.clone())
            .await
            .expect("apply");
    }
    let ready = |name| wait_provider(client, ns, name, "Ready", "True", "ReconciliationSucceeded");
    assert_eq!(
        exported(&ready("bearer").await),
        json!([{"id": "1", "branch": "a", "n": 1}])
    );
    assert_eq!(
        exported(&ready("basic").await),
        json!([{"id": "1", "branch": "a", "n": 1}, {"id": "2", "branch": "b"}])
    );
    let failures = [
        ("anonymous", "HTTP 401"),
        ("no-id", "inputs[1] has no string 'id'"),
        ("dup", "inputs[1]: duplicate id \"1\""),
        ("error", "HTTP 500"),
        ("big", "response body exceeds 921600 bytes"),
    ];
    for (name, cause) in failures {
        let p = wait_provider(client, ns, name, "Ready", "False", "ReconciliationFailed").await;
        let text = message(&p);
        assert!(
            text.starts_with("ExternalService provider failed: GET http://127.0.0.1:"),
            "{text}"
        );
        assert!(text.contains(cause), "{name}: {cause:?} not in {text}");
        assert!(exported(&p).as_array().is_some_and(Vec::is_empty), "{name}");
    }
    let plain = json!({"type": "ExternalService", "url": "http://127.0.0.1:1/x"});
    let refused = apply_provider_meta(client, ns, json!({"name": "plain"}), plain).await;
    let refused = refused
        .expect_err("admission refuses http:// without insecure")
        .to_string();
    assert!(refused.contains("spec.insecure must be true"), "{refused}");
    tls(client, ns).await;
    delete_providers(client, ns).await;
}

/// certSecretRef, against the test bed's API server (its CA signs a client certificate in
/// `system:masters`): untrusted without `ca.crt`; with it, anonymous (forbidden); with
/// `tls.crt` and `tls.key` too, the list of ConfigMaps, which is no provider answer.
async fn tls(client: &Client, ns: &str) {
    let dir = crate::common::testbed_dir();
    let file = |name: &str| std::fs::read_to_string(dir.join(name)).expect("test bed certificate");
    secret(client, ns, "ca", json!({"ca.crt": file("ca.crt")})).await;
    let pair = json!({"ca.crt": file("ca.crt"), "tls.crt": file("kubelet-client.crt"),
        "tls.key": file("kubelet-client.key")});
    secret(client, ns, "pair", pair).await;
    let server = crate::common::config().await.cluster_url.to_string();
    let url = format!("{}/api/v1/namespaces/{ns}/configmaps", server.trim_end_matches('/'));
    let cases = [
        ("untrusted", None, "certificate"),
        ("anonymous-tls", Some("ca"), "HTTP 403 Forbidden"),
        ("client-cert", Some("pair"), "response has no 'inputs' array"),
    ];
    for (name, secret, _) in cases {
        let mut spec = json!({"type": "ExternalService", "url": url});
        if let Some(secret) = secret {
            spec["certSecretRef"] = json!({"name": secret});
        }
        apply_provider_meta(client, ns, json!({"name": name}), spec)
            .await
            .expect("apply");
    }
    for (name, _, cause) in cases {
        let p = wait_provider(client, ns, name, "Ready", "False", "ReconciliationFailed").await;
        assert!(message(&p).contains(cause), "{name}: {cause:?} not in {}", message(&p));
    }
}

/// Deletes the providers of `ns` and waits until they are gone: failing ones left behind
/// would keep the next scenarios' operators busy.
pub async fn delete_providers(client: &Client, ns: &str) {
    let api = Api::<ResourceSetInputProvider>::namespaced(client.clone(), ns);
    api.delete_collection(&DeleteParams::default(), &Default::default())
        .await
        .expect("delete providers");
    crate::rset_bed::wait_until(30, "providers gone", || async {
        api.list(&Default::default()).await.is_ok_and(|l| l.items.is_empty())
    })
    .await;
}

const ARTIFACT_GROUP: &str = "source.toolkit.fluxcd.io";

/// The ExternalArtifact CRD of Flux v2.7.0, as Flux installs it.
pub async fn install_artifact_crd(client: &Client) {
    let path = format!("{}/flux/v2.7.0/source-controller.yaml", distribution());
    let text = std::fs::read_to_string(&path).expect("source-controller.yaml");
    let docs: Vec<Value> = flux_operator_rs::yaml::from_multi_str(&text).expect("YAML");
    let crd: CustomResourceDefinition = docs
        .into_iter()
        .find(|doc| doc["metadata"]["name"] == "externalartifacts.source.toolkit.fluxcd.io")
        .map(|doc| serde_json::from_value(doc).expect("CRD"))
        .expect("the ExternalArtifact CRD in source-controller.yaml");
    apply_crd(client, &crd).await;
}

async fn remove_artifact_crd(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let name = "externalartifacts.source.toolkit.fluxcd.io";
    if api.get_opt(name).await.expect("get CRD").is_some() {
        api.delete(name, &DeleteParams::default()).await.expect("delete CRD");
    }
    crate::rset_bed::wait_until(60, "the ExternalArtifact CRD gone", || async {
        api.get_opt(name).await.is_ok_and(|c| c.is_none())
    })
    .await;
}

fn artifacts(client: &Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &resource(ARTIFACT_GROUP, "v1", "ExternalArtifact"))
}

/// An ExternalArtifact with `labels` and, when given, an artifact `revision`.
async fn artifact(client: &Client, ns: &str, name: &str, labels: Value, revision: Option<&str>) {
    let obj = json!({"apiVersion": format!("{ARTIFACT_GROUP}/v1"), "kind": "ExternalArtifact",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"sourceRef": {"kind": "ArtifactGenerator", "name": "gen"}}});
    let api = artifacts(client, ns);
    api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .expect("ExternalArtifact");
    if let Some(revision) = revision {
        let status = json!({"status": {"artifact": {"digest": "sha256:0", "lastUpdateTime": "2026-01-01T00:00:00Z",
            "path": "p", "revision": revision, "url": "http://x/p"}}});
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("ExternalArtifact status");
    }
}

fn artifact_set(ns: &str, name: &str, labels: &BTreeMap<&str, &str>, revision: Option<&str>) -> Value {
    let mut set = json!(labels);
    set["id"] = json!(adler32(format!("{ns}/{name}").as_bytes()).to_string());
    set["name"] = json!(name);
    set["namespace"] = json!(ns);
    if let Some(revision) = revision {
        set["revision"] = json!(revision);
    }
    set
}

/// §14.23: label, name and all-namespace selectors export the artifacts' labels and
/// `id name namespace revision`; a new matching artifact re-runs the provider at once.
#[tokio::test]
async fn provider_services_s23_external_artifact() {
    let bed = Bed::start("ps23").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    // Before Flux v2.7 there is no such CRD: a provider fails, saying so.
    remove_artifact_crd(client).await;
    let early = json!({"type": "ExternalArtifact", "selectors": [{"name": "a2"}]});
    apply_provider_meta(client, ns, json!({"name": "early"}), early)
        .await
        .expect("apply");
    let p = wait_provider(client, ns, "early", "Ready", "False", "ReconciliationFailed").await;
    assert!(message(&p).contains("CRD is not installed"), "{}", message(&p));
    // The operator looks for the CRD every 10 s and then watches the artifacts.
    install_artifact_crd(client).await;
    let other = namespace(client, "ps23-other").await;
    // A label no other run's artifacts carry: `namespace: "*"` sees the whole cluster.
    let team = BTreeMap::from([("team", ns)]);
    let label = json!(team);
    artifact(client, ns, "a1", label.clone(), Some("v1@sha256:1")).await;
    artifact(client, ns, "a2", json!({"team": "b"}), None).await;
    artifact(client, &other, "a3", label.clone(), Some("v3")).await;
    let every = json!({"fluxcd.controlplane.io/reconcileEvery": "1h"});
    let providers = [
        ("by-label", json!([{"matchLabels": {"team": ns}}])),
        ("by-name", json!([{"name": "a2"}])),
        (
            "everywhere",
            json!([{"namespace": "*", "matchLabels": {"team": ns}}, {"name": "a1"}]),
        ),
    ];
    for (name, selectors) in &providers {
        let spec = json!({"type": "ExternalArtifact", "selectors": selectors});
        apply_provider_meta(client, ns, json!({"name": name, "annotations": every}), spec)
            .await
            .expect("apply");
    }
    let ready = |name| wait_provider(client, ns, name, "Ready", "True", "ReconciliationSucceeded");
    let a1 = artifact_set(ns, "a1", &team, Some("v1@sha256:1"));
    let a3 = artifact_set(&other, "a3", &team, Some("v3"));
    assert_eq!(exported(&ready("by-label").await), json!([a1]));
    let b = BTreeMap::from([("team", "b")]);
    assert_eq!(
        exported(&ready("by-name").await),
        json!([artifact_set(ns, "a2", &b, None)])
    );
    // Deduplicated (a1 twice), sorted by namespace then name.
    let mut both = vec![(ns.to_owned(), a1.clone()), (other.clone(), a3)];
    both.sort_by(|x, y| x.0.cmp(&y.0));
    let both: Vec<Value> = both.into_iter().map(|(_, s)| s).collect();
    assert_eq!(exported(&ready("everywhere").await), json!(both));

    artifact(client, ns, "a4", label, None).await;
    let a4 = artifact_set(ns, "a4", &team, None);
    let api = Api::<ResourceSetInputProvider>::namespaced(client.clone(), ns);
    let early = wait_provider(client, ns, "early", "Ready", "True", "ReconciliationSucceeded").await;
    assert_eq!(exported(&early), json!([artifact_set(ns, "a2", &b, None)]));
    wait_for(&api, "by-label", 20, "a4 exported", |p| exported(p) == json!([a1, a4])).await;
    artifacts(client, ns)
        .delete("a1", &DeleteParams::default())
        .await
        .expect("delete a1");
    wait_for(&api, "by-label", 20, "a1 gone", |p| exported(p) == json!([a4])).await;

    let spec = json!({"type": "ExternalArtifact", "serviceAccountName": "nobody", "selectors": [{"name": "a2"}]});
    apply_provider_meta(client, ns, json!({"name": "as-nobody"}), spec)
        .await
        .expect("apply");
    let p = wait_provider(client, ns, "as-nobody", "Ready", "False", "ReconciliationFailed").await;
    assert!(message(&p).contains("forbidden"), "{}", message(&p));
    delete_providers(client, ns).await;
}
