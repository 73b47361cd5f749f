//! The CRDs as the real apiserver sees them: structural schemas, defaults, enums, CEL rules
//! and the status subresource.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use flux_operator_rs::api::{FluxInstance, FluxReport};

use crate::common::{
    FIELD_MANAGER, apply_dynamic, client, flux_instance_resource, flux_report_resource, install_crds, namespace,
    read_yaml,
};

fn minimal(ns: &str) -> Value {
    json!({
        "apiVersion": "fluxcd.controlplane.io/v1",
        "kind": "FluxInstance",
        "metadata": {"name": "flux", "namespace": ns},
        "spec": {"distribution": {"version": "2.x", "registry": "ghcr.io/fluxcd"}}
    })
}

fn with_sync(ns: &str, sync: Value) -> Value {
    let mut obj = minimal(ns);
    obj["spec"]["sync"] = sync;
    obj
}

fn git_sync() -> Value {
    json!({"kind": "GitRepository", "url": "https://example.com/repo.git", "ref": "refs/heads/main", "path": "clusters/a"})
}

/// Applies `obj` to a fresh namespace and returns the apiserver's rejection message.
async fn rejection(prefix: &str, edit: impl FnOnce(&mut Value)) -> String {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, prefix).await;
    let mut obj = minimal(&ns);
    edit(&mut obj);
    match apply_dynamic(&client, &flux_instance_resource(), &obj).await {
        Ok(_) => panic!("{prefix}: the apiserver accepted an invalid FluxInstance: {obj}"),
        Err(message) => message,
    }
}

fn assert_contains(message: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            message.contains(needle),
            "expected {needle:?} in the apiserver's message: {message}"
        );
    }
}

#[tokio::test]
async fn crds_apply_and_become_established() {
    let client = client().await;
    install_crds(&client).await;
    let api: Api<CustomResourceDefinition> = Api::all(client);
    for name in [
        "fluxinstances.fluxcd.controlplane.io",
        "fluxreports.fluxcd.controlplane.io",
        "resourcesets.fluxcd.controlplane.io",
        "resourcesetinputproviders.fluxcd.controlplane.io",
    ] {
        let crd = api.get(name).await.expect("CRD exists");
        let conditions = crd.status.and_then(|s| s.conditions).unwrap_or_default();
        let established = conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        let structural = conditions.iter().any(|c| c.type_ == "NonStructuralSchema");
        assert!(established, "{name} not Established: {conditions:?}");
        assert!(!structural, "{name} has a non-structural schema: {conditions:?}");
        let names = crd.spec.names;
        assert!(names.categories.unwrap_or_default().contains(&"fluxcd".to_owned()));
    }
}

#[tokio::test]
async fn cobaltcore_example_is_accepted_unchanged_with_defaults() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "cobaltcore").await;
    let mut obj = read_yaml("examples/cobaltcore-management.yaml");
    obj["metadata"]["namespace"] = json!(ns);
    let applied = apply_dynamic(&client, &flux_instance_resource(), &obj)
        .await
        .expect("the CobaltCore FluxInstance is accepted");
    let spec = &applied.data["spec"];
    assert_eq!(spec["distribution"]["version"], "2.x");
    assert_eq!(spec["sync"]["ref"], "refs/heads/main");
    assert_eq!(spec["sync"]["pullSecret"], "flux-system");
    // Defaults filled in by the apiserver from the schema.
    assert_eq!(spec["sync"]["interval"], "1m");
    assert_eq!(spec["wait"], true);
    assert_eq!(spec["migrateResources"], true);
    assert_eq!(spec["cluster"]["domain"], "cluster.local");
    assert_eq!(spec["cluster"]["type"], "kubernetes");

    // And it reads back into the typed API.
    let api: Api<FluxInstance> = Api::namespaced(client, &ns);
    let typed = api.get("flux").await.expect("typed read");
    assert_eq!(typed.spec.components.len(), 4);
}

#[tokio::test]
async fn minimal_instance_is_accepted() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "minimal").await;
    let mut obj = read_yaml("examples/minimal.yaml");
    obj["metadata"]["namespace"] = json!(ns);
    apply_dynamic(&client, &flux_instance_resource(), &obj)
        .await
        .expect("the minimal FluxInstance is accepted");
}

#[tokio::test]
async fn cel_name_must_be_flux() {
    let msg = rejection("cel-name", |o| o["metadata"]["name"] = json!("other")).await;
    assert_contains(&msg, &["the only accepted name for a FluxInstance is 'flux'"]);
}

#[tokio::test]
async fn cel_multitenant_workload_identity_needs_object_level() {
    let msg = rejection("cel-wi", |o| {
        o["spec"]["cluster"] = json!({"multitenant": true, "multitenantWorkloadIdentity": true});
    })
    .await;
    assert_contains(&msg, &["spec.cluster", "multitenantWorkloadIdentity requires"]);
}

#[tokio::test]
async fn cel_multitenant_workload_identity_with_object_level_is_accepted() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "cel-wi-ok").await;
    let mut obj = minimal(&ns);
    obj["spec"]["cluster"] = json!({"multitenantWorkloadIdentity": true, "objectLevelWorkloadIdentity": true});
    apply_dynamic(&client, &flux_instance_resource(), &obj)
        .await
        .expect("accepted");
}

#[tokio::test]
async fn cel_sync_provider_gcp_only_for_oci_and_bucket() {
    let msg = rejection("cel-gcp", |o| {
        let mut sync = git_sync();
        sync["provider"] = json!("gcp");
        o["spec"]["sync"] = sync;
    })
    .await;
    assert_contains(
        &msg,
        &[
            "spec.sync",
            "provider 'gcp' is only supported for kind OCIRepository and Bucket",
        ],
    );

    let client = client().await;
    let ns = namespace(&client, "cel-gcp-ok").await;
    let obj = with_sync(
        &ns,
        json!({"kind": "OCIRepository", "url": "oci://example.com/x", "ref": "latest", "path": "./", "provider": "gcp"}),
    );
    apply_dynamic(&client, &flux_instance_resource(), &obj)
        .await
        .expect("gcp with OCIRepository is accepted");
}

#[tokio::test]
async fn cel_sync_provider_github_only_for_git() {
    let msg = rejection("cel-github", |o| {
        o["spec"]["sync"] =
            json!({"kind": "OCIRepository", "url": "oci://example.com/x", "ref": "latest", "path": "./", "provider": "github"});
    })
    .await;
    assert_contains(
        &msg,
        &[
            "spec.sync",
            "provider 'github' is only supported for kind GitRepository",
        ],
    );
}

#[tokio::test]
async fn cel_persistent_sharding_needs_storage() {
    let msg = rejection("cel-shard", |o| {
        o["spec"]["sharding"] = json!({"shards": ["a", "b"], "storage": "persistent"});
    })
    .await;
    assert_contains(&msg, &["spec.sharding.storage 'persistent' requires spec.storage"]);
}

#[tokio::test]
async fn cel_sync_name_is_immutable() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "cel-syncname").await;
    let mut sync = git_sync();
    sync["name"] = json!("first");
    apply_dynamic(&client, &flux_instance_resource(), &with_sync(&ns, sync.clone()))
        .await
        .expect("created");

    sync["name"] = json!("second");
    let msg = apply_dynamic(&client, &flux_instance_resource(), &with_sync(&ns, sync.clone()))
        .await
        .expect_err("renaming the sync is refused");
    assert_contains(&msg, &["spec.sync.name", "spec.sync.name is immutable"]);

    sync.as_object_mut().unwrap().remove("name");
    let msg = apply_dynamic(&client, &flux_instance_resource(), &with_sync(&ns, sync))
        .await
        .expect_err("removing the sync name is refused");
    assert_contains(&msg, &["spec.sync", "immutable and cannot be removed"]);
}

#[tokio::test]
async fn fluxreport_name_must_be_flux() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "report-name").await;
    let obj = json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxReport",
        "metadata": {"name": "other", "namespace": ns},
        "spec": {"distribution": {"status": "Unknown"}}
    });
    let msg = apply_dynamic(&client, &flux_report_resource(), &obj)
        .await
        .expect_err("rejected");
    assert_contains(&msg, &["the only accepted name for a FluxReport is 'flux'"]);
}

/// An edit that makes a valid FluxInstance invalid, and what the rejection must mention.
type BadCase = (&'static str, Box<dyn FnOnce(&mut Value)>, &'static [&'static str]);

/// Every enum and pattern of the schema rejects a value outside it, naming field and value.
#[tokio::test]
async fn enums_and_patterns_reject_bad_values() {
    let cases: Vec<BadCase> = vec![
        (
            "enum-component",
            Box::new(|o: &mut Value| o["spec"]["components"] = json!(["source-controller", "tofu-controller"])),
            &["spec.components[1]", "\"tofu-controller\""],
        ),
        (
            "enum-variant",
            Box::new(|o: &mut Value| o["spec"]["distribution"]["variant"] = json!("enterprise-ubuntu")),
            &["spec.distribution.variant", "\"enterprise-ubuntu\""],
        ),
        (
            "enum-cluster-type",
            Box::new(|o: &mut Value| o["spec"]["cluster"] = json!({"type": "rancher"})),
            &["spec.cluster.type", "\"rancher\""],
        ),
        (
            "enum-size",
            Box::new(|o: &mut Value| o["spec"]["cluster"] = json!({"size": "huge"})),
            &["spec.cluster.size", "\"huge\""],
        ),
        (
            "enum-shard-storage",
            Box::new(|o: &mut Value| o["spec"]["sharding"] = json!({"shards": ["a"], "storage": "disk"})),
            &["spec.sharding.storage", "\"disk\""],
        ),
        (
            "enum-sync-kind",
            Box::new(|o: &mut Value| {
                let mut s = git_sync();
                s["kind"] = json!("HelmRepository");
                o["spec"]["sync"] = s;
            }),
            &["spec.sync.kind", "\"HelmRepository\""],
        ),
        (
            "enum-provider",
            Box::new(|o: &mut Value| {
                let mut s = git_sync();
                s["provider"] = json!("gitlab");
                o["spec"]["sync"] = s;
            }),
            &["spec.sync.provider", "\"gitlab\""],
        ),
        (
            "pattern-artifact",
            Box::new(|o: &mut Value| o["spec"]["distribution"]["artifact"] = json!("https://example.com/x")),
            &["spec.distribution.artifact", "https://example.com/x", "^oci://"],
        ),
        (
            "pattern-interval",
            Box::new(|o: &mut Value| {
                let mut s = git_sync();
                s["interval"] = json!("5 minutes");
                o["spec"]["sync"] = s;
            }),
            &["spec.sync.interval", "5 minutes"],
        ),
        (
            "max-sync-name",
            Box::new(|o: &mut Value| {
                let mut s = git_sync();
                s["name"] = json!("x".repeat(64));
                o["spec"]["sync"] = s;
            }),
            &["spec.sync.name", "63"],
        ),
        (
            "min-shards",
            Box::new(|o: &mut Value| o["spec"]["sharding"] = json!({"shards": []})),
            &["spec.sharding.shards", "1"],
        ),
        (
            "required-version",
            Box::new(|o: &mut Value| o["spec"]["distribution"] = json!({"registry": "ghcr.io/fluxcd"})),
            &["spec.distribution.version", "Required value"],
        ),
        (
            "required-storage-size",
            Box::new(|o: &mut Value| o["spec"]["storage"] = json!({"class": "standard"})),
            &["spec.storage.size", "Required value"],
        ),
        (
            "required-sync-path",
            Box::new(|o: &mut Value| {
                o["spec"]["sync"] = json!({"kind": "GitRepository", "url": "https://example.com/x", "ref": "main"})
            }),
            &["spec.sync.path", "Required value"],
        ),
    ];
    for (prefix, edit, needles) in cases {
        let msg = rejection(prefix, edit).await;
        assert_contains(&msg, needles);
    }
}

#[tokio::test]
async fn status_is_written_through_the_status_subresource() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "status").await;
    let created = apply_dynamic(&client, &flux_instance_resource(), &minimal(&ns))
        .await
        .expect("created");
    let generation = created.metadata.generation;

    let api: Api<FluxInstance> = Api::namespaced(client.clone(), &ns);
    let status = json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxInstance",
        "status": {
            "lastAttemptedRevision": "v2.9.4@sha256:abc",
            "conditions": [{
                "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
                "message": "Reconciliation finished in 1s", "lastTransitionTime": "2026-01-01T00:00:00Z",
                "observedGeneration": generation
            }],
            "inventory": {"entries": [{"id": "flux-system_source-controller_apps_Deployment", "v": "v1"}]},
            "components": [{"name": "source-controller", "repository": "ghcr.io/fluxcd/source-controller", "tag": "v1.8.0", "digest": "sha256:00"}],
            "history": [{"digest": "sha256:abc", "firstReconciled": "2026-01-01T00:00:00Z", "lastReconciled": "2026-01-01T00:00:00Z",
                         "lastReconciledDuration": "1s", "lastReconciledStatus": "ReconciliationSucceeded", "totalReconciliations": 1,
                         "metadata": {"flux": "v2.9.4"}}]
        }
    });
    api.patch_status(
        "flux",
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&status),
    )
    .await
    .expect("status written");

    let read = api.get("flux").await.expect("read");
    let st = read.status.clone().expect("status present");
    assert_eq!(st.last_attempted_revision.as_deref(), Some("v2.9.4@sha256:abc"));
    assert_eq!(st.inventory.expect("inventory").entries.len(), 1);
    assert_eq!(st.history[0].metadata["flux"], "v2.9.4");
    assert_eq!(
        read.metadata.generation, generation,
        "a status write does not bump the generation"
    );

    // A status field sent through the main resource is dropped by the apiserver.
    let mut with_status = read.clone();
    with_status.metadata.managed_fields = None;
    with_status.status.as_mut().unwrap().last_attempted_revision = Some("tampered".into());
    let replaced = api
        .replace("flux", &PostParams::default(), &with_status)
        .await
        .expect("replace");
    assert_eq!(
        replaced.status.unwrap().last_attempted_revision.as_deref(),
        Some("v2.9.4@sha256:abc"),
        "status must only change through the subresource"
    );

    // The FluxReport's status subresource too.
    let reports: Api<FluxReport> = Api::namespaced(client.clone(), &ns);
    let report = json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxReport",
        "metadata": {"name": "flux", "namespace": ns},
        "spec": {"distribution": {"status": "Unknown"}}
    });
    reports
        .patch(
            "flux",
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&report),
        )
        .await
        .expect("report created");
    let report_status = json!({
        "apiVersion": "fluxcd.controlplane.io/v1", "kind": "FluxReport",
        "status": {"lastHandledReconcileAt": "now", "conditions": [{
            "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded", "message": "Reporting finished",
            "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    });
    reports
        .patch_status(
            "flux",
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&report_status),
        )
        .await
        .expect("report status written");
    let read = reports.get("flux").await.expect("read report");
    assert_eq!(read.status.unwrap().last_handled_reconcile_at.as_deref(), Some("now"));
}

/// Every FluxInstance in examples/ is accepted by the API server (schema and CEL) and builds.
#[tokio::test]
async fn every_example_is_accepted_and_builds() {
    let client = client().await;
    install_crds(&client).await;
    let distribution = flux_operator_rs::distribution::Distribution::open(
        &crate::common::project_root().join("../shared/flux-distribution"),
    )
    .expect("distribution");
    let mut seen = 0;
    let mut files: Vec<_> = std::fs::read_dir(crate::common::project_root().join("examples"))
        .expect("examples/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let mut obj = read_yaml(&format!("examples/{name}"));
        let ns = namespace(&client, "example").await;
        obj["metadata"]["namespace"] = json!(ns);
        apply_dynamic(&client, &flux_instance_resource(), &obj)
            .await
            .unwrap_or_else(|e| panic!("examples/{name} rejected: {e}"));
        let spec: flux_operator_rs::api::FluxInstanceSpec = serde_json::from_value(obj["spec"].clone()).expect("spec");
        flux_operator_rs::build::resolve_and_build(&ns, &spec, &distribution)
            .unwrap_or_else(|e| panic!("examples/{name} does not build: {e}"));
        seen += 1;
    }
    assert!(
        seen >= 4,
        "expected the minimal, CobaltCore, multitenant and tuning examples, saw {seen}"
    );
}
