//! ResourceSet templates and input strategies (SPEC-resourceset §14.4, 14.6, 14.9).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use crate::rset_bed::*;

fn data_of(c: Option<ConfigMap>, key: &str) -> Option<String> {
    c.and_then(|c| c.data).and_then(|d| d.get(key).cloned())
}

/// §14.4: `resourcesTemplate` with range and if, plus a `resources` item of the same
/// identity: the union is applied and the `resources` version wins.
#[tokio::test]
async fn resourceset_s04_template_and_resources_union() {
    let bed = Bed::start("rs04").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let template = format!(
        "<<- range $i := list \"x\" \"y\" \"z\" >>\n<<- if ne $i \"z\" >>\n---\napiVersion: v1\nkind: ConfigMap\n\
         metadata:\n  name: t-<< $i >>\n  namespace: {ns}\ndata:\n  from: template\n<<- end >>\n<<- end >>\n"
    );
    let spec = json!({"resourcesTemplate": template, "resources": [cm(ns, "t-x", json!({"from": "resources"}))]});
    apply_set(client, ns, "set", spec, json!({})).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    assert_eq!(config_map_names(client, ns).await, ["t-x", "t-y"]);
    assert_eq!(
        data_of(config_map(client, ns, "t-x").await, "from").as_deref(),
        Some("resources")
    );
    assert_eq!(
        data_of(config_map(client, ns, "t-y").await, "from").as_deref(),
        Some("template")
    );
}

/// §14.6: commonMetadata overrides the template's keys; a hand edit is reverted by a
/// requested reconcile; a ConfigMap made by `kubectl apply` is taken over.
#[tokio::test]
async fn resourceset_s06_common_metadata_drift_and_takeover() {
    let bed = Bed::start("rs06").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let last_applied = "kubectl.kubernetes.io/last-applied-configuration";
    let mut foreign = cm(ns, "foreign", json!({"k": "kubectl"}));
    foreign["metadata"]["annotations"] = json!({last_applied: "{}"});
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
    api.patch(
        "foreign",
        &PatchParams::apply("kubectl").force(),
        &Patch::Apply(&foreign),
    )
    .await
    .expect("kubectl-style ConfigMap");
    let mut labelled = cm(ns, "c", json!({"k": "v"}));
    labelled["metadata"]["labels"] = json!({"team": "template"});
    let spec = json!({"commonMetadata": {"labels": {"team": "common"}},
        "resources": [labelled, cm(ns, "foreign", json!({"k": "set"}))]});
    apply_set(client, ns, "set", spec.clone(), json!({})).await;
    wait_set(client, ns, "set", 60, "Ready", is_ready).await;
    let c = config_map(client, ns, "c").await.expect("c");
    assert_eq!(
        c.metadata.labels.unwrap_or_default().get("team").map(String::as_str),
        Some("common")
    );
    let taken = config_map(client, ns, "foreign").await.expect("foreign");
    assert_eq!(data_of(Some(taken.clone()), "k").as_deref(), Some("set"));
    assert!(
        !taken
            .metadata
            .annotations
            .unwrap_or_default()
            .contains_key(last_applied)
    );

    let edit = json!({"data": {"k": "edited"}});
    api.patch(
        "c",
        &PatchParams::apply("someone").force(),
        &Patch::Apply(&json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns}, "data": edit["data"]})),
    )
    .await
    .expect("hand edit");
    apply_set(client, ns, "set", spec, json!({"reconcile.fluxcd.io/requestedAt": "1"})).await;
    wait_until(30, "the hand edit reverted", || async {
        data_of(config_map(client, ns, "c").await, "k").as_deref() == Some("v")
    })
    .await;
    wait_set(client, ns, "set", 30, "requestedAt handled", |s| {
        s.status.as_ref().and_then(|s| s.last_handled_reconcile_at.as_deref()) == Some("1")
    })
    .await;
}

/// §14.9: Permute nests each source under its key, with the spec's ids; an empty provider
/// is left out unless `includeEmptyProviders`; too many permutations stall.
#[tokio::test]
async fn resourceset_s09_permute() {
    let bed = Bed::start("rs09").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    apply_provider(
        client,
        ns,
        "git-tags",
        json!({}),
        json!({"type": "Static", "defaultValues": {"tag": "v1"}}),
    )
    .await;
    // A type this operator does not implement exports nothing: an empty provider.
    apply_provider(
        client,
        ns,
        "empty",
        json!({}),
        json!({"type": "AzureDevOpsTag", "url": "https://dev.azure.com/o/p/_git/r"}),
    )
    .await;
    let template = cm(
        ns,
        "c-<< inputs.id >>",
        json!({"app": "<< inputs.apps.name >>", "tag": "<< inputs.git_tags.tag >>"}),
    );
    let spec = |include_empty: bool, inputs: serde_json::Value| {
        let mut strategy = json!({"name": "Permute"});
        if include_empty {
            strategy["includeEmptyProviders"] = json!(true);
        }
        json!({"inputStrategy": strategy, "inputs": inputs,
            "inputsFrom": [{"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider", "name": "git-tags"},
                {"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider", "name": "empty"}],
            "resources": [template.clone()]})
    };
    let two = json!([{"name": "a"}, {"name": "b"}]);
    apply_set(client, ns, "apps", spec(false, two.clone()), json!({})).await;
    wait_config_maps(client, ns, 60, "both permutations", &["c-937821712", "c-938608145"]).await;
    let second = config_map(client, ns, "c-938608145").await;
    assert_eq!(data_of(second.clone(), "app").as_deref(), Some("b"));
    assert_eq!(data_of(second, "tag").as_deref(), Some("v1"));
    apply_set(client, ns, "apps", spec(true, two), json!({})).await;
    wait_config_maps(client, ns, 30, "everything pruned", &[]).await;
    wait_set(client, ns, "apps", 30, "Ready", is_ready).await;
    let many: Vec<serde_json::Value> = (0..10_001).map(|i| json!({"name": format!("a{i}")})).collect();
    apply_set(client, ns, "apps", spec(false, json!(many)), json!({})).await;
    let (_, message) = wait_reason(client, ns, "apps", "Ready", "False", "BuildFailed").await;
    says(
        &message,
        "failed to compute inputs: ",
        &["10001 input permutations exceed the limit of 10000"],
    );
}

/// After an operator restart, a set that selects providers keeps what they gave: nothing
/// it made is deleted and made again. (The race this guards against, a reconcile before
/// the providers' first list, is not forced here; `inputs::tests` forces it.)
#[tokio::test]
async fn resourceset_a_restart_keeps_what_providers_gave() {
    let mut bed = Bed::start("rs-restart").await;
    let (client, ns) = (bed.client.clone(), bed.ns.clone());
    let (client, ns) = (&client, ns.as_str());
    apply_provider(client, ns, "p", json!({"team": "a"}), json!({"type": "Static"})).await;
    let spec = json!({"inputsFrom": [{"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider",
        "selector": {"matchLabels": {"team": "a"}}}], "resources": [cm(ns, "c-<< inputs.provider.name >>", json!({}))]});
    apply_set(client, ns, "set", spec, json!({})).await;
    wait_config_maps(client, ns, 60, "c-p", &["c-p"]).await;
    let uid = config_map(client, ns, "c-p").await.and_then(|c| c.metadata.uid);
    let reconciled = |s: &flux_operator_rs::api::ResourceSet| {
        s.status
            .as_ref()
            .and_then(|s| s.history.first())
            .map_or(0, |h| h.total_reconciliations)
    };
    let before = reconciled(&wait_set(client, ns, "set", 30, "Ready", is_ready).await);
    bed.restart();
    wait_set(client, ns, "set", 60, "a reconcile by the new operator", |s| {
        reconciled(s) > before
    })
    .await;
    assert_eq!(config_map(client, ns, "c-p").await.and_then(|c| c.metadata.uid), uid);
}
