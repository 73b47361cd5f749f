//! gosimple/unidecode v1.0.1's transliteration to ASCII, which `slugify` applies: its
//! table (Apache-2.0, from Text::Unidecode), as `hack/gotemplate unidecode-table` writes
//! it from the Go library, and tests/template_diff checks against it. Characters above
//! U+FFFF have no transliteration there and are dropped.

use std::io::Read;
use std::sync::LazyLock;

/// zlib of one length byte and that many ASCII bytes per character U+0000..U+FFFF.
static TABLE_ZLIB: &[u8] = include_bytes!("unidecode.zlib");

/// Offsets into the unpacked table: the transliteration of `c` is
/// `BYTES[OFFSETS[c]..OFFSETS[c + 1]]`.
static TABLE: LazyLock<(Vec<u32>, Vec<u8>)> = LazyLock::new(|| {
    let mut raw = Vec::new();
    // The table is part of the binary: failing to unpack it is a build defect that every
    // test of slugify shows; an empty table then transliterates nothing.
    let _ = flate2::read::ZlibDecoder::new(TABLE_ZLIB).read_to_end(&mut raw);
    let mut offsets = Vec::with_capacity(0x10001);
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() && offsets.len() < 0x10000 {
        let len = raw[i] as usize;
        offsets.push(bytes.len() as u32);
        bytes.extend_from_slice(raw.get(i + 1..i + 1 + len).unwrap_or(&[]));
        i += 1 + len;
    }
    offsets.push(bytes.len() as u32);
    (offsets, bytes)
});

/// unidecode.Unidecode.
pub fn unidecode(s: &str) -> String {
    let (offsets, bytes) = &*TABLE;
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let u = c as usize;
        if c.is_ascii() {
            out.push(c);
        } else if u + 1 < offsets.len() {
            let t = &bytes[offsets[u] as usize..offsets[u + 1] as usize];
            out.extend(t.iter().map(|&b| b as char));
        }
    }
    out
}
