//! slim-sprig's `urlParse` and `urlJoin`, on a port of the parts of Go's net/url they use.

use std::collections::BTreeMap;

use crate::resourceset::template::funcs::strings::go_lossy;
use crate::resourceset::template::gofmt::go_quote;
use crate::resourceset::template::value::Value;

/// A failure of `urlParse` or `urlJoin`, in slim-sprig's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("unable to parse url: {0}")]
    Parse(#[source] ParseError),
    /// `urlJoin`'s `userinfo` entry is not a URL's userinfo.
    #[error("unable to parse userinfo in dict: {0}")]
    Userinfo(#[source] ParseError),
    /// `urlJoin` given a nil entry: slim-sprig's type assertion dereferences it.
    #[error("runtime error: invalid memory address or nil pointer dereference")]
    NilEntry { key: String },
    #[error("unable to parse {key} key, must be of type string, but {kind} found")]
    NotString { key: String, kind: &'static str },
}

/// Go's `*url.Error` from `url.Parse`: the text it refused and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse {}: {reason}", go_quote(url))]
pub struct ParseError {
    pub url: String,
    pub reason: ParseReason,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseReason {
    /// A `%` not followed by two hex digits; the field is those (up to) three characters.
    #[error("invalid URL escape {}", go_quote(.0))]
    InvalidEscape(String),
    /// The text starts with `:`.
    #[error("missing protocol scheme")]
    MissingScheme,
    /// An ASCII control character before the fragment.
    #[error("net/url: invalid control character in URL")]
    ControlCharacter,
}

impl ParseError {
    fn new(url: &str, reason: ParseReason) -> ParseError {
        ParseError {
            url: url.to_string(),
            reason,
        }
    }
}

#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<(String, Option<String>)>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

fn unescape(s: &str, whole: &str) -> Result<String, ParseError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3).filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()));
            let Some(hex) = hex else {
                let bad: String = s[i..].chars().take(3).collect();
                return Err(ParseError::new(whole, ParseReason::InvalidEscape(bad)));
            };
            out.push(u8::from_str_radix(hex, 16).unwrap_or(0));
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Ok(go_lossy(&out))
}

fn split_scheme(raw: &str) -> Result<(&str, &str), ParseError> {
    for (i, c) in raw.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err(ParseError::new(raw, ParseReason::MissingScheme)),
            ':' => return Ok((&raw[..i], &raw[i + 1..])),
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

/// url.Parse: the text before `#` first, and its errors name that text; then the fragment,
/// whose errors name the whole.
fn parse_url(raw: &str) -> Result<Url, ParseError> {
    let (before, fragment) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    let mut u = parse_before_fragment(before)?;
    if let Some(f) = fragment {
        u.fragment = unescape(f, raw)?;
    }
    Ok(u)
}

fn parse_before_fragment(raw: &str) -> Result<Url, ParseError> {
    let mut u = Url::default();
    if raw.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(ParseError::new(raw, ParseReason::ControlCharacter));
    }
    let (scheme, rest) = split_scheme(raw)?;
    u.scheme = scheme.to_ascii_lowercase();
    let rest = match rest.split_once('?') {
        Some((r, q)) => {
            u.raw_query = q.to_string();
            r
        }
        None => rest,
    };
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    let path = if let Some(after) = rest
        .strip_prefix("//")
        .filter(|_| !u.scheme.is_empty() || !rest.starts_with("///"))
    {
        let end = after.find('/').unwrap_or(after.len());
        let (authority, path) = after.split_at(end);
        let host = match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                let (name, password) = match userinfo.split_once(':') {
                    Some((n, p)) => (n, Some(unescape(p, raw)?)),
                    None => (userinfo, None),
                };
                u.user = Some((unescape(name, raw)?, password));
                host
            }
            None => authority,
        };
        u.host = unescape(host, raw)?;
        path
    } else {
        rest
    };
    u.path = unescape(path, raw)?;
    Ok(u)
}

fn hostname(host: &str) -> String {
    if let Some(inner) = host.strip_prefix('[') {
        return inner.split(']').next().unwrap_or("").to_string();
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => host[..i].to_string(),
        _ => host.to_string(),
    }
}

pub fn parse(raw: &str) -> Result<Value, Error> {
    let u = parse_url(raw).map_err(Error::Parse)?;
    let mut d = BTreeMap::new();
    let userinfo = match &u.user {
        Some((name, password)) => userinfo_string(name, password.as_deref()),
        None => String::new(),
    };
    for (k, v) in [
        ("scheme", u.scheme.clone()),
        ("host", u.host.clone()),
        ("hostname", hostname(&u.host)),
        ("path", u.path.clone()),
        ("query", u.raw_query.clone()),
        ("opaque", u.opaque.clone()),
        ("fragment", u.fragment.clone()),
        ("userinfo", userinfo),
    ] {
        d.insert(k.to_string(), Value::str(v));
    }
    Ok(Value::map(d))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Path,
    Fragment,
    UserPassword,
    Host,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if mode == Mode::Host && b"!$&'()*+,;=:[]<>\"".contains(&c) {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => false,
            Mode::Host => true,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        c if mode == Mode::Host && c >= 0x80 => false,
        _ => true,
    }
}

fn escape(s: &str, mode: Mode) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if should_escape(b, mode) {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    // Bytes >= 0x80 kept in hosts are whole UTF-8 sequences of the input.
    if mode == Mode::Host {
        go_lossy(&out.chars().map(|c| c as u32 as u8).collect::<Vec<_>>())
    } else {
        out
    }
}

fn userinfo_string(name: &str, password: Option<&str>) -> String {
    let mut s = escape(name, Mode::UserPassword);
    if let Some(p) = password {
        s.push(':');
        s.push_str(&escape(p, Mode::UserPassword));
    }
    s
}

fn field(d: &BTreeMap<String, Value>, key: &str) -> Result<String, Error> {
    match d.get(key) {
        None => Ok(String::new()),
        Some(Value::Str(s)) => Ok(s.to_string()),
        Some(Value::Nil) => Err(Error::NilEntry { key: key.to_string() }),
        Some(other) => Err(Error::NotString {
            key: key.to_string(),
            kind: other.kind_name(),
        }),
    }
}

pub fn join(d: &Value) -> Result<String, Error> {
    let Value::Map(m) = d else { return Ok(String::new()) };
    let m = m.borrow();
    let get = |k: &str| field(&m.entries, k);
    let mut u = Url {
        scheme: get("scheme")?,
        host: get("host")?,
        path: get("path")?,
        raw_query: get("query")?,
        opaque: get("opaque")?,
        fragment: get("fragment")?,
        user: None,
    };
    let userinfo = get("userinfo")?;
    if !userinfo.is_empty() {
        let parsed = parse_url(&format!("proto://{userinfo}@host")).map_err(Error::Userinfo)?;
        u.user = parsed.user;
    }
    Ok(to_string(&u))
}

/// url.URL.String.
fn to_string(u: &Url) -> String {
    let mut buf = String::new();
    if !u.scheme.is_empty() {
        buf.push_str(&u.scheme);
        buf.push(':');
    }
    if !u.opaque.is_empty() {
        buf.push_str(&u.opaque);
    } else {
        if !u.scheme.is_empty() || !u.host.is_empty() || u.user.is_some() {
            if !u.host.is_empty() || !u.path.is_empty() || u.user.is_some() {
                buf.push_str("//");
            }
            if let Some((name, password)) = &u.user {
                buf.push_str(&userinfo_string(name, password.as_deref()));
                buf.push('@');
            }
            buf.push_str(&escape(&u.host, Mode::Host));
        }
        let path = escape(&u.path, Mode::Path);
        if !path.is_empty() && !path.starts_with('/') && !u.host.is_empty() {
            buf.push('/');
        }
        if buf.is_empty() && path.split('/').next().is_some_and(|seg| seg.contains(':')) {
            buf.push_str("./");
        }
        buf.push_str(&path);
    }
    if !u.raw_query.is_empty() {
        buf.push('?');
        buf.push_str(&u.raw_query);
    }
    if !u.fragment.is_empty() {
        buf.push('#');
        buf.push_str(&escape(&u.fragment, Mode::Fragment));
    }
    buf
}
