//! Echoing user input in messages with a bounded size: a 10 MB value must not become a
//! 10 MB log line or status message.

use std::borrow::Cow;

/// How many characters of a value a message repeats.
const KEEP: usize = 64;

/// The value itself when short; else its first characters and its length in bytes.
pub fn shorten(value: &str) -> Cow<'_, str> {
    match value.char_indices().nth(KEEP) {
        None => Cow::Borrowed(value),
        Some((end, _)) => Cow::Owned(format!("{}... ({} bytes)", &value[..end], value.len())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_keep_their_start_and_say_their_length() {
        assert_eq!(shorten("2.x"), "2.x");
        let long = "é".repeat(10_000);
        let short = shorten(&long);
        assert!(short.starts_with(&"é".repeat(KEEP)), "{short}");
        assert!(short.ends_with("... (20000 bytes)"), "{short}");
    }
}
