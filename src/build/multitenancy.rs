//! Steps 9 and 10: multi-tenancy lockdown, workload identity and the feature gates that
//! depend on the installed components.

use semver::Version;
use serde_json::Value;

use crate::api::Cluster;

use super::{namespace, object};

const DEFAULT_ACCOUNT: &str = "default";

/// Whether the controller of this release knows `--feature-gates=ObjectLevelWorkloadIdentity`:
/// from Flux 2.6, except helm-controller, from 2.7 (measured on upstream's renders).
fn knows_workload_identity_gate(component: &str, version: &Version) -> bool {
    match component {
        "source-controller"
        | "kustomize-controller"
        | "notification-controller"
        | "image-reflector-controller"
        | "image-automation-controller" => version >= &Version::new(2, 6, 0),
        "helm-controller" => version >= &Version::new(2, 7, 0),
        _ => false,
    }
}

fn account(name: Option<&str>) -> String {
    name.unwrap_or(DEFAULT_ACCOUNT).to_owned()
}

/// The lockdown flags of `cluster.multitenant`.
fn tenant_flags(component: &str, cluster: &Cluster) -> Vec<(&'static str, String)> {
    let mut flags = Vec::new();
    if !cluster.multitenant {
        return flags;
    }
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
        flags.push((
            "--default-service-account",
            account(cluster.tenant_default_service_account.as_deref()),
        ));
    }
    flags
}

/// The flags of `cluster.multitenantWorkloadIdentity`: whose identity a controller uses when
/// an object names none.
fn workload_identity_flags(component: &str, cluster: &Cluster) -> Vec<(&'static str, String)> {
    let mut flags = Vec::new();
    if !cluster.multitenant_workload_identity {
        return flags;
    }
    if matches!(
        component,
        "source-controller" | "notification-controller" | "image-reflector-controller" | "image-automation-controller"
    ) {
        flags.push((
            "--default-service-account",
            account(cluster.tenant_default_service_account.as_deref()),
        ));
    }
    if component == "kustomize-controller" {
        flags.push((
            "--default-decryption-service-account",
            account(cluster.tenant_default_decryption_service_account.as_deref()),
        ));
    }
    if matches!(component, "kustomize-controller" | "helm-controller") {
        flags.push((
            "--default-kubeconfig-service-account",
            account(cluster.tenant_default_kube_config_service_account.as_deref()),
        ));
    }
    flags
}

pub fn feature_gate(name: &str, enabled: bool) -> String {
    format!("--feature-gates={name}={enabled}")
}

/// The feature gates, in upstream's order: ExternalArtifact (source-watcher's artifacts for
/// kustomize and helm), then ObjectLevelWorkloadIdentity, which from Flux 2.7 is always
/// set, to `false` when off, so that turning it off reaches controllers that default it on.
fn gates(component: &str, cluster: &Cluster, version: &Version, source_watcher: bool) -> Vec<String> {
    let mut gates = Vec::new();
    if source_watcher && matches!(component, "kustomize-controller" | "helm-controller") {
        gates.push(feature_gate("ExternalArtifact", true));
    }
    let identity = cluster.object_level_workload_identity;
    if knows_workload_identity_gate(component, version) && (identity || version >= &Version::new(2, 7, 0)) {
        gates.push(feature_gate("ObjectLevelWorkloadIdentity", identity));
    }
    gates
}

/// Adds the flags to every controller (shards included) in upstream's order: tenant
/// lockdown, feature gates, workload identity defaults; the order is part of the pod
/// template, and a different one would restart the pods on takeover.
pub fn apply(objects: &mut [Value], cluster: &Cluster, version: &Version, ns: &str, source_watcher: bool) {
    for obj in objects.iter_mut().filter(|o| object::is_deployment(o)) {
        let component = object::component(obj).to_owned();
        let Some(args) = object::manager_args(obj) else {
            continue;
        };
        for (flag, value) in tenant_flags(&component, cluster) {
            object::set_arg(args, flag, &value);
        }
        for gate in gates(&component, cluster, version, source_watcher) {
            object::add_arg(args, gate);
        }
        for (flag, value) in workload_identity_flags(&component, cluster) {
            object::set_arg(args, flag, &value);
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
