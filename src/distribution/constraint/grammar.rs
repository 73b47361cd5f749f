//! The constraint grammar of Masterminds/semver v3.5.0, with the library's own regular
//! expressions, so that this project accepts, refuses and splits exactly the texts upstream
//! does. The library's quirks come along on purpose, since users move constraints between
//! the two operators: its whitespace is ASCII only, `|` is in its version character class
//! (so `2.7 ||2.8 - 2.9` is refused and `2.7||2.8 - 2.9` reads as `>=2.7 || 2.8, <=2.9`),
//! a hyphen range swallows the space before it (so `2.x 2.6 - 2.8` is refused), and what
//! follows a wildcard is ignored unread (`2.x.|` is `2.x`).

use std::sync::LazyLock;

use regex::Regex;

/// Go's `\s`, which unlike Rust's leaves out vertical tab and Unicode spaces.
const S: &str = r"[\t\n\f\r ]";
/// The library's operators, in its order: the order decides which one a regex tries first.
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";
/// One version as a constraint writes it; group 1 is the major, 2 and 3 `.minor` and
/// `.patch`, 5 the prerelease.
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";

fn compile(pattern: String) -> Regex {
    // The patterns are constants, so a failure is a bug that every test run shows at once.
    Regex::new(&pattern).unwrap_or_else(|e| panic!("constraint grammar regex {pattern:?}: {e}"))
}

/// One comparator: operator, then version.
static CONSTRAINT: LazyLock<Regex> = LazyLock::new(|| compile(format!("^{S}*({OPS}){S}*({CV}){S}*$")));
/// A hyphen range `A - B`, spaces around the hyphen required.
static RANGE: LazyLock<Regex> = LazyLock::new(|| compile(format!(r"{S}*({CV}){S}+-{S}+({CV}){S}*")));
/// The comparators of an alternative that [`VALID`] accepted.
static FIND: LazyLock<Regex> = LazyLock::new(|| compile(format!("({OPS}){S}*({CV})")));
/// An alternative: comparators separated by whitespace or a comma.
static VALID: LazyLock<Regex> = LazyLock::new(|| {
    compile(format!(
        "^({S}*({OPS}){S}*({CV}){S}*)((?:{S}+|,{S}*)({OPS}){S}*({CV}){S}*)*$"
    ))
});

/// One comparator as written: the parts of its version are still text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RawComparator<'a> {
    pub op: &'a str,
    /// The whole version, `v` prefix and build metadata included.
    pub version: &'a str,
    pub major: &'a str,
    /// Without the leading dot.
    pub minor: Option<&'a str>,
    pub patch: Option<&'a str>,
    pub pre: Option<&'a str>,
}

/// Rewrites each hyphen range `A - B` to `>= A, <= B `, as the library does before anything
/// else (each match replaces the first occurrence of its text, as the library's does).
pub(super) fn rewrite_ranges(text: &str) -> String {
    let mut rewritten = text.to_string();
    for caps in RANGE.captures_iter(text) {
        let (Some(whole), Some(lower), Some(upper)) = (caps.get(0), caps.get(1), caps.get(11)) else {
            continue;
        };
        let replacement = format!(">= {}, <= {} ", lower.as_str(), upper.as_str());
        rewritten = rewritten.replacen(whole.as_str(), &replacement, 1);
    }
    rewritten
}

/// The comparators of one `||` alternative of a rewritten constraint, or `None` when the
/// library refuses the alternative.
pub(super) fn comparators(alternative: &str) -> Option<Vec<RawComparator<'_>>> {
    if !VALID.is_match(alternative) {
        return None;
    }
    FIND.find_iter(alternative)
        .map(|found| {
            let caps = CONSTRAINT.captures(found.as_str())?;
            let text = |i: usize| caps.get(i).map(|m| m.as_str());
            Some(RawComparator {
                op: text(1)?,
                version: text(2)?,
                major: text(3)?,
                minor: text(4).map(|m| &m[1..]),
                patch: text(5).map(|p| &p[1..]),
                pre: text(7),
            })
        })
        .collect()
}

/// Whether the library reads a version part as a wildcard.
pub(super) fn is_wildcard(part: &str) -> bool {
    matches!(part, "x" | "X" | "*")
}

/// Whether `c` can appear in a constraint at all; anything else is refused wherever it is.
pub(super) fn in_alphabet(c: char) -> bool {
    c.is_ascii_alphanumeric() || "\t\n\u{c}\r .-+*|,=!<>~^".contains(c)
}

/// Whether `c` separates comparators, as Go's `\s` defines it.
pub(super) fn is_space(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\u{c}' | '\r' | ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hyphen_ranges_are_rewritten_like_the_library_does() {
        assert_eq!(rewrite_ranges("2.6 - 2.8"), ">= 2.6, <= 2.8 ");
        assert_eq!(rewrite_ranges("2.x 2.6 - 2.8"), "2.x>= 2.6, <= 2.8 ");
        assert_eq!(rewrite_ranges("2.7 ||2.8 - 2.9"), "2.7>= ||2.8, <= 2.9 ");
        assert_eq!(rewrite_ranges("2.7||2.8 - 2.9"), ">= 2.7||2.8, <= 2.9 ");
        assert_eq!(rewrite_ranges("2.6 -2.8"), "2.6 -2.8");
    }

    #[test]
    fn alternatives_split_into_comparators() {
        let found = comparators(" >= v2.8.0-rc.1+b, <3.x.| ~1").expect("valid");
        let ops: Vec<_> = found.iter().map(|c| c.op).collect();
        assert_eq!(ops, [">=", "<", "~"]);
        assert_eq!(
            found[0],
            RawComparator {
                op: ">=",
                version: "v2.8.0-rc.1+b",
                major: "2",
                minor: Some("8"),
                patch: Some("0"),
                pre: Some("rc.1"),
            }
        );
        assert_eq!((found[1].minor, found[1].patch), (Some("x"), Some("|")));
        assert_eq!(found[2].minor, None);
    }

    #[test]
    fn the_library_refusals_are_kept() {
        for alternative in ["2.7>= ", "2.8\u{a0}", "2.8\u{b}", "", " ", "2.8,", ">>2", "2.8.0.1"] {
            assert_eq!(comparators(alternative), None, "{alternative:?}");
        }
    }
}
