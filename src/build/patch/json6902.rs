//! JSON 6902 operations with the semantics of the library kustomize applies them with
//! (evanphx/json-patch v4), which are looser than the RFC in places kustomize users rely on:
//! `replace` of a missing object key adds it, `copy` from a missing object key copies `null`,
//! negative array indices count from the end, `test` of a missing path against `null` passes,
//! and the path segment before the first `/` is ignored.

use serde_json::{Map, Value};

use crate::build::size::{COPY_LIMIT, human, json_size};
use crate::text::shorten;

/// One decoded operation: the JSON object as written, interpreted when applied.
pub(crate) type Operation = Map<String, Value>;

/// Why an operation failed, naming the operation by its place in the patch, `op` and `path`.
#[derive(Debug, thiserror::Error)]
#[error("operation {index} ({} {:?}): {failure}", shorten(op), shorten(path))]
pub struct OpError {
    pub index: usize,
    pub op: String,
    pub path: String,
    #[source]
    pub failure: OpFailure,
}

/// Why one operation does not fit the document. Keys and paths are as written, decoded.
#[derive(Debug, thiserror::Error)]
pub enum OpFailure {
    #[error("{:?} is not an array index", shorten(key))]
    NotAnIndex { key: String },
    #[error("array index {} is out of bounds", shorten(key))]
    IndexOutOfBounds { key: String },
    /// The parent of the last path segment is a scalar.
    #[error("not a container")]
    NotAContainer,
    #[error("no key {:?} to remove", shorten(key))]
    NoKey { key: String },
    #[error("path {:?} does not exist", shorten(path))]
    NoPath { path: String },
    #[error("operation has no {field:?} field")]
    MissingField { field: &'static str },
    #[error("operation's {field:?} field is not a string")]
    FieldNotAString { field: &'static str },
    #[error("the value replacing the whole object must be an object or a list")]
    WholeObjectNotAContainer,
    #[error("a test operation needs a value")]
    TestWithoutValue,
    /// A `test` operation found another value; both as JSON text.
    #[error("the value is {}, not {}", shorten(actual), shorten(expected))]
    TestFailed { actual: String, expected: String },
    #[error("unknown operation {:?}", shorten(op))]
    UnknownOperation { op: String },
    /// The copy operations copied more than [`COPY_LIMIT`] in all.
    #[error("the patch's copy operations copy more than {} into one object", human(COPY_LIMIT))]
    CopyLimit,
}

/// Decodes `~1` and `~0` in one left-to-right pass, so that `~01` is `~1` and not `/`.
fn decode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.peek() {
                Some('1') => {
                    chars.next();
                    out.push('/');
                    continue;
                }
                Some('0') => {
                    chars.next();
                    out.push('~');
                    continue;
                }
                _ => {}
            }
        }
        out.push(c);
    }
    out
}

/// Go's `strconv.Atoi`: optional sign, decimal digits, leading zeros allowed.
fn atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<i64>().ok()
}

/// Resolves an array index the way the library does: negative values count from the end,
/// down to `-len`.
fn resolve_index(key: &str, len: usize) -> Result<usize, OpFailure> {
    let idx = atoi(key).ok_or_else(|| not_an_index(key))?;
    let len = len as i64;
    let idx = if idx < 0 { idx + len } else { idx };
    if idx < 0 || idx >= len {
        return Err(out_of_bounds(key));
    }
    Ok(idx as usize)
}

fn not_an_index(key: &str) -> OpFailure {
    OpFailure::NotAnIndex { key: key.to_string() }
}

fn out_of_bounds(key: &str) -> OpFailure {
    OpFailure::IndexOutOfBounds { key: key.to_string() }
}

/// The container of the last path segment, and that segment decoded; `None` when a segment on
/// the way is missing or not a container.
fn find_parent<'a>(doc: &'a mut Value, path: &str) -> Option<(&'a mut Value, String)> {
    let segments: Vec<&str> = path.split('/').collect();
    if segments.len() < 2 {
        return None;
    }
    let mut current = doc;
    for part in &segments[1..segments.len() - 1] {
        let key = decode_segment(part);
        current = match current {
            Value::Object(map) => map.get_mut(&key)?,
            Value::Array(items) => {
                let idx = resolve_index(&key, items.len()).ok()?;
                &mut items[idx]
            }
            _ => return None,
        };
        if !matches!(current, Value::Object(_) | Value::Array(_)) {
            return None;
        }
    }
    Some((current, decode_segment(segments[segments.len() - 1])))
}

fn get(container: &Value, key: &str) -> Result<Option<Value>, OpFailure> {
    match container {
        Value::Object(map) => Ok(map.get(key).cloned()),
        Value::Array(items) => Ok(Some(items[resolve_index(key, items.len())?].clone())),
        _ => Err(OpFailure::NotAContainer),
    }
}

/// [`get`] for `copy`: counts the value's size into `copied` first, so that copying an
/// object into itself again and again stops at [`COPY_LIMIT`] instead of doubling it.
fn get_budgeted(container: &Value, key: &str, copied: &mut usize) -> Result<Option<Value>, OpFailure> {
    let found = match container {
        Value::Object(map) => map.get(key),
        Value::Array(items) => Some(&items[resolve_index(key, items.len())?]),
        _ => return Err(OpFailure::NotAContainer),
    };
    if let Some(value) = found {
        let left = COPY_LIMIT - *copied;
        *copied += json_size(value, left).ok_or(OpFailure::CopyLimit)?;
    }
    Ok(found.cloned())
}

fn add(container: &mut Value, key: &str, value: Value) -> Result<(), OpFailure> {
    match container {
        Value::Object(map) => {
            map.insert(key.to_string(), value);
            Ok(())
        }
        Value::Array(items) => {
            if key == "-" {
                items.push(value);
                return Ok(());
            }
            let idx = atoi(key).ok_or_else(|| not_an_index(key))?;
            let len = items.len() as i64 + 1;
            if idx >= len || idx < -len {
                return Err(out_of_bounds(key));
            }
            let idx = if idx < 0 { idx + len } else { idx };
            items.insert(idx as usize, value);
            Ok(())
        }
        _ => Err(OpFailure::NotAContainer),
    }
}

fn remove(container: &mut Value, key: &str) -> Result<Value, OpFailure> {
    match container {
        Value::Object(map) => map.remove(key).ok_or_else(|| OpFailure::NoKey { key: key.to_string() }),
        Value::Array(items) => {
            let idx = resolve_index(key, items.len())?;
            Ok(items.remove(idx))
        }
        _ => Err(OpFailure::NotAContainer),
    }
}

fn string_field(op: &Operation, field: &'static str) -> Result<String, OpFailure> {
    match op.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Null) | None => Err(OpFailure::MissingField { field }),
        Some(_) => Err(OpFailure::FieldNotAString { field }),
    }
}

/// The operation's value; a missing value counts as `null`, as in the library.
fn value_of(op: &Operation) -> Value {
    op.get("value").cloned().unwrap_or(Value::Null)
}

fn missing(path: &str) -> OpFailure {
    OpFailure::NoPath { path: path.to_string() }
}

fn apply_one(doc: &mut Value, op: &Operation, kind: &str, copied: &mut usize) -> Result<(), OpFailure> {
    if kind != "copy" {
        return apply_plain(doc, op, kind);
    }
    let from = string_field(op, "from")?;
    let (parent, key) = find_parent(doc, &from).ok_or_else(|| missing(&from))?;
    let value = get_budgeted(parent, &key, copied)?.unwrap_or(Value::Null);
    let path = string_field(op, "path")?;
    let (parent, key) = find_parent(doc, &path).ok_or_else(|| missing(&path))?;
    add(parent, &key, value)
}

/// Every operation but `copy`, which [`apply_one`] budgets.
fn apply_plain(doc: &mut Value, op: &Operation, kind: &str) -> Result<(), OpFailure> {
    match kind {
        "add" => {
            let path = string_field(op, "path")?;
            let (parent, key) = find_parent(doc, &path).ok_or_else(|| missing(&path))?;
            add(parent, &key, value_of(op))
        }
        "remove" => {
            let path = string_field(op, "path")?;
            let (parent, key) = find_parent(doc, &path).ok_or_else(|| missing(&path))?;
            remove(parent, &key).map(|_| ())
        }
        "replace" => {
            let path = string_field(op, "path")?;
            let value = value_of(op);
            if path.is_empty() {
                if !matches!(value, Value::Object(_) | Value::Array(_)) {
                    return Err(OpFailure::WholeObjectNotAContainer);
                }
                *doc = value;
                return Ok(());
            }
            let (parent, key) = find_parent(doc, &path).ok_or_else(|| missing(&path))?;
            match parent {
                Value::Object(map) => {
                    map.insert(key, value);
                }
                Value::Array(items) => {
                    let idx = resolve_index(&key, items.len())?;
                    items[idx] = value;
                }
                _ => return Err(missing(&path)),
            }
            Ok(())
        }
        "move" => {
            let from = string_field(op, "from")?;
            let (parent, key) = find_parent(doc, &from).ok_or_else(|| missing(&from))?;
            let value = remove(parent, &key)?;
            let path = string_field(op, "path")?;
            let (parent, key) = find_parent(doc, &path).ok_or_else(|| missing(&path))?;
            add(parent, &key, value)
        }
        "test" => {
            let path = string_field(op, "path")?;
            // The library cannot test without a value (it fails, or crashes on a missing path).
            if !op.contains_key("value") {
                return Err(OpFailure::TestWithoutValue);
            }
            let expected = value_of(op);
            let actual = if path.is_empty() {
                Some(doc.clone())
            } else {
                let (parent, key) = find_parent(doc, &path).ok_or_else(|| missing(&path))?;
                get(parent, &key)?
            };
            // A missing key and an explicit null both read as "no value" to the library.
            let actual = actual.unwrap_or(Value::Null);
            if actual == expected {
                Ok(())
            } else {
                Err(OpFailure::TestFailed {
                    actual: actual.to_string(),
                    expected: expected.to_string(),
                })
            }
        }
        other => Err(OpFailure::UnknownOperation { op: other.to_string() }),
    }
}

/// Applies the operations in order; on error the document may be partly patched (the caller
/// keeps the original).
pub(crate) fn apply(doc: &mut Value, ops: &[Operation]) -> Result<(), OpError> {
    let mut copied = 0;
    for (index, op) in ops.iter().enumerate() {
        let kind = match op.get("op") {
            Some(Value::String(s)) => s.clone(),
            _ => "unknown".to_string(),
        };
        let path = match op.get("path") {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        apply_one(doc, op, &kind, &mut copied).map_err(|failure| OpError {
            index,
            op: kind.clone(),
            path,
            failure,
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ops(v: Value) -> Vec<Operation> {
        match v {
            Value::Array(items) => items
                .into_iter()
                .map(|i| match i {
                    Value::Object(m) => m,
                    other => panic!("not an op: {other}"),
                })
                .collect(),
            other => panic!("not a list: {other}"),
        }
    }

    fn patched(doc: Value, patch: Value) -> Result<Value, OpError> {
        let mut doc = doc;
        apply(&mut doc, &ops(patch))?;
        Ok(doc)
    }

    #[test]
    fn every_operation() {
        let doc = json!({"a": {"b": 1, "list": [1, 2]}, "c": "x"});
        let out = patched(
            doc,
            json!([
                {"op": "add", "path": "/a/list/-", "value": 3},
                {"op": "add", "path": "/a/list/0", "value": 0},
                {"op": "remove", "path": "/a/b"},
                {"op": "replace", "path": "/c", "value": "y"},
                {"op": "copy", "from": "/c", "path": "/d"},
                {"op": "move", "from": "/d", "path": "/a/e"},
                {"op": "test", "path": "/a/list", "value": [0, 1, 2, 3]},
            ]),
        )
        .expect("applies");
        assert_eq!(out, json!({"a": {"list": [0, 1, 2, 3], "e": "y"}, "c": "y"}));
    }

    #[test]
    fn pointer_escaping() {
        let doc = json!({"metadata": {"annotations": {}}});
        let out = patched(
            doc,
            json!([
                {"op": "add", "path": "/metadata/annotations/example.com~1owner", "value": "a"},
                {"op": "add", "path": "/metadata/annotations/tilde~0key", "value": "b"},
                {"op": "add", "path": "/metadata/annotations/both~01", "value": "c"},
            ]),
        )
        .expect("applies");
        assert_eq!(
            out,
            json!({"metadata": {"annotations": {"example.com/owner": "a", "tilde~key": "b", "both~1": "c"}}})
        );
    }

    #[test]
    fn library_quirks() {
        let doc = json!({"l": ["a", "b"], "m": {}});
        let out = patched(
            doc,
            json!([
                {"op": "replace", "path": "/m/new", "value": 1},
                {"op": "add", "path": "/l/-1", "value": "z"},
                {"op": "add", "path": "/l/01", "value": "y"},
                {"op": "copy", "from": "/m/nothing", "path": "/m/copied"},
                {"op": "test", "path": "/m/absent", "value": null},
                {"op": "add", "path": "/m/novalue"},
                {"op": "remove", "path": "/l/-1"},
            ]),
        )
        .expect("applies");
        assert_eq!(
            out,
            json!({"l": ["a", "y", "b"], "m": {"new": 1, "copied": null, "novalue": null}})
        );
    }

    #[test]
    fn op_on_missing_path_is_an_error() {
        let doc = json!({"spec": {"replicas": 1}});
        let cases = [
            json!([{"op": "add", "path": "/spec/missing/x", "value": 1}]),
            json!([{"op": "remove", "path": "/spec/missing"}]),
            json!([{"op": "replace", "path": "/spec/missing/x", "value": 1}]),
            json!([{"op": "move", "from": "/spec/missing", "path": "/spec/x"}]),
            json!([{"op": "add", "path": "/spec/replicas/x", "value": 1}]),
        ];
        for patch in cases {
            let err = patched(doc.clone(), patch.clone()).expect_err("fails");
            let failure = err.failure.to_string();
            assert!(
                failure.contains("does not exist") || failure.contains("no key"),
                "{patch}: {err}"
            );
        }
        let err = patched(doc, json!([{"op": "remove", "path": "/spec/missing"}])).expect_err("fails");
        assert_eq!(
            err.to_string(),
            "operation 0 (remove \"/spec/missing\"): no key \"missing\" to remove"
        );
    }

    #[test]
    fn index_bounds_and_bad_ops() {
        let doc = json!({"l": [1]});
        assert!(patched(doc.clone(), json!([{"op": "add", "path": "/l/2", "value": 1}])).is_err());
        assert!(patched(doc.clone(), json!([{"op": "add", "path": "/l/-3", "value": 1}])).is_err());
        assert!(patched(doc.clone(), json!([{"op": "replace", "path": "/l/-", "value": 1}])).is_err());
        assert!(patched(doc.clone(), json!([{"op": "remove", "path": "/l/-"}])).is_err());
        assert!(patched(doc.clone(), json!([{"op": "test", "path": "/l/0", "value": 2}])).is_err());
        assert!(patched(doc.clone(), json!([{"op": "frob", "path": "/l"}])).is_err());
        assert!(patched(doc.clone(), json!([{"op": "add", "value": 1}])).is_err());
        assert!(patched(doc, json!([{"op": "add", "path": "", "value": 1}])).is_err());
    }

    #[test]
    fn whole_document() {
        let doc = json!({"kind": "A"});
        let out = patched(
            doc.clone(),
            json!([{"op": "replace", "path": "", "value": {"kind": "B"}}]),
        )
        .expect("ok");
        assert_eq!(out, json!({"kind": "B"}));
        let out = patched(doc, json!([{"op": "add", "path": "/", "value": 1}])).expect("ok");
        assert_eq!(out, json!({"kind": "A", "": 1}));
    }
}
