//! The list half of kyaml's merge: how elements of a mergeable list are paired by their merge
//! keys, matched, replaced and folded back, with kyaml's quirks.

use serde_json::Value;

use super::error::ElementError;
use super::{is_empty_map, is_nil_or_empty, scalar_text, shape};

/// A plain YAML scalar as go-yaml v3 would read it back (kyaml writes merge key values it fills
/// in as plain scalars).
fn plain_scalar(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = s.parse::<i64>() {
        return Value::from(i);
    }
    let numeric = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'));
    if numeric
        && s.bytes().any(|b| b.is_ascii_digit())
        && let Ok(f) = s.parse::<f64>()
        && let Some(n) = serde_json::Number::from_f64(f)
    {
        return Value::Number(n);
    }
    Value::String(s.to_string())
}

/// The merge key values of every element, patch first, without repeats.
pub(super) fn element_values(origin: Option<&[Value]>, dest: &[Value], keys: &[String]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for list in [origin, Some(dest)].into_iter().flatten() {
        for element in list {
            let values: Vec<String> = keys
                .iter()
                .map(|k| match element.as_object().and_then(|m| m.get(k)) {
                    Some(v) if !is_nil_or_empty(v) => scalar_text(v),
                    _ => String::new(),
                })
                .collect();
            if !values.is_empty() && !out.contains(&values) {
                out.push(values);
            }
        }
    }
    out
}

/// The values of a list of scalars (finalizers), patch first, without repeats.
pub(super) fn primitive_values(origin: Option<&[Value]>, dest: &[Value]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for list in [origin, Some(dest)].into_iter().flatten() {
        for element in list {
            let v = vec![scalar_text(element)];
            if !out.contains(&v) {
                out.push(v);
            }
        }
    }
    out
}

/// Elements whose key values agree except where one of them is empty are the same element
/// (a port written without its protocol is the TCP port of the object).
pub(super) fn merge_values(values_list: &mut [Vec<String>]) {
    for i in 0..values_list.len() {
        let first = values_list[i].clone();
        for j in 0..values_list.len() {
            if let Some(merged) = match_values(&first, &values_list[j]) {
                values_list[i] = merged.clone();
                values_list[j] = merged;
            }
        }
    }
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut merged = Vec::with_capacity(a.len());
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            merged.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if x.is_empty() {
            merged.push(y.clone());
        } else {
            merged.push(x.clone());
        }
    }
    common.then_some(merged)
}

/// Keeps the keys that some element has a value for (all of them when none has).
pub(super) fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let is_valid = |i: usize| {
        values_list
            .iter()
            .any(|values| values.get(i).is_some_and(|v| !v.is_empty()))
    };
    if !(0..keys.len()).any(is_valid) {
        return (keys.to_vec(), values.to_vec());
    }
    let valid_keys = keys
        .iter()
        .enumerate()
        .filter(|(i, _)| is_valid(*i))
        .map(|(_, k)| k.clone())
        .collect();
    let valid_values = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || is_valid(*i))
        .map(|(_, v)| v.clone())
        .collect();
    (valid_keys, valid_values)
}

/// kyaml's `ElementMatcher`: the first element whose key fields have these values.
pub(super) fn element_index(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    if keys.first().is_none_or(|k| k.is_empty()) {
        let wanted = values.first().map(String::as_str).unwrap_or_default();
        return list.iter().position(|e| scalar_text(e) == wanted);
    }
    list.iter().position(|e| {
        e.as_object().is_some_and(|m| {
            keys.iter()
                .zip(values)
                .all(|(k, v)| m.get(k).is_some_and(|f| scalar_text(f) == *v))
        })
    })
}

pub(super) fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object().and_then(|m| m.get(key))
}

pub(super) fn set_field(v: &mut Value, key: &str, value: &str) -> Result<(), ElementError> {
    match v {
        Value::Object(m) if !key.is_empty() => {
            m.insert(key.to_string(), plain_scalar(value));
            Ok(())
        }
        // A scalar element of a list of scalars already has this value.
        Value::Object(_) | Value::Array(_) => Err(cannot_set(v, key)),
        _ if key.is_empty() => Ok(()),
        _ => Err(cannot_set(v, key)),
    }
}

fn cannot_set(v: &Value, key: &str) -> ElementError {
    ElementError::CannotSet {
        key: key.to_string(),
        shape: shape(v),
    }
}

fn not_a_map(v: &Value, key: &str) -> ElementError {
    ElementError::NotAMap {
        key: key.to_string(),
        shape: shape(v),
    }
}

/// kyaml's `FieldMatcher` on a list element: with an empty wanted value any element that has
/// the field matches.
fn field_matches(element: &Value, key: &str, wanted: &str) -> Result<bool, ElementError> {
    if element.is_null() {
        return Ok(false);
    }
    if key.is_empty() {
        if matches!(element, Value::Object(_) | Value::Array(_)) {
            return Err(ElementError::NotAScalar { shape: shape(element) });
        }
        return Ok(scalar_text(element) == wanted);
    }
    let Value::Object(m) = element else {
        return Err(not_a_map(element, key));
    };
    Ok(m.get(key)
        .is_some_and(|f| wanted.is_empty() || scalar_text(f) == wanted))
}

/// kyaml's `ElementSetter`: replaces the elements matching all key values with `element` (or
/// removes them when it is `None`), appends it when none matched, and drops empty elements on
/// the way.
pub(super) fn element_setter(
    list: &mut Vec<Value>,
    element: Option<Value>,
    keys: &[String],
    values: &[String],
) -> Result<(), ElementError> {
    let empty = [String::new()];
    let keys = if keys.is_empty() { &empty[..] } else { keys };
    let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
    let mut kept = Vec::with_capacity(list.len() + 1);
    let mut found_any = false;
    for e in std::mem::take(list) {
        if e.is_null() || is_empty_map(&e) {
            continue;
        }
        if !e.is_object() && mapping_setter {
            kept.push(e);
            continue;
        }
        let mut found = true;
        let mut last = false;
        for (j, key) in keys.iter().enumerate() {
            if let Some(value) = values.get(j) {
                last = field_matches(&e, key, value)?;
            }
            if !last {
                found = false;
                break;
            }
        }
        if !found {
            if !values.is_empty() {
                kept.push(e);
            }
            continue;
        }
        found_any = true;
        if let Some(element) = &element {
            kept.push(element.clone());
        }
    }
    *list = kept;
    match element {
        Some(element) if !element.is_null() && !found_any => list.push(element),
        _ => {}
    }
    Ok(())
}

/// kyaml's `appendListNode`: folds the object's elements into the merged list; with several
/// merge keys an element is moved to the end rather than replaced in place.
pub(super) fn append_list(dst: &mut Vec<Value>, src: &[Value], keys: &[String]) -> Result<(), ElementError> {
    for element in src {
        if keys.first().is_none_or(|k| k.is_empty()) {
            element_setter(dst, Some(element.clone()), &[String::new()], &[scalar_text(element)])?;
            continue;
        }
        let mut values = Vec::with_capacity(keys.len());
        for key in keys {
            let value = match element {
                Value::Null => None,
                Value::Object(m) => m.get(key),
                other => return Err(not_a_map(other, key)),
            };
            match value {
                Some(v) => values.push(scalar_text(v)),
                None => dst.push(element.clone()),
            }
        }
        if keys.len() > 1 {
            element_setter(dst, None, keys, &values)?;
        }
        element_setter(dst, Some(element.clone()), keys, &values)?;
    }
    Ok(())
}
