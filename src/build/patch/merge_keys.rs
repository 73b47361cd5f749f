//! The slice of the Kubernetes OpenAPI schema that strategic merge needs: which lists merge by
//! key (and on which keys) and which are replaced whole, plus which kinds are cluster-scoped.
//!
//! kustomize v5 reads these from its embedded Kubernetes v1.21 schema
//! (`x-kubernetes-patch-strategy`, `x-kubernetes-patch-merge-key` and, when present,
//! `x-kubernetes-list-map-keys`). Only the paths that lead to a mergeable list are spelled out;
//! every other field of a known kind has a schema without merge directives ([`Ty::Any`]), which
//! behaves the same for merging. Kinds without a schema (CRDs' custom resources) get `None`:
//! their lists are replaced whole.

/// A schema node.
#[derive(Debug)]
pub(crate) enum Ty {
    /// Known, with nothing below it that merges by key.
    Any,
    /// An object whose listed fields have their own schema; others are [`Ty::Any`].
    Object(&'static [(&'static str, &'static Ty)]),
    /// A list. `merge` lists pair their elements by `keys` (no keys: a set of scalars).
    List {
        merge: bool,
        keys: &'static [&'static str],
        items: &'static Ty,
    },
}

impl Ty {
    pub(crate) fn field(&'static self, name: &str) -> &'static Ty {
        match self {
            Ty::Object(fields) => fields.iter().find(|(n, _)| *n == name).map_or(&ANY, |(_, t)| *t),
            _ => &ANY,
        }
    }

    pub(crate) fn elements(&'static self) -> &'static Ty {
        match self {
            Ty::List { items, .. } => items,
            _ => &ANY,
        }
    }

    /// Whether the list's elements are merged (paired) rather than the list replaced.
    pub(crate) fn is_associative(&self) -> bool {
        matches!(self, Ty::List { merge: true, .. })
    }

    pub(crate) fn merge_keys(&self) -> &'static [&'static str] {
        match self {
            Ty::List { keys, .. } => keys,
            _ => &[],
        }
    }
}

static ANY: Ty = Ty::Any;

const fn merge_by(keys: &'static [&'static str], items: &'static Ty) -> Ty {
    Ty::List {
        merge: true,
        keys,
        items,
    }
}

static CONDITIONS: Ty = merge_by(&["type"], &ANY);
static STATUS_WITH_CONDITIONS: Ty = Ty::Object(&[("conditions", &CONDITIONS)]);

static FINALIZERS: Ty = merge_by(&[], &ANY);
static OWNER_REFERENCES: Ty = merge_by(&["uid"], &ANY);
static OBJECT_META: Ty = Ty::Object(&[("finalizers", &FINALIZERS), ("ownerReferences", &OWNER_REFERENCES)]);

static CONTAINER_PORTS: Ty = merge_by(&["containerPort", "protocol"], &ANY);
static ENV: Ty = merge_by(&["name"], &ANY);
static VOLUME_MOUNTS: Ty = merge_by(&["mountPath"], &ANY);
static VOLUME_DEVICES: Ty = merge_by(&["devicePath"], &ANY);
static CONTAINER: Ty = Ty::Object(&[
    ("ports", &CONTAINER_PORTS),
    ("env", &ENV),
    ("volumeMounts", &VOLUME_MOUNTS),
    ("volumeDevices", &VOLUME_DEVICES),
]);
static CONTAINERS: Ty = merge_by(&["name"], &CONTAINER);

static VOLUMES: Ty = merge_by(&["name"], &ANY);
static IMAGE_PULL_SECRETS: Ty = merge_by(&["name"], &ANY);
static HOST_ALIASES: Ty = merge_by(&["ip"], &ANY);
static TOPOLOGY_SPREAD_CONSTRAINTS: Ty = merge_by(&["topologyKey", "whenUnsatisfiable"], &ANY);
static POD_SPEC: Ty = Ty::Object(&[
    ("containers", &CONTAINERS),
    ("initContainers", &CONTAINERS),
    ("ephemeralContainers", &CONTAINERS),
    ("volumes", &VOLUMES),
    ("imagePullSecrets", &IMAGE_PULL_SECRETS),
    ("hostAliases", &HOST_ALIASES),
    ("topologySpreadConstraints", &TOPOLOGY_SPREAD_CONSTRAINTS),
]);
static POD_TEMPLATE_SPEC: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("spec", &POD_SPEC)]);

static POD: Ty = Ty::Object(&[
    ("metadata", &OBJECT_META),
    ("spec", &POD_SPEC),
    ("status", &STATUS_WITH_CONDITIONS),
]);
static POD_TEMPLATE: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("template", &POD_TEMPLATE_SPEC)]);
static WORKLOAD_SPEC: Ty = Ty::Object(&[("template", &POD_TEMPLATE_SPEC)]);
static WORKLOAD: Ty = Ty::Object(&[
    ("metadata", &OBJECT_META),
    ("spec", &WORKLOAD_SPEC),
    ("status", &STATUS_WITH_CONDITIONS),
]);
static JOB_TEMPLATE: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("spec", &WORKLOAD_SPEC)]);
static CRON_JOB_SPEC: Ty = Ty::Object(&[("jobTemplate", &JOB_TEMPLATE)]);
static CRON_JOB: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("spec", &CRON_JOB_SPEC)]);

static SERVICE_PORTS: Ty = merge_by(&["port", "protocol"], &ANY);
static SERVICE_SPEC: Ty = Ty::Object(&[("ports", &SERVICE_PORTS)]);
static SERVICE: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("spec", &SERVICE_SPEC)]);

static SECRET_REFERENCES: Ty = merge_by(&["name"], &ANY);
static SERVICE_ACCOUNT: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("secrets", &SECRET_REFERENCES)]);

static WITH_CONDITIONS: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("status", &STATUS_WITH_CONDITIONS)]);

static WEBHOOKS: Ty = merge_by(&["name"], &ANY);
static WEBHOOK_CONFIGURATION: Ty = Ty::Object(&[("metadata", &OBJECT_META), ("webhooks", &WEBHOOKS)]);

static METADATA_ONLY: Ty = Ty::Object(&[("metadata", &OBJECT_META)]);

/// The schema of a kind that kustomize's embedded Kubernetes schema knows, by apiVersion and kind.
pub(crate) fn schema_for(api_version: &str, kind: &str) -> Option<&'static Ty> {
    let ty = match (api_version, kind) {
        ("v1", "Pod") => &POD,
        ("v1", "PodTemplate") => &POD_TEMPLATE,
        ("v1", "ReplicationController")
        | ("apps/v1", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch/v1", "Job") => &WORKLOAD,
        ("batch/v1" | "batch/v1beta1", "CronJob") => &CRON_JOB,
        ("v1", "Service") => &SERVICE,
        ("v1", "ServiceAccount") => &SERVICE_ACCOUNT,
        ("v1", "Namespace" | "PersistentVolumeClaim" | "Node") => &WITH_CONDITIONS,
        (
            "admissionregistration.k8s.io/v1" | "admissionregistration.k8s.io/v1beta1",
            "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
        ) => &WEBHOOK_CONFIGURATION,
        (
            "v1",
            "ConfigMap" | "Secret" | "Endpoints" | "Event" | "LimitRange" | "ResourceQuota" | "PersistentVolume"
            | "ComponentStatus" | "Binding",
        )
        | ("apps/v1", "ControllerRevision")
        | (
            "rbac.authorization.k8s.io/v1" | "rbac.authorization.k8s.io/v1beta1",
            "Role" | "RoleBinding" | "ClusterRole" | "ClusterRoleBinding",
        )
        | ("networking.k8s.io/v1", "NetworkPolicy" | "Ingress" | "IngressClass")
        | ("networking.k8s.io/v1beta1", "Ingress" | "IngressClass")
        | ("extensions/v1beta1", "Ingress")
        | ("policy/v1", "PodDisruptionBudget")
        | ("policy/v1beta1", "PodDisruptionBudget" | "PodSecurityPolicy")
        | ("autoscaling/v1" | "autoscaling/v2beta1" | "autoscaling/v2beta2", "HorizontalPodAutoscaler")
        | ("apiextensions.k8s.io/v1" | "apiextensions.k8s.io/v1beta1", "CustomResourceDefinition")
        | ("apiregistration.k8s.io/v1" | "apiregistration.k8s.io/v1beta1", "APIService")
        | ("scheduling.k8s.io/v1" | "scheduling.k8s.io/v1beta1" | "scheduling.k8s.io/v1alpha1", "PriorityClass")
        | ("storage.k8s.io/v1", "StorageClass" | "VolumeAttachment" | "CSIDriver" | "CSINode")
        | ("storage.k8s.io/v1beta1", "StorageClass" | "VolumeAttachment" | "CSIDriver" | "CSINode")
        | ("coordination.k8s.io/v1" | "coordination.k8s.io/v1beta1", "Lease")
        | ("certificates.k8s.io/v1" | "certificates.k8s.io/v1beta1", "CertificateSigningRequest")
        | ("discovery.k8s.io/v1" | "discovery.k8s.io/v1beta1", "EndpointSlice")
        | ("events.k8s.io/v1" | "events.k8s.io/v1beta1", "Event")
        | ("node.k8s.io/v1" | "node.k8s.io/v1beta1", "RuntimeClass")
        | (
            "flowcontrol.apiserver.k8s.io/v1beta1" | "flowcontrol.apiserver.k8s.io/v1alpha1",
            "FlowSchema" | "PriorityLevelConfiguration",
        ) => &METADATA_ONLY,
        _ => return None,
    };
    Some(ty)
}

/// Whether kustomize's schema knows the kind as cluster-scoped; such objects have no namespace
/// for matching purposes. Unknown kinds count as namespaced, as in kustomize.
pub(crate) fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    matches!(
        (api_version, kind),
        ("v1", "Namespace" | "Node" | "PersistentVolume" | "ComponentStatus")
            | (
                "rbac.authorization.k8s.io/v1" | "rbac.authorization.k8s.io/v1beta1",
                "ClusterRole" | "ClusterRoleBinding"
            )
            | (
                "apiextensions.k8s.io/v1" | "apiextensions.k8s.io/v1beta1",
                "CustomResourceDefinition"
            )
            | (
                "admissionregistration.k8s.io/v1" | "admissionregistration.k8s.io/v1beta1",
                "MutatingWebhookConfiguration" | "ValidatingWebhookConfiguration",
            )
            | (
                "apiregistration.k8s.io/v1" | "apiregistration.k8s.io/v1beta1",
                "APIService"
            )
            | (
                "scheduling.k8s.io/v1" | "scheduling.k8s.io/v1beta1" | "scheduling.k8s.io/v1alpha1",
                "PriorityClass"
            )
            | (
                "storage.k8s.io/v1" | "storage.k8s.io/v1beta1",
                "StorageClass" | "VolumeAttachment" | "CSIDriver" | "CSINode"
            )
            | ("networking.k8s.io/v1" | "networking.k8s.io/v1beta1", "IngressClass")
            | ("policy/v1beta1", "PodSecurityPolicy")
            | (
                "certificates.k8s.io/v1" | "certificates.k8s.io/v1beta1",
                "CertificateSigningRequest"
            )
            | (
                "node.k8s.io/v1" | "node.k8s.io/v1beta1" | "node.k8s.io/v1alpha1",
                "RuntimeClass"
            )
            | (
                "flowcontrol.apiserver.k8s.io/v1beta1" | "flowcontrol.apiserver.k8s.io/v1alpha1",
                "FlowSchema" | "PriorityLevelConfiguration"
            )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_containers_merge_by_name_and_ports_by_port_and_protocol() {
        let deployment = schema_for("apps/v1", "Deployment").expect("known");
        let containers = deployment
            .field("spec")
            .field("template")
            .field("spec")
            .field("containers");
        assert!(containers.is_associative());
        assert_eq!(containers.merge_keys(), ["name"]);
        let ports = containers.elements().field("ports");
        assert_eq!(ports.merge_keys(), ["containerPort", "protocol"]);
        let args = containers.elements().field("args");
        assert!(!args.is_associative(), "args are replaced whole");
        let tolerations = deployment
            .field("spec")
            .field("template")
            .field("spec")
            .field("tolerations");
        assert!(!tolerations.is_associative(), "tolerations are replaced whole");
    }

    #[test]
    fn custom_kinds_have_no_schema() {
        assert!(schema_for("kustomize.toolkit.fluxcd.io/v1", "Kustomization").is_none());
        assert!(schema_for("apps/v1beta1", "Deployment").is_none());
        assert!(schema_for("apiextensions.k8s.io/v1", "CustomResourceDefinition").is_some());
    }

    #[test]
    fn finalizers_are_a_set_of_scalars() {
        let meta = schema_for("v1", "ConfigMap").expect("known").field("metadata");
        assert!(meta.field("finalizers").is_associative());
        assert!(meta.field("finalizers").merge_keys().is_empty());
    }

    #[test]
    fn cluster_scope() {
        assert!(is_cluster_scoped("rbac.authorization.k8s.io/v1", "ClusterRole"));
        assert!(is_cluster_scoped("apiextensions.k8s.io/v1", "CustomResourceDefinition"));
        assert!(!is_cluster_scoped("v1", "Service"));
        assert!(!is_cluster_scoped("example.com/v1", "ClusterThing"));
    }
}
