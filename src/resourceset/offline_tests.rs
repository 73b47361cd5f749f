use super::*;

const SET: &str = r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: apps
  namespace: team
spec:
  inputs:
    - tenant: a
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: cm-<< inputs.tenant >>
        namespace: team
      data:
        from: << inputs.provider.kind >>
"#;

const FROM_PROVIDER: &str = r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSet
metadata:
  name: apps
  namespace: team
spec:
  inputsFrom:
    - apiVersion: fluxcd.controlplane.io/v1
      kind: ResourceSetInputProvider
      selector:
        matchLabels:
          team: a
  resources:
    - apiVersion: v1
      kind: ConfigMap
      metadata:
        name: cm-<< inputs.tenant >>-<< inputs.id >>
        namespace: team
"#;

fn names(built: &Build) -> Vec<String> {
    built
        .objects()
        .map(|o| o["metadata"]["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_set_alone_renders_its_inline_inputs() {
    let built = build_offline(SET, Offline::default()).expect("builds");
    assert_eq!(names(&built), ["cm-a"]);
    let first = built.objects().next().expect("one object");
    assert_eq!(first["data"]["from"], "ResourceSet");
    assert_eq!(
        first["metadata"]["labels"]["resourceset.fluxcd.controlplane.io/name"],
        "apps"
    );
}

#[test]
fn an_inputs_file_stands_for_every_input() {
    let inputs = "- tenant: b\n- tenant: c\n";
    let from = Offline {
        inputs: Some(inputs),
        providers: None,
    };
    assert_eq!(names(&build_offline(SET, from).expect("builds")), ["cm-b", "cm-c"]);
    let from = Offline {
        inputs: Some("tenant: b\n"),
        providers: None,
    };
    let error = build_offline(SET, from).unwrap_err().to_string();
    assert!(
        error.starts_with("--inputs-from: expected a list of input sets"),
        "{error}"
    );
}

#[test]
fn static_providers_export_as_in_the_operator() {
    let providers = r#"
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: p1, namespace: team, labels: {team: a}}
spec: {type: Static, defaultValues: {tenant: e}}
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: p2, namespace: team, uid: abc, labels: {team: a}}
spec: {type: Static, defaultValues: {tenant: f}}
---
apiVersion: fluxcd.controlplane.io/v1
kind: ResourceSetInputProvider
metadata: {name: p3, namespace: team, labels: {team: b}}
spec: {type: Static, defaultValues: {tenant: g}}
"#;
    let from = Offline {
        inputs: None,
        providers: Some(providers),
    };
    let built = build_offline(FROM_PROVIDER, from).expect("builds");
    // The ids: Adler-32 of the name without a UID (as upstream's CLI), of the UID with one.
    assert_eq!(names(&built), ["cm-e-18022562", "cm-f-38600999"]);
}

#[test]
fn mistakes_are_one_line_naming_what_is_wrong() {
    let error = build_offline(FROM_PROVIDER, Offline::default()).unwrap_err();
    assert!(matches!(error, OfflineError::NeedsInputs), "{error}");
    let github = "apiVersion: fluxcd.controlplane.io/v1\nkind: ResourceSetInputProvider\n\
                  metadata: {name: gh}\nspec: {type: GitHubBranch, url: 'https://github.com/o/r'}\n";
    let from = Offline {
        inputs: None,
        providers: Some(github),
    };
    let error = build_offline(FROM_PROVIDER, from).unwrap_err().to_string();
    assert_eq!(
        error,
        "--inputs-from-provider: provider gh is of type GitHubBranch: only Static providers build offline"
    );
    let error = build_offline("kind: FluxInstance\n", Offline::default())
        .unwrap_err()
        .to_string();
    assert!(error.starts_with("the ResourceSet: apiVersion/kind"), "{error}");
    let error = build_offline("a: [", Offline::default()).unwrap_err().to_string();
    assert!(error.starts_with("the ResourceSet: invalid YAML"), "{error}");
}
