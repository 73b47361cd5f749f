//! Go's literals: numbers (strconv.ParseInt with base prefixes and underscores, floats,
//! character constants) and quoted strings (strconv.Unquote).

use super::ast::Number;
use super::gofmt::go_quote;
use super::lexer::Kind;

/// A literal Go's parser refuses, in its words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LiteralError {
    /// Not a number Go can read (also imaginary numbers, which templates do not support).
    #[error("illegal number syntax: {}", go_quote(.0))]
    IllegalNumber(String),
    /// An integer literal past uint64's range.
    #[error("integer overflow: {}", go_quote(.0))]
    IntegerOverflow(String),
    /// A malformed quoted string or character constant (strconv's ErrSyntax).
    #[error("invalid syntax")]
    InvalidSyntax,
}

/// A number literal as Go's parser reads it: integers in any base (and floats that are
/// integral) are integers; anything with `.`, `e` or `p` is a float constant.
pub fn number(text: &str, kind: Kind) -> Result<Number, LiteralError> {
    if kind == Kind::CharConst {
        let c = unquote_char(text)?;
        return Ok(Number {
            text: text.into(),
            int: Some(c as i64),
            float: Some(f64::from(c as u32)),
            is_float_const: false,
        });
    }
    if text.ends_with('i') {
        return Err(LiteralError::IllegalNumber(text.into()));
    }
    if let Some(i) = parse_go_int(text) {
        return Ok(Number {
            text: text.into(),
            int: Some(i),
            float: Some(i as f64),
            is_float_const: false,
        });
    }
    if !text.starts_with('-') && text.replace('_', "").parse::<u64>().is_ok() {
        // Fits a uint64 but not an int: Go fails when the value is used.
        let f = text.replace('_', "").parse::<f64>().ok();
        return Ok(Number {
            text: text.into(),
            int: None,
            float: f,
            is_float_const: false,
        });
    }
    let hex = text
        .trim_start_matches(['+', '-'])
        .to_ascii_lowercase()
        .starts_with("0x");
    let clean = text.replace('_', "");
    match (!hex).then(|| clean.parse::<f64>().ok()).flatten() {
        Some(f) if f.is_finite() || text.contains(['.', 'e', 'E']) => {
            if !text.contains(['.', 'e', 'E', 'p', 'P']) {
                return Err(LiteralError::IntegerOverflow(text.into()));
            }
            let int = (f.fract() == 0.0 && f.abs() < 9.2e18).then_some(f as i64);
            Ok(Number {
                text: text.into(),
                int,
                float: Some(f),
                is_float_const: true,
            })
        }
        _ => Err(LiteralError::IllegalNumber(text.into())),
    }
}

/// strconv.ParseInt(text, 0, 64): sign, base prefix, underscores only between digits.
fn parse_go_int(text: &str) -> Option<i64> {
    let (neg, rest) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let lower = rest.to_ascii_lowercase();
    let (radix, digits, prefixed) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d, true)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d, true)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d, true)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..], true)
    } else {
        (10, lower.as_str(), false)
    };
    if digits.is_empty() || digits.starts_with('_') && !prefixed || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let magnitude = i128::from_str_radix(&digits.replace('_', ""), radix).ok()?;
    let v = if neg { -magnitude } else { magnitude };
    i64::try_from(v).ok()
}

/// strconv.Unquote for "..." and `...` literals.
pub fn unquote(text: &str) -> Result<String, LiteralError> {
    if let Some(raw) = text.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        return Ok(raw.replace('\r', ""));
    }
    let body = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .ok_or(LiteralError::InvalidSyntax)?;
    let mut out = String::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush(&mut bytes, &mut out);
            out.push(c);
            continue;
        }
        match unescape(&mut chars, '"').ok_or(LiteralError::InvalidSyntax)? {
            Escaped::Char(c) => {
                flush(&mut bytes, &mut out);
                out.push(c);
            }
            Escaped::Byte(b) => bytes.push(b),
        }
    }
    flush(&mut bytes, &mut out);
    Ok(out)
}

fn flush(bytes: &mut Vec<u8>, out: &mut String) {
    if !bytes.is_empty() {
        out.push_str(&String::from_utf8_lossy(bytes));
        bytes.clear();
    }
}

enum Escaped {
    Char(char),
    Byte(u8),
}

fn unescape(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, quote: char) -> Option<Escaped> {
    let hex = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, n: usize| -> Option<u32> {
        let s: String = (0..n).map(|_| chars.next()).collect::<Option<String>>()?;
        u32::from_str_radix(&s, 16)
            .ok()
            .filter(|_| s.chars().all(|c| c.is_ascii_hexdigit()))
    };
    Some(match chars.next()? {
        'a' => Escaped::Char('\u{7}'),
        'b' => Escaped::Char('\u{8}'),
        'f' => Escaped::Char('\u{c}'),
        'n' => Escaped::Char('\n'),
        'r' => Escaped::Char('\r'),
        't' => Escaped::Char('\t'),
        'v' => Escaped::Char('\u{b}'),
        '\\' => Escaped::Char('\\'),
        c if c == quote => Escaped::Char(c),
        'x' => Escaped::Byte(hex(chars, 2)? as u8),
        'u' => Escaped::Char(char::from_u32(hex(chars, 4)?)?),
        'U' => Escaped::Char(char::from_u32(hex(chars, 8)?)?),
        c @ '0'..='7' => {
            let rest: String = (0..2).map(|_| chars.next()).collect::<Option<String>>()?;
            let v = u32::from_str_radix(&format!("{c}{rest}"), 8).ok()?;
            Escaped::Byte(u8::try_from(v).ok()?)
        }
        _ => return None,
    })
}

fn unquote_char(text: &str) -> Result<char, LiteralError> {
    let body = text
        .strip_prefix('\'')
        .and_then(|t| t.strip_suffix('\''))
        .ok_or(LiteralError::InvalidSyntax)?;
    let mut chars = body.chars().peekable();
    let c = match chars.next().ok_or(LiteralError::InvalidSyntax)? {
        '\\' => match unescape(&mut chars, '\'').ok_or(LiteralError::InvalidSyntax)? {
            Escaped::Char(c) => c,
            Escaped::Byte(b) => b as char,
        },
        c => c,
    };
    if chars.next().is_some() {
        return Err(LiteralError::InvalidSyntax);
    }
    Ok(c)
}
