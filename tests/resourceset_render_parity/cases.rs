//! The cases of the `build resourceset` differential: the examples as shipped, and sets
//! that exercise inputs (inline, a file, Static providers by name and selector, Flatten and
//! Permute), templates, steps, commonMetadata, dedup and refusals.

use std::path::Path;

pub struct Case {
    pub name: String,
    pub set: String,
    pub inputs: Option<String>,
    pub providers: Option<String>,
}

/// How many cases both binaries must refuse (the last ones of [`inline`]).
pub const REFUSED_BY_BOTH: usize = 3;

fn example(file: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/resourcesets")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn case(name: &str, set: &str, inputs: Option<&str>, providers: Option<&str>) -> Case {
    Case {
        name: name.to_owned(),
        set: set.to_owned(),
        inputs: inputs.map(str::to_owned),
        providers: providers.map(str::to_owned),
    }
}

pub fn all() -> Vec<Case> {
    let mut cases = vec![
        case("example per-tenant", &example("per-tenant.yaml"), None, None),
        case(
            "example pr-preview",
            &example("pr-preview.yaml"),
            Some(&example("pr-preview-inputs.yaml")),
            None,
        ),
        case(
            "example hub-to-spoke",
            &example("hub-to-spoke.yaml"),
            None,
            Some(&example("hub-to-spoke-clusters.yaml")),
        ),
    ];
    cases.extend(inline());
    cases
}

const HEAD: &str =
    "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSet\nmetadata:\n  name: apps\n  namespace: team\nspec:\n";

fn set(spec: &str) -> String {
    format!("{HEAD}{spec}")
}

const PROVIDERS: &str = r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: git-tags, namespace: team, labels: {kind: tags}}
spec: {type: Static, defaultValues: {tag: v1.2.0, sha: abc123}}
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: regions, namespace: team, labels: {kind: place}}
spec: {type: Static, defaultValues: {region: eu-de-1, zones: [a, b]}}
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: elsewhere, namespace: other, labels: {kind: tags}}
spec: {type: Static, defaultValues: {tag: v9.9.9}}
"#;

fn inline() -> Vec<Case> {
    vec![
        case(
            "inline inputs",
            &set(r#"  inputs:
    - {tenant: a, replicas: 2, enabled: true}
    - {tenant: b, replicas: 3, enabled: false}
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: cm-<< inputs.tenant >>
        namespace: team
      data:
        replicas: "<< inputs.replicas >>"
        enabled: "<< inputs.enabled >>"
        source: << inputs.provider.kind >>/<< inputs.provider.name >>
"#),
            None,
            None,
        ),
        case(
            "inputs file",
            &set(r#"  inputs:
    - {tenant: ignored}
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: "cm-<< inputs.tenant >>", namespace: team}
      data: {nested: '<< inputs.app | toJson >>'}
"#),
            Some("- tenant: x\n  app: {name: web, ports: [80, 443]}\n- tenant: y\n  app: {name: api}\n"),
            None,
        ),
        case(
            "providers by name and selector",
            &set(r#"  inputsFrom:
    - {apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSetInputProvider, name: regions}
    - apiVersion: fluxcd.controlplane.io/v1
      kind: ResourceSetInputProvider
      selector: {matchLabels: {kind: tags}}
  resourcesTemplate: |
    <<- range $i, $p := list inputs >>
    ---
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: << inputs.provider.name >>-<< inputs.id >>
      namespace: team
    data:
      all: << toJson inputs | quote >>
    <<- end >>
"#),
            None,
            Some(PROVIDERS),
        ),
        case(
            "permute",
            &set(r#"  inputStrategy: {name: Permute}
  inputs:
    - {app: web}
    - {app: api}
  inputsFrom:
    - apiVersion: fluxcd.controlplane.io/v1
      kind: ResourceSetInputProvider
      selector: {matchExpressions: [{key: kind, operator: In, values: [tags, place]}]}
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: << inputs.apps.app >>-<< inputs.git_tags.tag | replace "." "-" >>-<< inputs.id >>
        namespace: team
      data:
        region: << inputs.regions.region >>
        zones: '<< join "," inputs.regions.zones >>'
"#),
            None,
            Some(PROVIDERS),
        ),
        case(
            "template functions",
            &set(r#"  inputs:
    - {name: "Web App (Prod)", env: prod, count: 3, price: 1.5, tags: [b, a, c]}
  resourcesTemplate: |
    apiVersion: v1
    kind: ConfigMap
    metadata:
      name: << inputs.name | slugify >>
      namespace: team
      annotations:
        sha: << inputs.env | sha256sum | trunc 12 >>
        b64: << inputs.env | b64enc >>
    data:
      upper: << upper inputs.env >>
      default: << get inputs "missing" | default "fallback" >>
      ternary: << ternary "yes" "no" (eq inputs.env "prod") >>
      sorted: '<< sortAlpha inputs.tags | join "-" >>'
      math: "<< add inputs.count 4 >> << mul inputs.price 2 >> << inputs.count | toString >>"
      yaml: |
        << dict "a" 1 "b" (list 1 2) | toYaml | nindent 4 >>
      printf: << printf "%05d|%s|%v" inputs.count inputs.env inputs.tags | quote >>
"#),
            None,
            None,
        ),
        case(
            "steps and common metadata",
            &set(r#"  commonMetadata:
    labels: {team: platform, app: overridden}
    annotations: {owner: me}
  inputs:
    - {step: one}
  steps:
    - name: crds
      resources:
        - apiVersion: v1
          kind: ConfigMap
          metadata: {name: first-<< inputs.step >>, namespace: team, labels: {app: mine}}
    - name: apps
      timeout: 1m
      resourcesTemplate: |
        apiVersion: v1
        kind: Secret
        metadata:
          name: second-<< inputs.step >>
          namespace: team
        stringData:
          key: value
"#),
            None,
            None,
        ),
        case(
            "refused: missing key",
            &set(r#"  inputs:
    - {a: 1}
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata: {name: "cm-<< inputs.missing >>", namespace: team}
"#),
            None,
            None,
        ),
        case(
            "refused: one object in two steps",
            &set(r#"  steps:
    - name: a
      resources:
        - {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: team}}
    - name: b
      resources:
        - {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: team}}
"#),
            None,
            None,
        ),
        case(
            "refused: inputsFrom without inputs",
            &set(r#"  inputsFrom:
    - {apiVersion: fluxcd.controlplane.io/v1, kind: ResourceSetInputProvider, name: regions}
  resources:
    - {apiVersion: v1, kind: ConfigMap, metadata: {name: x, namespace: team}}
"#),
            None,
            None,
        ),
    ]
}
