//! `slugify`: gosimple/slug v1.15.0's `Make` with `MaxLength = 63` and smart truncation,
//! bit for bit (slugs end up in object names; a difference would recreate every
//! generated object on takeover). Steps: trim Unicode space; `&` → `and`, `@` → `at`,
//! `"`, `'` and `’` dropped, figure, en and em dashes and the horizontal bar → `-` (the
//! library's default substitutions, which SPEC-resourceset §11.5 does not list);
//! transliterate to ASCII ([`super::unidecode`]); lowercase; every character outside
//! `[a-zA-Z0-9_-]` → `-`; runs of `-` → one; trim `-` and `_`; longer than 63 bytes: cut at
//! the last `-` at an index ≤ 63, else at 63.

use super::unidecode::unidecode;

pub const MAX_LENGTH: usize = 63;

pub fn slugify(s: &str) -> String {
    let mut substituted = String::with_capacity(s.len());
    for c in s.trim().chars() {
        match c {
            '&' => substituted.push_str("and"),
            '@' => substituted.push_str("at"),
            '"' | '\'' | '\u{2019}' => {}
            '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}' => substituted.push('-'),
            c => substituted.push(c),
        }
    }
    let ascii = unidecode(&substituted).to_ascii_lowercase();
    let mut slug = String::with_capacity(ascii.len());
    for c in ascii.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
            c
        } else {
            '-'
        };
        if !(c == '-' && slug.ends_with('-')) {
            slug.push(c);
        }
    }
    let slug = slug.trim_matches(['-', '_']);
    smart_truncate(slug).to_string()
}

fn smart_truncate(text: &str) -> &str {
    if text.len() <= MAX_LENGTH {
        return text;
    }
    match text.as_bytes()[..=MAX_LENGTH].iter().rposition(|&b| b == b'-') {
        Some(i) => &text[..i],
        None => &text[..MAX_LENGTH],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_examples() {
        assert_eq!(slugify(">=1.0.0-rc.0"), "1-0-0-rc-0");
        assert_eq!(slugify("  Tom & Jerry @ Home  "), "tom-and-jerry-at-home");
        assert_eq!(slugify("Ünïcödé Straße"), "unicode-strasse");
        assert_eq!(slugify("it's a “test” — ok"), "its-a-test-ok");
    }

    #[test]
    fn long_slugs_cut_at_a_dash() {
        let long = format!("{}-{}", "a".repeat(60), "b".repeat(10));
        assert_eq!(slugify(&long), "a".repeat(60));
        assert_eq!(slugify(&"x".repeat(100)), "x".repeat(63));
    }
}
