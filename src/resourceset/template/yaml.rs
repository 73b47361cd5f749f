//! Go's encoding/json (`toJson` and friends) and sigs.k8s.io/yaml's `Marshal` (`toYaml`):
//! JSON first, read back by go-yaml v2 (integral numbers become integers), then written by
//! go-yaml v2's emitter: sorted keys (digits compared as numbers), block style, lists not
//! indented under their key, strings plain when they would read back as strings, literal
//! blocks for multi-line strings, long lines folded at spaces past column 80.

use std::cmp::Ordering;

use super::funcs::FuncError;
use super::gofmt::float_g;
use super::value::{Time, Value};

/// Nesting past which encoding stops (a map that contains itself would never end).
const MAX_NESTING: usize = 200;

fn go_json_float(f: f64) -> Result<String, FuncError> {
    if !f.is_finite() {
        return Err(FuncError::new(format!("json: unsupported value: {}", float_g(f))));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Go prints 'e' with a two-digit exponent and then drops the leading zero.
        let g = super::gofmt::float_g(f);
        return Ok(g.replace("e-0", "e-").replace("e+0", "e+"));
    }
    // %f with the shortest digits.
    let (digits, exp) = {
        let sci = format!("{abs:e}");
        let (m, e) = sci.split_once('e').unwrap_or((&sci, "0"));
        (m.replace('.', ""), e.parse::<i32>().unwrap_or(0) + 1)
    };
    let body = if f == 0.0 {
        "0".to_string()
    } else if exp <= 0 {
        format!("0.{}{digits}", "0".repeat((-exp) as usize))
    } else if exp as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(exp as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..exp as usize], &digits[exp as usize..])
    };
    Ok(if f.is_sign_negative() && f != 0.0 {
        format!("-{body}")
    } else {
        body
    })
}

fn json_string(s: &str, escape_html: bool, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if escape_html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// RFC 3339 with nanoseconds, as time.Time marshals to JSON.
pub fn rfc3339(t: &Time) -> String {
    super::funcs::dates::format_layout(t, "2006-01-02T15:04:05.999999999Z07:00")
}

/// json.Marshal (`escape_html`: as Marshal does; toRawJson does not), or MarshalIndent
/// with two spaces.
pub fn json(v: &Value, escape_html: bool, pretty: bool) -> Result<String, FuncError> {
    let mut out = String::new();
    write_json(v, escape_html, pretty, 0, &mut out)?;
    Ok(out)
}

fn write_json(v: &Value, html: bool, pretty: bool, depth: usize, out: &mut String) -> Result<(), FuncError> {
    if depth > MAX_NESTING {
        return Err(FuncError::new("json: unsupported value: encountered a cycle"));
    }
    let newline = |out: &mut String, d: usize| {
        if pretty {
            out.push('\n');
            out.push_str(&"  ".repeat(d));
        }
    };
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, _) => out.push_str(&i.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::Str(s) => json_string(s, html, out),
        Value::Time(t) => json_string(&rfc3339(t), html, out),
        Value::List(l) if l.nil => out.push_str("null"),
        Value::List(l) => {
            out.push('[');
            for (i, item) in l.items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                write_json(item, html, pretty, depth + 1, out)?;
            }
            if !l.items.is_empty() {
                newline(out, depth);
            }
            out.push(']');
        }
        Value::Map(m) => {
            let m = m.borrow();
            if m.nil {
                out.push_str("null");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in m.entries.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, depth + 1);
                json_string(k, html, out);
                out.push(':');
                if pretty {
                    out.push(' ');
                }
                write_json(item, html, pretty, depth + 1, out)?;
            }
            if !m.entries.is_empty() {
                newline(out, depth);
            }
            out.push('}');
        }
    }
    Ok(())
}

/// What go-yaml v2 reads back from the JSON.
enum Y {
    Null,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
    Seq(Vec<Y>),
    Map(Vec<(String, Y)>),
}

/// The JSON's lines as go-yaml counts them: encoding/json writes U+0085 (NEL) raw, and
/// YAML 1.1 takes it for a line break. A key holding one cannot be a flow mapping key, so
/// go-yaml refuses the whole document at that point.
struct Lines(usize);

impl Lines {
    fn value(&mut self, s: &str) -> String {
        self.0 += s.matches('\u{85}').count();
        fold_nel(s)
    }

    fn key(&mut self, k: &str) -> Result<String, FuncError> {
        let breaks = k.matches('\u{85}').count();
        self.0 += breaks;
        if breaks > 0 {
            return Err(FuncError::new(format!(
                "yaml: line {}: did not find expected ',' or '}}'",
                self.0
            )));
        }
        Ok(k.to_string())
    }
}

fn to_y(v: &Value, depth: usize, lines: &mut Lines) -> Result<Y, FuncError> {
    if depth > MAX_NESTING {
        return Err(FuncError::new(
            "error marshaling into JSON: json: unsupported value: encountered a cycle",
        ));
    }
    Ok(match v {
        Value::Nil => Y::Null,
        Value::Bool(b) => Y::Bool(*b),
        Value::Int(i, _) => Y::Int(i128::from(*i)),
        Value::Float(f) => {
            let text = go_json_float(*f).map_err(|e| FuncError::new(format!("error marshaling into JSON: {e}")))?;
            match text.parse::<i128>() {
                Ok(i) if i <= i128::from(u64::MAX) && i >= i128::from(i64::MIN) => Y::Int(i),
                _ => Y::Float(text.parse().unwrap_or(*f)),
            }
        }
        Value::Str(s) => Y::Str(lines.value(s)),
        Value::Time(t) => Y::Str(rfc3339(t)),
        Value::List(l) if l.nil => Y::Null,
        Value::List(l) => Y::Seq(
            l.items
                .iter()
                .map(|x| to_y(x, depth + 1, lines))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(m) => {
            let m = m.borrow();
            if m.nil {
                return Ok(Y::Null);
            }
            let mut entries = Vec::with_capacity(m.entries.len());
            for (k, x) in &m.entries {
                let key = lines.key(k)?;
                entries.push((key, to_y(x, depth + 1, lines)?));
            }
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            Y::Map(entries)
        }
    })
}

/// What go-yaml reads back from a JSON string: encoding/json leaves U+0085 (NEL) raw, and
/// YAML 1.1 folds that line break with the spaces around it (one becomes a space, more
/// become newlines).
fn fold_nel(s: &str) -> String {
    if !s.contains('\u{85}') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let breaks = run.matches('\u{85}').count();
        match breaks {
            0 => out.push_str(run),
            1 => out.push(' '),
            n => out.push_str(&"\n".repeat(n - 1)),
        }
        run.clear();
    };
    for c in s.chars() {
        if c == ' ' || c == '\u{85}' {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// go-yaml v2's key order: letters by code point, runs of digits by their value.
fn key_order(a: &str, b: &str) -> Ordering {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let less = |x: &[char], y: &[char]| -> bool {
        for i in 0..x.len().min(y.len()) {
            if x[i] == y[i] {
                continue;
            }
            let (al, bl) = (x[i].is_alphabetic(), y[i].is_alphabetic());
            if al && bl {
                return x[i] < y[i];
            }
            if al || bl {
                return bl;
            }
            let (mut an, mut bn) = (0i64, 0i64);
            if x[i] == '0' || y[i] == '0' {
                let mut j = i;
                while j > 0 && x[j - 1].is_ascii_digit() {
                    j -= 1;
                    if x[j] != '0' {
                        an = 1;
                        bn = 1;
                        break;
                    }
                }
            }
            let mut ai = i;
            while ai < x.len() && x[ai].is_ascii_digit() {
                an = an.wrapping_mul(10).wrapping_add(i64::from(x[ai] as u8 - b'0'));
                ai += 1;
            }
            let mut bi = i;
            while bi < y.len() && y[bi].is_ascii_digit() {
                bn = bn.wrapping_mul(10).wrapping_add(i64::from(y[bi] as u8 - b'0'));
                bi += 1;
            }
            if an != bn {
                return an < bn;
            }
            if ai != bi {
                return ai < bi;
            }
            return x[i] < y[i];
        }
        x.len() < y.len()
    };
    if less(&ar, &br) {
        Ordering::Less
    } else if less(&br, &ar) {
        Ordering::Greater
    } else {
        Ordering::Equal
    }
}

/// sigs.k8s.io/yaml.Marshal.
pub fn to_yaml(v: &Value) -> Result<String, FuncError> {
    let y = to_y(v, 0, &mut Lines(0))?;
    let mut e = super::yaml_emit::Emitter::new();
    e.document(&y_to_node(&y));
    Ok(e.finish())
}

/// A JSON value as sigs.k8s.io/yaml.Marshal writes it (the form upstream's CLI prints).
pub fn json_to_yaml(v: &serde_json::Value) -> Result<String, FuncError> {
    to_yaml(&super::value::from_json(v))
}

/// A JSON value as `toYaml` writes it, but with no line folded: the form a ResourceSet's
/// `resources` item takes before it is rendered.
pub fn json_to_yaml_unfolded(v: &serde_json::Value) -> Result<String, FuncError> {
    let y = to_y(&super::value::from_json(v), 0, &mut Lines(0))?;
    let mut e = super::yaml_emit::Emitter::unfolded();
    e.document(&y_to_node(&y));
    Ok(e.finish())
}

fn y_to_node(y: &Y) -> super::yaml_emit::Node {
    use super::yaml_emit::Node;
    match y {
        Y::Null => Node::Plain("null".into()),
        Y::Bool(b) => Node::Plain(b.to_string()),
        Y::Int(i) => Node::Plain(i.to_string()),
        Y::Float(f) => Node::Plain(match float_g(*f).as_str() {
            "+Inf" => ".inf".into(),
            "-Inf" => "-.inf".into(),
            "NaN" => ".nan".into(),
            other => other.to_string(),
        }),
        Y::Str(s) => Node::Str(s.clone()),
        Y::Seq(items) => Node::Seq(items.iter().map(y_to_node).collect()),
        Y::Map(entries) => Node::Map(entries.iter().map(|(k, v)| (k.clone(), y_to_node(v))).collect()),
    }
}
