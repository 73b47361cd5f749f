//! Realistic ResourceSets through the pure pipeline (inputs, then build): the acceptance
//! scenarios of SPEC-resourceset §14 that are questions of the build alone.

use flux_operator_rs::api::{ResourceSet, ResourceSetInputProvider};
use flux_operator_rs::resourceset::build::{Build, build, revision};
use flux_operator_rs::resourceset::inputs::{self, Inputs, Source, SourceKind, Strategy};
use flux_operator_rs::resourceset::template::ids::adler32;
use serde_json::{Value, json};

fn parse_set(yaml: &str) -> ResourceSet {
    flux_operator_rs::yaml::from_str(yaml).expect("a ResourceSet")
}

/// A provider as the controller would see it: its status' exported inputs.
fn provider(name: &str, exported: Value) -> Source {
    let Value::Array(items) = exported else {
        panic!("not a list")
    };
    Source {
        kind: SourceKind::ResourceSetInputProvider,
        name: name.to_owned(),
        namespace: "apps".to_owned(),
        sets: items
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => m,
                other => panic!("not an object: {other}"),
            })
            .collect(),
    }
}

fn inputs_of(set: &ResourceSet, providers: Vec<Source>) -> Result<Inputs, inputs::InputsError> {
    let own = Source {
        kind: SourceKind::ResourceSet,
        name: set.metadata.name.clone().unwrap_or_default(),
        namespace: set.metadata.namespace.clone().unwrap_or_default(),
        sets: set.spec.inputs.clone(),
    };
    let strategy = Strategy::from_spec(set.spec.input_strategy.as_ref());
    inputs::compute(
        &own,
        &inputs::merge_providers(providers),
        !set.spec.inputs_from.is_empty(),
        strategy,
    )
}

/// Inputs and build, as the reconciler runs them; errors as the Stalled message reads.
fn run(yaml: &str, providers: Vec<Source>) -> Result<Build, String> {
    let set = parse_set(yaml);
    let inputs = inputs_of(&set, providers).map_err(|e| format!("failed to compute inputs: {e}"))?;
    let name = set.metadata.name.as_deref().unwrap_or_default();
    let namespace = set.metadata.namespace.as_deref().unwrap_or_default();
    build(name, namespace, &set.spec, &inputs).map_err(|e| format!("build failed: {e}"))
}

fn names(built: &Build) -> Vec<String> {
    built
        .objects()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn scenario_1_two_widgets_with_integers_and_owner_labels() {
    let built = run(
        r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: widgets, namespace: apps}
spec:
  inputs:
    - {t: a, n: 2}
    - {t: b, n: 3}
  resources:
    - apiVersion: example.com/v1
      kind: Widget
      metadata:
        name: w-<< inputs.t >>
        namespace: apps
      spec:
        n: << inputs.n | int >>
"#,
        vec![],
    )
    .unwrap();
    assert_eq!(names(&built), ["Widget/w-a", "Widget/w-b"]);
    let objects: Vec<&Value> = built.objects().collect();
    assert_eq!(objects[1]["spec"]["n"], json!(3));
    assert!(objects[1]["spec"]["n"].is_i64());
    for obj in &objects {
        assert_eq!(
            obj["metadata"]["labels"]["resourceset.fluxcd.controlplane.io/name"],
            "widgets"
        );
        assert_eq!(
            obj["metadata"]["labels"]["resourceset.fluxcd.controlplane.io/namespace"],
            "apps"
        );
    }
}

#[test]
fn scenario_2_a_missing_key_fails_and_get_default_does_not() {
    let set = |expr: &str| {
        format!(
            "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata: {{name: s, namespace: apps}}\nspec:\n  inputs: [{{t: a}}]\n  resources:\n    - apiVersion: v1\n      kind: ConfigMap\n      metadata: {{name: c, namespace: apps}}\n      data: {{v: '{expr}'}}\n"
        )
    };
    let message = run(&set("<< inputs.missing >>"), vec![]).unwrap_err();
    assert!(
        message.starts_with("build failed: resources[0] with input set #0: template:"),
        "{message}"
    );
    assert!(message.contains("map has no entry for key \"missing\""), "{message}");
    let built = run(&set(r#"<< get inputs "missing" | default "x" >>"#), vec![]).unwrap();
    assert_eq!(built.objects().next().unwrap()["data"]["v"], "x");
}

#[test]
fn scenario_3_one_object_for_two_inputs_and_the_disabled_drop() {
    let base = |annotation: &str| {
        format!(
            r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {{name: s, namespace: apps}}
spec:
  inputs: [{{t: a}}, {{t: b}}]
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: same
        namespace: apps
        annotations:
          fluxcd.controlplane.io/reconcile: {annotation}
      data:
        t: << inputs.t >>
"#
        )
    };
    let built = run(&base("enabled"), vec![]).unwrap();
    assert_eq!(names(&built), ["ConfigMap/same"]);
    let built = run(
        &base(r#"'<< if eq inputs.t "b" >>enabled<< else >>disabled<< end >>'"#),
        vec![],
    )
    .unwrap();
    assert_eq!(built.objects().next().unwrap()["data"]["t"], "b");
}

#[test]
fn scenario_4_template_and_resources_union_resources_win() {
    let built = run(
        r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: tenants, namespace: apps}
spec:
  inputs:
    - tenant: team1
      envs: [dev, prod]
      rbac: true
    - tenant: team2
      envs: [dev]
      rbac: false
  resources:
    - apiVersion: v1
      kind: Namespace
      metadata:
        name: << inputs.tenant >>-dev
        labels:
          from: resources
  resourcesTemplate: |
    <<- range $env := inputs.envs >>
    ---
    apiVersion: v1
    kind: Namespace
    metadata:
      name: << inputs.tenant >>-<< $env >>
      labels:
        from: template
    <<- end >>
    <<- if inputs.rbac >>
    ---
    apiVersion: rbac.authorization.k8s.io/v1
    kind: RoleBinding
    metadata:
      name: << inputs.tenant >>-admin
      namespace: << inputs.tenant >>-dev
    roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: admin}
    subjects: [{kind: Group, name: << inputs.tenant >>}]
    <<- end >>
"#,
        vec![],
    )
    .unwrap();
    assert_eq!(
        names(&built),
        [
            "Namespace/team1-dev",
            "Namespace/team2-dev",
            "Namespace/team1-prod",
            "RoleBinding/team1-admin"
        ]
    );
    let objects: Vec<&Value> = built.objects().collect();
    assert_eq!(objects[0]["metadata"]["labels"]["from"], "resources");
    assert_eq!(objects[2]["metadata"]["labels"]["from"], "template");
}

#[test]
fn scenario_6_common_metadata_overrides_template_keys() {
    let built = run(
        r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: s, namespace: apps}
spec:
  commonMetadata:
    labels: {team: platform}
    annotations: {owner: sre}
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: c
        namespace: apps
        labels: {team: app, keep: "yes"}
"#,
        vec![],
    )
    .unwrap();
    let obj = built.objects().next().unwrap();
    assert_eq!(obj["metadata"]["labels"]["team"], "platform");
    assert_eq!(obj["metadata"]["labels"]["keep"], "yes");
    assert_eq!(obj["metadata"]["annotations"]["owner"], "sre");
}

const BY_PROVIDER: &str = r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: s, namespace: apps}
spec:
  inputsFrom:
    - kind: ResourceSetInputProvider
      selector: {matchLabels: {team: a}}
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: c-<< inputs.id >>
        namespace: apps
      data:
        kind: << inputs.provider.kind >>
        env: << inputs.env >>
"#;

#[test]
fn scenario_7_and_8_provider_inputs() {
    // A Static provider exports its defaultValues plus the Adler-32 of its UID.
    let uid = "8d3f1c2e-0b7a-4c59-9a43-5f6e7d8c9b0a";
    let id = adler32(uid.as_bytes()).to_string();
    let built = run(
        BY_PROVIDER,
        vec![provider("static", json!([{"id": id, "env": "prod"}]))],
    )
    .unwrap();
    let obj = built.objects().next().unwrap();
    assert_eq!(obj["metadata"]["name"], format!("c-{id}"));
    assert_eq!(obj["data"]["kind"], "ResourceSetInputProvider");
    // A third provider adds objects; providers are sorted by name.
    let three = vec![
        provider("c", json!([{"id": "3", "env": "c"}])),
        provider("a", json!([{"id": "1", "env": "a"}])),
        provider("b", json!([{"id": "2", "env": "b"}])),
    ];
    assert_eq!(
        names(&run(BY_PROVIDER, three).unwrap()),
        ["ConfigMap/c-1", "ConfigMap/c-2", "ConfigMap/c-3"]
    );
    // When all export nothing, nothing is built: everything gets pruned.
    let empty = run(BY_PROVIDER, vec![provider("a", json!([])), provider("b", json!([]))]).unwrap();
    assert_eq!(empty.objects().count(), 0);
    assert_eq!(
        revision(empty.objects()),
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
}

fn permute_set(include_empty: bool) -> String {
    format!(
        r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {{name: apps, namespace: apps}}
spec:
  inputStrategy: {{name: Permute, includeEmptyProviders: {include_empty}}}
  inputs:
    - app: web
    - app: api
  inputsFrom:
    - name: git-tags
    - name: empty
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: << inputs.apps.app >>-<< inputs.git_tags.tag >>
        namespace: apps
      data:
        id: << inputs.id | quote >>
"#
    )
}

#[test]
fn scenario_9_permute() {
    let providers = || {
        vec![
            provider("git-tags", json!([{"id": "7", "tag": "v1"}])),
            provider("empty", json!([])),
        ]
    };
    let built = run(&permute_set(false), providers()).unwrap();
    assert_eq!(names(&built), ["ConfigMap/web-v1", "ConfigMap/api-v1"]);
    let ids: Vec<&Value> = built.objects().map(|o| &o["data"]["id"]).collect();
    assert_eq!(ids, [&json!("937821712"), &json!("938608145")]);
    let none = run(&permute_set(true), providers()).unwrap();
    assert_eq!(none.objects().count(), 0);
    // 10001 permutations: 73 × 137.
    let many: Vec<Value> = (0..137).map(|i| json!({"tag": format!("v{i}")})).collect();
    let set = permute_set(false).replace(
        "  inputs:\n    - app: web\n    - app: api\n",
        &format!(
            "  inputs: [{}]\n",
            (0..73).map(|i| format!("{{app: a{i}}}")).collect::<Vec<_>>().join(", ")
        ),
    );
    let message = run(&set, vec![provider("git-tags", Value::Array(many))]).unwrap_err();
    assert_eq!(
        message,
        "failed to compute inputs: 10001 input permutations exceed the limit of 10000"
    );
}

const STEPS: &str = r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: staged, namespace: apps}
spec:
  steps:
    - name: a
      timeout: 2m
      resources:
      - apiVersion: example.com/v1
        kind: Widget
        metadata: {name: w, namespace: apps}
    - name: b
      resourcesTemplate: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: CM_NAME
          namespace: apps
"#;

#[test]
fn scenarios_12_and_13_steps() {
    let built = run(&STEPS.replace("CM_NAME", "b"), vec![]).unwrap();
    let steps: Vec<(Option<&str>, usize)> = built
        .steps
        .iter()
        .map(|s| (s.name.as_deref(), s.objects.len()))
        .collect();
    assert_eq!(steps, [(Some("a"), 1), (Some("b"), 1)]);
    assert_eq!(built.steps[0].timeout.as_deref(), Some("2m"));
    let twice = STEPS
        .replace("CM_NAME", "b")
        .replace(
            "kind: Widget\n        metadata: {name: w",
            "kind: ConfigMap\n        metadata: {name: b",
        )
        .replace("example.com/v1", "v1");
    let message = run(&twice, vec![]).unwrap_err();
    assert_eq!(
        message,
        "build failed: duplicate resource ConfigMap/apps/b in step \"b\", already defined in step \"a\""
    );
}

#[test]
fn hub_to_spoke_one_kustomization_per_cluster() {
    let set = r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata: {name: spokes, namespace: flux-system}
spec:
  inputsFrom:
    - selector: {matchLabels: {cobaltcore.io/role: spoke}}
  resources:
    - apiVersion: kustomize.toolkit.fluxcd.io/v1
      kind: Kustomization
      metadata:
        name: spoke-<< inputs.cluster | slugify >>
        namespace: flux-system
      spec:
        interval: 10m
        path: ./clusters/<< inputs.cluster >>
        prune: true
        sourceRef: {kind: GitRepository, name: fleet}
        kubeConfig:
          secretRef: {name: << inputs.cluster >>-kubeconfig}
        postBuild:
          substitute: << inputs.vars | toYaml | nindent 12 >>
"#;
    let built = run(
        set,
        vec![
            provider(
                "eu-de-1",
                json!([{"id": "1", "cluster": "eu-de-1", "vars": {"region": "eu-de", "replicas": "3"}}]),
            ),
            provider(
                "eu-nl-1",
                json!([{"id": "2", "cluster": "eu-nl-1", "vars": {"region": "eu-nl", "replicas": "2"}}]),
            ),
        ],
    )
    .unwrap();
    assert_eq!(
        names(&built),
        ["Kustomization/spoke-eu-de-1", "Kustomization/spoke-eu-nl-1"]
    );
    let nl = built.objects().nth(1).unwrap();
    assert_eq!(
        nl["spec"]["postBuild"]["substitute"],
        json!({"region": "eu-nl", "replicas": "2"})
    );
    assert_eq!(nl["spec"]["kubeConfig"]["secretRef"]["name"], "eu-nl-1-kubeconfig");
    assert_eq!(nl["spec"]["prune"], true);
}

#[test]
fn providers_parse_and_types_round_trip() {
    let rsip: ResourceSetInputProvider = flux_operator_rs::yaml::from_str(
        r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: prs, namespace: apps}
spec:
  type: GitHubPullRequest
  url: https://github.com/org/app
  filter: {labels: [deploy/flux-preview]}
  defaultValues: {chart: app, replicas: 1}
"#,
    )
    .unwrap();
    assert_eq!(rsip.spec.filter.as_ref().map(|f| f.limit), Some(100));
    let back = serde_json::to_value(&rsip.spec).unwrap();
    assert_eq!(back["type"], "GitHubPullRequest");
    assert_eq!(back["defaultValues"]["replicas"], 1);
}
