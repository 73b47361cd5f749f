//! Go's template builtins (`slice` is slim-sprig's, which takes precedence in Go too).

use super::{Ctx, Func, FuncError, FuncResult, Ty, f, v};
use crate::resourceset::template::gofmt;
use crate::resourceset::template::value::{IntKind, Value};

pub const FUNCS: &[(&str, Func)] = &[
    // and/or short-circuit in the executor; the table gives their arity.
    (
        "and",
        v(&[Ty::Reflect], Ty::Reflect, |_, a| {
            Ok(a.last().cloned().unwrap_or(Value::Nil))
        }),
    ),
    (
        "or",
        v(&[Ty::Reflect], Ty::Reflect, |_, a| {
            Ok(a.last().cloned().unwrap_or(Value::Nil))
        }),
    ),
    ("not", f(&[Ty::Reflect], |_, a| Ok(Value::Bool(!a[0].truthy())))),
    ("len", f(&[Ty::Reflect], len)),
    ("index", v(&[Ty::Reflect], Ty::Reflect, index)),
    ("eq", v(&[Ty::Reflect], Ty::Reflect, eq)),
    (
        "ne",
        f(&[Ty::Reflect, Ty::Reflect], |c, a| Ok(Value::Bool(!eq(c, a)?.truthy()))),
    ),
    (
        "lt",
        f(&[Ty::Reflect, Ty::Reflect], |_, a| cmp(&a[0], &a[1], |o| o.is_lt())),
    ),
    (
        "le",
        f(&[Ty::Reflect, Ty::Reflect], |_, a| cmp(&a[0], &a[1], |o| o.is_le())),
    ),
    (
        "gt",
        f(&[Ty::Reflect, Ty::Reflect], |_, a| cmp(&a[0], &a[1], |o| o.is_gt())),
    ),
    (
        "ge",
        f(&[Ty::Reflect, Ty::Reflect], |_, a| cmp(&a[0], &a[1], |o| o.is_ge())),
    ),
    ("print", v(&[], Ty::Any, |_, a| Ok(Value::str(gofmt::sprint(&a))))),
    (
        "printf",
        v(&[Ty::Str], Ty::Any, |_, a| {
            Ok(Value::str(gofmt::sprintf(super::s(&a, 0), &a[1..])))
        }),
    ),
    ("println", v(&[], Ty::Any, |_, a| Ok(Value::str(gofmt::sprintln(&a))))),
    (
        "html",
        v(&[], Ty::Any, |_, a| Ok(Value::str(html_escape(&eval_args(&a))))),
    ),
    ("js", v(&[], Ty::Any, |_, a| Ok(Value::str(js_escape(&eval_args(&a)))))),
    (
        "urlquery",
        v(&[], Ty::Any, |_, a| Ok(Value::str(query_escape(&eval_args(&a))))),
    ),
    ("call", v(&[Ty::Reflect], Ty::Reflect, call)),
];

/// Nothing a template can reach is a function in this engine.
fn call(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    match &a[0] {
        Value::Nil => Err(FuncError::new("call of nil")),
        other => Err(FuncError::new(format!("non-function of type {}", other.type_name()))),
    }
}

/// The text of the builtin escapers' arguments: a lone string as is, else `fmt.Sprint`.
fn eval_args(a: &[Value]) -> String {
    match a {
        [Value::Str(s)] => s.to_string(),
        _ => gofmt::sprint(a),
    }
}

fn len(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let n = match &a[0] {
        Value::Str(s) => s.len(),
        Value::List(l) => l.items.len(),
        Value::Map(m) => m.borrow().entries.len(),
        Value::Nil if c.nil_interfaces & 1 == 1 => return Err(FuncError::new("len of nil pointer")),
        // A nil that reaches len through a pipeline is Go's zero reflect.Value.
        Value::Nil => return Err(FuncError::new("reflect: call of reflect.Value.Type on zero Value")),
        other => return Err(FuncError::new(format!("len of type {}", other.type_name()))),
    };
    Ok(Value::int(n as i64))
}

fn index_int(v: &Value) -> Result<i64, FuncError> {
    match v {
        Value::Int(i, _) => Ok(*i),
        Value::Nil => Err(FuncError::new("cannot index slice/array with nil")),
        other => Err(FuncError::new(format!(
            "cannot index slice/array with type {}",
            other.type_name()
        ))),
    }
}

/// Go checks an index against the capacity, then reflection against the length: one past
/// the end gets reflection's message (capacities here are lengths).
fn check_index(i: i64, len: usize, what: &str) -> Result<(), FuncError> {
    if i < 0 || i as u64 > len as u64 {
        return Err(FuncError::new(format!("index out of range: {i}")));
    }
    if i as usize == len {
        return Err(FuncError::new(format!("reflect: {what} index out of range")));
    }
    Ok(())
}

fn index(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let mut item = a[0].clone();
    if let Value::Nil = item {
        return Err(FuncError::new("index of untyped nil"));
    }
    for key in &a[1..] {
        item = match &item {
            Value::List(l) => {
                let i = index_int(key)?;
                check_index(i, l.items.len(), "slice")?;
                l.items[i as usize].clone()
            }
            Value::Str(s) => {
                let i = index_int(key)?;
                check_index(i, s.len(), "string")?;
                Value::Int(s.as_bytes()[i as usize] as i64, IntKind::Uint8)
            }
            Value::Map(m) => {
                let Value::Str(k) = key else {
                    let typ = if let Value::Nil = key { "<nil>" } else { key.type_name() };
                    return Err(FuncError::new(format!("value has type {typ}; should be string")));
                };
                let m = m.borrow();
                match m.entries.get(k.as_ref()) {
                    Some(v) => v.clone(),
                    None if m.elem == crate::resourceset::template::value::Elem::Str => Value::str(""),
                    None => Value::Nil,
                }
            }
            Value::Nil => return Err(FuncError::new("index of nil pointer")),
            other => {
                return Err(FuncError::new(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Basic {
    Bool,
    Int,
    Uint,
    Float,
    Str,
    Other,
}

fn basic(v: &Value) -> Basic {
    match v {
        Value::Bool(_) => Basic::Bool,
        Value::Int(_, IntKind::Uint8) => Basic::Uint,
        Value::Int(..) => Basic::Int,
        Value::Float(_) => Basic::Float,
        Value::Str(_) => Basic::Str,
        _ => Basic::Other,
    }
}

fn eq(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let first = &a[0];
    if a.len() < 2 {
        return Err(FuncError::new("missing argument for comparison"));
    }
    for other in &a[1..] {
        let (k1, k2) = (basic(first), basic(other));
        let truth = if k1 != k2 {
            match (first, other) {
                (Value::Int(x, _), Value::Int(y, _)) => x == y,
                (Value::Nil, _) | (_, Value::Nil) => false,
                _ => return Err(incompatible(first, other)),
            }
        } else if k1 == Basic::Other {
            match first.go_equal(other) {
                Some(t) => t,
                None => {
                    let (bad, typ) = if matches!(first, Value::List(_) | Value::Map(_)) {
                        (first, first)
                    } else {
                        (other, other)
                    };
                    return Err(FuncError::new(format!(
                        "non-comparable type {}: {}",
                        gofmt::to_v(bad),
                        typ.type_name()
                    )));
                }
            }
        } else {
            first.go_equal(other).unwrap_or(false)
                || matches!((first, other), (Value::Int(x, _), Value::Int(y, _)) if x == y)
        };
        if truth {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn incompatible(a: &Value, b: &Value) -> FuncError {
    FuncError::new(format!(
        "incompatible types for comparison: {} and {}",
        a.type_name(),
        b.type_name()
    ))
}

fn cmp(a: &Value, b: &Value, want: fn(std::cmp::Ordering) -> bool) -> FuncResult {
    let (k1, k2) = (basic(a), basic(b));
    if matches!(k1, Basic::Other | Basic::Bool) || matches!(k2, Basic::Other | Basic::Bool) {
        if k1 == k2 || matches!(k1, Basic::Other) || matches!(k2, Basic::Other) {
            return Err(FuncError::new("invalid type for comparison"));
        }
        return Err(incompatible(a, b));
    }
    let ord = match (a, b) {
        (Value::Int(x, _), Value::Int(y, _)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(std::cmp::Ordering::Greater),
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        _ => return Err(incompatible(a, b)),
    };
    if matches!((a, b), (Value::Float(x), Value::Float(y)) if x.is_nan() || y.is_nan()) {
        return Ok(Value::Bool(false));
    }
    Ok(Value::Bool(want(ord)))
}

/// template.HTMLEscapeString.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// template.JSEscapeString.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if (c as u32) < 0x80 => out.push(c),
            c if !c.is_control() && !is_format_char(c) => out.push(c),
            c => out.push_str(&format!("\\u{:04X}", c as u32)),
        }
    }
    out
}

fn is_format_char(c: char) -> bool {
    matches!(c as u32, 0xad | 0x200b..=0x200f | 0x2028..=0x202e | 0x2060..=0x206f | 0xfeff)
}

/// url.QueryEscape.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
