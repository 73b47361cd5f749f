//! Strategic merge as kustomize v5 performs it (kyaml's `merge2` walker with
//! `ListIncreaseDirection: Prepend`), which is not apimachinery's strategic merge patch:
//!
//! - maps merge key by key; `null` deletes; `$patch: delete` removes the map, `$patch: replace`
//!   replaces it (except at the top and on a list element of the object, where kyaml drops the
//!   replacement);
//! - lists the schema marks `merge` pair their elements by merge key(s); elements of the patch
//!   come first (in patch order), then the remaining ones of the object; an element with
//!   `$patch: delete` is removed; an element that is only `$patch: delete|replace` applies to the
//!   whole list; other lists, and every list of a kind without schema, are replaced whole;
//! - `$retainKeys`, `$setElementOrder/...` and `$deleteFromPrimitiveList/...` are not directives
//!   to kyaml: they are merged as ordinary fields;
//! - a value of another shape than the object's (a string onto a map) is an error.
//!
//! kyaml edits nodes in place and shares the patch's nodes with the object where it adds them;
//! the quirks that follow from that (which elements keep a directive, which replacements are
//! lost) are reproduced here because the generated cases of `tests/kustomize_oracle.rs` hit them.
//! The object is walked in full, not just where the patch has something, because kyaml's walk
//! also reshapes untouched mergeable lists (it drops empty elements and collapses duplicates).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::merge_keys::{Ty, schema_for};

type Schema = Option<&'static Ty>;

/// The result of walking one node. kyaml merges into the object's node in place, and some
/// callers (the top level, list elements) only keep what was merged in place, so a result that
/// is another node must be told apart.
#[derive(Debug)]
enum Walked {
    /// The node is removed.
    Clear,
    /// The object's node, merged.
    Same(Value),
    /// Another node: the patch's, or a kept `null`.
    Other(Value),
}

#[derive(Debug, PartialEq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

const DIRECTIVE_KEY: &str = "$patch";

/// The text of a scalar as kyaml compares and reads it (maps and lists have none): also how
/// kustomize reads a targeted patch's metadata maps.
pub(super) fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".to_string(),
        Value::Object(_) | Value::Array(_) => String::new(),
    }
}

fn is_nil_or_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn is_empty_map(v: &Value) -> bool {
    matches!(v, Value::Object(m) if m.is_empty())
}

fn shape(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "a map",
        Value::Array(_) => "a list",
        Value::Null => "null",
        _ => "a scalar",
    }
}

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

fn path_text(path: &[String]) -> String {
    if path.is_empty() {
        "the object".to_string()
    } else {
        path.join(".")
    }
}

/// Reads a map's `$patch` directive and returns the map without it. An unknown directive is an
/// error; kyaml ignores it (and keeps it as a field) where the object has no such map yet.
fn directive(map: &Map<String, Value>, strict: bool) -> Result<(Directive, Cow<'_, Map<String, Value>>), String> {
    let Some(value) = map.get(DIRECTIVE_KEY) else {
        return Ok((Directive::Merge, Cow::Borrowed(map)));
    };
    let d = match scalar_text(value).as_str() {
        "delete" => Directive::Delete,
        "replace" => Directive::Replace,
        "merge" => Directive::Merge,
        other if strict => return Err(format!("unknown patch strategy {other:?}")),
        _ => return Ok((Directive::Merge, Cow::Borrowed(map))),
    };
    let mut elided = map.clone();
    elided.remove(DIRECTIVE_KEY);
    Ok((d, Cow::Owned(elided)))
}

fn elide_known_directive(v: &mut Value) {
    if let Value::Object(m) = v
        && m.get(DIRECTIVE_KEY)
            .is_some_and(|d| matches!(d.as_str(), Some("delete" | "replace" | "merge")))
    {
        m.remove(DIRECTIVE_KEY);
    }
}

/// A list's own directive: an element that is nothing but `$patch: delete|replace|merge`. kyaml
/// then removes every element carrying that directive from the patch.
fn sequence_directive(list: &[Value]) -> Result<(Directive, Cow<'_, [Value]>), String> {
    let Some(element) = list
        .iter()
        .filter_map(Value::as_object)
        .find(|m| m.contains_key(DIRECTIVE_KEY))
    else {
        return Ok((Directive::Merge, Cow::Borrowed(list)));
    };
    if element.len() > 1 {
        return Ok((Directive::Merge, Cow::Borrowed(list)));
    }
    let value = element.get(DIRECTIVE_KEY).map(scalar_text).unwrap_or_default();
    let directive = match value.as_str() {
        "delete" => Directive::Delete,
        "replace" => Directive::Replace,
        "merge" => Directive::Merge,
        other => return Err(format!("unknown patch strategy {other:?}")),
    };
    let mut elided = list.to_vec();
    element_setter(&mut elided, None, &[DIRECTIVE_KEY.to_string()], &[value])?;
    Ok((directive, Cow::Owned(elided)))
}

/// kyaml falls back to the schema of a nested object that carries its own apiVersion and kind.
fn embedded_schema(v: Option<&Value>) -> Schema {
    let map = v?.as_object()?;
    let api_version = map.get("apiVersion")?.as_str().filter(|s| !s.is_empty())?;
    let kind = map.get("kind")?.as_str().filter(|s| !s.is_empty())?;
    schema_for(api_version, kind)
}

struct Walker {
    path: Vec<String>,
}

impl Walker {
    /// Walks one node. `aliased` tells that the object's node is the patch's own (kyaml walks
    /// what it adds from the patch against itself), so removing a directive from the patch
    /// removes it from the object too.
    fn walk(
        &mut self,
        dest: Option<Value>,
        origin: Option<&Value>,
        schema: Schema,
        aliased: bool,
    ) -> Result<Walked, String> {
        // Below a field whose schema has no mergeable list, walking without a patch changes
        // nothing; skipping it keeps large objects (CRDs) cheap.
        if origin.is_none()
            && matches!(schema, Some(Ty::Any))
            && let Some(dest) = dest
        {
            return Ok(Walked::Same(dest));
        }
        let schema = schema
            .or_else(|| embedded_schema(dest.as_ref()))
            .or_else(|| embedded_schema(origin));
        let first = [dest.as_ref(), origin].into_iter().flatten().find(|v| !v.is_null());
        let Some(first) = first else {
            return self.walk_map(dest, origin, schema, aliased);
        };
        let same_shape = |v: &Value| match (first, v) {
            (_, Value::Null) => true,
            (Value::Object(_), Value::Object(_)) | (Value::Array(_), Value::Array(_)) => true,
            (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
            _ => true,
        };
        for v in [dest.as_ref(), origin].into_iter().flatten() {
            if !same_shape(v) {
                return Err(format!(
                    "at {}: cannot merge {} into {}",
                    path_text(&self.path),
                    shape(origin.unwrap_or(&Value::Null)),
                    shape(dest.as_ref().unwrap_or(&Value::Null))
                ));
            }
        }
        match first {
            Value::Object(_) => self.walk_map(dest, origin, schema, aliased),
            Value::Array(_) => match schema {
                Some(ty) if ty.is_associative() => self.walk_associative(dest, origin, ty, aliased),
                _ => Ok(replace_or_keep(dest, origin)),
            },
            _ => Ok(replace_or_keep(dest, origin)),
        }
    }

    fn walk_map(
        &mut self,
        dest: Option<Value>,
        origin: Option<&Value>,
        schema: Schema,
        aliased: bool,
    ) -> Result<Walked, String> {
        let origin_map = origin.and_then(Value::as_object);
        let (mut base, same, effective) = match dest {
            None | Some(Value::Null) => {
                let dest_is_null = dest.is_some();
                match origin {
                    None if dest_is_null => return Ok(Walked::Other(Value::Null)),
                    None | Some(Value::Null) => return Ok(Walked::Clear),
                    Some(Value::Object(m)) => {
                        let (d, effective) = directive(m, false)?;
                        if d == Directive::Delete {
                            return Ok(Walked::Clear);
                        }
                        (effective.as_ref().clone(), false, Some(effective))
                    }
                    Some(other) => return Ok(Walked::Other(other.clone())),
                }
            }
            Some(Value::Object(d)) => {
                if matches!(origin, Some(Value::Null)) {
                    return Ok(Walked::Clear);
                }
                match origin_map {
                    None => (d, true, None),
                    Some(m) => {
                        let (directive, effective) =
                            directive(m, true).map_err(|e| format!("at {}: {e}", path_text(&self.path)))?;
                        match directive {
                            Directive::Delete => return Ok(Walked::Clear),
                            Directive::Replace => (effective.as_ref().clone(), false, Some(effective)),
                            Directive::Merge if aliased => (effective.as_ref().clone(), true, Some(effective)),
                            Directive::Merge => (d, true, Some(effective)),
                        }
                    }
                }
            }
            Some(other) => return Ok(Walked::Same(other)),
        };
        let mut keys: Vec<String> = base.keys().cloned().collect();
        if let Some(effective) = &effective {
            keys.extend(effective.keys().filter(|k| !base.contains_key(*k)).cloned());
        }
        keys.sort();
        for key in keys {
            let d = base.get_mut(&key).map(std::mem::take);
            let o = effective.as_ref().and_then(|m| m.get(&key));
            let child_schema = schema.map(|s| s.field(&key));
            self.path.push(key);
            let walked = self.walk(d, o, child_schema, aliased || !same)?;
            let key = self.path.pop().unwrap_or_default();
            match walked {
                Walked::Clear => {
                    base.remove(&key);
                }
                Walked::Same(v) | Walked::Other(v) => {
                    base.insert(key, v);
                }
            }
        }
        Ok(if same {
            Walked::Same(Value::Object(base))
        } else {
            Walked::Other(Value::Object(base))
        })
    }

    fn walk_associative(
        &mut self,
        dest: Option<Value>,
        origin: Option<&Value>,
        ty: &'static Ty,
        aliased: bool,
    ) -> Result<Walked, String> {
        let (dest_list, origin_list, aliased): (Vec<Value>, Option<Cow<'_, [Value]>>, bool) = match (dest, origin) {
            // A list the object lacks is the patch's, directives and all.
            (None | Some(Value::Null), Some(Value::Array(o))) => (o.clone(), Some(Cow::Borrowed(o.as_slice())), true),
            (None | Some(Value::Null), _) => return Ok(Walked::Clear),
            (Some(_), Some(Value::Null)) => return Ok(Walked::Clear),
            (Some(Value::Array(d)), Some(Value::Array(o))) => {
                let (directive, effective) =
                    sequence_directive(o).map_err(|e| format!("at {}: {e}", path_text(&self.path)))?;
                match directive {
                    Directive::Delete => return Ok(Walked::Clear),
                    Directive::Replace => (effective.to_vec(), Some(effective), true),
                    Directive::Merge if aliased => (effective.to_vec(), Some(effective), true),
                    Directive::Merge => (d, Some(effective), false),
                }
            }
            (Some(Value::Array(d)), _) => (d, None, aliased),
            (Some(other), _) => return Ok(Walked::Same(other)),
        };
        let origin_list = origin_list.as_deref();
        let keys: Vec<String> = ty.merge_keys().iter().map(|k| k.to_string()).collect();
        let values = element_values(origin_list, &dest_list, &keys);
        let merged = if !values.is_empty() || !keys.is_empty() {
            self.set_elements(values, &keys, dest_list, origin_list, ty.elements(), aliased)?
        } else {
            let values = primitive_values(origin_list, &dest_list);
            self.set_elements(values, &[String::new()], dest_list, origin_list, ty.elements(), aliased)?
        };
        Ok(Walked::Same(Value::Array(merged)))
    }

    /// kyaml's `setAssociativeSequenceElements`: merges the elements paired by `keys`, collects
    /// them patch-first, then folds the object's elements back in.
    fn set_elements(
        &mut self,
        mut values_list: Vec<Vec<String>>,
        keys: &[String],
        mut dest: Vec<Value>,
        origin: Option<&[Value]>,
        element_schema: &'static Ty,
        aliased: bool,
    ) -> Result<Vec<Value>, String> {
        // When the object's list is the patch's own (kyaml walks what it adds from the patch
        // against itself), both are one list: `None` stands for "the object's list".
        let mut origin: Option<Vec<Value>> = if aliased { None } else { origin.map(<[Value]>::to_vec) };
        let mut items: Vec<Value> = Vec::new();
        if keys.len() > 1 {
            merge_values(&mut values_list);
        }
        let mut valid_keys: Vec<String> = Vec::new();
        for values in &values_list {
            if values.is_empty() {
                continue;
            }
            let valid_values;
            (valid_keys, valid_values) = validate_keys(&values_list, values, keys);
            let (lookup_keys, lookup_values) =
                validate_keys(std::slice::from_ref(&valid_values), &valid_values, &valid_keys);
            let dest_index = element_index(&dest, &lookup_keys, &lookup_values);
            let origin_index = match &origin {
                Some(o) => element_index(o, &lookup_keys, &lookup_values),
                None => dest_index,
            };
            let origin_element = match &origin {
                Some(o) => origin_index.map(|i| o[i].clone()),
                None => dest_index.map(|i| dest[i].clone()),
            };
            self.path.push(format!("[{}]", valid_values.join(",")));
            let element_aliased = aliased && dest_index.is_some();
            let walked = self.walk(
                dest_index.map(|i| dest[i].clone()),
                origin_element.as_ref(),
                Some(element_schema),
                element_aliased,
            )?;
            self.path.pop();
            // kyaml removes the directive it has read from the patch; an element visited again
            // (several values can lead to it) no longer has it.
            if let (Some(o), Some(i)) = (origin.as_mut(), origin_index) {
                elide_known_directive(&mut o[i]);
            }
            // Only what was merged into the object's own element stays in the object's list,
            // which matters when its elements are folded back in below.
            let (mut val, in_place) = match walked {
                Walked::Clear => {
                    // kyaml removed `$patch: delete` from the patch's element, which is also
                    // this one; the element may yet survive (see element_setter).
                    if let (true, Some(element)) = (element_aliased, dest_index.and_then(|i| dest.get_mut(i))) {
                        elide_known_directive(element);
                    }
                    (None, false)
                }
                Walked::Same(v) => (Some(v), true),
                Walked::Other(v) => (Some(v), element_aliased),
            };
            let mut removed = false;
            for (i, key) in valid_keys.iter().enumerate() {
                match val.as_mut() {
                    Some(v) if !v.is_null() && !is_empty_map(v) => {
                        let value = valid_values.get(i).map(String::as_str).unwrap_or_default();
                        if !value.is_empty() && field(v, key).is_none() {
                            set_field(v, key, value).map_err(|e| format!("at {}: {e}", path_text(&self.path)))?;
                        }
                    }
                    _ => {
                        element_setter(&mut dest, None, &valid_keys, &valid_values)?;
                        removed = true;
                    }
                }
            }
            if removed {
                continue;
            }
            if let (true, Some(i), Some(v)) = (in_place, dest_index, &val) {
                dest[i] = v.clone();
            }
            element_setter(&mut items, val, &valid_keys, &valid_values)?;
        }
        if values_list.is_empty() {
            return Ok(dest);
        }
        append_list(&mut items, &dest, &valid_keys)?;
        Ok(items)
    }
}

/// Scalars and lists that do not merge: the patch's value wins, `null` deletes.
fn replace_or_keep(dest: Option<Value>, origin: Option<&Value>) -> Walked {
    match origin {
        Some(Value::Null) => Walked::Clear,
        Some(v) => Walked::Other(v.clone()),
        None => dest.map_or(Walked::Clear, Walked::Same),
    }
}

/// The merge key values of every element, patch first, without repeats.
fn element_values(origin: Option<&[Value]>, dest: &[Value], keys: &[String]) -> Vec<Vec<String>> {
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
fn primitive_values(origin: Option<&[Value]>, dest: &[Value]) -> Vec<Vec<String>> {
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
fn merge_values(values_list: &mut [Vec<String>]) {
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
fn validate_keys(values_list: &[Vec<String>], values: &[String], keys: &[String]) -> (Vec<String>, Vec<String>) {
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
fn element_index(list: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
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

fn field<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object().and_then(|m| m.get(key))
}

fn set_field(v: &mut Value, key: &str, value: &str) -> Result<(), String> {
    match v {
        Value::Object(m) if !key.is_empty() => {
            m.insert(key.to_string(), plain_scalar(value));
            Ok(())
        }
        // A scalar element of a list of scalars already has this value.
        Value::Object(_) | Value::Array(_) => Err(format!("cannot set {key:?} on {}", shape(v))),
        _ if key.is_empty() => Ok(()),
        _ => Err(format!("cannot set {key:?} on {}", shape(v))),
    }
}

/// kyaml's `FieldMatcher` on a list element: with an empty wanted value any element that has
/// the field matches.
fn field_matches(element: &Value, key: &str, wanted: &str) -> Result<bool, String> {
    if element.is_null() {
        return Ok(false);
    }
    if key.is_empty() {
        if matches!(element, Value::Object(_) | Value::Array(_)) {
            return Err(format!("cannot compare {} with a scalar", shape(element)));
        }
        return Ok(scalar_text(element) == wanted);
    }
    let Value::Object(m) = element else {
        return Err(format!("cannot look up {key:?} in {}", shape(element)));
    };
    Ok(m.get(key)
        .is_some_and(|f| wanted.is_empty() || scalar_text(f) == wanted))
}

/// kyaml's `ElementSetter`: replaces the elements matching all key values with `element` (or
/// removes them when it is `None`), appends it when none matched, and drops empty elements on
/// the way.
fn element_setter(
    list: &mut Vec<Value>,
    element: Option<Value>,
    keys: &[String],
    values: &[String],
) -> Result<(), String> {
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
fn append_list(dst: &mut Vec<Value>, src: &[Value], keys: &[String]) -> Result<(), String> {
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
                other => return Err(format!("cannot look up {key:?} in {}", shape(other))),
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

/// What merging a patch into an object did.
#[derive(Debug, PartialEq)]
pub(crate) enum Merged {
    /// The merged object.
    Object(Value),
    /// The patch deleted the object (`$patch: delete` at the top).
    Deleted,
    /// The patch has no effect on the object (`$patch: replace` at the top, which kyaml drops);
    /// here it is.
    Unchanged(Value),
}

/// Merges `patch` into `object`. Restoring the object's identity (kind, name, namespace) is the
/// caller's business.
pub(crate) fn merge(object: Value, patch: &Value) -> Result<Merged, String> {
    if patch.get(DIRECTIVE_KEY).and_then(Value::as_str) == Some("replace") {
        // kyaml merges the replacement into a node it then throws away.
        return Ok(Merged::Unchanged(object));
    }
    let mut walker = Walker { path: Vec::new() };
    Ok(match walker.walk(Some(object), Some(patch), None, false)? {
        Walked::Clear => Merged::Deleted,
        Walked::Same(v) if is_nil_or_empty(&v) => Merged::Deleted,
        Walked::Same(v) => Merged::Object(v),
        Walked::Other(_) => return Err("the patch replaces the object".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "app", "namespace": "ns", "labels": {"app": "app"}},
            "spec": {"replicas": 1, "template": {"spec": {
                "tolerations": [{"key": "a", "operator": "Exists"}],
                "containers": [{
                    "name": "manager", "image": "x", "args": ["--a", "--b"],
                    "env": [{"name": "A", "value": "a"}, {"name": "B", "value": "b"}],
                    "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                    "resources": {"limits": {"cpu": "1", "memory": "1Gi"}},
                }],
            }}},
        })
    }

    fn merged(object: Value, patch: Value) -> Value {
        match merge(object, &patch).expect("merges") {
            Merged::Object(v) => v,
            other => panic!("not merged: {other:?}"),
        }
    }

    fn container(v: &Value) -> &Value {
        &v["spec"]["template"]["spec"]["containers"][0]
    }

    #[test]
    fn maps_merge_and_null_deletes() {
        let out = merged(
            deployment(),
            json!({"metadata": {"labels": {"app": null, "tier": "x"}}, "spec": {"replicas": 3}}),
        );
        assert_eq!(out["metadata"]["labels"], json!({"tier": "x"}));
        assert_eq!(out["spec"]["replicas"], json!(3));
    }

    #[test]
    fn lists_merge_by_key_patch_elements_first() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "manager", "env": [{"name": "B", "value": "bb"}, {"name": "C", "value": "c"}]},
        ]}}}});
        let out = merged(deployment(), patch);
        assert_eq!(
            container(&out)["env"],
            json!([{"name": "B", "value": "bb"}, {"name": "C", "value": "c"}, {"name": "A", "value": "a"}])
        );
        assert_eq!(container(&out)["args"], json!(["--a", "--b"]), "untouched");
    }

    #[test]
    fn atomic_lists_are_replaced() {
        let patch = json!({"spec": {"template": {"spec": {
            "tolerations": [{"key": "b", "operator": "Exists"}],
            "containers": [{"name": "manager", "args": ["--c"]}],
        }}}});
        let out = merged(deployment(), patch);
        assert_eq!(
            out["spec"]["template"]["spec"]["tolerations"],
            json!([{"key": "b", "operator": "Exists"}])
        );
        assert_eq!(container(&out)["args"], json!(["--c"]));
    }

    #[test]
    fn delete_directive_on_an_element_and_replace_on_a_map() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{
            "name": "manager",
            "env": [{"name": "A", "$patch": "delete"}],
            "resources": {"$patch": "replace", "requests": {"cpu": "2"}},
        }]}}}});
        let out = merged(deployment(), patch);
        assert_eq!(container(&out)["env"], json!([{"name": "B", "value": "b"}]));
        assert_eq!(container(&out)["resources"], json!({"requests": {"cpu": "2"}}));
    }

    #[test]
    fn replace_directive_on_an_element_is_dropped_as_in_kyaml() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "manager", "$patch": "replace", "image": "y"},
        ]}}}});
        assert_eq!(merged(deployment(), patch), deployment());
    }

    #[test]
    fn top_level_directives() {
        assert_eq!(
            merge(deployment(), &json!({"$patch": "delete"})).expect("ok"),
            Merged::Deleted
        );
        assert_eq!(
            merge(deployment(), &json!({"$patch": "replace", "spec": {}})).expect("ok"),
            Merged::Unchanged(deployment())
        );
        let e = merge(deployment(), &json!({"$patch": "frobnicate"})).expect_err("unknown");
        assert!(e.contains("unknown patch strategy"), "{e}");
    }

    #[test]
    fn list_directives() {
        let replace = json!({"spec": {"template": {"spec": {"containers": [
            {"$patch": "replace"}, {"name": "only", "image": "o"},
        ]}}}});
        let out = merged(deployment(), replace);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only", "image": "o"}])
        );
        let delete = json!({"spec": {"template": {"spec": {"containers": [{"name": "manager", "env": [{"$patch": "delete"}]}]}}}});
        let out = merged(deployment(), delete);
        assert!(container(&out).get("env").is_none());
        let e = merge(
            deployment(),
            &json!({"spec": {"template": {"spec": {"containers": [{"$patch": "x"}]}}}}),
        )
        .expect_err("unknown");
        assert!(e.contains("unknown patch strategy \"x\""), "{e}");
    }

    #[test]
    fn unknown_directives_are_plain_fields() {
        let patch = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "manager"}]}}}});
        let out = merged(deployment(), patch);
        assert_eq!(
            out["spec"]["template"]["spec"]["$setElementOrder/containers"],
            json!([{"name": "manager"}])
        );
    }

    #[test]
    fn ports_pair_on_port_and_protocol() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "manager", "ports": [
            {"containerPort": 8080, "protocol": "TCP", "name": "renamed"},
            {"containerPort": 9090},
        ]}]}}}});
        let out = merged(deployment(), patch);
        assert_eq!(
            container(&out)["ports"],
            json!([{"containerPort": 9090}, {"containerPort": 8080, "name": "renamed", "protocol": "TCP"}])
        );
    }

    #[test]
    fn kinds_without_schema_replace_lists() {
        let object = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": "t"},
                            "spec": {"items": [{"name": "a", "v": 1}], "keep": true}});
        let out = merged(object, json!({"spec": {"items": [{"name": "b"}]}}));
        assert_eq!(out["spec"], json!({"items": [{"name": "b"}], "keep": true}));
    }

    #[test]
    fn finalizers_are_a_set() {
        let object =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["b", "a"]}});
        let out = merged(object, json!({"metadata": {"finalizers": ["c", "a"]}}));
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let e = merge(deployment(), &json!({"spec": {"template": "x"}})).expect_err("mismatch");
        assert_eq!(e, "at spec.template: cannot merge a scalar into a map");
        let e = merge(deployment(), &json!({"spec": {"replicas": {"a": 1}}})).expect_err("mismatch");
        assert_eq!(e, "at spec.replicas: cannot merge a map into a scalar");
    }

    #[test]
    fn kept_nulls_and_added_maps() {
        let object =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "creationTimestamp": null}});
        let out = merged(
            object,
            json!({"metadata": {"labels": {"a": "b", "gone": null}}, "data": {"$patch": "delete"}}),
        );
        assert_eq!(
            out["metadata"],
            json!({"name": "c", "creationTimestamp": null, "labels": {"a": "b"}})
        );
        assert!(out.get("data").is_none());
    }
}
