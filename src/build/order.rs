//! Step 17 (first half): a stable apply order. Definitions and namespaces before what
//! lives in them, cluster-wide RBAC before the controllers that need it, accounts and
//! claims before the Deployments that use them, sync objects last.

use serde_json::Value;

use super::object;

fn rank(kind: &str) -> u8 {
    match kind {
        "CustomResourceDefinition" => 0,
        "Namespace" => 1,
        "ClusterRole" => 2,
        "ClusterRoleBinding" => 3,
        "ResourceQuota" => 10,
        "LimitRange" => 11,
        "ServiceAccount" => 12,
        "Role" => 13,
        "RoleBinding" => 14,
        "ConfigMap" => 15,
        "Secret" => 16,
        "PersistentVolumeClaim" => 17,
        "Service" => 18,
        "Deployment" => 19,
        "NetworkPolicy" => 20,
        "GitRepository" | "OCIRepository" | "Bucket" => 30,
        "Kustomization" => 31,
        _ => 25,
    }
}

/// Sorts by kind rank, then kind, namespace and name; equal keys keep their order.
pub fn sort(objects: &mut [Value]) {
    objects.sort_by(|a, b| {
        let (ka, kb) = (object::kind(a), object::kind(b));
        rank(ka)
            .cmp(&rank(kb))
            .then_with(|| ka.cmp(kb))
            .then_with(|| object::namespace(a).cmp(object::namespace(b)))
            .then_with(|| object::name(a).cmp(object::name(b)))
    });
}
