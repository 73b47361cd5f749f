//! slim-sprig's dictionary functions. Their maps are `map[string]interface {}` and shared:
//! `set` and `unset` change the map in place, as in Go.

use std::collections::BTreeMap;

use super::{Ctx, Func, FuncError, FuncResult, Ty, f, s, v};
use crate::resourceset::template::value::{Elem, Value};

pub const FUNCS: &[(&str, Func)] = &[
    ("dict", v(&[], Ty::Any, dict)),
    (
        "get",
        f(&[Ty::MapAny, Ty::Str], |_, a| {
            Ok(with_map(&a[0], |m| m.get(s(&a, 1)).cloned()).unwrap_or(Value::str("")))
        }),
    ),
    ("set", f(&[Ty::MapAny, Ty::Str, Ty::Any], set)),
    ("unset", f(&[Ty::MapAny, Ty::Str], unset)),
    (
        "hasKey",
        f(&[Ty::MapAny, Ty::Str], |_, a| {
            Ok(Value::Bool(with_map(&a[0], |m| m.get(s(&a, 1)).map(|_| ())).is_some()))
        }),
    ),
    ("pluck", v(&[Ty::Str], Ty::MapAny, pluck)),
    ("keys", v(&[], Ty::MapAny, keys)),
    ("pick", v(&[Ty::MapAny], Ty::Str, |_, a| pick_or_omit(&a, true))),
    ("omit", v(&[Ty::MapAny], Ty::Str, |_, a| pick_or_omit(&a, false))),
    (
        "values",
        f(&[Ty::MapAny], |_, a| {
            Ok(Value::list(
                with_map(&a[0], |m| Some(m.values().cloned().collect())).unwrap_or_default(),
            ))
        }),
    ),
    ("dig", v(&[], Ty::Any, dig)),
];

fn with_map<T>(v: &Value, f: impl FnOnce(&BTreeMap<String, Value>) -> Option<T>) -> Option<T> {
    match v {
        Value::Map(m) => f(&m.borrow().entries),
        _ => None,
    }
}

fn dict(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    c.charge(a.len())?;
    let mut entries = BTreeMap::new();
    let mut it = a.into_iter();
    while let Some(k) = it.next() {
        let key = super::strings::strval(&k);
        entries.insert(key, it.next().unwrap_or_else(|| Value::str("")));
    }
    Ok(Value::map(entries))
}

fn set(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    if let Value::Map(m) = &a[0] {
        let mut m = m.borrow_mut();
        if m.nil {
            return Err(FuncError::new("assignment to entry in nil map"));
        }
        m.entries.insert(s(&a, 1).to_string(), a[2].clone());
    }
    Ok(a[0].clone())
}

fn unset(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    if let Value::Map(m) = &a[0] {
        m.borrow_mut().entries.remove(s(&a, 1));
    }
    Ok(a[0].clone())
}

fn pluck(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let key = s(&a, 0);
    let out = a[1..]
        .iter()
        .filter_map(|d| with_map(d, |m| m.get(key).cloned()))
        .collect();
    Ok(Value::list(out))
}

/// Go returns the keys in map order, which is random: templates sort them (`sortAlpha`);
/// sorted is one of Go's possible answers.
fn keys(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let mut out = Vec::new();
    for d in &a {
        if let Some(ks) = with_map(d, |m| Some(m.keys().cloned().collect::<Vec<_>>())) {
            out.extend(ks);
        }
    }
    Ok(Value::strings(out))
}

fn pick_or_omit(a: &[Value], pick: bool) -> FuncResult {
    let names: Vec<&str> = a[1..].iter().filter_map(Value::as_str).collect();
    let entries = with_map(&a[0], |m| {
        Some(
            m.iter()
                .filter(|(k, _)| names.contains(&k.as_str()) == pick)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        )
    })
    .unwrap_or_default();
    Ok(Value::map(entries))
}

fn dig(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    if a.len() < 3 {
        return Err(FuncError::new("dig needs at least three arguments"));
    }
    let Value::Map(dict) = &a[a.len() - 1] else {
        return Err(assertion(&a[a.len() - 1], "map[string]interface {}"));
    };
    if dict.borrow().elem != Elem::Any {
        return Err(assertion(&a[a.len() - 1], "map[string]interface {}"));
    }
    let default = a[a.len() - 2].clone();
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::Str(s) => keys.push(s.to_string()),
            other => return Err(assertion(other, "string")),
        }
    }
    let mut current = Value::Map(dict.clone());
    for (n, key) in keys.iter().enumerate() {
        let Value::Map(m) = &current else {
            return Err(assertion(&current, "map[string]interface {}"));
        };
        let step = m.borrow().entries.get(key).cloned();
        match step {
            None => return Ok(default),
            Some(v) if n + 1 == keys.len() => return Ok(v),
            Some(v) => current = v,
        }
    }
    Ok(default)
}

/// Go's message for a failed type assertion on an `interface {}`.
fn assertion(v: &Value, want: &str) -> FuncError {
    match v {
        Value::Nil => FuncError::new(format!("interface conversion: interface {{}} is nil, not {want}")),
        other => FuncError::new(format!(
            "interface conversion: interface {{}} is {}, not {want}",
            other.type_name()
        )),
    }
}
