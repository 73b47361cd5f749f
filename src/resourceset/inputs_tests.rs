use serde_json::{Value, json};

use super::*;

fn sets(values: Value) -> Vec<InputSet> {
    match values {
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::Object(m) => m,
                other => panic!("not an object: {other}"),
            })
            .collect(),
        other => panic!("not a list: {other}"),
    }
}

fn own(name: &str, values: Value) -> Source {
    Source {
        kind: SourceKind::ResourceSet,
        name: name.to_owned(),
        namespace: "apps".to_owned(),
        sets: sets(values),
    }
}

fn provider(name: &str, values: Value) -> Source {
    Source {
        kind: SourceKind::ResourceSetInputProvider,
        name: name.to_owned(),
        namespace: "apps".to_owned(),
        sets: sets(values),
    }
}

const PERMUTE: Strategy = Strategy::Permute {
    include_empty_providers: false,
};
const PERMUTE_EMPTY: Strategy = Strategy::Permute {
    include_empty_providers: true,
};

fn values(inputs: Inputs) -> Vec<InputSet> {
    match inputs {
        Inputs::Sets(sets) => sets,
        Inputs::Nil => panic!("nil inputs"),
    }
}

#[test]
fn no_sets_and_no_inputs_from_is_nil() {
    let got = compute(&own("apps", json!([])), &[], false, Strategy::Flatten).unwrap();
    assert_eq!(got, Inputs::Nil);
    let got = compute(&own("apps", json!([])), &[], false, PERMUTE).unwrap();
    assert_eq!(got, Inputs::Nil);
    // inputsFrom that finds nothing: nothing to build, not nil.
    let got = compute(&own("apps", json!([])), &[], true, Strategy::Flatten).unwrap();
    assert_eq!(got, Inputs::Sets(vec![]));
}

#[test]
fn flatten_stamps_provider_and_keeps_order() {
    let set = own("apps", json!([{"t": "a", "provider": "mine"}, {"t": "b"}]));
    let providers = [provider("p1", json!([{"id": "7", "t": "c"}]))];
    let got = values(compute(&set, &providers, true, Strategy::Flatten).unwrap());
    let ts: Vec<&Value> = got.iter().map(|s| &s["t"]).collect();
    assert_eq!(ts, [&json!("a"), &json!("b"), &json!("c")]);
    assert_eq!(
        got[0]["provider"],
        json!({"apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSet", "name": "apps", "namespace": "apps"})
    );
    assert_eq!(got[2]["provider"]["kind"], "ResourceSetInputProvider");
    assert_eq!(got[2]["provider"]["name"], "p1");
    // Inline sets get no id under Flatten; provider sets keep theirs.
    assert!(!got[0].contains_key("id"));
    assert_eq!(got[2]["id"], "7");
}

#[test]
fn permute_nests_under_keys_with_the_spec_ids() {
    // Scenario 9: ResourceSet `apps` (2 sets) and provider `git-tags` (1 set).
    let set = own("apps", json!([{"n": 1}, {"n": 2}]));
    let providers = [provider("git-tags", json!([{"id": "1", "tag": "v1"}]))];
    let got = values(compute(&set, &providers, true, PERMUTE).unwrap());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["id"], "937821712");
    assert_eq!(got[1]["id"], "938608145");
    assert_eq!(got[1]["apps"]["n"], 2);
    assert_eq!(got[1]["git_tags"]["tag"], "v1");
    assert_eq!(got[1]["git_tags"]["provider"]["name"], "git-tags");
    assert_eq!(got[0]["apps"]["provider"]["kind"], "ResourceSet");
    let keys: Vec<&String> = got[0].keys().collect();
    assert_eq!(keys, ["apps", "git_tags", "id"]);
}

#[test]
fn permute_last_source_varies_fastest() {
    let set = own("a", json!([{"x": 0}, {"x": 1}]));
    let providers = [provider("b", json!([{"y": 0}, {"y": 1}, {"y": 2}]))];
    let got = values(compute(&set, &providers, true, PERMUTE).unwrap());
    let pairs: Vec<(i64, i64)> = got
        .iter()
        .map(|s| (s["a"]["x"].as_i64().unwrap(), s["b"]["y"].as_i64().unwrap()))
        .collect();
    assert_eq!(pairs, [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
    assert_eq!(got[4]["id"], combination_id([("a", 1), ("b", 1)]));
}

#[test]
fn permute_leaves_out_empty_providers_unless_asked() {
    let set = own("apps", json!([{"n": 1}, {"n": 2}]));
    let providers = [
        provider("empty", json!([])),
        provider("git-tags", json!([{"tag": "v1"}])),
    ];
    let got = values(compute(&set, &providers, true, PERMUTE).unwrap());
    // The empty provider is out of the product and out of the id.
    assert_eq!(got[1]["id"], "938608145");
    assert!(!got[0].contains_key("empty"));
    let got = values(compute(&set, &providers, true, PERMUTE_EMPTY).unwrap());
    assert!(got.is_empty());
}

#[test]
fn permute_without_inline_sets_ignores_the_set_itself() {
    // Upstream counts the set as an empty provider here and builds nothing (§15 fix).
    let set = own("apps", json!([]));
    let providers = [provider("p", json!([{"a": 1}, {"a": 2}]))];
    let got = values(compute(&set, &providers, true, PERMUTE_EMPTY).unwrap());
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["id"], combination_id([("p", 0)]));
    assert!(!got[0].contains_key("apps"));
}

#[test]
fn permute_key_collisions_fail() {
    let set = own("apps", json!([{"n": 1}]));
    let twins = [
        provider("app-a", json!([{"a": 1}])),
        provider("app_a", json!([{"a": 2}])),
    ];
    let err = compute(&set, &twins, true, PERMUTE).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Permute key \"app_a\" of ResourceSetInputProvider/app_a collides with ResourceSetInputProvider/app-a"
    );
    let namesake = [provider("apps", json!([{"a": 1}]))];
    let err = compute(&set, &namesake, true, PERMUTE).unwrap_err();
    assert!(matches!(err, InputsError::KeyCollision { .. }), "{err}");
    let id = [provider("ID", json!([{"a": 1}]))];
    let err = compute(&set, &id, true, PERMUTE).unwrap_err();
    assert!(err.to_string().contains("the permutation id"), "{err}");
    let bad = [provider("--", json!([{"a": 1}]))];
    assert!(matches!(
        compute(&set, &bad, true, PERMUTE),
        Err(InputsError::EmptyKey(_))
    ));
}

#[test]
fn permute_caps_the_product() {
    let hundred: Vec<Value> = (0..100).map(|i| json!({"i": i})).collect();
    let one_more: Vec<Value> = (0..101).map(|i| json!({"i": i})).collect();
    let set = own("a", Value::Array(hundred.clone()));
    let ok = [provider("b", Value::Array(hundred))];
    assert_eq!(compute(&set, &ok, true, PERMUTE).unwrap().len(), 10_000);
    let over = [provider("b", Value::Array(one_more))];
    let err = compute(&set, &over, true, PERMUTE).unwrap_err();
    assert_eq!(err.to_string(), "10100 input permutations exceed the limit of 10000");
}

#[test]
fn providers_merge_by_identity_and_sort() {
    let merged = merge_providers(vec![
        provider("b", json!([])),
        provider("a", json!([{"x": 1}])),
        provider("b", json!([{"dup": true}])),
    ]);
    let names: Vec<&str> = merged.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
}

#[test]
fn strategy_from_spec() {
    assert_eq!(Strategy::from_spec(None), Strategy::Flatten);
    let spec = InputStrategy {
        name: InputStrategyName::Permute,
        include_empty_providers: true,
    };
    assert_eq!(Strategy::from_spec(Some(&spec)), PERMUTE_EMPTY);
}
