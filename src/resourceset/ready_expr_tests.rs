use serde_json::json;

use super::*;

fn ready(expr: &str, object: Value) -> Result<bool, EvalError> {
    compile(expr).expect("compiles").evaluate(&object)
}

#[test]
fn the_spec_examples_evaluate_over_top_level_fields() {
    let gate = |value: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"gate": value}});
    assert_eq!(ready("data.gate == 'open'", gate("open")), Ok(true));
    assert_eq!(ready("data.gate == 'open'", gate("closed")), Ok(false));
    let status = json!({"metadata": {"generation": 2}, "status": {"observedGeneration": 2,
        "conditions": [{"type": "Ready", "status": "True"}]}});
    let expr = "status.observedGeneration == metadata.generation && \
                status.conditions.exists(c, c.type == 'Ready' && c.status == 'True')";
    assert_eq!(ready(expr, status), Ok(true));
}

#[test]
fn the_extensions_are_there() {
    let object = json!({"data": {"name": "Gate", "enc": "b3Blbg=="}});
    assert_eq!(ready("data.name.lowerAscii() == 'gate'", object.clone()), Ok(true));
    assert_eq!(
        ready("string(base64.decode(data.enc)) == 'open'", object.clone()),
        Ok(true)
    );
    assert_eq!(ready("math.greatest(1, 2) == 2", object.clone()), Ok(true));
    // Optional types: a field that may be absent, without a runtime error.
    assert_eq!(
        ready("data.?missing.orValue('none') == 'none'", object.clone()),
        Ok(true)
    );
    assert_eq!(ready("optional.of(1).hasValue()", object), Ok(true));
}

#[test]
fn the_sets_extension_compares_lists_as_sets() {
    let object = json!({"status": {"ready": ["a", "b", "b"], "counts": [1, 2]}});
    let cases = [
        ("sets.contains(status.ready, ['b', 'a'])", true),
        ("sets.contains(status.ready, [])", true),
        ("sets.contains(status.ready, ['c'])", false),
        ("sets.contains(status.counts, [1.0, 2u])", true),
        ("sets.equivalent(status.ready, ['b', 'a'])", true),
        ("sets.equivalent(status.ready, ['a'])", false),
        ("sets.intersects(status.ready, ['c', 'b'])", true),
        ("sets.intersects(status.ready, [])", false),
    ];
    for (expr, expected) in cases {
        assert_eq!(ready(expr, object.clone()), Ok(expected), "{expr}");
    }
    assert!(matches!(
        ready("sets.contains(status.ready, 'a')", object),
        Err(EvalError::Failed(_))
    ));
}

#[test]
fn runtime_errors_and_non_bools_are_not_ready() {
    let object = json!({"data": {}});
    assert!(matches!(
        ready("data.missing == 'x'", object.clone()),
        Err(EvalError::Failed(_))
    ));
    assert!(matches!(ready("'a'", object.clone()), Err(EvalError::NotBool(_))));
    assert!(matches!(ready("spec.x", object), Err(EvalError::Failed(_))));
}

#[test]
fn parse_errors_say_where_in_one_short_line() {
    let error = compile("data.gate ==").unwrap_err();
    let ExprError::Parse(message) = &error else {
        panic!("{error:?}")
    };
    assert!(!message.contains('\n') && message.len() < 120, "{message}");
}

#[test]
fn hostile_expressions_are_refused_without_a_crash() {
    let long = format!("data.a == '{}'", "x".repeat(MAX_LEN));
    assert_eq!(compile(&long).unwrap_err(), ExprError::TooLong(long.len()));
    let nested = "spec.a.all(x, spec.b.exists(y, x == y))";
    assert_eq!(compile(nested).unwrap_err(), ExprError::NestedComprehension);
    // The parser recurses per level: deep nesting is refused or parsed, never a crash.
    let parens = format!("{}true{}", "(".repeat(500), ")".repeat(500));
    assert!(compile(&parens).is_err());
    let nots = format!("{}true", "!".repeat(MAX_LEN - 4));
    assert_eq!(ready(&nots, json!({})), Ok(true));
    let sum = vec!["1"; MAX_LEN / 4].join("+");
    assert!(matches!(ready(&format!("{sum} > 0"), json!({})), Ok(true) | Err(_)));
}

#[test]
fn an_evaluation_past_the_deadline_is_not_ready() {
    let items: Vec<u32> = (0..3_000_000).collect();
    let object = json!({"spec": {"items": items}});
    let expr = "spec.items.all(x, string(x) + 'a' != 'b' && string(x).size() < 100)";
    assert_eq!(ready(expr, object), Err(EvalError::Deadline));
}
