//! The builder's output against a real apiserver: the Flux CRDs and the Namespace applied
//! for real, everything else server-side dry-run with strict field validation. Not a
//! single object may be rejected.

use std::collections::HashMap;
use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams, ValidationDirective};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Scope, pinned_kind};
use serde_json::Value;
use tokio::sync::OnceCell;

use flux_operator_rs::build::{self, Build, parse_instance};
use flux_operator_rs::distribution::Distribution;

use crate::common::{FIELD_MANAGER, client, namespace, wait_established};

/// The release whose CRDs the test bed holds.
const CRD_VERSION: &str = "2.9.4";

const ALL_COMPONENTS: &str = "  components: [source-controller, kustomize-controller, helm-controller, notification-controller, image-reflector-controller, image-automation-controller, source-watcher]\n";

fn distribution() -> Distribution {
    Distribution::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution"))
        .expect("open the distribution folder")
}

fn build_for(ns: &str, spec: &str) -> Build {
    let yaml = format!(
        "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: {ns}\nspec:\n{spec}"
    );
    let parsed = parse_instance(&yaml).expect("parse the instance");
    build::resolve_and_build(&parsed.namespace, &parsed.instance.spec, &distribution())
        .unwrap_or_else(|e| panic!("build failed: {e}"))
}

fn gvk_of(obj: &Value) -> GroupVersionKind {
    let api_version = obj["apiVersion"].as_str().expect("apiVersion");
    let kind = obj["kind"].as_str().expect("kind");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

fn label(obj: &Value) -> String {
    format!(
        "{}/{}",
        obj["kind"].as_str().unwrap_or("?"),
        obj["metadata"]["name"].as_str().unwrap_or("?")
    )
}

/// The CRDs are cluster-wide and shared by parallel tests: every test gets the same
/// release's (v2.9.4, all components), installed once per test binary.
async fn ensure_flux_crds(client: &Client) {
    static INSTALLED: OnceCell<()> = OnceCell::const_new();
    INSTALLED
        .get_or_init(|| async {
            let b = build_for(
                "flux-system",
                &format!("{}{ALL_COMPONENTS}", distribution_spec(CRD_VERSION)),
            );
            let api: Api<CustomResourceDefinition> = Api::all(client.clone());
            let params = PatchParams::apply(FIELD_MANAGER).force();
            let mut names = Vec::new();
            for crd in b.objects.iter().filter(|o| o["kind"] == "CustomResourceDefinition") {
                let name = crd["metadata"]["name"].as_str().expect("name").to_owned();
                api.patch(&name, &params, &Patch::Apply(crd))
                    .await
                    .unwrap_or_else(|e| panic!("apply CRD {name}: {e}"));
                names.push(name);
            }
            for name in names {
                wait_established(&api, &name).await;
            }
        })
        .await;
}

/// Applies the build into `ns`: Namespace for real, the rest as a dry run. Returns every
/// rejection. The CRDs of another release are left out: replacing the installed ones by
/// older ones is a downgrade the apiserver refuses (stored versions), as it should.
async fn apply_build(client: &Client, ns: &str, b: &Build) -> Vec<String> {
    let mut discovered: HashMap<String, (ApiResource, ApiCapabilities)> = HashMap::new();
    let mut rejections = Vec::new();
    let same_crds = b.version.to_string() == CRD_VERSION;
    for obj in &b.objects {
        if obj["kind"] == "CustomResourceDefinition" && !same_crds {
            continue;
        }
        let gvk = gvk_of(obj);
        let key = format!("{}/{}/{}", gvk.group, gvk.version, gvk.kind);
        if !discovered.contains_key(&key) {
            match pinned_kind(client, &gvk).await {
                Ok(found) => {
                    discovered.insert(key.clone(), found);
                }
                Err(e) => {
                    rejections.push(format!("{}: no such API {key}: {e}", label(obj)));
                    continue;
                }
            }
        }
        let Some((resource, caps)) = discovered.get(&key) else {
            continue;
        };
        let api: Api<DynamicObject> = match caps.scope {
            Scope::Cluster => Api::all_with(client.clone(), resource),
            Scope::Namespaced => {
                assert_eq!(
                    obj["metadata"]["namespace"],
                    ns,
                    "{} is namespaced but not in {ns}",
                    label(obj)
                );
                Api::namespaced_with(client.clone(), ns, resource)
            }
        };
        let params = PatchParams::apply(FIELD_MANAGER)
            .force()
            .validation(ValidationDirective::Strict);
        let params = if obj["kind"] == "Namespace" {
            params
        } else {
            params.dry_run()
        };
        let name = obj["metadata"]["name"].as_str().expect("name");
        if let Err(e) = api.patch(name, &params, &Patch::Apply(obj)).await {
            rejections.push(format!("{}: {e}", label(obj)));
        }
    }
    rejections
}

async fn dry_run(prefix: &str, spec: &str) -> Build {
    let client = client().await;
    ensure_flux_crds(&client).await;
    let ns = namespace(&client, prefix).await;
    let b = build_for(&ns, spec);
    let rejections = apply_build(&client, &ns, &b).await;
    assert!(
        rejections.is_empty(),
        "{} of {} objects rejected:\n{}",
        rejections.len(),
        b.objects.len(),
        rejections.join("\n")
    );
    b
}

/// Patches of the kinds users write: an env var, tolerations, a Service annotation and the
/// sync Kustomization's interval.
const PATCHES: &str = r#"  kustomize:
    patches:
      - target:
          kind: Deployment
        patch: |
          - op: add
            path: /spec/template/spec/containers/0/env/-
            value:
              name: HTTPS_PROXY
              value: http://proxy.example.com:3128
      - target:
          kind: Deployment
          labelSelector: app.kubernetes.io/component in (kustomize-controller, helm-controller)
        patch: |
          apiVersion: apps/v1
          kind: Deployment
          metadata:
            name: all
          spec:
            template:
              spec:
                tolerations:
                  - key: dedicated
                    operator: Equal
                    value: flux
                    effect: NoSchedule
      - patch: |
          apiVersion: v1
          kind: Service
          metadata:
            name: webhook-receiver
            annotations:
              example.com/exposed: "true"
      - target:
          kind: Kustomization
        patch: |
          - op: replace
            path: /spec/interval
            value: 1h
"#;

fn distribution_spec(version: &str) -> String {
    format!("  distribution:\n    version: \"{version}\"\n    registry: ghcr.io/fluxcd\n")
}

#[tokio::test]
async fn defaults_are_accepted() {
    let b = dry_run("build-defaults", &distribution_spec("2.x")).await;
    assert!(b.objects.len() > 25);
}

#[tokio::test]
async fn everything_at_once_is_accepted() {
    let spec = format!(
        "{}    imagePullSecret: regcred\n{ALL_COMPONENTS}  cluster:\n    size: large\n    multitenant: true\n    objectLevelWorkloadIdentity: true\n    multitenantWorkloadIdentity: true\n  storage:\n    class: standard\n    size: 10Gi\n  sharding:\n    shards: [shard1, shard2]\n    storage: persistent\n  commonMetadata:\n    labels:\n      team: platform\n    annotations:\n      example.com/owner: platform\n  sync:\n    kind: GitRepository\n    url: https://example.com/fleet.git\n    ref: refs/heads/main\n    path: clusters/prod\n    pullSecret: git-auth\n    provider: github\n{PATCHES}",
        distribution_spec("2.x")
    );
    let b = dry_run("build-all", &spec).await;
    assert!(
        b.objects
            .iter()
            .any(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "source-watcher-shard2")
    );
}

#[tokio::test]
async fn openshift_is_accepted() {
    dry_run(
        "build-openshift",
        &format!(
            "{}  cluster:\n    type: openshift\n    size: medium\n",
            distribution_spec("2.x")
        ),
    )
    .await;
}

#[tokio::test]
async fn flux_2_6_with_oci_sync_is_accepted() {
    let spec = format!(
        "{}  components: [source-controller, kustomize-controller, helm-controller, notification-controller, image-reflector-controller, image-automation-controller]\n  cluster:\n    size: small\n    objectLevelWorkloadIdentity: true\n  sync:\n    kind: OCIRepository\n    url: oci://ghcr.io/example/fleet\n    ref: latest\n    path: ./\n    provider: aws\n",
        distribution_spec("2.6.x")
    );
    let b = dry_run("build-v26", &spec).await;
    assert_eq!(b.version.to_string(), "2.6.4");
}

#[tokio::test]
async fn bucket_sync_is_accepted() {
    let spec = format!(
        "{}  sync:\n    kind: Bucket\n    name: fleet\n    url: minio.example.com\n    ref: fleet\n    path: clusters/prod\n    pullSecret: s3\n",
        distribution_spec("2.x")
    );
    dry_run("build-bucket", &spec).await;
}

/// The harness itself: a rejected object must be reported, not silently skipped.
#[tokio::test]
async fn rejections_are_reported() {
    let client = client().await;
    ensure_flux_crds(&client).await;
    let ns = namespace(&client, "build-reject").await;
    let mut b = build_for(&ns, &distribution_spec("2.x"));
    b.objects
        .retain(|o| o["kind"] == "Deployment" || o["kind"] == "Kustomization");
    b.objects[0]["spec"]["bogus"] = Value::Bool(true);
    b.objects.push(serde_json::json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": "bad", "namespace": ns},
        "spec": {"interval": "10m", "prune": "yes", "sourceRef": {"kind": "GitRepository", "name": "x"}}
    }));
    let rejections = apply_build(&client, &ns, &b).await;
    assert_eq!(rejections.len(), 2, "{rejections:?}");
    assert!(rejections[0].contains("bogus"), "{}", rejections[0]);
    assert!(rejections[1].starts_with("Kustomization/bad"), "{}", rejections[1]);
}
