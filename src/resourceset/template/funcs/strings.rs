//! slim-sprig's string functions, and `slugify`.

use sha1::Digest;

use super::{Ctx, Func, FuncError, FuncResult, Ty, f, i, s, v};
use crate::resourceset::template::gofmt;
use crate::resourceset::template::value::{Elem, Value};

pub const FUNCS: &[(&str, Func)] = &[
    ("trunc", f(&[Ty::Int, Ty::Str], trunc)),
    ("trim", f(&[Ty::Str], |_, a| Ok(Value::str(s(&a, 0).trim())))),
    ("upper", f(&[Ty::Str], |_, a| Ok(Value::str(go_upper(s(&a, 0)))))),
    ("lower", f(&[Ty::Str], |_, a| Ok(Value::str(go_lower(s(&a, 0)))))),
    ("title", f(&[Ty::Str], |_, a| Ok(Value::str(go_title(s(&a, 0)))))),
    ("substr", f(&[Ty::Int, Ty::Int, Ty::Str], substr)),
    ("repeat", f(&[Ty::Int, Ty::Str], repeat)),
    ("trimall", f(&[Ty::Str, Ty::Str], trim_all)),
    ("trimAll", f(&[Ty::Str, Ty::Str], trim_all)),
    (
        "trimSuffix",
        f(&[Ty::Str, Ty::Str], |_, a| {
            Ok(Value::str(s(&a, 1).strip_suffix(s(&a, 0)).unwrap_or(s(&a, 1))))
        }),
    ),
    (
        "trimPrefix",
        f(&[Ty::Str, Ty::Str], |_, a| {
            Ok(Value::str(s(&a, 1).strip_prefix(s(&a, 0)).unwrap_or(s(&a, 1))))
        }),
    ),
    (
        "contains",
        f(&[Ty::Str, Ty::Str], |_, a| Ok(Value::Bool(s(&a, 1).contains(s(&a, 0))))),
    ),
    (
        "hasPrefix",
        f(&[Ty::Str, Ty::Str], |_, a| {
            Ok(Value::Bool(s(&a, 1).starts_with(s(&a, 0))))
        }),
    ),
    (
        "hasSuffix",
        f(&[Ty::Str, Ty::Str], |_, a| {
            Ok(Value::Bool(s(&a, 1).ends_with(s(&a, 0))))
        }),
    ),
    (
        "quote",
        v(&[], Ty::Any, |_, a| {
            Ok(Value::str(quote_all(&a, |x| gofmt::go_quote(&x))))
        }),
    ),
    (
        "squote",
        v(&[], Ty::Any, |_, a| Ok(Value::str(quote_all(&a, |x| format!("'{x}'"))))),
    ),
    ("cat", v(&[], Ty::Any, cat)),
    (
        "indent",
        f(&[Ty::Int, Ty::Str], |c, a| indent(c, i(&a, 0), s(&a, 1), "")),
    ),
    (
        "nindent",
        f(&[Ty::Int, Ty::Str], |c, a| indent(c, i(&a, 0), s(&a, 1), "\n")),
    ),
    ("replace", f(&[Ty::Str, Ty::Str, Ty::Str], replace)),
    (
        "plural",
        f(&[Ty::Str, Ty::Str, Ty::Int], |_, a| {
            Ok(Value::str(if i(&a, 2) == 1 { s(&a, 0) } else { s(&a, 1) }))
        }),
    ),
    (
        "sha1sum",
        f(&[Ty::Str], |_, a| {
            Ok(Value::str(hex::encode(sha1::Sha1::digest(s(&a, 0).as_bytes()))))
        }),
    ),
    (
        "sha256sum",
        f(&[Ty::Str], |_, a| {
            Ok(Value::str(hex::encode(sha2::Sha256::digest(s(&a, 0).as_bytes()))))
        }),
    ),
    (
        "adler32sum",
        f(&[Ty::Str], |_, a| {
            Ok(Value::str(
                crate::resourceset::template::ids::adler32(s(&a, 0).as_bytes()).to_string(),
            ))
        }),
    ),
    ("toString", f(&[Ty::Any], |_, a| Ok(Value::str(strval(&a[0]))))),
    (
        "split",
        f(&[Ty::Str, Ty::Str], |c, a| split_map(c, s(&a, 0), -1, s(&a, 1))),
    ),
    (
        "splitn",
        f(&[Ty::Str, Ty::Int, Ty::Str], |c, a| {
            split_map(c, s(&a, 0), i(&a, 1), s(&a, 2))
        }),
    ),
    (
        "splitList",
        f(&[Ty::Str, Ty::Str], |c, a| {
            Ok(Value::strings(go_split(c, s(&a, 1), s(&a, 0), -1)?))
        }),
    ),
    ("toStrings", f(&[Ty::Any], |_, a| Ok(Value::strings(strslice(&a[0]))))),
    (
        "join",
        f(&[Ty::Str, Ty::Any], |_, a| {
            Ok(Value::str(strslice(&a[1]).join(s(&a, 0))))
        }),
    ),
    ("sortAlpha", f(&[Ty::Any], sort_alpha)),
    (
        "slugify",
        f(&[Ty::Str], |_, a| {
            Ok(Value::str(crate::resourceset::template::slugify::slugify(s(&a, 0))))
        }),
    ),
];

/// sprig's strval: strings as they are, everything else as `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        other => gofmt::to_v(other),
    }
}

/// sprig's strslice: the elements of a list as strings, nils left out; anything else a
/// one-element list (nil: empty).
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l) if l.elem == Elem::Str => l.items.iter().map(strval).collect(),
        Value::List(l) => l
            .items
            .iter()
            .filter(|x| !matches!(x, Value::Nil))
            .map(strval)
            .collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

/// Go strings are bytes; a cut inside a character leaves bytes that Go later prints as
/// one U+FFFD each.
pub fn go_lossy(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(good).unwrap_or(""));
                out.push('\u{fffd}');
                rest = &bad[1..];
            }
        }
    }
    out
}

fn trunc(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let (c, text) = (i(&a, 0), s(&a, 1).as_bytes());
    let len = text.len() as i64;
    let out = if c < 0 && len + c > 0 {
        &text[(len + c) as usize..]
    } else if c >= 0 && len > c {
        &text[..c as usize]
    } else {
        text
    };
    Ok(Value::str(go_lossy(out)))
}

fn substr(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let (start, end, text) = (i(&a, 0), i(&a, 1), s(&a, 2).as_bytes());
    let len = text.len() as i64;
    let (from, to) = if start < 0 {
        (0, end)
    } else if end < 0 || end > len {
        (start, len)
    } else {
        (start, end)
    };
    if to < 0 || to > len {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [:{to}] with length {len}"
        )));
    }
    if from > to {
        return Err(FuncError::new(format!(
            "runtime error: slice bounds out of range [{from}:{to}]"
        )));
    }
    Ok(Value::str(go_lossy(&text[from as usize..to as usize])))
}

fn repeat(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let (n, text) = (i(&a, 0), s(&a, 1));
    if n < 0 {
        return Err(FuncError::new("strings: negative Repeat count"));
    }
    let size = (text.len() as u128) * (n as u128);
    if size > crate::resourceset::template::MAX_OUTPUT as u128 {
        return Err(FuncError::new(format!(
            "repeat would build {size} bytes, more than a render may output"
        )));
    }
    c.charge(size as usize / 16)?;
    Ok(Value::str(text.repeat(n as usize)))
}

fn trim_all(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let cutset = s(&a, 0);
    Ok(Value::str(s(&a, 1).trim_matches(|c| cutset.contains(c))))
}

fn quote_all(a: &[Value], q: impl Fn(String) -> String) -> String {
    a.iter()
        .filter(|x| !matches!(x, Value::Nil))
        .map(|x| q(strval(x)))
        .collect::<Vec<_>>()
        .join(" ")
}

fn cat(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let parts: Vec<String> = a.iter().filter(|x| !matches!(x, Value::Nil)).map(gofmt::to_v).collect();
    Ok(Value::str(parts.join(" ")))
}

fn indent(c: &mut Ctx<'_>, spaces: i64, text: &str, prefix: &str) -> FuncResult {
    if spaces < 0 {
        return Err(FuncError::new("strings: negative Repeat count"));
    }
    let lines = text.matches('\n').count() as u128 + 1;
    let size = text.len() as u128 + lines * spaces as u128;
    if size > crate::resourceset::template::MAX_OUTPUT as u128 {
        return Err(FuncError::new(format!(
            "indent would build {size} bytes, more than a render may output"
        )));
    }
    c.charge(size as usize / 16)?;
    let pad = " ".repeat(spaces as usize);
    Ok(Value::str(format!(
        "{prefix}{pad}{}",
        text.replace('\n', &format!("\n{pad}"))
    )))
}

fn replace(c: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    let (old, new, src) = (s(&a, 0), s(&a, 1), s(&a, 2));
    let count = if old.is_empty() {
        src.chars().count() as u128 + 1
    } else {
        src.matches(old).count() as u128
    };
    let size = src.len() as u128 + count * new.len() as u128;
    if size > crate::resourceset::template::MAX_OUTPUT as u128 {
        return Err(FuncError::new(format!(
            "replace would build {size} bytes, more than a render may output"
        )));
    }
    c.charge(size as usize / 16)?;
    if old.is_empty() {
        // Go inserts the replacement before every character and at the end.
        let mut out = String::new();
        for ch in src.chars() {
            out.push_str(new);
            out.push(ch);
        }
        out.push_str(new);
        return Ok(Value::str(out));
    }
    Ok(Value::str(src.replace(old, new)))
}

/// strings.SplitN: an empty separator splits into characters; n < 0 means all.
pub fn go_split(c: &mut Ctx<'_>, text: &str, sep: &str, n: i64) -> Result<Vec<String>, FuncError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    let max = if n < 0 { usize::MAX } else { n as usize };
    c.charge(text.len() / 8 + 1)?;
    if sep.is_empty() {
        let chars: Vec<&str> = text.char_indices().map(|(i, ch)| &text[i..i + ch.len_utf8()]).collect();
        if chars.len() <= max {
            return Ok(chars.into_iter().map(String::from).collect());
        }
        let mut out: Vec<String> = chars[..max - 1].iter().map(|x| x.to_string()).collect();
        let used: usize = chars[..max - 1].iter().map(|x| x.len()).sum();
        out.push(text[used..].to_string());
        return Ok(out);
    }
    Ok(text.splitn(max, sep).map(String::from).collect())
}

fn split_map(c: &mut Ctx<'_>, sep: &str, n: i64, text: &str) -> FuncResult {
    let parts = go_split(c, text, sep, n)?;
    let entries = parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| (format!("_{i}"), Value::str(p)))
        .collect();
    Ok(Value::typed_map(entries, Elem::Str))
}

fn sort_alpha(_: &mut Ctx<'_>, a: Vec<Value>) -> FuncResult {
    match &a[0] {
        Value::List(_) => {
            let mut items = strslice(&a[0]);
            items.sort();
            Ok(Value::strings(items))
        }
        other => Ok(Value::strings([strval(other)])),
    }
}

/// strings.ToUpper: simple one-to-one case mapping (no `ß` → `SS`).
pub fn go_upper(text: &str) -> String {
    text.chars().map(|c| single(c.to_uppercase()).unwrap_or(c)).collect()
}

pub fn go_lower(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{130}' => 'i',
            c => single(c.to_lowercase()).unwrap_or(c),
        })
        .collect()
}

fn single(mut it: impl Iterator<Item = char>) -> Option<char> {
    let c = it.next()?;
    it.next().is_none().then_some(c)
}

/// strings.Title: the first letter of every word upper-cased.
fn go_title(text: &str) -> String {
    let mut prev = ' ';
    text.chars()
        .map(|c| {
            let out = if is_separator(prev) {
                single(c.to_uppercase()).unwrap_or(c)
            } else {
                c
            };
            prev = c;
            out
        })
        .collect()
}

fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}
