//! slim-sprig's number functions: conversions by reflection kind (strings parsed, bad
//! input 0), int64 arithmetic, `seq`/`until`/`untilStep` (bounded), float rounding.

use std::hash::{BuildHasher, Hasher};

use super::{Ctx, Func, FuncError, FuncResult, Ty, f, fl, i, s, v};
use crate::resourceset::template::gofmt;
use crate::resourceset::template::value::{Elem, Value};

/// Longest list `until`, `untilStep` and `seq` build.
pub const MAX_LIST: i64 = 1_000_000;

pub const FUNCS: &[(&str, Func)] = &[
    ("atoi", f(&[Ty::Str], |_, a| Ok(Value::int(go_atoi(s(&a, 0)))))),
    ("int", f(&[Ty::Any], |_, a| Ok(Value::int(to_int64(&a[0]))))),
    ("int64", f(&[Ty::Any], |_, a| Ok(Value::int64(to_int64(&a[0]))))),
    ("float64", f(&[Ty::Any], |_, a| Ok(Value::Float(to_float64(&a[0]))))),
    (
        "toDecimal",
        f(&[Ty::Any], |_, a| {
            Ok(Value::int64(i64::from_str_radix(&gofmt::to_v(&a[0]), 8).unwrap_or(0)))
        }),
    ),
    ("seq", v(&[], Ty::Int, seq)),
    (
        "until",
        f(&[Ty::Int], |c, a| {
            let n = i(&a, 0);
            until_step(c, 0, n, if n < 0 { -1 } else { 1 })
        }),
    ),
    (
        "untilStep",
        f(&[Ty::Int, Ty::Int, Ty::Int], |c, a| {
            until_step(c, i(&a, 0), i(&a, 1), i(&a, 2))
        }),
    ),
    (
        "add1",
        f(&[Ty::Any], |_, a| Ok(Value::int64(to_int64(&a[0]).wrapping_add(1)))),
    ),
    (
        "add",
        v(&[], Ty::Any, |_, a| {
            Ok(Value::int64(a.iter().map(to_int64).fold(0, i64::wrapping_add)))
        }),
    ),
    (
        "sub",
        f(&[Ty::Any, Ty::Any], |_, a| {
            Ok(Value::int64(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
        }),
    ),
    ("div", f(&[Ty::Any, Ty::Any], |_, a| div_mod(&a, i64::wrapping_div))),
    ("mod", f(&[Ty::Any, Ty::Any], |_, a| div_mod(&a, i64::wrapping_rem))),
    (
        "mul",
        v(&[Ty::Any], Ty::Any, |_, a| {
            Ok(Value::int64(a.iter().map(to_int64).fold(1, i64::wrapping_mul)))
        }),
    ),
    ("randInt", f(&[Ty::Int, Ty::Int], rand_int)),
    (
        "biggest",
        v(&[Ty::Any], Ty::Any, |_, a| {
            Ok(Value::int64(a.iter().map(to_int64).max().unwrap_or(0)))
        }),
    ),
    (
        "max",
        v(&[Ty::Any], Ty::Any, |_, a| {
            Ok(Value::int64(a.iter().map(to_int64).max().unwrap_or(0)))
        }),
    ),
    (
        "min",
        v(&[Ty::Any], Ty::Any, |_, a| {
            Ok(Value::int64(a.iter().map(to_int64).min().unwrap_or(0)))
        }),
    ),
    (
        "maxf",
        v(&[Ty::Any], Ty::Any, |_, a| {
            Ok(Value::Float(a.iter().map(to_float64).fold(f64::NEG_INFINITY, go_max)))
        }),
    ),
    (
        "minf",
        v(&[Ty::Any], Ty::Any, |_, a| {
            Ok(Value::Float(a.iter().map(to_float64).fold(f64::INFINITY, go_min)))
        }),
    ),
    ("ceil", f(&[Ty::Any], |_, a| Ok(Value::Float(to_float64(&a[0]).ceil())))),
    (
        "floor",
        f(&[Ty::Any], |_, a| Ok(Value::Float(to_float64(&a[0]).floor()))),
    ),
    ("round", v(&[Ty::Any, Ty::Int], Ty::Float, round)),
];

/// strconv.Atoi with the error dropped: optional sign and decimal digits, else 0.
fn go_atoi(text: &str) -> i64 {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    text.parse::<i64>().unwrap_or(0)
}

/// 2^63, the first float beyond i64.
const TWO_63: f64 = 9_223_372_036_854_775_808.0;

/// Go's int64(f): truncation; what amd64 gives for values out of range.
fn f2i(x: f64) -> i64 {
    if x.is_nan() || !(-TWO_63..TWO_63).contains(&x) {
        return i64::MIN;
    }
    x as i64
}

/// slim-sprig's toInt64.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Str(s) => go_atoi(s),
        Value::Int(n, _) => *n,
        Value::Float(x) => f2i(*x),
        Value::Bool(b) => i64::from(*b),
        _ => 0,
    }
}

/// slim-sprig's toFloat64.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Str(s) => parse_go_float(s).unwrap_or(0.0),
        Value::Int(n, _) => *n as f64,
        Value::Float(x) => *x,
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

/// strconv.ParseFloat for decimal text (Rust also reads "inf", "nan", "infinity").
pub fn parse_go_float(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    let lower = body.to_ascii_lowercase();
    if matches!(lower.as_str(), "inf" | "infinity" | "nan") {
        return text.to_ascii_lowercase().parse().ok();
    }
    if body.is_empty()
        || !body
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    text.parse().ok()
}

fn go_max(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.max(b) }
}

fn go_min(a: f64, b: f64) -> f64 {
    if a.is_nan() || b.is_nan() { f64::NAN } else { a.min(b) }
}

fn div_mod(a: &[Value], op: fn(i64, i64) -> i64) -> FuncResult {
    let (x, y) = (to_int64(&a[0]), to_int64(&a[1]));
    if y == 0 {
        return Err(FuncError::new("runtime error: integer divide by zero"));
    }
    Ok(Value::int64(op(x, y)))
}

pub fn until_step(c: &mut Ctx<'_>, start: i64, stop: i64, step: i64) -> FuncResult {
    let count = if stop < start {
        if step >= 0 {
            0
        } else {
            (start as i128 - stop as i128 + (-step as i128) - 1) / -step as i128
        }
    } else if step <= 0 {
        0
    } else {
        (stop as i128 - start as i128 + step as i128 - 1) / step as i128
    };
    if count > MAX_LIST as i128 {
        return Err(FuncError::new(format!(
            "a list of {count} numbers is more than the {MAX_LIST} a template may build"
        )));
    }
    c.charge(count as usize)?;
    let items = (0..count as i64).map(|k| Value::int(start + k * step)).collect();
    Ok(Value::typed_list(items, Elem::Int))
}

fn seq(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let p: Vec<i64> = (0..a.len()).map(|k| i(&a, k)).collect();
    let list = match p.as_slice() {
        [end] => {
            let inc = if *end < 1 { -1 } else { 1 };
            until_step(c, 1, end + inc, inc)?
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(c, *start, end + step, step)?
        }
        [start, step, end] => {
            let inc = if end < start { -1 } else { 1 };
            if end < start && *step > 0 {
                return Ok(Value::str(""));
            }
            until_step(c, *start, end + inc, *step)?
        }
        _ => return Ok(Value::str("")),
    };
    let Value::List(l) = list else {
        return Ok(Value::str(""));
    };
    let parts: Vec<String> = l.items.iter().map(gofmt::to_v).collect();
    Ok(Value::str(parts.join(" ")))
}

fn rand_int(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let (min, max) = (i(&a, 0), i(&a, 1));
    let span = max.wrapping_sub(min);
    if span <= 0 {
        return Err(FuncError::new("invalid argument to Intn"));
    }
    // RandomState is seeded per process and per instance: randomness without a dependency.
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_i64(min ^ max);
    Ok(Value::int(min + (h.finish() % span as u64) as i64))
}

fn round(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let round_on = if a.len() > 2 { fl(&a, 2) } else { 0.5 };
    let val = to_float64(&a[0]);
    let pow = 10f64.powf(i(&a, 1) as f64);
    let digit = pow * val;
    let frac = digit.fract();
    let r = if frac >= round_on { digit.ceil() } else { digit.floor() };
    Ok(Value::Float(r / pow))
}
