//! Go's `fmt` as templates see it: `%v` printing of values, `fmt.Sprint`, `fmt.Sprintln`
//! and the `fmt.Sprintf` verbs templates use, with Go's `%!verb(type=value)` complaints.

use super::value::{IntKind, Time, Value};

/// Shortest round-trip digits and decimal exponent of a finite, non-zero float:
/// `1234.5` → ("12345", 4): the value is 0.d1d2... × 10^exp.
fn shortest_digits(f: f64) -> (String, i32) {
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    (digits, exp + 1)
}

/// `strconv.FormatFloat(f, 'g', -1, 64)`, which `%v` uses.
pub fn float_g(f: f64) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let (digits, dp) = shortest_digits(f);
    let exp = dp - 1;
    let sign = if f < 0.0 { "-" } else { "" };
    // Go's shortest 'g' switches to an exponent below 1e-4 and from 1e6 (precision 6).
    if !(-4..6).contains(&exp) {
        return format!("{sign}{}", exp_form(&digits, exp));
    }
    format!("{sign}{}", fixed_form(&digits, dp))
}

fn special(f: f64) -> Option<String> {
    if f.is_nan() {
        Some("NaN".into())
    } else if f.is_infinite() {
        Some(if f > 0.0 { "+Inf" } else { "-Inf" }.into())
    } else {
        None
    }
}

fn exp_form(digits: &str, exp: i32) -> String {
    let mut s = digits[..1].to_string();
    if digits.len() > 1 {
        s.push('.');
        s.push_str(&digits[1..]);
    }
    let sign = if exp < 0 { '-' } else { '+' };
    format!("{s}e{sign}{:02}", exp.abs())
}

fn fixed_form(digits: &str, dp: i32) -> String {
    if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(dp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    }
}

/// `time.Time.String()`: `2006-01-02 15:04:05.999999999 -0700 MST`.
pub fn time_string(t: &Time) -> String {
    super::funcs::dates::format_layout(t, "2006-01-02 15:04:05.999999999 -0700 MST")
}

/// `%v` of a value, nested values included (`[a b]`, `map[k:v]`, `<nil>`).
pub fn sprint_value(v: &Value, out: &mut String) {
    sprint_nested(v, out, 0);
}

/// A map that `set` made contain itself would print forever (Go overflows its stack);
/// past this depth the printing stops.
const MAX_PRINT_DEPTH: usize = 100;

fn sprint_nested(v: &Value, out: &mut String, depth: usize) {
    if depth > MAX_PRINT_DEPTH {
        out.push_str("...");
        return;
    }
    let sprint_value = |v: &Value, out: &mut String| sprint_nested(v, out, depth + 1);
    match v {
        Value::Nil => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, _) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&float_g(*f)),
        Value::Str(s) => out.push_str(s),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                sprint_value(item, out);
            }
            out.push(']');
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.borrow().entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                sprint_value(item, out);
            }
            out.push(']');
        }
        Value::Time(t) => out.push_str(&time_string(t)),
    }
}

pub fn to_v(v: &Value) -> String {
    let mut s = String::new();
    sprint_value(v, &mut s);
    s
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = matches!(a, Value::Str(_));
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        sprint_value(a, &mut out);
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln` without its newline... and with it.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = args.iter().map(to_v).collect::<Vec<_>>().join(" ");
    out.push('\n');
    out
}

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf` for the verbs templates use: v s q d x X o b c t e E f F g G and %%.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = number(&mut chars);
        if chars.peek().map(|&(_, c)| c) == Some('.') {
            chars.next();
            spec.prec = Some(number(&mut chars).unwrap_or(0));
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        match args.get(next) {
            None => out.push_str(&format!("%!{verb}(MISSING)")),
            Some(arg) => format_one(&mut out, verb, spec, arg),
        }
        next += 1;
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        let extra: Vec<String> = args[next..]
            .iter()
            .map(|a| format!("{}={}", a.type_name(), to_v(a)))
            .collect();
        out.push_str(&extra.join(", "));
        out.push(')');
    }
    out
}

fn number(chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>) -> Option<usize> {
    let mut n: Option<usize> = None;
    while let Some(&(_, c)) = chars.peek() {
        let Some(d) = c.to_digit(10) else { break };
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(d as usize)
                .min(1_000_000),
        );
        chars.next();
    }
    n
}

/// One operand. Slices and maps apply the verb to each element (and key), as Go does.
fn format_one(out: &mut String, verb: char, spec: Spec, arg: &Value) {
    if verb == 'T' {
        pad(out, arg.type_name(), spec, false);
        return;
    }
    match arg {
        // A time is a Stringer: the string verbs format its String().
        Value::Time(t) if matches!(verb, 'v' | 's' | 'x' | 'X' | 'q') => {
            format_one(out, verb, spec, &Value::str(time_string(t)));
            return;
        }
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                nested(out, verb, spec, item);
            }
            out.push(']');
            return;
        }
        Value::Map(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.borrow().entries.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                format_one(out, verb, spec, &Value::str(k.as_str()));
                out.push(':');
                nested(out, verb, spec, item);
            }
            out.push(']');
            return;
        }
        _ => {}
    }
    let body = match (verb, arg) {
        ('v', Value::Str(s)) => Some(truncate(s.to_string(), spec.prec)),
        ('v', _) => Some(to_v(arg)),
        ('s', Value::Str(_) | Value::Time(_)) => Some(truncate(to_v(arg), spec.prec)),
        ('q', Value::Int(i, _)) => Some(quote_rune(*i)),
        ('x' | 'X', Value::Float(f)) => Some(hex_float(*f, verb == 'X')),
        ('q', Value::Str(s)) => Some(if spec.sharp && !s.contains('`') {
            format!("`{s}`")
        } else {
            go_quote(s)
        }),
        ('d', Value::Int(i, _)) => Some(signed(*i, spec, |u| u.to_string())),
        ('x', Value::Int(i, _)) => Some(signed(*i, spec, |u| format!("{u:x}"))),
        ('X', Value::Int(i, _)) => Some(signed(*i, spec, |u| format!("{u:X}"))),
        ('o', Value::Int(i, _)) => Some(signed(*i, spec, |u| format!("{u:o}"))),
        ('b', Value::Int(i, _)) => Some(signed(*i, spec, |u| format!("{u:b}"))),
        ('c', Value::Int(i, _)) => Some(char::from_u32(*i as u32).unwrap_or('\u{fffd}').to_string()),
        ('x' | 'X', Value::Str(s)) => {
            let hex: Vec<String> = s
                .bytes()
                .map(|b| {
                    if verb == 'x' {
                        format!("{b:02x}")
                    } else {
                        format!("{b:02X}")
                    }
                })
                .collect();
            Some(hex.join(if spec.space { " " } else { "" }))
        }
        ('t', Value::Bool(b)) => Some(b.to_string()),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Value::Float(f)) => Some(float_verb(*f, verb, spec)),
        _ => None,
    };
    match body {
        Some(body) => pad(out, &body, spec, matches!(arg, Value::Int(..) | Value::Float(_))),
        None => bad_verb(out, verb, spec, arg),
    }
}

/// An element inside a slice or map: a nil interface prints `<nil>` whatever the verb.
fn nested(out: &mut String, verb: char, spec: Spec, item: &Value) {
    match item {
        Value::Nil => pad(out, "<nil>", spec, false),
        other => format_one(out, verb, spec, other),
    }
}

/// Go's complaint for a verb that does not fit the operand; the operand is printed with
/// `%v` and the same width and precision.
fn bad_verb(out: &mut String, verb: char, spec: Spec, arg: &Value) {
    match arg {
        Value::Nil => out.push_str(&format!("%!{verb}(<nil>)")),
        _ => {
            out.push_str(&format!("%!{verb}({}=", arg.type_name()));
            format_one(out, 'v', spec, arg);
            out.push(')');
        }
    }
}

/// strconv.QuoteRune: `'a'`, `'\x01'`, `'é'`.
fn quote_rune(i: i64) -> String {
    let c = u32::try_from(i).ok().and_then(char::from_u32).unwrap_or('\u{fffd}');
    let quoted = match c {
        '\'' => "\\'".to_string(),
        '"' => "\"".to_string(),
        c => {
            let q = go_quote(&c.to_string());
            q[1..q.len() - 1].to_string()
        }
    };
    format!("'{quoted}'")
}

/// `%x` of a float: `0x1.8p+01`.
fn hex_float(f: f64, upper: bool) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    let bits = f.to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i64;
    let mut mant = bits & ((1u64 << 52) - 1);
    let exp = if raw_exp == 0 {
        if mant == 0 {
            return format!("{sign}0x0p+00");
        }
        // Subnormal: normalise so that the leading 1 is implicit again.
        let shift = i64::from(mant.leading_zeros()) - 11;
        mant = (mant << shift) & ((1u64 << 52) - 1);
        -1022 - shift
    } else {
        raw_exp - 1023
    };
    let digits = format!("{mant:013x}");
    let digits = digits.trim_end_matches('0');
    let body = if digits.is_empty() {
        "0x1".to_string()
    } else {
        format!("0x1.{digits}")
    };
    let s = format!("{sign}{body}p{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    if upper { s.to_uppercase() } else { s }
}

fn truncate(s: String, prec: Option<usize>) -> String {
    match prec {
        Some(p) => s.chars().take(p).collect(),
        None => s,
    }
}

fn signed(i: i64, spec: Spec, digits: impl Fn(u64) -> String) -> String {
    let mut s = digits(i.unsigned_abs());
    if let Some(p) = spec.prec
        && s.len() < p
    {
        s = format!("{}{s}", "0".repeat(p - s.len()));
    }
    if i < 0 {
        format!("-{s}")
    } else if spec.plus {
        format!("+{s}")
    } else if spec.space {
        format!(" {s}")
    } else {
        s
    }
}

fn float_verb(f: f64, verb: char, spec: Spec) -> String {
    let mut s = match (verb, spec.prec) {
        ('f' | 'F', p) => special(f).unwrap_or_else(|| format!("{:.*}", p.unwrap_or(6), f)),
        ('e' | 'E', p) => special(f).unwrap_or_else(|| rust_exp(f, p.unwrap_or(6))),
        (_, None) => float_g(f),
        (_, Some(p)) => g_with_prec(f, p),
    };
    if verb.is_ascii_uppercase() {
        s = s.to_uppercase();
    }
    if spec.plus && !s.starts_with('-') && !s.starts_with('+') {
        s.insert(0, '+');
    }
    s
}

/// `%.Ne`: Rust's `1.5e2` into Go's `1.5e+02`.
fn rust_exp(f: f64, prec: usize) -> String {
    let s = format!("{f:.prec$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

fn g_with_prec(f: f64, prec: usize) -> String {
    if let Some(s) = special(f) {
        return s;
    }
    let p = prec.max(1);
    let s = rust_exp(f, p - 1);
    let (m, e) = s.split_once('e').unwrap_or((&s, "+00"));
    let exp: i32 = e.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = if m.contains('.') {
            m.trim_end_matches('0').trim_end_matches('.')
        } else {
            m
        };
        return format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    let fixed = format!("{f:.decimals$}");
    if fixed.contains('.') {
        fixed.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        fixed
    }
}

/// Width padding: spaces, or zeros (after the sign of a number) with the `0` flag, which
/// Go applies to every verb.
fn pad(out: &mut String, body: &str, spec: Spec, numeric: bool) {
    let len = body.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(body);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(body);
        out.push_str(&" ".repeat(fill));
    } else if spec.zero {
        let (sign, digits) = match body.strip_prefix(['-', '+', ' ']).filter(|_| numeric) {
            Some(rest) => (&body[..1], rest),
            None => ("", body),
        };
        out.push_str(sign);
        out.push_str(&"0".repeat(fill));
        out.push_str(digits);
    } else {
        out.push_str(&" ".repeat(fill));
        out.push_str(body);
    }
}

/// `strconv.Quote`.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if is_go_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// Roughly unicode.IsPrint: graphic characters and the ASCII space.
fn is_go_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    !(matches!(u, 0xad | 0x600..=0x605 | 0x61c | 0x6dd | 0x70f | 0x200b..=0x200f | 0x202a..=0x202e | 0x2060..=0x206f
        | 0xfeff | 0xfff9..=0xfffb | 0xe000..=0xf8ff | 0xfdd0..=0xfdef)
        || (u & 0xfffe) == 0xfffe)
}

/// Whether an int kind counts as unsigned for comparisons.
pub fn is_unsigned(k: IntKind) -> bool {
    k == IntKind::Uint8
}
