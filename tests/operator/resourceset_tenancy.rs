//! ResourceSets acting as their ServiceAccount (SPEC-resourceset §14.14, §11.8).

use k8s_openapi::api::core::v1::ServiceAccount;
use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

use crate::common::namespace;
use crate::rset_bed::*;

/// A ServiceAccount `name` of `ns` that may do anything with ConfigMaps of `ns` only.
async fn tenant(client: &kube::Client, ns: &str, name: &str) {
    let params = PatchParams::apply("test").force();
    let meta = json!({"name": name, "namespace": ns});
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta});
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .patch(name, &params, &Patch::Apply(&sa))
        .await
        .expect("ServiceAccount");
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]}]});
    Api::<Role>::namespaced(client.clone(), ns)
        .patch(name, &params, &Patch::Apply(&role))
        .await
        .expect("Role");
    let binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
        "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]});
    Api::<RoleBinding>::namespaced(client.clone(), ns)
        .patch(name, &params, &Patch::Apply(&binding))
        .await
        .expect("RoleBinding");
}

/// §14.14: a set acting as a ServiceAccount bound in its namespace applies there and is
/// refused elsewhere; §11.8: its deletion deletes as that account, and one whose account
/// is gone leaves its objects and says so.
#[tokio::test]
async fn resourceset_s14_service_account_impersonation() {
    let bed = Bed::start("rs14").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let other = namespace(client, "rs14-other").await;
    tenant(client, ns, "tenant").await;
    let own = json!({"serviceAccountName": "tenant", "resources": [cm(ns, "mine", json!({}))]});
    apply_set(client, ns, "own", own, json!({})).await;
    wait_set(client, ns, "own", 60, "Ready", is_ready).await;
    assert!(config_map(client, ns, "mine").await.is_some());

    let escape = json!({"serviceAccountName": "tenant", "resources": [cm(&other, "theirs", json!({}))]});
    apply_set(client, ns, "escape", escape, json!({})).await;
    let (_, message) = wait_reason(client, ns, "escape", "Ready", "False", "ReconciliationFailed").await;
    says(
        &message,
        "reconciliation failed: ",
        &["forbidden", "system:serviceaccount:"],
    );
    assert!(config_map(client, &other, "theirs").await.is_none());

    delete_set(client, ns, "own").await;
    assert!(config_map(client, ns, "mine").await.is_none(), "deleted with its set");

    tenant(client, ns, "temp").await;
    let orphaned = json!({"serviceAccountName": "temp", "resources": [cm(ns, "left", json!({}))]});
    apply_set(client, ns, "orphaned", orphaned, json!({})).await;
    wait_set(client, ns, "orphaned", 60, "Ready", is_ready).await;
    Api::<ServiceAccount>::namespaced(client.clone(), ns)
        .delete("temp", &DeleteParams::default())
        .await
        .expect("delete ServiceAccount");
    delete_set(client, ns, "orphaned").await;
    assert!(config_map(client, ns, "left").await.is_some(), "left in place");
    let warned = events(client, ns, "ResourceSet", "PruneSkipped").await;
    assert_eq!(warned.len(), 1);
    assert_eq!(warned[0].type_.as_deref(), Some("Warning"));
}

/// The chart's `multitenancy.enabled` (`--default-service-account`, upstream's default
/// name): a set that names no account acts as that account of its own namespace, so it
/// applies there and is refused elsewhere; one that names an account acts as that one.
#[tokio::test]
async fn resourceset_default_service_account() {
    let bed = Bed::start_with("rs-default-sa", &["--default-service-account=flux-operator"]).await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let other = namespace(client, "rs-default-sa-other").await;
    tenant(client, ns, "flux-operator").await;
    let own = json!({"resources": [cm(ns, "mine", json!({}))]});
    apply_set(client, ns, "own", own, json!({})).await;
    wait_set(client, ns, "own", 60, "Ready", is_ready).await;
    assert!(config_map(client, ns, "mine").await.is_some());

    let escape = json!({"resources": [cm(&other, "theirs", json!({}))]});
    apply_set(client, ns, "escape", escape, json!({})).await;
    let (_, message) = wait_reason(client, ns, "escape", "Ready", "False", "ReconciliationFailed").await;
    let account = format!("system:serviceaccount:{ns}:flux-operator");
    says(&message, "reconciliation failed: ", &["forbidden", &account]);
    assert!(config_map(client, &other, "theirs").await.is_none());

    tenant(client, ns, "named").await;
    let named = json!({"serviceAccountName": "named", "resources": [cm(&other, "theirs", json!({}))]});
    apply_set(client, ns, "named", named, json!({})).await;
    let (_, message) = wait_reason(client, ns, "named", "Ready", "False", "ReconciliationFailed").await;
    says(
        &message,
        "reconciliation failed: ",
        &[&format!("system:serviceaccount:{ns}:named")],
    );
}
