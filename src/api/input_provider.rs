use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelectorRequirement, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::resource_set::InputSet;
use super::schema::{free_object, object_list};

/// ResourceSetInputProvider exports input sets for ResourceSets: static values, or the
/// branches, tags and change requests of a Git forge, the tags of an OCI repository, the
/// answer of an HTTP service, or ExternalArtifacts.
//
// Type groups in the CEL rules: `Git*` are the GitHub, GitLab and Gitea types; the cloud
// types (AzureDevOps*, AWSCodeCommit*, ACR/ECR/GAR) authenticate by workload identity.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "fluxcd.controlplane.io",
    version = "v1",
    kind = "ResourceSetInputProvider",
    namespaced,
    status = "ResourceSetInputProviderStatus",
    shortname = "rsip",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].status"),
    printcolumn(name = "Status", type_ = "string", json_path = ".status.conditions[?(@.type==\"Ready\")].message"),
    validation = Rule::new("self.spec.type in ['Static', 'ExternalArtifact'] ? (!has(self.spec.url) || self.spec.url == '') : (has(self.spec.url) && self.spec.url != '')").message("spec.url must be empty for the Static and ExternalArtifact types and is required for the others"),
    validation = Rule::new("!has(self.spec.url) || !(self.spec.type.startsWith('GitHub') || self.spec.type.startsWith('GitLab') || self.spec.type.startsWith('Gitea') || self.spec.type == 'ExternalService') || self.spec.url.startsWith('http')").message("spec.url must start with 'http://' or 'https://' for this type"),
    validation = Rule::new("!has(self.spec.url) || !self.spec.type.startsWith('AzureDevOps') || self.spec.url.startsWith('http://') || self.spec.url.startsWith('https://')").message("spec.url must start with 'http://' or 'https://' for the AzureDevOps types"),
    validation = Rule::new("!has(self.spec.url) || !self.spec.type.startsWith('AWSCodeCommit') || self.spec.url.startsWith('https://')").message("spec.url must start with 'https://' for the AWSCodeCommit types"),
    validation = Rule::new("!has(self.spec.url) || !self.spec.type.endsWith('ArtifactTag') || self.spec.url.matches('^oci://[^/]+/.+')").message("spec.url must be 'oci://<host>/<repository>' for the ArtifactTag types"),
    validation = Rule::new("!has(self.spec.url) || self.spec.type != 'ExternalService' || !self.spec.url.startsWith('http://') || (has(self.spec.insecure) && self.spec.insecure)").message("spec.insecure must be true for an 'http://' ExternalService url"),
    validation = Rule::new("!has(self.spec.insecure) || !self.spec.insecure || self.spec.type in ['ExternalService', 'OCIArtifactTag']").message("spec.insecure is only allowed for the ExternalService and OCIArtifactTag types"),
    validation = Rule::new("!has(self.spec.serviceAccountName) || self.spec.type.startsWith('AzureDevOps') || self.spec.type.startsWith('AWSCodeCommit') || self.spec.type.endsWith('ArtifactTag') || self.spec.type == 'ExternalArtifact'").message("spec.serviceAccountName is only allowed for the AzureDevOps, AWSCodeCommit, ArtifactTag and ExternalArtifact types"),
    validation = Rule::new("!has(self.spec.certSecretRef) || !(self.spec.type in ['Static', 'ExternalArtifact', 'ACRArtifactTag', 'ECRArtifactTag', 'GARArtifactTag'] || self.spec.type.startsWith('AzureDevOps') || self.spec.type.startsWith('AWSCodeCommit'))").message("spec.certSecretRef is not allowed for this type"),
    validation = Rule::new("!has(self.spec.secretRef) || !(self.spec.type in ['Static', 'ExternalArtifact', 'ACRArtifactTag', 'ECRArtifactTag', 'GARArtifactTag'] || self.spec.type.startsWith('AWSCodeCommit'))").message("spec.secretRef is not allowed for this type"),
    validation = Rule::new("self.spec.type == 'ExternalArtifact' ? (has(self.spec.selectors) && size(self.spec.selectors) > 0) : !has(self.spec.selectors)").message("spec.selectors is required for the ExternalArtifact type and not allowed for the others")
)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSetInputProviderSpec {
    #[serde(rename = "type")]
    pub type_: ProviderType,

    /// Repository, registry or endpoint address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^((http|https|oci)://.*)?$"))]
    pub url: Option<String>,

    /// Secret in this namespace with credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalReference>,

    /// Secret in this namespace with `ca.crt`, or `tls.crt` and `tls.key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalReference>,

    /// ServiceAccount for workload identity, image pull secrets or impersonation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,

    /// Plain HTTP (ExternalService, OCIArtifactTag).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,

    /// Merged into every exported input set; the provider's own values win.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "free_object")]
    pub default_values: Option<InputSet>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<Filter>,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip: Option<Skip>,

    /// When the provider may run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedule: Vec<Schedule>,

    /// ExternalArtifacts to export (ExternalArtifact only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub selectors: Vec<ArtifactSelector>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProviderType {
    Static,
    GitHubBranch,
    GitHubTag,
    GitHubPullRequest,
    GitLabBranch,
    GitLabTag,
    GitLabMergeRequest,
    GitLabEnvironment,
    AzureDevOpsBranch,
    AzureDevOpsTag,
    AzureDevOpsPullRequest,
    AWSCodeCommitBranch,
    AWSCodeCommitTag,
    AWSCodeCommitPullRequest,
    GiteaBranch,
    GiteaTag,
    GiteaPullRequest,
    OCIArtifactTag,
    ACRArtifactTag,
    ECRArtifactTag,
    GARArtifactTag,
    ExternalService,
    ExternalArtifact,
}

/// An object in the provider's namespace.
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct LocalReference {
    pub name: String,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Filter {
    /// RE2 regex a change request's source branch or a branch name must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_branch: Option<String>,
    /// RE2 regex a tag must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_tag: Option<String>,
    /// RE2 regex an environment name must match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_environment: Option<String>,
    /// Labels a change request must all carry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Most input sets exported.
    #[serde(default = "default_limit")]
    #[schemars(range(max = 10000))]
    pub limit: i64,
    /// Masterminds SemVer constraint on tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
}

fn default_limit() -> i64 {
    100
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            include_branch: None,
            exclude_branch: None,
            include_tag: None,
            exclude_tag: None,
            include_environment: None,
            exclude_environment: None,
            labels: Vec::new(),
            limit: default_limit(),
            semver: None,
        }
    }
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Skip {
    /// A result is skipped when any rule matches: `x` present, `!x` absent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
}

#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    /// Five-field cron expression or descriptor (`@daily`, `@every 1h`).
    pub cron: String,
    /// IANA time zone of the cron expression.
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// How long after a trigger runs are allowed; `0s` means at any time.
    #[serde(default = "default_window")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"))]
    pub window: String,
}

fn default_time_zone() -> String {
    "UTC".to_owned()
}

fn default_window() -> String {
    "0s".to_owned()
}

/// ExternalArtifacts by name or by labels, in a namespace (`""` own, `*` all).
#[derive(KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("!has(self.name) || (!has(self.matchLabels) && !has(self.matchExpressions))").message("a selector with a name cannot have matchLabels or matchExpressions"))]
pub struct ArtifactSelector {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_expressions: Option<Vec<LabelSelectorRequirement>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceSetInputProviderStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The input sets ResourceSets read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "object_list")]
    pub exported_inputs: Vec<InputSet>,
    /// `sha256:<hex>` of the exported inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_exported_revision: Option<String>,
    /// The next schedule trigger, when the last run was skipped or ended before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_schedule: Option<NextSchedule>,
    /// The `reconcile.fluxcd.io/requestedAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// The `reconcile.fluxcd.io/forceAt` value last handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_force_at: Option<String>,
}

#[derive(JsonSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NextSchedule {
    pub cron: String,
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    #[serde(default = "default_window")]
    pub window: String,
    pub when: Time,
}
