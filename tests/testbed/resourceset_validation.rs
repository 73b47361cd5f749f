//! The ResourceSet and ResourceSetInputProvider CRDs as the real apiserver sees them: every
//! CEL rule refuses what it should and accepts the spec's valid examples; defaults, enums,
//! patterns, limits, names and the status subresource.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::Api;
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::common::{apply_dynamic, client, install_crds, namespace};

fn resource(kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("fluxcd.controlplane.io", "v1", kind))
}

fn object(kind: &str, ns: &str, name: &str, spec: &Value) -> Value {
    json!({
        "apiVersion": "fluxcd.controlplane.io/v1",
        "kind": kind,
        "metadata": {"name": name, "namespace": ns},
        "spec": spec,
    })
}

/// Applies every accepted spec and every refused one (with a piece of the expected
/// message) as `kind`; returns the accepted objects as the apiserver stored them.
async fn check(kind: &str, prefix: &str, accepted: &[(&str, Value)], refused: &[(&str, Value, &str)]) -> Vec<Value> {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, prefix).await;
    let api = resource(kind);
    let mut stored = Vec::new();
    for (name, spec) in accepted {
        match apply_dynamic(&client, &api, &object(kind, &ns, name, spec)).await {
            Ok(obj) => stored.push(serde_json::to_value(obj).expect("JSON")),
            Err(message) => panic!("{kind} {name} refused: {message}\nspec: {spec}"),
        }
    }
    for (name, spec, needle) in refused {
        match apply_dynamic(&client, &api, &object(kind, &ns, name, spec)).await {
            Ok(_) => panic!("{kind} {name} accepted: {spec}"),
            Err(message) => assert!(
                message.contains(needle),
                "{kind} {name}: expected {needle:?} in the apiserver's message: {message}"
            ),
        }
    }
    stored
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "apps"}})
}

#[tokio::test]
async fn resourceset_rules() {
    let accepted = [
        (
            "inline",
            json!({"inputs": [{"t": "a", "n": 2, "nested": {"x": [1, 2]}}], "resources": [cm("w-<< inputs.t >>")]}),
        ),
        (
            "template",
            json!({"resourcesTemplate": "<<- range $t := inputs.list >>\n---\n<<- end >>"}),
        ),
        (
            "empty-list-and-template",
            json!({"resources": [], "resourcesTemplate": "x: 1"}),
        ),
        (
            "steps",
            json!({"steps": [
            {"name": "a", "resources": [cm("a")], "timeout": "1m30s"},
            {"name": "b-2", "resourcesTemplate": "x: 1"}
        ], "wait": true}),
        ),
        (
            "providers",
            json!({
                "inputsFrom": [
                    {"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSetInputProvider", "name": "p"},
                    {"selector": {"matchLabels": {"team": "a"}}}
                ],
                "inputStrategy": {"name": "Permute", "includeEmptyProviders": true},
                "resources": [cm("a")]
            }),
        ),
        (
            "flatten",
            json!({"inputStrategy": {"name": "Flatten", "includeEmptyProviders": false}, "resources": [cm("a")]}),
        ),
        (
            "gated",
            json!({
                "dependsOn": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "gate", "namespace": "apps", "ready": true, "readyExpr": "data.gate == 'open'"},
                    {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "name": "widgets.example.com"}
                ],
                "commonMetadata": {"labels": {"a": "b"}, "annotations": {"c": "d"}},
                "serviceAccountName": "deployer",
                "resources": [cm("a")]
            }),
        ),
    ];
    let twenty_one: Vec<Value> = (0..21)
        .map(|i| json!({"name": format!("s{i}"), "resources": [cm("a")]}))
        .collect();
    let refused = [
        (
            "nothing",
            json!({"wait": true}),
            "at least one of spec.resources, spec.resourcesTemplate or spec.steps must be set",
        ),
        (
            "only-empty-list",
            json!({"resources": []}),
            "at least one of spec.resources",
        ),
        (
            "steps-and-resources",
            json!({"steps": [{"name": "a", "resources": [cm("a")]}], "resources": [cm("b")]}),
            "spec.steps is mutually exclusive",
        ),
        (
            "steps-and-template",
            json!({"steps": [{"name": "a", "resources": [cm("a")]}], "resourcesTemplate": "x: 1"}),
            "spec.steps is mutually exclusive",
        ),
        (
            "name-and-selector",
            json!({"inputsFrom": [{"name": "p", "selector": {}}], "resources": [cm("a")]}),
            "exactly one of name or selector",
        ),
        (
            "neither",
            json!({"inputsFrom": [{"kind": "ResourceSetInputProvider"}], "resources": [cm("a")]}),
            "exactly one of name or selector",
        ),
        (
            "other-kind",
            json!({"inputsFrom": [{"kind": "ConfigMap", "name": "p"}], "resources": [cm("a")]}),
            "Unsupported value: \"ConfigMap\"",
        ),
        (
            "other-version",
            json!({"inputsFrom": [{"apiVersion": "v1", "name": "p"}], "resources": [cm("a")]}),
            "Unsupported value: \"v1\"",
        ),
        (
            "empty-providers-flatten",
            json!({"inputStrategy": {"name": "Flatten", "includeEmptyProviders": true}, "resources": [cm("a")]}),
            "includeEmptyProviders is only allowed with the Permute strategy",
        ),
        (
            "strategy-without-name",
            json!({"inputStrategy": {"includeEmptyProviders": false}, "resources": [cm("a")]}),
            "Required value",
        ),
        (
            "strategy-unknown",
            json!({"inputStrategy": {"name": "Zip"}, "resources": [cm("a")]}),
            "Unsupported value: \"Zip\"",
        ),
        (
            "empty-step",
            json!({"steps": [{"name": "a"}]}),
            "a step must set resources or resourcesTemplate",
        ),
        (
            "empty-step-list",
            json!({"steps": [{"name": "a", "resources": []}]}),
            "a step must set resources or resourcesTemplate",
        ),
        (
            "same-step-names",
            json!({"steps": [{"name": "a", "resources": [cm("a")]}, {"name": "a", "resourcesTemplate": "x: 1"}]}),
            "step names must be unique",
        ),
        (
            "step-name-case",
            json!({"steps": [{"name": "Step_A", "resources": [cm("a")]}]}),
            "should match",
        ),
        (
            "step-name-long",
            json!({"steps": [{"name": "a".repeat(64), "resources": [cm("a")]}]}),
            "Too long",
        ),
        (
            "step-without-name",
            json!({"steps": [{"resources": [cm("a")]}]}),
            "Required value",
        ),
        ("no-steps", json!({"steps": []}), "should have at least 1 items"),
        ("21-steps", json!({"steps": twenty_one}), "must have at most 20 items"),
        (
            "step-timeout",
            json!({"steps": [{"name": "a", "resources": [cm("a")], "timeout": "5 minutes"}]}),
            "should match",
        ),
        (
            "dependency-without-kind",
            json!({"dependsOn": [{"apiVersion": "v1", "name": "x"}], "resources": [cm("a")]}),
            "Required value",
        ),
        (
            "resource-not-object",
            json!({"resources": ["kind: ConfigMap"]}),
            "expected map",
        ),
        (
            "input-not-object",
            json!({"inputs": [1], "resources": [cm("a")]}),
            "expected map",
        ),
    ];
    let stored = check("ResourceSet", "rset-cel", &accepted, &refused).await;
    // Unknown fields inside inputs and resources are kept, with their JSON types.
    assert_eq!(stored[0]["spec"]["inputs"][0]["nested"]["x"], json!([1, 2]));
    assert_eq!(
        stored[0]["spec"]["resources"][0]["metadata"]["name"],
        "w-<< inputs.t >>"
    );
    assert_eq!(stored[3]["spec"]["wait"], true);
}

fn rsip(type_: &str, rest: Value) -> Value {
    let mut spec = json!({"type": type_});
    if let (Value::Object(spec), Value::Object(rest)) = (&mut spec, rest) {
        spec.extend(rest);
    }
    spec
}

#[tokio::test]
async fn input_provider_rules() {
    let accepted = [
        (
            "static",
            rsip(
                "Static",
                json!({"defaultValues": {"env": "prod", "replicas": 2, "tags": ["a"]}}),
            ),
        ),
        (
            "github-prs",
            rsip(
                "GitHubPullRequest",
                json!({
                    "url": "https://github.com/org/repo", "secretRef": {"name": "token"}, "certSecretRef": {"name": "ca"},
                    "filter": {"labels": ["deploy"], "includeBranch": "^feat/", "limit": 10},
                    "skip": {"labels": ["!ok", "hold"]},
                    "schedule": [{"cron": "0 8 * * 1-5", "timeZone": "Europe/Berlin", "window": "8h"}]
                }),
            ),
        ),
        (
            "gitlab-env",
            rsip("GitLabEnvironment", json!({"url": "http://gitlab.local/group/app"})),
        ),
        (
            "gitea-tags",
            rsip(
                "GiteaTag",
                json!({"url": "https://gitea.local/o/r", "filter": {"semver": ">=1.0.0"}}),
            ),
        ),
        (
            "service",
            rsip(
                "ExternalService",
                json!({"url": "http://inputs.local/api", "insecure": true, "secretRef": {"name": "token"}}),
            ),
        ),
        (
            "service-tls",
            rsip(
                "ExternalService",
                json!({"url": "https://inputs.local/api", "certSecretRef": {"name": "ca"}}),
            ),
        ),
        (
            "oci",
            rsip(
                "OCIArtifactTag",
                json!({"url": "oci://registry.local:5000/app", "insecure": true, "serviceAccountName": "puller", "secretRef": {"name": "pull"}}),
            ),
        ),
        (
            "gar",
            rsip(
                "GARArtifactTag",
                json!({"url": "oci://europe-docker.pkg.dev/p/r/app", "serviceAccountName": "wi"}),
            ),
        ),
        (
            "azure",
            rsip(
                "AzureDevOpsPullRequest",
                json!({"url": "https://dev.azure.com/org/project/_git/repo", "serviceAccountName": "wi", "secretRef": {"name": "pat"}}),
            ),
        ),
        (
            "aws",
            rsip(
                "AWSCodeCommitBranch",
                json!({"url": "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/app", "serviceAccountName": "wi"}),
            ),
        ),
        (
            "artifacts",
            rsip(
                "ExternalArtifact",
                json!({"serviceAccountName": "reader", "selectors": [
                    {"name": "one"},
                    {"matchLabels": {"app": "x"}, "namespace": "*"},
                    {"matchExpressions": [{"key": "tier", "operator": "In", "values": ["web"]}], "namespace": ""}
                ]}),
            ),
        ),
    ];
    let refused = [
        (
            "static-url",
            rsip("Static", json!({"url": "https://example.com"})),
            "spec.url must be empty for the Static and ExternalArtifact types",
        ),
        (
            "artifact-url",
            rsip(
                "ExternalArtifact",
                json!({"url": "https://example.com", "selectors": [{"name": "a"}]}),
            ),
            "spec.url must be empty",
        ),
        (
            "github-no-url",
            rsip("GitHubBranch", json!({})),
            "is required for the others",
        ),
        (
            "github-oci",
            rsip("GitHubTag", json!({"url": "oci://ghcr.io/org/repo"})),
            "spec.url must start with 'http://' or 'https://' for this type",
        ),
        (
            "service-oci",
            rsip("ExternalService", json!({"url": "oci://inputs.local/x"})),
            "spec.url must start with 'http://' or 'https://' for this type",
        ),
        (
            "azure-oci",
            rsip("AzureDevOpsTag", json!({"url": "oci://dev.azure.com/x"})),
            "for the AzureDevOps types",
        ),
        (
            "ftp",
            rsip("GitLabTag", json!({"url": "ftp://gitlab.local/x"})),
            "should match",
        ),
        (
            "aws-http",
            rsip(
                "AWSCodeCommitTag",
                json!({"url": "http://git-codecommit.local/v1/repos/app"}),
            ),
            "must start with 'https://' for the AWSCodeCommit types",
        ),
        (
            "oci-no-repo",
            rsip("OCIArtifactTag", json!({"url": "oci://registry.local"})),
            "must be 'oci://<host>/<repository>'",
        ),
        (
            "oci-https",
            rsip("ECRArtifactTag", json!({"url": "https://registry.local/app"})),
            "must be 'oci://<host>/<repository>'",
        ),
        (
            "service-plain",
            rsip("ExternalService", json!({"url": "http://inputs.local/api"})),
            "spec.insecure must be true",
        ),
        (
            "insecure-github",
            rsip(
                "GitHubBranch",
                json!({"url": "http://github.local/o/r", "insecure": true}),
            ),
            "spec.insecure is only allowed",
        ),
        (
            "sa-github",
            rsip(
                "GitHubBranch",
                json!({"url": "https://github.com/o/r", "serviceAccountName": "x"}),
            ),
            "spec.serviceAccountName is only allowed",
        ),
        (
            "sa-static",
            rsip("Static", json!({"serviceAccountName": "x"})),
            "spec.serviceAccountName is only allowed",
        ),
        (
            "cert-static",
            rsip("Static", json!({"certSecretRef": {"name": "ca"}})),
            "spec.certSecretRef is not allowed",
        ),
        (
            "cert-aws",
            rsip(
                "AWSCodeCommitTag",
                json!({"url": "https://git.local/r", "certSecretRef": {"name": "ca"}}),
            ),
            "spec.certSecretRef is not allowed",
        ),
        (
            "cert-azure",
            rsip(
                "AzureDevOpsBranch",
                json!({"url": "https://dev.azure.com/r", "certSecretRef": {"name": "ca"}}),
            ),
            "spec.certSecretRef is not allowed",
        ),
        (
            "cert-acr",
            rsip(
                "ACRArtifactTag",
                json!({"url": "oci://r.azurecr.io/app", "certSecretRef": {"name": "ca"}}),
            ),
            "spec.certSecretRef is not allowed",
        ),
        (
            "secret-ecr",
            rsip(
                "ECRArtifactTag",
                json!({"url": "oci://1.dkr.ecr.eu-west-1.amazonaws.com/app", "secretRef": {"name": "s"}}),
            ),
            "spec.secretRef is not allowed",
        ),
        (
            "secret-artifact",
            rsip(
                "ExternalArtifact",
                json!({"secretRef": {"name": "s"}, "selectors": [{"name": "a"}]}),
            ),
            "spec.secretRef is not allowed",
        ),
        (
            "secret-static",
            rsip("Static", json!({"secretRef": {"name": "s"}})),
            "spec.secretRef is not allowed",
        ),
        (
            "artifact-no-selectors",
            rsip("ExternalArtifact", json!({})),
            "spec.selectors is required for the ExternalArtifact type",
        ),
        (
            "artifact-empty-selectors",
            rsip("ExternalArtifact", json!({"selectors": []})),
            "spec.selectors is required",
        ),
        (
            "static-selectors",
            rsip("Static", json!({"selectors": [{"name": "a"}]})),
            "spec.selectors is required for the ExternalArtifact type and not allowed",
        ),
        (
            "name-and-labels",
            rsip(
                "ExternalArtifact",
                json!({"selectors": [{"name": "a", "matchLabels": {"x": "y"}}]}),
            ),
            "a selector with a name cannot have matchLabels",
        ),
        (
            "unknown-type",
            rsip("BitbucketBranch", json!({"url": "https://b.local/r"})),
            "Unsupported value: \"BitbucketBranch\"",
        ),
        ("no-type", json!({"url": "https://b.local/r"}), "Required value"),
        (
            "limit",
            rsip(
                "GitHubTag",
                json!({"url": "https://github.com/o/r", "filter": {"limit": 10001}}),
            ),
            "should be less than or equal to 10000",
        ),
        (
            "cron-missing",
            rsip("Static", json!({"schedule": [{"window": "1h"}]})),
            "Required value",
        ),
        (
            "window",
            rsip("Static", json!({"schedule": [{"cron": "@daily", "window": "2 hours"}]})),
            "should match",
        ),
        (
            "secret-no-name",
            rsip("GitHubTag", json!({"url": "https://github.com/o/r", "secretRef": {}})),
            "Required value",
        ),
    ];
    let stored = check("ResourceSetInputProvider", "rsip-cel", &accepted, &refused).await;
    // Defaults the apiserver fills in.
    assert_eq!(stored[1]["spec"]["filter"]["limit"], 10);
    let gitea = &stored[3]["spec"];
    assert_eq!(gitea["filter"]["limit"], 100);
    let schedule = &stored[1]["spec"]["schedule"][0];
    assert_eq!(schedule["timeZone"], "Europe/Berlin");
    assert_eq!(stored[0]["spec"]["defaultValues"]["replicas"], 2);
}

#[tokio::test]
async fn schedule_defaults_and_names() {
    let accepted = [("defaults", rsip("Static", json!({"schedule": [{"cron": "@every 1h"}]})))];
    let stored = check("ResourceSetInputProvider", "rsip-defaults", &accepted, &[]).await;
    assert_eq!(
        stored[0]["spec"]["schedule"][0],
        json!({"cron": "@every 1h", "timeZone": "UTC", "window": "0s"})
    );

    let client = client().await;
    let api: Api<CustomResourceDefinition> = Api::all(client);
    for (name, short, category) in [
        ("resourcesets.fluxcd.controlplane.io", "rset", "fluxcd-appliers"),
        (
            "resourcesetinputproviders.fluxcd.controlplane.io",
            "rsip",
            "fluxcd-sources",
        ),
    ] {
        let crd = api.get(name).await.expect("CRD exists");
        let names = &crd.spec.names;
        assert_eq!(names.short_names.as_deref(), Some(&[short.to_owned()][..]), "{name}");
        let categories = names.categories.clone().unwrap_or_default();
        for expected in ["all", "fluxcd", category] {
            assert!(categories.iter().any(|c| c == expected), "{name}: {categories:?}");
        }
        assert_eq!(crd.spec.scope, "Namespaced");
        let version = &crd.spec.versions[0];
        assert!(
            version.subresources.as_ref().and_then(|s| s.status.as_ref()).is_some(),
            "{name}"
        );
        let columns: Vec<&str> = version
            .additional_printer_columns
            .iter()
            .flatten()
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(columns, ["Age", "Ready", "Status"], "{name}");
    }
}
