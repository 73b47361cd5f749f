use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// FluxInstance declares one Flux installation: which release, which controllers and how
/// they are configured. The operator keeps the cluster in line with it.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "fluxcd.controlplane.io",
    version = "v1",
    kind = "FluxInstance",
    namespaced,
    status = "FluxInstanceStatus",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].message"),
    printcolumn(name = "Revision", type_ = "string", json_path = ".status.lastAttemptedRevision"),
    validation = Rule::new("self.metadata.name == 'flux'").message("the only accepted name for a FluxInstance is 'flux'"),
    validation = Rule::new("!has(self.spec.sharding) || !has(self.spec.sharding.storage) || self.spec.sharding.storage != 'persistent' || has(self.spec.storage)").message("spec.sharding.storage 'persistent' requires spec.storage to be set")
)]
#[serde(rename_all = "camelCase")]
pub struct FluxInstanceSpec {
    /// Which Flux release to install and where its images come from.
    pub distribution: DistributionSpec,

    /// The Flux controllers to install; empty means source, kustomize, helm and
    /// notification controllers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Component>,

    /// Labels and annotations set on every object the operator applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,

    /// Properties of the cluster that change the generated manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<Cluster>,

    /// Persistent storage for source-controller's artifacts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<Storage>,

    /// Horizontal sharding of the Flux controllers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sharding: Option<Sharding>,

    /// The source and Kustomization that make the cluster sync from a repository.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<SyncSpec>,

    /// Kustomize patches applied to the generated manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kustomize: Option<Kustomize>,

    /// Wait for every applied object to become ready.
    #[serde(default = "default_true")]
    pub wait: bool,

    /// Migrate the Flux custom resources to their storage version after upgrades.
    #[serde(default = "default_true")]
    pub migrate_resources: bool,
}

fn default_true() -> bool {
    true
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DistributionSpec {
    /// SemVer constraint or exact version of Flux, e.g. `2.x`, `2.8.x`, `v2.8.0`.
    pub version: String,

    /// Container registry the Flux images are pulled from, e.g. `ghcr.io/fluxcd`.
    pub registry: String,

    /// Which image digests to pin; inferred from the registry when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<Variant>,

    /// Secret added to every Flux Deployment's imagePullSecrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secret: Option<String>,

    /// OCI artifact holding Flux distribution data newer than what the operator carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^oci://.*$"))]
    pub artifact: Option<String>,

    /// Docker config Secret, in the instance namespace, used to pull the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_pull_secret: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    UpstreamAlpine,
    EnterpriseAlpine,
    EnterpriseDistroless,
    EnterpriseDistrolessFips,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Component {
    SourceController,
    KustomizeController,
    HelmController,
    NotificationController,
    ImageReflectorController,
    ImageAutomationController,
    SourceWatcher,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CommonMetadata {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!(has(self.multitenantWorkloadIdentity) && self.multitenantWorkloadIdentity) || (has(self.objectLevelWorkloadIdentity) && self.objectLevelWorkloadIdentity)").message("spec.cluster.multitenantWorkloadIdentity requires spec.cluster.objectLevelWorkloadIdentity to be true"))]
pub struct Cluster {
    /// Kind of cluster; only `openshift` changes the generated manifests.
    #[serde(default, rename = "type")]
    pub type_: ClusterType,

    /// Vertical scaling profile of the controllers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<ClusterSize>,

    /// Lock the controllers down for multi-tenancy.
    #[serde(default)]
    pub multitenant: bool,

    /// Lock workload identity down for multi-tenancy.
    #[serde(default)]
    pub multitenant_workload_identity: bool,

    /// Enable object-level workload identity (Flux >= 2.6).
    #[serde(default)]
    pub object_level_workload_identity: bool,

    /// Service account the controllers impersonate for tenants that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_default_service_account: Option<String>,

    /// Service account used for decryption for tenants that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_default_decryption_service_account: Option<String>,

    /// Service account used for remote kubeconfigs for tenants that name none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_default_kube_config_service_account: Option<String>,

    /// Install Flux's network policies.
    #[serde(default = "default_true")]
    pub network_policy: bool,

    /// Cluster DNS domain used in service addresses.
    #[serde(default = "default_domain")]
    pub domain: String,
}

fn default_domain() -> String {
    "cluster.local".to_owned()
}

impl Default for Cluster {
    fn default() -> Self {
        Self {
            type_: ClusterType::default(),
            size: None,
            multitenant: false,
            multitenant_workload_identity: false,
            object_level_workload_identity: false,
            tenant_default_service_account: None,
            tenant_default_decryption_service_account: None,
            tenant_default_kube_config_service_account: None,
            network_policy: true,
            domain: default_domain(),
        }
    }
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClusterType {
    #[default]
    Kubernetes,
    Openshift,
    Aws,
    Azure,
    Gcp,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClusterSize {
    Small,
    Medium,
    Large,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    /// StorageClass of the PersistentVolumeClaim.
    pub class: String,
    /// Requested size, e.g. `10Gi`.
    pub size: String,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sharding {
    /// Label key that assigns Flux objects to shards.
    #[serde(default = "default_shard_key")]
    pub key: String,
    /// Shard names; one copy of each shardable controller is made per shard.
    #[schemars(length(min = 1))]
    pub shards: Vec<String>,
    /// Storage of the source-controller shards.
    #[serde(default)]
    pub storage: ShardingStorage,
}

fn default_shard_key() -> String {
    "sharding.fluxcd.io/key".to_owned()
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ShardingStorage {
    #[default]
    Ephemeral,
    Persistent,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.provider) || self.provider != 'gcp' || self.kind == 'OCIRepository' || self.kind == 'Bucket'").message("spec.sync.provider 'gcp' is only supported for kind OCIRepository and Bucket"))]
#[x_kube(validation = Rule::new("!has(self.provider) || self.provider != 'github' || self.kind == 'GitRepository'").message("spec.sync.provider 'github' is only supported for kind GitRepository"))]
#[x_kube(validation = Rule::new("!has(oldSelf.name) || has(self.name)").message("spec.sync.name is immutable and cannot be removed"))]
pub struct SyncSpec {
    /// Name of the generated source and Kustomization; defaults to the namespace name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.sync.name is immutable"))]
    pub name: Option<String>,

    /// Kind of the source.
    pub kind: SyncKind,

    /// Repository address; for Bucket the endpoint.
    pub url: String,

    /// Git reference, OCI tag or bucket name.
    #[serde(rename = "ref")]
    pub ref_: String,

    /// Path inside the source to reconcile.
    pub path: String,

    /// Interval at which the source is checked for changes.
    #[serde(default = "default_sync_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub interval: String,

    /// Secret with the credentials of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_secret: Option<String>,

    /// Authentication provider of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<SyncProvider>,
}

fn default_sync_interval() -> String {
    "1m".to_owned()
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyncKind {
    OCIRepository,
    GitRepository,
    Bucket,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyncProvider {
    Generic,
    Aws,
    Azure,
    Gcp,
    Github,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Kustomize {
    /// Strategic-merge or JSON 6902 patches, with kustomize semantics.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<PatchSpec>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PatchSpec {
    /// The patch: a YAML object (strategic merge) or a YAML list of JSON 6902 operations.
    pub patch: String,
    /// Which objects the patch applies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PatchTarget>,
}

/// Selects objects by regular expressions (anchored) and Kubernetes label selectors.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PatchTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_selector: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotation_selector: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FluxInstanceStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The `reconcile.fluxcd.io/forceAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,
    /// `vX.Y.Z@sha256:<digest>` of the last build attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempted_revision: Option<String>,
    /// `vX.Y.Z@sha256:<digest>` of the last build applied successfully.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// Digest of the distribution artifact last pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_artifact_revision: Option<String>,
    /// Images of the deployed controllers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentImage>,
    /// Every object applied by the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// The last reconciliations, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ComponentImage {
    pub name: String,
    pub repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tag: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ResourceInventory {
    pub entries: Vec<ResourceRef>,
}

/// One applied object: `id` is `<namespace>_<name>_<group>_<kind>`, `v` its API version.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceRef {
    pub id: String,
    pub v: String,
}

/// One line of the reconciliation history.
#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    pub digest: String,
    pub first_reconciled: String,
    pub last_reconciled: String,
    pub last_reconciled_duration: String,
    pub last_reconciled_status: String,
    pub total_reconciliations: i64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}
