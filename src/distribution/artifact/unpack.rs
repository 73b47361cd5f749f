//! Unpacking a tar+gzip layer with bounded cost: regular files and folders only, no
//! absolute paths or `..`, and limits on each file, the total, the entry count and the
//! decompressed stream, so that a small layer cannot fill the disk or, later, the memory
//! of whatever parses a file.

use std::cell::Cell;
use std::io::Read;
use std::path::{Component, Path};
use std::rc::Rc;

use flate2::read::GzDecoder;

use super::cache::UnpackError;
use crate::text::shorten;

#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes of one file.
    pub file: u64,
    /// Bytes of all entries together.
    pub total: u64,
    pub entries: usize,
    /// Bytes of the decompressed stream: entries, tar headers, long names, padding and
    /// trailing data.
    pub stream: u64,
}

/// The real distribution (29 releases) has 286 files, 15 MB in all, the largest 230 KB;
/// the stream allows about 1 KiB of headers and padding per entry beyond the total.
pub(crate) const LIMITS: Limits = Limits {
    file: 8 << 20,
    total: 256 << 20,
    entries: 10_000,
    stream: (256 << 20) + (16 << 20),
};

/// Unpacks `layer` into `dest`; links and devices are skipped.
pub(crate) fn unpack(layer: &[u8], dest: &Path, limits: &Limits) -> Result<(), UnpackError> {
    std::fs::create_dir_all(dest).map_err(|e| UnpackError::Io(format!("cannot create {}: {e}", dest.display())))?;
    if !layer.starts_with(&[0x1f, 0x8b]) {
        return Err(UnpackError::Corrupt("the layer is not gzip-compressed".into()));
    }
    let exceeded = Rc::new(Cell::new(false));
    let stream = Capped {
        inner: GzDecoder::new(layer),
        left: limits.stream,
        exceeded: exceeded.clone(),
    };
    // Whatever the tar reader makes of the capped stream's error, the flag tells the cause.
    let corrupt = |message: String| {
        if exceeded.get() {
            UnpackError::TooLarge(format!(
                "the layer decompresses to more than {}; at most that is accepted",
                size(limits.stream)
            ))
        } else {
            UnpackError::Corrupt(message)
        }
    };
    let mut archive = tar::Archive::new(stream);
    archive.set_preserve_permissions(false);
    archive.set_preserve_mtime(false);
    let entries = archive
        .entries()
        .map_err(|e| corrupt(format!("not a tar+gzip stream: {e}")))?;
    let mut total: u64 = 0;
    for (count, entry) in entries.enumerate() {
        let mut entry = entry.map_err(|e| corrupt(format!("not a tar+gzip stream: {e}")))?;
        if count >= limits.entries {
            return Err(UnpackError::TooLarge(format!(
                "more than {} entries; at most that many are accepted",
                limits.entries
            )));
        }
        let Some(name) = check_entry(&entry, &mut total, limits)? else {
            continue;
        };
        let unpacked = entry.unpack_in(dest).map_err(|e| match classify_io(e, &name) {
            UnpackError::Corrupt(message) => corrupt(message),
            other => other,
        })?;
        if !unpacked {
            return Err(UnpackError::Corrupt(format!("unsafe entry name {name:?}")));
        }
    }
    // Trailing garbage after the tar end marker is harmless (and capped with the rest), but
    // a truncated gzip stream must not pass as a complete layer.
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| corrupt(format!("truncated gzip stream: {e}")))?;
    Ok(())
}

/// The (shortened) name of an entry to unpack, `None` for one to skip; counts its size
/// against the total, skipped entries included, since their bytes are decompressed too.
fn check_entry<R: Read>(
    entry: &tar::Entry<'_, R>,
    total: &mut u64,
    limits: &Limits,
) -> Result<Option<String>, UnpackError> {
    let path = entry
        .path()
        .map_err(|e| UnpackError::Corrupt(format!("invalid entry name: {e}")))?;
    let name = shorten(&path.display().to_string()).into_owned();
    let bytes = entry.size();
    *total = total.saturating_add(bytes);
    if *total > limits.total {
        return Err(UnpackError::TooLarge(format!(
            "the layer unpacks to more than {} (reached at {name}); at most that is accepted",
            size(limits.total)
        )));
    }
    let kind = entry.header().entry_type();
    if !(kind.is_file() || kind.is_dir()) {
        return Ok(None);
    }
    if path
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return Err(UnpackError::Corrupt(format!(
            "unsafe entry name {name:?} (absolute or with ..)"
        )));
    }
    if bytes > limits.file {
        return Err(UnpackError::TooLarge(format!(
            "{name} has {bytes} bytes; at most {} are accepted per file",
            size(limits.file)
        )));
    }
    Ok(Some(name))
}

/// `8 MiB`, or the bytes when not a whole number of MiB.
fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// A reader that fails once more than `left` bytes went through, and says so in `exceeded`.
struct Capped<R> {
    inner: R,
    left: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.left.checked_sub(n as u64) {
            Some(left) => {
                self.left = left;
                Ok(n)
            }
            None => {
                self.exceeded.set(true);
                Err(std::io::Error::other("the decompressed layer is too large"))
            }
        }
    }
}

/// An I/O error while unpacking is the archive's fault unless the disk said so.
fn classify_io(e: std::io::Error, entry: &str) -> UnpackError {
    use std::io::ErrorKind::*;
    match e.kind() {
        PermissionDenied | StorageFull | QuotaExceeded | ReadOnlyFilesystem => {
            UnpackError::Io(format!("cannot write {entry}: {e}"))
        }
        _ => UnpackError::Corrupt(format!("cannot unpack {entry}: {e}")),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A tar+gzip stream of regular files; names are written raw, since the builder itself
    /// refuses the unsafe names tested here.
    pub(crate) fn tar_gz(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
        for (name, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    /// The gzip of raw bytes, for streams the tar builder would not write.
    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn header(kind: tar::EntryType, name: &str, size: u64) -> Vec<u8> {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        header.as_bytes().to_vec()
    }

    const SMALL: Limits = Limits {
        file: 1024,
        total: 2048,
        entries: 4,
        stream: 64 << 10,
    };

    fn refusal(layer: &[u8], limits: &Limits) -> String {
        let dir = tempfile::tempdir().unwrap();
        match unpack(layer, dir.path(), limits) {
            Err(UnpackError::TooLarge(message)) => message,
            other => panic!("expected a size refusal, got {other:?}"),
        }
    }

    #[test]
    fn each_limit_is_named_with_the_entry() {
        let kib = [b'a'; 1024];
        let cases: [(Vec<u8>, &str); 4] = [
            (
                tar_gz(&[("flux/big.yaml", &[b'a'; 1025])]),
                "flux/big.yaml has 1025 bytes; at most 1024 bytes are accepted per file",
            ),
            (
                tar_gz(&[("a", &kib), ("b", &kib), ("c", b"x")]),
                "more than 2048 bytes (reached at c); at most that is accepted",
            ),
            (
                tar_gz(&[("a", b""), ("b", b""), ("c", b""), ("d", b""), ("e", b"")]),
                "more than 4 entries",
            ),
            // A GNU long name is read whole into memory by the tar reader: the stream cap stops it.
            (
                gzip(
                    &[
                        header(tar::EntryType::GNULongName, "././@LongLink", 1 << 20),
                        vec![b'n'; 1 << 20],
                    ]
                    .concat(),
                ),
                "the layer decompresses to more than 65536 bytes",
            ),
        ];
        for (layer, expected) in cases {
            let message = refusal(&layer, &SMALL);
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn trailing_data_is_capped_too() {
        let mut stream = header(tar::EntryType::Regular, "a", 1);
        stream.extend_from_slice(&[b'x'; 512]);
        stream.extend_from_slice(&[0; 1024]);
        stream.extend_from_slice(&vec![0; 1 << 20]);
        assert!(refusal(&gzip(&stream), &SMALL).contains("decompresses to more than"));
        // Under the cap, trailing zeros are harmless.
        let dir = tempfile::tempdir().unwrap();
        let small = Limits {
            stream: 2 << 20,
            ..SMALL
        };
        unpack(&gzip(&stream), dir.path(), &small).expect("trailing zeros");
        assert_eq!(std::fs::read(dir.path().join("a")).unwrap(), b"x");
    }

    #[test]
    fn sizes_are_checked_before_the_data_is_read() {
        // Headers that promise more than any limit, with no data behind them.
        let file = gzip(&header(tar::EntryType::Regular, "flux/v2.9.4/huge.yaml", 9 << 20));
        let message = refusal(&file, &LIMITS);
        assert_eq!(
            message,
            "flux/v2.9.4/huge.yaml has 9437184 bytes; at most 8 MiB are accepted per file"
        );
        let link = gzip(&header(tar::EntryType::Symlink, "flux/link", 300 << 20));
        assert!(refusal(&link, &LIMITS).contains("more than 256 MiB (reached at flux/link)"));
    }
}
