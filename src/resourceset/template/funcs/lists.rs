//! slim-sprig's list functions. They take any slice (by reflection) and return
//! `[]interface {}`; the `must` forms return the error that the plain forms panic with
//! (the engine reports both as `error calling NAME: ...`).

use super::{Ctx, Func, FuncError, FuncResult, Ty, f, i, kind_or_nil_panic, v};
use crate::resourceset::template::value::{Elem, List, Value};

pub const FUNCS: &[(&str, Func)] = &[
    ("list", v(&[], Ty::Any, built)),
    ("tuple", v(&[], Ty::Any, built)),
    ("append", f(&[Ty::Any, Ty::Any], |c, a| push(c, a, "push", false))),
    ("push", f(&[Ty::Any, Ty::Any], |c, a| push(c, a, "push", false))),
    ("mustAppend", f(&[Ty::Any, Ty::Any], |c, a| push(c, a, "push", false))),
    ("mustPush", f(&[Ty::Any, Ty::Any], |c, a| push(c, a, "push", false))),
    ("prepend", f(&[Ty::Any, Ty::Any], |c, a| push(c, a, "prepend", true))),
    (
        "mustPrepend",
        f(&[Ty::Any, Ty::Any], |c, a| push(c, a, "prepend", true)),
    ),
    (
        "first",
        f(&[Ty::Any], |_, a| pick_one(&a[0], "first", |l| l.first().cloned())),
    ),
    (
        "mustFirst",
        f(&[Ty::Any], |_, a| pick_one(&a[0], "first", |l| l.first().cloned())),
    ),
    (
        "last",
        f(&[Ty::Any], |_, a| pick_one(&a[0], "last", |l| l.last().cloned())),
    ),
    (
        "mustLast",
        f(&[Ty::Any], |_, a| pick_one(&a[0], "last", |l| l.last().cloned())),
    ),
    (
        "rest",
        f(&[Ty::Any], |_, a| sub_list(&a[0], "rest", |l| l[1..].to_vec())),
    ),
    (
        "mustRest",
        f(&[Ty::Any], |_, a| sub_list(&a[0], "rest", |l| l[1..].to_vec())),
    ),
    (
        "initial",
        f(&[Ty::Any], |_, a| {
            sub_list(&a[0], "initial", |l| l[..l.len() - 1].to_vec())
        }),
    ),
    (
        "mustInitial",
        f(&[Ty::Any], |_, a| {
            sub_list(&a[0], "initial", |l| l[..l.len() - 1].to_vec())
        }),
    ),
    ("reverse", f(&[Ty::Any], |_, a| reverse(&a[0]))),
    ("mustReverse", f(&[Ty::Any], |_, a| reverse(&a[0]))),
    ("uniq", f(&[Ty::Any], |c, a| uniq(c, &a[0]))),
    ("mustUniq", f(&[Ty::Any], |c, a| uniq(c, &a[0]))),
    ("without", v(&[Ty::Any], Ty::Any, without)),
    ("mustWithout", v(&[Ty::Any], Ty::Any, without)),
    ("has", f(&[Ty::Any, Ty::Any], has)),
    ("mustHas", f(&[Ty::Any, Ty::Any], has)),
    ("slice", v(&[Ty::Any], Ty::Any, slice)),
    ("mustSlice", v(&[Ty::Any], Ty::Any, slice)),
    ("concat", v(&[], Ty::Any, concat)),
    ("chunk", f(&[Ty::Int, Ty::Any], chunk)),
    ("mustChunk", f(&[Ty::Int, Ty::Any], chunk)),
    ("compact", f(&[Ty::Any], |_, a| compact(&a[0]))),
    ("mustCompact", f(&[Ty::Any], |_, a| compact(&a[0]))),
];

fn built(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    c.charge(a.len())?;
    Ok(Value::list(a))
}

/// The elements of a slice argument, or Go's `Cannot <what> on type <kind>`.
fn items(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    match v {
        Value::List(l) => Ok(l.items.clone()),
        other => {
            let kind = kind_or_nil_panic(other)?;
            Err(FuncError::new(format!("Cannot {what} on type {kind}")))
        }
    }
}

fn push(c: &mut Ctx<'_>, a: Vec<Value>, what: &str, front: bool) -> FuncResult {
    let mut list = items(&a[0], what)?;
    c.charge(list.len() + 1)?;
    if front {
        list.insert(0, a[1].clone());
    } else {
        list.push(a[1].clone());
    }
    Ok(Value::list(list))
}

fn pick_one(v: &Value, what: &str, pick: fn(&[Value]) -> Option<Value>) -> FuncResult {
    let list = items(v, &format!("find {what}"))?;
    Ok(pick(&list).unwrap_or(Value::Nil))
}

/// A nil `[]interface {}`, which `rest` and `initial` return for an empty list.
fn nil_list() -> Value {
    Value::List(std::rc::Rc::new(List {
        items: Vec::new(),
        elem: Elem::Any,
        nil: true,
    }))
}

fn sub_list(v: &Value, what: &str, take: fn(&[Value]) -> Vec<Value>) -> FuncResult {
    let list = items(v, &format!("find {what}"))?;
    if list.is_empty() {
        return Ok(nil_list());
    }
    Ok(Value::list(take(&list)))
}

fn reverse(v: &Value) -> FuncResult {
    let mut list = items(v, "find reverse")?;
    list.reverse();
    Ok(Value::list(list))
}

fn uniq(c: &mut Ctx<'_>, v: &Value) -> FuncResult {
    let list = items(v, "find uniq")?;
    c.charge(list.len() * list.len() / 64 + 1)?;
    let mut out: Vec<Value> = Vec::new();
    for item in list {
        if !out.iter().any(|x| x.deep_equal(&item)) {
            out.push(item);
        }
    }
    Ok(Value::list(out))
}

fn without(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let list = items(&a[0], "find without")?;
    c.charge(list.len() * a.len() / 16 + 1)?;
    let omit = &a[1..];
    Ok(Value::list(
        list.into_iter()
            .filter(|x| !omit.iter().any(|o| o.deep_equal(x)))
            .collect(),
    ))
}

fn has(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    match &a[1] {
        Value::Nil => Ok(Value::Bool(false)),
        Value::List(l) => Ok(Value::Bool(l.items.iter().any(|x| x.deep_equal(&a[0])))),
        other => Err(FuncError::new(format!("Cannot find has on type {}", other.kind_name()))),
    }
}

fn slice(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let Value::List(l) = &a[0] else {
        let kind = kind_or_nil_panic(&a[0])?;
        return Err(FuncError::new(format!(
            "list should be type of slice or array but {kind}"
        )));
    };
    let len = l.items.len() as i64;
    if len == 0 {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map_or(0, super::numbers::to_int64);
    let end = a.get(2).map_or(len, super::numbers::to_int64);
    if start < 0 || end < start || end > len {
        return Err(FuncError::new("reflect.Value.Slice: slice index out of bounds"));
    }
    let items = l.items[start as usize..end as usize].to_vec();
    Ok(Value::List(std::rc::Rc::new(List {
        items,
        elem: l.elem,
        nil: false,
    })))
}

fn concat(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let mut out = Vec::new();
    for list in &a {
        match list {
            Value::List(l) => out.extend(l.items.iter().cloned()),
            other => {
                let kind = kind_or_nil_panic(other)?;
                return Err(FuncError::new(format!("Cannot concat type {kind} as list")));
            }
        }
    }
    c.charge(out.len())?;
    if out.is_empty() {
        return Ok(nil_list());
    }
    Ok(Value::list(out))
}

fn chunk(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let size = i(&a, 0);
    let list = items(&a[1], "chunk")?;
    if size <= 0 && !list.is_empty() {
        return Err(FuncError::new("runtime error: integer divide by zero"));
    }
    c.charge(list.len() + 1)?;
    let chunks: Vec<Value> = list
        .chunks(size.max(1) as usize)
        .map(|ch| Value::list(ch.to_vec()))
        .collect();
    Ok(Value::typed_list(chunks, Elem::ListAny))
}

fn compact(v: &Value) -> FuncResult {
    let list = items(v, "compact")?;
    Ok(Value::list(list.into_iter().filter(|x| !x.is_empty()).collect()))
}
