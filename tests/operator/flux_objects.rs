//! Flux custom resources of every kind, with the statuses their controllers would write,
//! for the report and the metric series to describe.

use kube::Client;
use serde_json::{Value, json};

use crate::harness::{flux_object, ready, resource};

fn artifact(revision: &str) -> Value {
    json!({"path": "x", "url": "http://x", "revision": revision, "digest": "sha256:0",
           "lastUpdateTime": "2026-01-01T00:00:00Z", "size": 512})
}

/// One object of each kind whose series upstream labels in its own way: sources with
/// endpoints, references and semver ranges, static notification objects, image automation.
/// Eight objects in `ns`, one of them an OCIRepository.
pub async fn every_kind(client: &Client, ns: &str) {
    let source = |kind: &str| resource("source.toolkit.fluxcd.io", "v1", kind);
    let notification = |version: &str, kind: &str| resource("notification.toolkit.fluxcd.io", version, kind);
    let image = |kind: &str| resource("image.toolkit.fluxcd.io", "v1", kind);
    let succeeded = |extra: Value| {
        let mut status = json!({"conditions": ready("True", "Succeeded")});
        status
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        status
    };
    let objects = [
        (
            source("OCIRepository"),
            "podinfo",
            json!({"interval": "1m", "url": "oci://ghcr.io/org/manifests", "ref": {"tag": "latest", "semver": ">=6.0.0"}}),
            succeeded(json!({"artifact": artifact("6.7.1@sha256:4444")})),
        ),
        (
            source("Bucket"),
            "bucket",
            json!({"interval": "1m", "endpoint": "minio.minio:9000", "bucketName": "manifests"}),
            succeeded(json!({"artifact": artifact("sha256:6666")})),
        ),
        (
            source("HelmRepository"),
            "charts-oci",
            json!({"interval": "1m", "type": "oci", "url": "oci://ghcr.io/org/charts"}),
            Value::Null,
        ),
        (
            notification("v1beta3", "Provider"),
            "slack",
            json!({"type": "slack", "channel": "general"}),
            Value::Null,
        ),
        (
            notification("v1beta3", "Alert"),
            "alert",
            json!({"providerRef": {"name": "slack"}, "eventSources": [{"kind": "Kustomization", "name": "*"}]}),
            Value::Null,
        ),
        (
            notification("v1", "Receiver"),
            "receiver",
            json!({"type": "github", "secretRef": {"name": "token"}, "resources": [{"kind": "GitRepository", "name": "apps"}]}),
            succeeded(json!({"webhookPath": "/hook/abcdef"})),
        ),
        (
            image("ImageRepository"),
            "app",
            json!({"interval": "5m", "image": "ghcr.io/org/app"}),
            succeeded(json!({})),
        ),
        (
            image("ImagePolicy"),
            "app-policy",
            json!({"imageRepositoryRef": {"name": "app"}, "policy": {"semver": {"range": "6.x"}}}),
            succeeded(json!({"latestRef": {"name": "ghcr.io/org/app", "tag": "6.7.1"}})),
        ),
    ];
    for (ar, name, spec, status) in objects {
        flux_object(client, ns, &ar, name, spec, status).await;
    }
}
