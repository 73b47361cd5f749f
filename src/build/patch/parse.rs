//! Telling a strategic-merge patch from a JSON 6902 patch, as kustomize does: the text is tried
//! as both, and exactly one reading must succeed.
//!
//! The two readings use different YAML dialects because kustomize does: strategic-merge patches
//! go through go-yaml v3 (YAML 1.2 booleans: `yes` and `on` stay strings), JSON 6902 patches
//! through sigs.k8s.io/yaml's YAML-to-JSON conversion (go-yaml v2: `yes` and `on` are `true`).
//! Both read `0777` as an octal integer.

use serde_json::Value;

use super::json6902::Operation;

/// Why a patch's text is no patch, or not one that fits its target.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the patch is empty")]
    Empty,
    #[error(
        "the patch is ambiguous: it reads both as strategic-merge objects and as JSON 6902 \
         operations (an empty list or a null document)"
    )]
    Ambiguous,
    /// Both readings failed; each says why.
    #[error(
        "the patch is neither a strategic-merge patch (a YAML object with kind and metadata.name: {objects}) \
         nor a JSON 6902 patch (a list of operations: {operations})"
    )]
    Neither {
        objects: ObjectsError,
        operations: OperationsError,
    },
    #[error("the patch holds {count} objects; a patch with a target must hold exactly one")]
    SeveralObjects { count: usize },
    #[error("a JSON 6902 patch needs a target")]
    NoTarget,
}

/// Why the text is not a strategic-merge patch.
#[derive(Debug, thiserror::Error)]
pub enum ObjectsError {
    #[error("invalid YAML: {0}")]
    Yaml(#[source] Box<serde_saphyr::Error>),
    #[error("a document is {found}, not an object")]
    NotAnObject { found: &'static str },
    #[error("an object has no kind")]
    NoKind,
    #[error("the {kind} object has no metadata.name")]
    NoName { kind: String },
    #[error("the items of the {kind} are {found}, not a list")]
    ItemsNotAList { kind: String, found: &'static str },
}

/// Why the text is not a list of JSON 6902 operations.
#[derive(Debug, thiserror::Error)]
pub enum OperationsError {
    #[error("invalid JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("invalid YAML: {0}")]
    Yaml(#[source] Box<serde_saphyr::Error>),
    #[error("operation {index} is {found}, not an object")]
    NotAnObject { index: usize, found: &'static str },
    #[error("it is {found}, not a list of operations")]
    NotAList { found: &'static str },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PatchBody {
    /// One or more objects, each merged into its target.
    Strategic(Vec<Value>),
    /// Operations applied to each target in order.
    Json6902(Vec<Operation>),
}

fn options(yaml_1_2_booleans: bool) -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.strict_booleans = yaml_1_2_booleans;
    options.legacy_octal_numbers = true;
    options
}

/// kustomize's `IsNilOrEmpty`: such documents are skipped.
fn is_empty_document(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn validate_object(doc: &Value) -> Result<(), ObjectsError> {
    let Value::Object(map) = doc else {
        return Err(ObjectsError::NotAnObject { found: describe(doc) });
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind.is_empty() {
        return Err(ObjectsError::NoKind);
    }
    let name = map
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() && !kind.ends_with("List") {
        return Err(ObjectsError::NoName { kind: kind.to_string() });
    }
    Ok(())
}

/// The strategic-merge reading: every non-empty document an object with a kind and a name;
/// `...List` objects stand for their items, which are queued after the other documents.
fn strategic(text: &str) -> Result<Vec<Value>, ObjectsError> {
    let docs: Vec<Option<Value>> =
        serde_saphyr::from_multiple_with_options(text, options(true)).map_err(|e| ObjectsError::Yaml(Box::new(e)))?;
    let mut queue: std::collections::VecDeque<Value> =
        docs.into_iter().flatten().filter(|d| !is_empty_document(d)).collect();
    let mut objects = Vec::new();
    while let Some(doc) = queue.pop_front() {
        validate_object(&doc)?;
        let kind = doc.get("kind").and_then(Value::as_str).unwrap_or_default();
        if !kind.ends_with("List") {
            objects.push(doc);
            continue;
        }
        match doc.get("items") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for item in items {
                    validate_object(item)?;
                    queue.push_back(item.clone());
                }
            }
            Some(other) => {
                return Err(ObjectsError::ItemsNotAList {
                    kind: kind.to_string(),
                    found: describe(other),
                });
            }
        }
    }
    Ok(objects)
}

/// The JSON 6902 reading: a JSON list (text starting with `[`) or a YAML list of objects.
/// `None` stands for a patch that decodes to nothing (`null`), which the library accepts.
fn json6902(text: &str) -> Result<Option<Vec<Operation>>, OperationsError> {
    let value: Value = if text.starts_with('[') {
        serde_json::from_str(text).map_err(OperationsError::Json)?
    } else {
        // Only the first document counts, as with go-yaml's Unmarshal.
        let docs: Vec<Option<Value>> = serde_saphyr::from_multiple_with_options(text, options(false))
            .map_err(|e| OperationsError::Yaml(Box::new(e)))?;
        docs.into_iter().next().flatten().unwrap_or(Value::Null)
    };
    match value {
        Value::Null => Ok(None),
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::Object(op) => Ok(op),
                Value::Null => Ok(Operation::new()),
                other => Err(OperationsError::NotAnObject {
                    index: i,
                    found: describe(&other),
                }),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        other => Err(OperationsError::NotAList {
            found: describe(&other),
        }),
    }
}

/// Reads a patch. `has_target` matters because kustomize refuses a target on several objects
/// and requires one for operations.
pub(crate) fn parse(text: &str, has_target: bool) -> Result<PatchBody, ParseError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseError::Empty);
    }
    let body = match (strategic(text), json6902(text)) {
        (Ok(_), Ok(_)) => return Err(ParseError::Ambiguous),
        (Err(objects), Err(operations)) => return Err(ParseError::Neither { objects, operations }),
        // An object-less strategic reading (say an empty `List`) ends up applied as an empty
        // operation list, as in kustomize.
        (Ok(objects), Err(_)) if objects.is_empty() => PatchBody::Json6902(Vec::new()),
        (Ok(objects), Err(_)) => PatchBody::Strategic(objects),
        (Err(_), Ok(ops)) => PatchBody::Json6902(ops.unwrap_or_default()),
    };
    match &body {
        PatchBody::Strategic(objects) if has_target && objects.len() > 1 => {
            Err(ParseError::SeveralObjects { count: objects.len() })
        }
        PatchBody::Json6902(_) if !has_target => Err(ParseError::NoTarget),
        _ => Ok(body),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn strategic_merge_patch() {
        let body = parse(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\nspec:\n  replicas: 2\n",
            true,
        )
        .expect("parses");
        assert_eq!(
            body,
            PatchBody::Strategic(vec![
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": 2}})
            ])
        );
    }

    #[test]
    fn operations_as_yaml_and_json() {
        let yaml = parse("- op: add\n  path: /spec/x\n  value: yes\n", true).expect("parses");
        let json = parse(r#"[{"op": "add", "path": "/spec/x", "value": true}]"#, true).expect("parses");
        assert_eq!(yaml, json, "YAML 1.1 booleans in operations");
    }

    #[test]
    fn yaml_1_2_booleans_in_objects() {
        let PatchBody::Strategic(objects) = parse(
            "kind: ConfigMap\nmetadata: {name: x}\ndata: {a: yes, b: on, c: y, d: 017}\n",
            false,
        )
        .expect("parses") else {
            panic!("not strategic")
        };
        assert_eq!(objects[0]["data"], json!({"a": "yes", "b": "on", "c": "y", "d": 15}));
    }

    #[test]
    fn lists_stand_for_their_items() {
        let body = parse(
            "kind: List\nitems:\n- {kind: A, metadata: {name: a}}\n---\nkind: B\nmetadata: {name: b}\n",
            false,
        )
        .expect("parses");
        let PatchBody::Strategic(objects) = body else {
            panic!("not strategic")
        };
        assert_eq!(
            objects
                .iter()
                .map(|o| o["kind"].as_str().unwrap_or(""))
                .collect::<Vec<_>>(),
            ["B", "A"]
        );
    }

    #[test]
    fn neither_object_nor_operations() {
        for bad in [
            "just a string",
            "spec:\n  replicas: 2\n",
            "kind: Deployment\nspec: {}\n",
            "- a\n- b\n",
            "[1, 2]",
            "42",
        ] {
            let e = parse(bad, true).expect_err(bad);
            assert!(
                e.to_string().contains("neither a strategic-merge patch"),
                "{bad:?}: {e}"
            );
        }
    }

    #[test]
    fn ambiguous_or_empty() {
        let ambiguous = parse("[]", true).expect_err("ambiguous");
        assert!(ambiguous.to_string().contains("ambiguous"));
        assert!(parse("  \n", true).expect_err("empty").to_string().contains("empty"));
    }

    #[test]
    fn target_rules() {
        let two = "kind: A\nmetadata: {name: a}\n---\nkind: B\nmetadata: {name: b}\n";
        assert!(parse(two, false).is_ok());
        let two_objects = parse(two, true).expect_err("two objects");
        assert!(two_objects.to_string().contains("exactly one"));
        let no_target = parse("- {op: remove, path: /a}", false).expect_err("no target");
        assert!(no_target.to_string().contains("needs a target"));
    }
}
