//! slim-sprig's base64/base32 functions (a decoding error is returned as the result text,
//! as sprig does), `toYaml`/`mustToYaml` (sigs.k8s.io/yaml), and the URL functions.

use base64::Engine;

use super::{Func, Ty, f, s};
use crate::resourceset::template::funcs::strings::go_lossy;
use crate::resourceset::template::value::Value;
use crate::resourceset::template::yaml;

pub const FUNCS: &[(&str, Func)] = &[
    (
        "b64enc",
        f(&[Ty::Str], |_, a| {
            Ok(Value::str(base64::engine::general_purpose::STANDARD.encode(s(&a, 0))))
        }),
    ),
    (
        "b64dec",
        f(&[Ty::Str], |_, a| {
            Ok(Value::str(b64dec(s(&a, 0)).unwrap_or_else(|e| e.to_string())))
        }),
    ),
    (
        "b32enc",
        f(&[Ty::Str], |_, a| Ok(Value::str(b32enc(s(&a, 0).as_bytes())))),
    ),
    (
        "b32dec",
        f(&[Ty::Str], |_, a| {
            Ok(Value::str(b32dec(s(&a, 0)).unwrap_or_else(|e| e.to_string())))
        }),
    ),
    (
        "toYaml",
        f(&[Ty::Any], |_, a| {
            Ok(Value::str(yaml::to_yaml(&a[0]).unwrap_or_default()))
        }),
    ),
    ("mustToYaml", f(&[Ty::Any], |_, a| yaml::to_yaml(&a[0]).map(Value::str))),
    ("urlParse", f(&[Ty::Str], |_, a| Ok(super::url::parse(s(&a, 0))?))),
    (
        "urlJoin",
        f(&[Ty::MapAny], |_, a| Ok(Value::str(super::url::join(&a[0])?))),
    ),
];

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Go's `CorruptInputError` of base64 and base32: the offset of the first byte that does
/// not decode. sprig returns its text as the result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("illegal base64 data at input byte {0}")]
    Base64(usize),
    #[error("illegal base32 data at input byte {0}")]
    Base32(usize),
}

/// base64.StdEncoding.DecodeString, with Go's error offsets; `\r` and `\n` are skipped.
fn b64dec(src: &str) -> Result<String, DecodeError> {
    let src = src.as_bytes();
    let value = |c: u8| B64.iter().position(|&x| x == c).map(|p| p as u32);
    let is_nl = |c: u8| c == b'\n' || c == b'\r';
    let mut out = Vec::new();
    let mut si = 0;
    loop {
        let mut buf = [0u32; 4];
        let mut j = 0;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(go_lossy(&out));
                }
                return Err(DecodeError::Base64(si - j));
            }
            let c = src[si];
            si += 1;
            if let Some(v) = value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if is_nl(c) {
                continue;
            }
            if c != b'=' || j < 2 {
                return Err(DecodeError::Base64(si - 1));
            }
            if j == 2 {
                while si < src.len() && is_nl(src[si]) {
                    si += 1;
                }
                if si == src.len() {
                    return Err(DecodeError::Base64(src.len()));
                }
                if src[si] != b'=' {
                    return Err(DecodeError::Base64(si - 1));
                }
                si += 1;
            }
            while si < src.len() && is_nl(src[si]) {
                si += 1;
            }
            if si < src.len() {
                return Err(DecodeError::Base64(si));
            }
            let n = (buf[0] << 18) | (buf[1] << 12) | (buf[2] << 6) | buf[3];
            out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8][..j - 1]);
            return Ok(go_lossy(&out));
        }
        let n = (buf[0] << 18) | (buf[1] << 12) | (buf[2] << 6) | buf[3];
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
}

/// base32.StdEncoding.EncodeToString.
fn b32enc(src: &[u8]) -> String {
    let mut out = String::new();
    for chunk in src.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let n = buf.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        let chars = [8, 2, 4, 5, 7, 8][chunk.len()];
        for k in 0..8 {
            if k < chars {
                out.push(B32[((n >> (35 - 5 * k)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// base32.StdEncoding.DecodeString, with Go's error offsets (newlines stripped first).
fn b32dec(text: &str) -> Result<String, DecodeError> {
    let src: Vec<u8> = text.bytes().filter(|&c| c != b'\n' && c != b'\r').collect();
    let olen = src.len();
    let mut rest = &src[..];
    let mut out = Vec::new();
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut buf = [0u8; 8];
        let mut dlen = 8;
        let mut j = 0;
        while j < 8 {
            let Some((&c, tail)) = rest.split_first() else {
                return Err(DecodeError::Base32(olen - j));
            };
            rest = tail;
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(DecodeError::Base32(olen));
                }
                for k in 0..7 - j {
                    if rest.len() > k && rest[k] != b'=' {
                        return Err(DecodeError::Base32(olen - rest.len() + k - 1));
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(DecodeError::Base32(olen - rest.len() - 1));
                }
                break;
            }
            match B32.iter().position(|&x| x == c) {
                Some(v) => buf[j] = v as u8,
                None => return Err(DecodeError::Base32(olen - rest.len() - 1)),
            }
            j += 1;
        }
        let n = buf.iter().fold(0u64, |acc, &b| (acc << 5) | u64::from(b));
        let bytes = [
            (n >> 32) as u8,
            (n >> 24) as u8,
            (n >> 16) as u8,
            (n >> 8) as u8,
            n as u8,
        ];
        let take = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            2 => 1,
            _ => 0,
        };
        out.extend_from_slice(&bytes[..take]);
    }
    Ok(go_lossy(&out))
}
