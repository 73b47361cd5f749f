//! slim-sprig's defaults, JSON and flow functions, and `hello`.

use super::{Ctx, Func, FuncError, FuncResult, Ty, f, s, v};
use crate::resourceset::template::value::{self, Value};
use crate::resourceset::template::yaml::json;

pub const FUNCS: &[(&str, Func)] = &[
    (
        "default",
        v(&[Ty::Any], Ty::Any, |_, a| {
            Ok(match a.get(1) {
                Some(given) if !given.is_empty() => given.clone(),
                _ => a[0].clone(),
            })
        }),
    ),
    ("empty", f(&[Ty::Any], |_, a| Ok(Value::Bool(a[0].is_empty())))),
    (
        "coalesce",
        v(&[], Ty::Any, |_, a| {
            Ok(a.into_iter().find(|x| !x.is_empty()).unwrap_or(Value::Nil))
        }),
    ),
    (
        "all",
        v(&[], Ty::Any, |_, a| Ok(Value::Bool(a.iter().all(|x| !x.is_empty())))),
    ),
    (
        "any",
        v(&[], Ty::Any, |_, a| Ok(Value::Bool(a.iter().any(|x| !x.is_empty())))),
    ),
    (
        "fromJson",
        f(&[Ty::Str], |c, a| Ok(from_json(c, s(&a, 0)).unwrap_or(Value::Nil))),
    ),
    ("mustFromJson", f(&[Ty::Str], |c, a| from_json(c, s(&a, 0)))),
    (
        "toJson",
        f(&[Ty::Any], |_, a| {
            Ok(Value::str(json(&a[0], true, false).unwrap_or_default()))
        }),
    ),
    (
        "mustToJson",
        f(&[Ty::Any], |_, a| json(&a[0], true, false).map(Value::str)),
    ),
    (
        "toPrettyJson",
        f(&[Ty::Any], |_, a| {
            Ok(Value::str(json(&a[0], true, true).unwrap_or_default()))
        }),
    ),
    (
        "mustToPrettyJson",
        f(&[Ty::Any], |_, a| json(&a[0], true, true).map(Value::str)),
    ),
    (
        "toRawJson",
        f(&[Ty::Any], |_, a| {
            Ok(Value::str(json(&a[0], false, false).unwrap_or_default()))
        }),
    ),
    (
        "mustToRawJson",
        f(&[Ty::Any], |_, a| json(&a[0], false, false).map(Value::str)),
    ),
    (
        "ternary",
        f(&[Ty::Any, Ty::Any, Ty::Bool], |_, a| {
            Ok(if matches!(a[2], Value::Bool(true)) {
                a[0].clone()
            } else {
                a[1].clone()
            })
        }),
    ),
    ("fail", f(&[Ty::Str], |_, a| Err(FuncError::new(s(&a, 0))))),
    ("hello", f(&[], |_, _| Ok(Value::str("Hello!")))),
];

/// json.Unmarshal into `interface{}`: every number a float64.
fn from_json(c: &mut Ctx<'_>, text: &str) -> FuncResult {
    c.charge(text.len() / 8 + 1)?;
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(v) => Ok(value::from_json_floats(&v)),
        Err(e) => Err(FuncError::new(json_error(text, &e))),
    }
}

/// Go's wording for the common JSON syntax errors.
fn json_error(text: &str, e: &serde_json::Error) -> String {
    if text.trim().is_empty() || e.is_eof() {
        return "unexpected end of JSON input".into();
    }
    format!("invalid JSON: {e}")
}
