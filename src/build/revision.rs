//! Step 17 (second half): the revision, `vX.Y.Z@sha256:<hex>`, over a canonical JSON
//! serialization (object keys sorted, no whitespace) of the sorted objects, so that it
//! does not depend on serde_json's map implementation.

use semver::Version;
use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn revision(version: &Version, objects: &[Value]) -> String {
    let mut hasher = Sha256::new();
    let mut buf = Vec::with_capacity(64 * 1024);
    buf.push(b'[');
    for (i, obj) in objects.iter().enumerate() {
        if i > 0 {
            buf.push(b',');
        }
        write_canonical(obj, &mut buf);
        if buf.len() > 32 * 1024 {
            hasher.update(&buf);
            buf.clear();
        }
    }
    buf.push(b']');
    hasher.update(&buf);
    format!("v{version}@sha256:{}", hex::encode(hasher.finalize()))
}

pub(crate) fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push(b'{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out);
                out.push(b':');
                write_canonical(&map[key], out);
            }
            out.push(b'}');
        }
        Value::Array(list) => {
            out.push(b'[');
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        Value::String(s) => write_string(s, out),
        // Scalars have one serialization each.
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

/// JSON string escaping as serde_json does it, without an allocation per string.
fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x00..=0x1f => out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_ignores_key_order() {
        let v = Version::new(2, 9, 4);
        let a = revision(&v, &[json!({"a": 1, "b": {"x": [1, "s"], "y": null}})]);
        let b = revision(&v, &[json!({"b": {"y": null, "x": [1, "s"]}, "a": 1})]);
        assert_eq!(a, b);
        assert!(a.starts_with("v2.9.4@sha256:"));
        assert_eq!(a.len(), "v2.9.4@sha256:".len() + 64);
        assert_ne!(a, revision(&v, &[json!({"a": 2})]));
    }

    #[test]
    fn canonical_form() {
        let mut out = Vec::new();
        write_canonical(&json!({"b": "q\"", "a": [true, 1.5, null]}), &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), r#"{"a":[true,1.5,null],"b":"q\""}"#);
        for s in ["plain", "quote\" back\\ nl\n tab\t cr\r \u{1} \u{1f} é ✓"] {
            let mut mine = Vec::new();
            write_string(s, &mut mine);
            assert_eq!(
                String::from_utf8(mine).unwrap(),
                Value::String(s.to_owned()).to_string()
            );
        }
    }
}
