//! slim-sprig's reflection functions, and the path functions (`os*` are the same on
//! Linux, where the operator runs).

use super::{Func, Ty, f, s};
use crate::resourceset::template::value::Value;

pub const FUNCS: &[(&str, Func)] = &[
    ("typeOf", f(&[Ty::Any], |_, a| Ok(Value::str(a[0].type_name())))),
    (
        "typeIs",
        f(&[Ty::Str, Ty::Any], |_, a| {
            Ok(Value::Bool(s(&a, 0) == a[1].type_name()))
        }),
    ),
    (
        "typeIsLike",
        f(&[Ty::Str, Ty::Any], |_, a| {
            let t = a[1].type_name();
            Ok(Value::Bool(s(&a, 0) == t || format!("*{}", s(&a, 0)) == t))
        }),
    ),
    ("kindOf", f(&[Ty::Any], |_, a| Ok(Value::str(a[0].kind_name())))),
    (
        "kindIs",
        f(&[Ty::Str, Ty::Any], |_, a| {
            Ok(Value::Bool(s(&a, 0) == a[1].kind_name()))
        }),
    ),
    (
        "deepEqual",
        f(&[Ty::Any, Ty::Any], |_, a| Ok(Value::Bool(a[0].deep_equal(&a[1])))),
    ),
    ("base", f(&[Ty::Str], |_, a| Ok(Value::str(base(s(&a, 0)))))),
    ("dir", f(&[Ty::Str], |_, a| Ok(Value::str(dir(s(&a, 0)))))),
    ("clean", f(&[Ty::Str], |_, a| Ok(Value::str(clean(s(&a, 0)))))),
    ("ext", f(&[Ty::Str], |_, a| Ok(Value::str(ext(s(&a, 0)))))),
    (
        "isAbs",
        f(&[Ty::Str], |_, a| Ok(Value::Bool(s(&a, 0).starts_with('/')))),
    ),
    ("osBase", f(&[Ty::Str], |_, a| Ok(Value::str(base(s(&a, 0)))))),
    ("osDir", f(&[Ty::Str], |_, a| Ok(Value::str(dir(s(&a, 0)))))),
    ("osClean", f(&[Ty::Str], |_, a| Ok(Value::str(clean(s(&a, 0)))))),
    ("osExt", f(&[Ty::Str], |_, a| Ok(Value::str(ext(s(&a, 0)))))),
    (
        "osIsAbs",
        f(&[Ty::Str], |_, a| Ok(Value::Bool(s(&a, 0).starts_with('/')))),
    ),
];

/// path.Base.
fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// path.Dir: Clean of everything up to the last slash.
fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// path.Ext.
fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        match c {
            '/' => return String::new(),
            '.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}

/// path.Clean: one slash between names, no `.`, `..` resolved lexically.
fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            name => parts.push(name),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}
