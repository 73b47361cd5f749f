use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::flux_instance::{CommonMetadata, ResourceInventory, Snapshot};
use super::schema::object_list;

/// One input set: string keys, any JSON values.
pub type InputSet = Map<String, Value>;

/// ResourceSet renders its templates once per input set and applies the objects: per
/// tenant, per cluster, per pull request.
//
// The CEL rules treat an empty `resources` list as absent (the operator cannot tell the two
// apart when it checks the rules again), and with `steps` an empty `resourcesTemplate` too.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "fluxcd.controlplane.io",
    version = "v1",
    kind = "ResourceSet",
    namespaced,
    status = "ResourceSetStatus",
    shortname = "rset",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-appliers",
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].message"),
    validation = Rule::new("!has(self.spec.steps) || ((!has(self.spec.resources) || size(self.spec.resources) == 0) && (!has(self.spec.resourcesTemplate) || self.spec.resourcesTemplate == ''))").message("spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate"),
    validation = Rule::new("(has(self.spec.resources) && size(self.spec.resources) > 0) || has(self.spec.resourcesTemplate) || has(self.spec.steps)").message("at least one of spec.resources, spec.resourcesTemplate or spec.steps must be set")
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSetSpec {
    /// Inline input sets; each is an object with string keys.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "object_list")]
    pub inputs: Vec<InputSet>,

    /// ResourceSetInputProviders, in this namespace, whose exported inputs are added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inputs_from: Vec<InputProviderReference>,

    /// How the input sets combine; Flatten when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_strategy: Option<InputStrategy>,

    /// Object templates, each rendered once per input set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "object_list")]
    pub resources: Vec<Value>,

    /// A multi-document YAML template rendered once per input set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_template: Option<String>,

    /// Ordered stages, each applied and health-checked before the next.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1, max = 20))]
    #[x_kube(validation = Rule::new("self.all(s, self.exists_one(t, t.name == s.name))").message("step names must be unique"))]
    pub steps: Vec<ResourceSetStep>,

    /// Objects that must exist (and be ready) before anything is applied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Dependency>,

    /// Labels and annotations set on every generated object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub common_metadata: Option<CommonMetadata>,

    /// ServiceAccount in this namespace to impersonate when applying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// Health-check the applied objects (of the final step).
    #[serde(default)]
    pub wait: bool,
}

/// A ResourceSetInputProvider, by name or by label selector.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.name) != has(self.selector)").message("exactly one of name or selector must be set for an input provider reference"))]
pub struct InputProviderReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<ProviderApiVersion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ProviderKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProviderApiVersion {
    #[default]
    #[serde(rename = "fluxcd.controlplane.io/v1")]
    V1,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProviderKind {
    #[default]
    ResourceSetInputProvider,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.includeEmptyProviders) || !self.includeEmptyProviders || self.name == 'Permute'").message("includeEmptyProviders is only allowed with the Permute strategy"))]
pub struct InputStrategy {
    pub name: InputStrategyName,
    /// Permute only: a provider without input sets empties the product.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_empty_providers: bool,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InputStrategyName {
    /// Every input set on its own.
    #[default]
    Flatten,
    /// The Cartesian product of the sources' input sets.
    Permute,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("(has(self.resources) && size(self.resources) > 0) || has(self.resourcesTemplate)").message("a step must set resources or resourcesTemplate"))]
pub struct ResourceSetStep {
    #[schemars(length(max = 63), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "object_list")]
    pub resources: Vec<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_template: Option<String>,
    /// Health-check timeout of this step; the reconcile timeout when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub timeout: Option<String>,
}

/// An object that gates the reconcile.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// Empty for a cluster-scoped object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Require readiness, not just existence.
    #[serde(default)]
    pub ready: bool,
    /// CEL over the object's top-level fields, used when `ready` is true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_expr: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSetStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// `sha256:<hex>` of the objects last applied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_applied_revision: Option<String>,
    /// Every object applied by the last successful reconciliation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inventory: Option<ResourceInventory>,
    /// `Kind/namespace/name` of the cluster objects checksumFrom read, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_checksum_refs: Vec<String>,
    /// The last reconciliations, newest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<Snapshot>,
}
