//! Bounds on what a build may produce, so that a small hostile FluxInstance cannot make the
//! operator run out of memory (n JSON 6902 `copy` operations of an object into itself grow
//! it as 2^n; a huge `commonMetadata` value is copied into every object).
//!
//! A Flux release is about 350 KB of YAML and its largest object under 110 KB; the limits
//! leave room for far more:
//!
//! - [`COPY_LIMIT`]: the bytes the `copy` operations of one JSON 6902 patch may copy into
//!   one object, added up (kustomize's JSON patch library has such a limit, which
//!   `kubectl kustomize` leaves off: it runs out of memory at 22 doublings);
//! - [`OBJECT_LIMIT`]: the size of one patched object (the API server refuses objects
//!   smaller than that: etcd's default request limit is 1.5 MiB);
//! - [`RENDER_LIMIT`]: the size of all rendered objects together.
//!
//! Sizes are those of the objects' compact JSON; in memory a `Value` of many small maps
//! takes several times more, which is why the limits are not larger.

use serde_json::Value;

use super::Error;

/// 2 MiB of copied values per JSON 6902 patch and object.
pub const COPY_LIMIT: usize = 2 << 20;
/// 4 MiB per patched object.
pub const OBJECT_LIMIT: usize = 4 << 20;
/// 32 MiB for the whole render.
pub const RENDER_LIMIT: usize = 32 << 20;

/// Counts bytes and refuses to go past its cap, so measuring a huge value costs no more
/// than the cap.
struct Counter {
    count: usize,
    cap: usize,
}

impl std::io::Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.count += buf.len();
        if self.count > self.cap {
            return Err(std::io::Error::other("over the cap"));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The size of `value` as compact JSON, or `None` when it is more than `cap` bytes.
pub fn json_size(value: &Value, cap: usize) -> Option<usize> {
    let mut counter = Counter { count: 0, cap };
    serde_json::to_writer(&mut counter, value).ok()?;
    Some(counter.count)
}

/// Refuses a render of more than [`RENDER_LIMIT`] bytes once every object has `extra` more
/// (what `commonMetadata` will add), before it is added.
pub fn check_render(objects: &[Value], extra: usize) -> Result<(), Error> {
    let too_large = || Error::RenderTooLarge { objects: objects.len() };
    let mut left = RENDER_LIMIT
        .checked_sub(extra.saturating_mul(objects.len()))
        .ok_or_else(too_large)?;
    for object in objects {
        left -= json_size(object, left).ok_or_else(too_large)?;
    }
    Ok(())
}

/// A number of bytes for messages: `8 MiB`, `512 KiB`, `300 bytes`.
pub fn human(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn sizes_are_compact_json_and_stop_at_the_cap() {
        let value = json!({"a": [1, "é"]});
        assert_eq!(json_size(&value, 100), Some(value.to_string().len()));
        assert_eq!(json_size(&value, 5), None);
        let big = Value::String("x".repeat(1 << 20));
        assert_eq!(json_size(&big, 1 << 10), None);
    }

    #[test]
    fn render_limit_counts_what_every_object_will_get() {
        let objects = vec![json!({"a": "x".repeat(1 << 20)}); 10];
        assert!(check_render(&objects, 0).is_ok());
        assert!(check_render(&objects, 2 << 20).is_ok());
        let e = check_render(&objects, 3 << 20).expect_err("too large");
        assert_eq!(
            e.to_string(),
            "the 10 rendered objects are larger than 32 MiB together (spec.commonMetadata counted in each)"
        );
        assert!(check_render(&vec![json!({"a": "x".repeat(4 << 20)}); 10], 0).is_err());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(COPY_LIMIT), "2 MiB");
        assert_eq!(human(256 << 10), "256 KiB");
        assert_eq!(human(1000), "1000 bytes");
    }
}
