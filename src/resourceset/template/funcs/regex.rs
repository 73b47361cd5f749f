//! slim-sprig's regular expression functions, on the `regex` crate (RE2 syntax like Go's
//! regexp). Go's `\d`, `\s`, `\w` and `\b` are ASCII-only; patterns are rewritten so that
//! they stay so here. The plain forms panic in Go on a bad pattern (except `regexMatch`,
//! which answers false); the engine reports both as errors.

use regex::{NoExpand, Regex};

use super::{Ctx, Func, FuncError, FuncResult, Ty, f, i, s};
use crate::resourceset::template::value::{Elem, List, Value};

pub const FUNCS: &[(&str, Func)] = &[
    (
        "regexMatch",
        f(&[Ty::Str, Ty::Str], |_, a| {
            Ok(Value::Bool(compile(s(&a, 0), true).is_ok_and(|r| r.is_match(s(&a, 1)))))
        }),
    ),
    (
        "mustRegexMatch",
        f(&[Ty::Str, Ty::Str], |_, a| {
            Ok(Value::Bool(compile(s(&a, 0), true)?.is_match(s(&a, 1))))
        }),
    ),
    (
        "regexFindAll",
        f(&[Ty::Str, Ty::Str, Ty::Int], |c, a| find_all(c, a, false)),
    ),
    (
        "mustRegexFindAll",
        f(&[Ty::Str, Ty::Str, Ty::Int], |c, a| find_all(c, a, true)),
    ),
    ("regexFind", f(&[Ty::Str, Ty::Str], |c, a| find(c, a, false))),
    ("mustRegexFind", f(&[Ty::Str, Ty::Str], |c, a| find(c, a, true))),
    (
        "regexReplaceAll",
        f(&[Ty::Str, Ty::Str, Ty::Str], |c, a| replace(c, &a, true, false)),
    ),
    (
        "mustRegexReplaceAll",
        f(&[Ty::Str, Ty::Str, Ty::Str], |c, a| replace(c, &a, true, true)),
    ),
    (
        "regexReplaceAllLiteral",
        f(&[Ty::Str, Ty::Str, Ty::Str], |c, a| replace(c, &a, false, false)),
    ),
    (
        "mustRegexReplaceAllLiteral",
        f(&[Ty::Str, Ty::Str, Ty::Str], |c, a| replace(c, &a, false, true)),
    ),
    ("regexSplit", f(&[Ty::Str, Ty::Str, Ty::Int], |c, a| split(c, a, false))),
    (
        "mustRegexSplit",
        f(&[Ty::Str, Ty::Str, Ty::Int], |c, a| split(c, a, true)),
    ),
    (
        "regexQuoteMeta",
        f(&[Ty::Str], |_, a| Ok(Value::str(quote_meta(s(&a, 0))))),
    ),
];

/// Go's class escapes, ASCII-only, in the regex crate's syntax.
fn go_syntax(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(e) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let replacement = match (e, in_class) {
                    ('d', false) => "[0-9]",
                    ('D', false) => "[^0-9]",
                    ('s', false) => r"[\t\n\x0C\r ]",
                    ('S', false) => r"[^\t\n\x0C\r ]",
                    ('w', false) => "[0-9A-Za-z_]",
                    ('W', false) => "[^0-9A-Za-z_]",
                    ('b', false) => r"(?-u:\b)",
                    ('B', false) => r"(?-u:\B)",
                    ('d', true) => "0-9",
                    ('s', true) => r"\t\n\x0C\r ",
                    ('w', true) => "0-9A-Za-z_",
                    _ => {
                        out.push('\\');
                        out.push(e);
                        continue;
                    }
                };
                out.push_str(replacement);
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` right after `[` or `[^` is a literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

/// The pattern compiled; the error as regexp.Compile returns it (`must`) or as
/// regexp.MustCompile panics with it. The reason is the regex crate's wording, with Go's
/// for the common mistakes.
fn compile(pattern: &str, must: bool) -> Result<Regex, FuncError> {
    regex::RegexBuilder::new(&go_syntax(pattern))
        .size_limit(1 << 20)
        .build()
        .map_err(|e| {
            let reason = e
                .to_string()
                .lines()
                .last()
                .unwrap_or("")
                .trim()
                .trim_start_matches("error: ")
                .to_string();
            let reason = match reason.as_str() {
                "unclosed group" => format!("missing closing ): `{pattern}`"),
                "unopened group" => format!("unexpected ): `{pattern}`"),
                "unclosed character class" => {
                    format!("missing closing ]: `{}`", &pattern[pattern.rfind('[').unwrap_or(0)..])
                }
                _ => reason,
            };
            let err = format!("error parsing regexp: {reason}");
            FuncError::new(if must {
                err
            } else {
                format!("regexp: Compile({}): {err}", go_regexp_quote(pattern))
            })
        })
}

fn go_regexp_quote(s: &str) -> String {
    if !s.contains('`') && s.chars().all(|c| c == '\t' || !c.is_control()) {
        return format!("`{s}`");
    }
    crate::resourceset::template::gofmt::go_quote(s)
}

fn strings_or_nil(items: Vec<String>) -> Value {
    if items.is_empty() {
        return Value::List(std::rc::Rc::new(List {
            items: Vec::new(),
            elem: Elem::Str,
            nil: true,
        }));
    }
    Value::strings(items)
}

fn find_all(c: &mut Ctx<'_>, a: Vec<Value>, must: bool) -> FuncResult {
    let re = compile(s(&a, 0), must)?;
    let n = i(&a, 2);
    if n == 0 {
        return Ok(strings_or_nil(Vec::new()));
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let text = s(&a, 1);
    c.charge(text.len() / 8 + 1)?;
    Ok(strings_or_nil(
        re.find_iter(text).take(limit).map(|m| m.as_str().to_string()).collect(),
    ))
}

fn find(_: &mut Ctx<'_>, a: Vec<Value>, must: bool) -> FuncResult {
    let re = compile(s(&a, 0), must)?;
    Ok(Value::str(re.find(s(&a, 1)).map_or("", |m| m.as_str())))
}

fn replace(c: &mut Ctx<'_>, a: &[Value], expand: bool, must: bool) -> FuncResult {
    let re = compile(s(a, 0), must)?;
    let (text, repl) = (s(a, 1), s(a, 2));
    let count = re.find_iter(text).count();
    let size = text.len() as u128 + count as u128 * repl.len() as u128 * if expand { 4 } else { 1 };
    if size > crate::resourceset::template::MAX_OUTPUT as u128 {
        return Err(FuncError::new(
            "the replacement would build more than a render may output",
        ));
    }
    c.charge(size as usize / 16 + 1)?;
    let out = if expand {
        re.replace_all(text, repl)
    } else {
        re.replace_all(text, NoExpand(repl))
    };
    Ok(Value::str(out.into_owned()))
}

/// Regexp.Split.
fn split(_: &mut Ctx<'_>, a: Vec<Value>, must: bool) -> FuncResult {
    let (pattern, text, n) = (s(&a, 0), s(&a, 1), i(&a, 2));
    let re = compile(pattern, must)?;
    if n == 0 {
        return Ok(strings_or_nil(Vec::new()));
    }
    if !pattern.is_empty() && text.is_empty() {
        return Ok(Value::strings([String::new()]));
    }
    let limit = if n < 0 { usize::MAX } else { n as usize };
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for m in re.find_iter(text).take(limit) {
        if n > 0 && out.len() == limit - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(text[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != text.len() {
        out.push(text[beg..].to_string());
    }
    Ok(Value::strings(out))
}

/// regexp.QuoteMeta.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
