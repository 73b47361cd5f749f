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

mod elements;
mod error;
#[cfg(test)]
mod tests;

use std::borrow::Cow;

use serde_json::{Map, Value};

use self::elements::{
    append_list, element_index, element_setter, element_values, field, merge_values, primitive_values, set_field,
    validate_keys,
};
use super::merge_keys::{Ty, schema_for};

pub use self::error::{ElementError, MergeError};

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

fn path_text(path: &[String]) -> String {
    if path.is_empty() {
        "the object".to_string()
    } else {
        path.join(".")
    }
}

/// Reads a map's `$patch` directive and returns the map without it. An unknown directive is an
/// error; kyaml ignores it (and keeps it as a field) where the object has no such map yet.
fn directive<'m>(
    map: &'m Map<String, Value>,
    strict: bool,
    path: &[String],
) -> Result<(Directive, Cow<'m, Map<String, Value>>), MergeError> {
    let Some(value) = map.get(DIRECTIVE_KEY) else {
        return Ok((Directive::Merge, Cow::Borrowed(map)));
    };
    let d = match scalar_text(value).as_str() {
        "delete" => Directive::Delete,
        "replace" => Directive::Replace,
        "merge" => Directive::Merge,
        other if strict => return Err(unknown_directive(path, other)),
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
fn sequence_directive<'l>(list: &'l [Value], path: &[String]) -> Result<(Directive, Cow<'l, [Value]>), MergeError> {
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
        other => return Err(unknown_directive(path, other)),
    };
    let mut elided = list.to_vec();
    element_setter(&mut elided, None, &[DIRECTIVE_KEY.to_string()], &[value]).map_err(element_error(path))?;
    Ok((directive, Cow::Owned(elided)))
}

fn unknown_directive(path: &[String], directive: &str) -> MergeError {
    MergeError::UnknownDirective {
        path: path_text(path),
        directive: directive.to_string(),
    }
}

/// Lazy, because the merge calls it for every element and the path text is only for errors.
fn element_error(path: &[String]) -> impl FnOnce(ElementError) -> MergeError {
    move |source| MergeError::Element {
        path: path_text(path),
        source,
    }
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
    ) -> Result<Walked, MergeError> {
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
                return Err(MergeError::ShapeMismatch {
                    path: path_text(&self.path),
                    patch: shape(origin.unwrap_or(&Value::Null)),
                    object: shape(dest.as_ref().unwrap_or(&Value::Null)),
                });
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
    ) -> Result<Walked, MergeError> {
        let origin_map = origin.and_then(Value::as_object);
        let (mut base, same, effective) = match dest {
            None | Some(Value::Null) => {
                let dest_is_null = dest.is_some();
                match origin {
                    None if dest_is_null => return Ok(Walked::Other(Value::Null)),
                    None | Some(Value::Null) => return Ok(Walked::Clear),
                    Some(Value::Object(m)) => {
                        let (d, effective) = directive(m, false, &self.path)?;
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
                        let (directive, effective) = directive(m, true, &self.path)?;
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
    ) -> Result<Walked, MergeError> {
        let (dest_list, origin_list, aliased): (Vec<Value>, Option<Cow<'_, [Value]>>, bool) = match (dest, origin) {
            // A list the object lacks is the patch's, directives and all.
            (None | Some(Value::Null), Some(Value::Array(o))) => (o.clone(), Some(Cow::Borrowed(o.as_slice())), true),
            (None | Some(Value::Null), _) => return Ok(Walked::Clear),
            (Some(_), Some(Value::Null)) => return Ok(Walked::Clear),
            (Some(Value::Array(d)), Some(Value::Array(o))) => {
                let (directive, effective) = sequence_directive(o, &self.path)?;
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
    ) -> Result<Vec<Value>, MergeError> {
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
                            set_field(v, key, value).map_err(element_error(&self.path))?;
                        }
                    }
                    _ => {
                        element_setter(&mut dest, None, &valid_keys, &valid_values)
                            .map_err(element_error(&self.path))?;
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
            element_setter(&mut items, val, &valid_keys, &valid_values).map_err(element_error(&self.path))?;
        }
        if values_list.is_empty() {
            return Ok(dest);
        }
        append_list(&mut items, &dest, &valid_keys).map_err(element_error(&self.path))?;
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
pub(crate) fn merge(object: Value, patch: &Value) -> Result<Merged, MergeError> {
    if patch.get(DIRECTIVE_KEY).and_then(Value::as_str) == Some("replace") {
        // kyaml merges the replacement into a node it then throws away.
        return Ok(Merged::Unchanged(object));
    }
    let mut walker = Walker { path: Vec::new() };
    Ok(match walker.walk(Some(object), Some(patch), None, false)? {
        Walked::Clear => Merged::Deleted,
        Walked::Same(v) if is_nil_or_empty(&v) => Merged::Deleted,
        Walked::Same(v) => Merged::Object(v),
        Walked::Other(_) => return Err(MergeError::ReplacesObject),
    })
}
