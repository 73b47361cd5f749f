//! The ids of input sets (SPEC-resourceset §11.4): Permute's provider keys and the
//! decimal Adler-32 of `<key>=<index>` parts joined by `/`. Both end up in object names,
//! so they must be bit-identical to upstream's (Go's hash/adler32).

/// Adler-32 (RFC 1950), as Go's hash/adler32.Checksum.
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    // 5552 bytes is the longest run whose sums cannot overflow a u32 before the modulo.
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &byte in chunk {
            a += u32::from(byte);
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

/// The id of one combination: `parts` are (normalized key, index of the set chosen from
/// that provider), in provider order.
pub fn combination_id<'a>(parts: impl IntoIterator<Item = (&'a str, usize)>) -> String {
    let text: Vec<String> = parts.into_iter().map(|(key, index)| format!("{key}={index}")).collect();
    adler32(text.join("/").as_bytes()).to_string()
}

/// The error of a provider name that normalizes to nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input provider name {name:?} has no letter or digit to make a Permute key of")]
pub struct EmptyKey {
    pub name: String,
}

/// A provider's key under Permute: lowercase; Unicode spaces and punctuation (`-`
/// included) become `_`; other characters outside `[a-z0-9_]` are dropped; empty
/// `_`-separated words are dropped (`Web-App v2` → `web_app_v2`).
pub fn permute_key(name: &str) -> Result<String, EmptyKey> {
    let mut mapped = String::with_capacity(name.len());
    for c in name.chars().flat_map(char::to_lowercase) {
        if c.is_whitespace() || is_punctuation(c) {
            mapped.push('_');
        } else if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            mapped.push(c);
        }
    }
    let key = mapped
        .split('_')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("_");
    if key.is_empty() {
        return Err(EmptyKey { name: name.to_string() });
    }
    Ok(key)
}

/// Unicode general category P (punctuation): ASCII punctuation except the symbols
/// (`$+<=>^`|~` are category S), and the common non-ASCII punctuation blocks.
fn is_punctuation(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !matches!(c, '$' | '+' | '<' | '=' | '>' | '^' | '`' | '|' | '~');
    }
    matches!(c as u32,
        0xA1 | 0xA7 | 0xAB | 0xB6 | 0xB7 | 0xBB | 0xBF | 0x37E | 0x387
        | 0x2010..=0x2027 | 0x2030..=0x2043 | 0x2045..=0x2051 | 0x2053..=0x205E
        | 0x3001..=0x3003 | 0x3008..=0x3011 | 0x3014..=0x301F | 0xFF01..=0xFF03 | 0xFF05..=0xFF0A
        | 0xFF0C..=0xFF0F | 0xFF1A | 0xFF1B | 0xFF1F | 0xFF20 | 0xFF3B..=0xFF3D | 0xFF3F | 0xFF5B | 0xFF5D)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples() {
        assert_eq!(combination_id([("apps", 1), ("git_tags", 0)]), "938608145");
        assert_eq!(permute_key("Web-App v2").as_deref(), Ok("web_app_v2"));
        assert_eq!(permute_key("git-tags").as_deref(), Ok("git_tags"));
        assert!(permute_key("--").is_err());
    }

    #[test]
    fn adler32_of_long_input_wraps_as_go() {
        // Known values of Go's hash/adler32.
        assert_eq!(adler32(b""), 1);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }
}
