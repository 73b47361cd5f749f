//! Steps 9 and 10: multi-tenancy lockdown, workload identity and the feature gates that
//! depend on the installed components.

use semver::Version;
use serde_json::Value;

use crate::api::Cluster;

use super::{namespace, object};

const DEFAULT_ACCOUNT: &str = "default";

/// Controllers that accept `--feature-gates=ObjectLevelWorkloadIdentity=true`.
const WORKLOAD_IDENTITY_CONTROLLERS: [&str; 6] = [
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
    "image-reflector-controller",
    "image-automation-controller",
];

fn flags_for(component: &str, cluster: &Cluster) -> Vec<(&'static str, String)> {
    let tenant_account = cluster
        .tenant_default_service_account
        .as_deref()
        .unwrap_or(DEFAULT_ACCOUNT);
    let decryption_account = cluster
        .tenant_default_decryption_service_account
        .as_deref()
        .unwrap_or(DEFAULT_ACCOUNT);
    let kubeconfig_account = cluster
        .tenant_default_kube_config_service_account
        .as_deref()
        .unwrap_or(DEFAULT_ACCOUNT);
    let mut flags = Vec::new();
    if cluster.multitenant {
        if matches!(
            component,
            "kustomize-controller"
                | "helm-controller"
                | "notification-controller"
                | "image-reflector-controller"
                | "image-automation-controller"
                | "source-watcher"
        ) {
            flags.push(("--no-cross-namespace-refs", "true".to_owned()));
        }
        if component == "kustomize-controller" {
            flags.push(("--no-remote-bases", "true".to_owned()));
        }
        if matches!(component, "kustomize-controller" | "helm-controller") {
            flags.push(("--default-service-account", tenant_account.to_owned()));
        }
    }
    if cluster.multitenant_workload_identity {
        if matches!(
            component,
            "source-controller"
                | "notification-controller"
                | "image-reflector-controller"
                | "image-automation-controller"
        ) {
            flags.push(("--default-service-account", tenant_account.to_owned()));
        }
        if component == "kustomize-controller" {
            flags.push(("--default-decryption-service-account", decryption_account.to_owned()));
        }
        if matches!(component, "kustomize-controller" | "helm-controller") {
            flags.push(("--default-kubeconfig-service-account", kubeconfig_account.to_owned()));
        }
    }
    flags
}

pub fn feature_gate(name: &str) -> String {
    format!("--feature-gates={name}=true")
}

pub fn apply(objects: &mut [Value], cluster: &Cluster, version: &Version, ns: &str, source_watcher: bool) {
    for obj in objects.iter_mut().filter(|o| object::is_deployment(o)) {
        let component = object::name(obj).to_owned();
        let Some(args) = object::manager_args(obj) else {
            continue;
        };
        for (flag, value) in flags_for(&component, cluster) {
            object::set_arg(args, flag, &value);
        }
        if cluster.object_level_workload_identity && WORKLOAD_IDENTITY_CONTROLLERS.contains(&component.as_str()) {
            object::add_arg(args, feature_gate("ObjectLevelWorkloadIdentity"));
        }
        // Step 10: kustomize and helm controllers consume source-watcher's ExternalArtifacts.
        if source_watcher && matches!(component.as_str(), "kustomize-controller" | "helm-controller") {
            object::add_arg(args, feature_gate("ExternalArtifact"));
        }
    }

    // Without the feature, no controller needs to mint tokens for tenants' accounts.
    if !cluster.object_level_workload_identity && version >= &Version::new(2, 6, 0) {
        let role = namespace::cluster_name("crd-controller", ns);
        if let Some(i) = object::find(objects, "ClusterRole", &role)
            && let Some(rules) = objects[i].get_mut("rules").and_then(Value::as_array_mut)
        {
            rules.retain(|rule| !grants_token_creation(rule));
        }
    }
}

fn grants_token_creation(rule: &Value) -> bool {
    rule.get("resources")
        .and_then(Value::as_array)
        .is_some_and(|resources| resources.iter().any(|r| r.as_str() == Some("serviceaccounts/token")))
}
