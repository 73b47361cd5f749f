//! Step 17 (first half): the order of the objects, which is upstream's (measured on its
//! `build instance`): the first apply stage (definitions, namespaces, cluster-wide RBAC),
//! then the kinds that others depend on (quota, accounts, configuration, Services) before
//! the Deployments, then every other kind by API group (the core group first), kind,
//! namespace and name. The apply stages follow it, and so does the inventory.

use serde_json::Value;

use super::object;

/// Kinds in their place; the others come after them.
const RANKED: [&str; 14] = [
    "CustomResourceDefinition",
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ResourceQuota",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "Deployment",
    "StatefulSet",
];

fn rank(kind: &str) -> usize {
    RANKED.iter().position(|k| *k == kind).unwrap_or(RANKED.len())
}

fn group(obj: &Value) -> &str {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Sorts by kind rank, then API group, kind, namespace and name; equal keys keep their order.
pub fn sort(objects: &mut [Value]) {
    objects.sort_by(|a, b| {
        let (ka, kb) = (object::kind(a), object::kind(b));
        rank(ka)
            .cmp(&rank(kb))
            .then_with(|| group(a).cmp(group(b)))
            .then_with(|| ka.cmp(kb))
            .then_with(|| object::namespace(a).cmp(object::namespace(b)))
            .then_with(|| object::name(a).cmp(object::name(b)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(api_version: &str, kind: &str, name: &str) -> Value {
        json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": name}})
    }

    #[test]
    fn upstream_order() {
        let mut objects = vec![
            obj("source.toolkit.fluxcd.io/v1", "GitRepository", "flux-system"),
            obj("networking.k8s.io/v1", "NetworkPolicy", "allow-egress"),
            obj("kustomize.toolkit.fluxcd.io/v1", "Kustomization", "flux-system"),
            obj("v1", "PersistentVolumeClaim", "source-controller"),
            obj("apps/v1", "Deployment", "source-controller"),
            obj("apps/v1", "Deployment", "helm-controller"),
            obj("v1", "Service", "webhook-receiver"),
            obj("v1", "ServiceAccount", "helm-controller"),
            obj("v1", "ResourceQuota", "critical-pods-flux-system"),
            obj(
                "rbac.authorization.k8s.io/v1",
                "ClusterRoleBinding",
                "crd-controller-flux-system",
            ),
            obj("rbac.authorization.k8s.io/v1", "ClusterRole", "flux-view-flux-system"),
            obj("v1", "Namespace", "flux-system"),
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "buckets.source.toolkit.fluxcd.io",
            ),
            obj(
                "apiextensions.k8s.io/v1",
                "CustomResourceDefinition",
                "alerts.notification.toolkit.fluxcd.io",
            ),
        ];
        sort(&mut objects);
        let names: Vec<String> = objects
            .iter()
            .map(|o| format!("{}/{}", object::kind(o), object::name(o)))
            .collect();
        assert_eq!(
            names,
            [
                "CustomResourceDefinition/alerts.notification.toolkit.fluxcd.io",
                "CustomResourceDefinition/buckets.source.toolkit.fluxcd.io",
                "Namespace/flux-system",
                "ClusterRole/flux-view-flux-system",
                "ClusterRoleBinding/crd-controller-flux-system",
                "ResourceQuota/critical-pods-flux-system",
                "ServiceAccount/helm-controller",
                "Service/webhook-receiver",
                "Deployment/helm-controller",
                "Deployment/source-controller",
                "PersistentVolumeClaim/source-controller",
                "Kustomization/flux-system",
                "NetworkPolicy/allow-egress",
                "GitRepository/flux-system",
            ]
        );
    }
}
