//! The version constraint language of Masterminds/semver v3, which is what Flux users
//! write in `spec.distribution.version`, evaluated on the `semver` crate's `Version`.
//!
//! `semver::VersionReq` is not used for user input because the two languages read the
//! same text differently: Cargo takes `2.8.0` as `^2.8.0`, Masterminds as exactly
//! 2.8.0; Cargo takes `>2.8` as `>=2.9.0` too, but `2.8` as `>=2.8.0, <2.9.0` only by
//! accident of its `=` rules, and it has no `!=`, hyphen ranges or `||`.
//!
//! Semantics, with P a version as written (1 to 3 numbers, a wildcard `x`/`X`/`*`
//! ending it early) and k how many numbers precede the end or the wildcard:
//! - no operator or `=`: k = 3 is equality; otherwise any version whose first k
//!   numbers are P's (`2.8` and `2.8.x` are `>=2.8.0 <2.9.0`).
//! - `~`: at least P, same major, and same minor when P has one (`~2` is the whole 2
//!   line, `~2.8.1` is `>=2.8.1 <2.9.0`); `~0.0.0` matches everything, as upstream.
//! - `^`: at least P, same major; for 0.y versions the same minor, and for 0.0.z with
//!   a patch, exactly that patch.
//! - `>`: beyond every version P stands for (`>2.8` is `>=2.9.0`, `>2` is `>=3.0.0`).
//! - `>=`, `<`: compared with P's missing numbers read as 0.
//! - `<=`: up to the last version P stands for (`<=2.8` is `<2.9.0`).
//! - `!=`: any version P does not stand for.
//! - `A - B` (spaces required) is `>=A <=B`; space or comma is AND; `||` is OR.
//!
//! A version with a prerelease only matches when its `||` alternative names a
//! prerelease somewhere; that keeps release candidates away from `2.x` users.
//!
//! Where Masterminds gives accidental results for a lone wildcard (`<=*` matching only
//! 0.0.x, `^*` only 0.0.0, `!=*` all but 0.0.0, `>*` all but 0.0.0), this reads `*` as
//! the set of all versions: `=`, `~`, `^`, `>=`, `<=` match everything and `>`, `<`,
//! `!=` match nothing.

use std::cmp::Ordering;
use std::fmt;

use semver::{BuildMetadata, Prerelease, Version};

use super::Error;

/// Masterminds refuses longer constraints too; this keeps hostile input cheap.
const MAX_LEN: usize = 512;
/// Same limit as Masterminds on `||` alternatives.
const MAX_ALTERNATIVES: usize = 32;

/// A parsed constraint; it keeps its text so that messages can quote what the user wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    text: String,
    alternatives: Vec<Group>,
}

impl Constraint {
    /// Parses a constraint; the error names the constraint and the part that is wrong.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let invalid = |message: String| Error::InvalidConstraint {
            constraint: text.to_string(),
            message,
        };
        if text.len() > MAX_LEN {
            return Err(invalid(format!("longer than {MAX_LEN} characters")));
        }
        if text.trim().is_empty() {
            return Err(invalid(
                "the constraint is empty; use e.g. \"2.x\" for the newest 2.y.z".into(),
            ));
        }
        let parts: Vec<&str> = text.split("||").collect();
        if parts.len() > MAX_ALTERNATIVES {
            return Err(invalid(format!(
                "more than {MAX_ALTERNATIVES} alternatives separated by \"||\""
            )));
        }
        let alternatives = parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                if part.trim().is_empty() {
                    Err(format!(
                        "alternative {} of {} around \"||\" is empty",
                        i + 1,
                        parts.len()
                    ))
                } else {
                    Group::parse(part)
                }
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(invalid)?;
        Ok(Self {
            text: text.to_string(),
            alternatives,
        })
    }

    /// The text this constraint was parsed from.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, version: &Version) -> bool {
        self.alternatives.iter().any(|group| group.matches(version))
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Comparators joined by AND.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Group {
    comparators: Vec<Comparator>,
    /// Whether one of the comparators names a prerelease, which lets prereleases match.
    allows_prerelease: bool,
}

impl Group {
    fn parse(text: &str) -> Result<Self, String> {
        let mut comparators = Vec::new();
        let mut rest = text.trim_start();
        loop {
            let (op, after_op) = split_op(rest);
            let (token, after) = split_token(after_op.trim_start());
            if token.is_empty() {
                return Err(match op {
                    Some(op) => format!("{:?} is not followed by a version", op.text()),
                    None => format!("expected a version at {rest:?}"),
                });
            }
            let version = PartialVersion::parse(token)?;
            let mut after = after;
            if let Some(upper_text) = hyphen_upper(after) {
                if let Some(op) = op {
                    return Err(format!(
                        "{:?}: the bounds of a hyphen range take no operator",
                        format!("{}{token} - ...", op.text())
                    ));
                }
                let (upper_token, after_upper) = split_token(upper_text);
                if upper_token.is_empty() {
                    return Err(format!("the hyphen range starting at {token:?} has no upper bound"));
                }
                let upper = PartialVersion::parse(upper_token)?;
                comparators.push(Comparator { op: Op::Ge, version });
                comparators.push(Comparator {
                    op: Op::Le,
                    version: upper,
                });
                after = after_upper;
            } else {
                comparators.push(Comparator {
                    op: op.unwrap_or(Op::Eq),
                    version,
                });
            }
            let trimmed = after.trim_start();
            if trimmed.is_empty() {
                break;
            }
            // The token stopped at whitespace or a comma, so what follows is separated.
            rest = match trimmed.strip_prefix(',') {
                Some(next) if next.trim().is_empty() => {
                    return Err(format!("{:?} ends with a comma", text.trim()));
                }
                Some(next) => next.trim_start(),
                None => trimmed,
            };
        }
        let allows_prerelease = comparators.iter().any(|c| !c.version.pre.is_empty());
        Ok(Self {
            comparators,
            allows_prerelease,
        })
    }

    fn matches(&self, version: &Version) -> bool {
        if !version.pre.is_empty() && !self.allows_prerelease {
            return false;
        }
        self.comparators.iter().all(|c| c.matches(version))
    }
}

/// What follows ` - ` when `rest` (the text after a version) continues a hyphen range.
fn hyphen_upper(rest: &str) -> Option<&str> {
    let trimmed = rest.trim_start();
    if trimmed.len() == rest.len() {
        return None;
    }
    let after = trimmed.strip_prefix('-')?;
    if after.is_empty() || after.starts_with(char::is_whitespace) {
        Some(after.trim_start())
    } else {
        None
    }
}

/// Splits a leading operator off; two-character operators first so `>=` is not `>`.
fn split_op(text: &str) -> (Option<Op>, &str) {
    const OPS: [(&str, Op); 11] = [
        ("!=", Op::Ne),
        (">=", Op::Ge),
        ("=>", Op::Ge),
        ("<=", Op::Le),
        ("=<", Op::Le),
        ("~>", Op::Tilde),
        ("=", Op::Eq),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    OPS.iter()
        .find_map(|(prefix, op)| text.strip_prefix(prefix).map(|rest| (Some(*op), rest)))
        .unwrap_or((None, text))
}

/// Splits off a version token, which ends at whitespace, a comma or the end.
fn split_token(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| c.is_whitespace() || c == ',').unwrap_or(text.len());
    text.split_at(end)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Tilde,
    Caret,
}

impl Op {
    fn text(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Tilde => "~",
            Op::Caret => "^",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator {
    op: Op,
    version: PartialVersion,
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        let p = &self.version;
        let vs_floor = v.cmp_precedence(&p.floor());
        match self.op {
            Op::Eq if p.is_exact() => vs_floor == Ordering::Equal,
            Op::Eq | Op::Tilde => vs_floor != Ordering::Less && p.tilde_line(v),
            Op::Caret => vs_floor != Ordering::Less && p.caret_line(v),
            Op::Ne if p.is_exact() => vs_floor != Ordering::Equal,
            Op::Ne => p.cmp_prefix(v) != Ordering::Equal,
            Op::Gt if p.is_exact() => vs_floor == Ordering::Greater,
            Op::Gt => p.cmp_prefix(v) == Ordering::Greater,
            Op::Ge => vs_floor != Ordering::Less,
            Op::Lt => vs_floor == Ordering::Less,
            Op::Le if p.is_exact() => vs_floor != Ordering::Greater,
            Op::Le => p.cmp_prefix(v) != Ordering::Greater,
        }
    }
}

/// A version as written in a constraint: the numbers before the first wildcard or the end.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PartialVersion {
    numbers: Vec<u64>,
    pre: Prerelease,
}

impl PartialVersion {
    fn parse(token: &str) -> Result<Self, String> {
        let body = token.strip_prefix('v').unwrap_or(token);
        let (core_pre, build) = match body.split_once('+') {
            Some((core_pre, build)) => (core_pre, Some(build)),
            None => (body, None),
        };
        let (core, pre) = match core_pre.split_once('-') {
            Some((core, pre)) => (core, Some(pre)),
            None => (core_pre, None),
        };
        if core.is_empty() {
            return Err(format!("{token:?} is not a version"));
        }
        let segments: Vec<&str> = core.split('.').collect();
        if segments.len() > 3 {
            return Err(format!(
                "{token:?} has {} dot-separated parts, at most 3 (major.minor.patch) are allowed",
                segments.len()
            ));
        }
        let mut numbers = Vec::with_capacity(3);
        let mut wildcard = false;
        for segment in segments {
            if matches!(segment, "x" | "X" | "*") {
                wildcard = true;
            } else if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{token:?} is not a version: {segment:?} is neither a number nor a wildcard (x, X, *)"
                ));
            } else if !wildcard {
                // Numbers after a wildcard are ignored, as upstream does with `2.x.5`.
                let number = segment
                    .parse::<u64>()
                    .map_err(|_| format!("{token:?} is not a version: {segment:?} is too large"))?;
                numbers.push(number);
            }
        }
        let pre = match pre {
            Some(pre) => Prerelease::new(pre)
                .ok()
                .filter(|p| !p.is_empty())
                .ok_or_else(|| format!("{token:?} has an invalid prerelease {pre:?}"))?,
            None => Prerelease::EMPTY,
        };
        if let Some(build) = build
            && (build.is_empty() || BuildMetadata::new(build).is_err())
        {
            return Err(format!("{token:?} has invalid build metadata {build:?}"));
        }
        Ok(Self { numbers, pre })
    }

    fn is_exact(&self) -> bool {
        self.numbers.len() == 3
    }

    fn number(&self, i: usize) -> u64 {
        self.numbers.get(i).copied().unwrap_or(0)
    }

    /// The lowest version this stands for: missing numbers read as 0.
    fn floor(&self) -> Version {
        Version {
            major: self.number(0),
            minor: self.number(1),
            patch: self.number(2),
            pre: self.pre.clone(),
            build: BuildMetadata::EMPTY,
        }
    }

    /// Compares `v`'s leading numbers with the ones written here (prereleases aside).
    fn cmp_prefix(&self, v: &Version) -> Ordering {
        let written = [v.major, v.minor, v.patch];
        let k = self.numbers.len();
        written[..k].cmp(&self.numbers[..])
    }

    /// The line `~` allows above the floor: same major, and same minor once given.
    fn tilde_line(&self, v: &Version) -> bool {
        match self.numbers[..] {
            [] | [0, 0, 0] => true,
            [major] => v.major == major,
            [major, minor, ..] => v.major == major && v.minor == minor,
        }
    }

    /// The line `^` allows above the floor: the leftmost non-zero number stays put.
    fn caret_line(&self, v: &Version) -> bool {
        match self.numbers[..] {
            [] => true,
            [major] => v.major == major,
            [major, ..] if major > 0 => v.major == major,
            [_, minor] => v.major == 0 && v.minor == minor,
            [_, minor, _] if minor > 0 => v.major == 0 && v.minor == minor,
            [_, _, patch] => v.major == 0 && v.minor == 0 && v.patch == patch,
            // Parsing never keeps more than three numbers.
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> Version {
        Version::parse(text).expect("test version")
    }

    fn matches(constraint: &str, version: &str) -> bool {
        Constraint::parse(constraint)
            .unwrap_or_else(|e| panic!("{constraint:?} should parse: {e}"))
            .matches(&v(version))
    }

    /// (constraint, versions that match, versions that do not)
    const VECTORS: &[(&str, &[&str], &[&str])] = &[
        // Exact and wildcard forms.
        ("1.2.3", &["1.2.3", "1.2.3+build.5"], &["1.2.4", "1.2.3-rc.1", "1.3.0"]),
        ("=v1.2.3", &["1.2.3"], &["1.2.2"]),
        ("1.2", &["1.2.0", "1.2.99"], &["1.3.0", "1.1.9", "1.2.5-rc.1"]),
        ("1.2.x", &["1.2.0", "1.2.99"], &["1.3.0"]),
        ("1", &["1.0.0", "1.99.0"], &["2.0.0", "0.9.0"]),
        ("1.x.5", &["1.0.0", "1.7.1"], &["2.0.0"]),
        ("*", &["0.0.0", "3.0.0"], &["3.0.0-rc.1"]),
        // Tilde.
        ("~1.2.3", &["1.2.3", "1.2.9"], &["1.2.2", "1.3.0"]),
        ("~1.2", &["1.2.0", "1.2.9"], &["1.3.0", "1.1.0"]),
        ("~1", &["1.0.0", "1.9.9"], &["2.0.0"]),
        ("~1.x", &["1.0.0", "1.9.9"], &["2.0.0"]),
        ("~>1.2", &["1.2.4"], &["1.3.0"]),
        ("~0.0.0", &["0.0.0", "5.0.0"], &[]),
        ("~0", &["0.0.0", "0.9.0"], &["1.0.0"]),
        // Caret, including the 0.y and 0.0.z rules.
        ("^1.2.3", &["1.2.3", "1.9.0"], &["1.2.2", "2.0.0"]),
        ("^1.2", &["1.2.0", "1.9.0"], &["1.1.9", "2.0.0"]),
        ("^1.x", &["1.0.0", "1.9.0"], &["2.0.0"]),
        ("^0.2.3", &["0.2.3", "0.2.9"], &["0.2.2", "0.3.0", "1.0.0"]),
        ("^0.2", &["0.2.0", "0.2.9"], &["0.3.0"]),
        ("^0.0.3", &["0.0.3"], &["0.0.4", "0.0.2", "0.1.0"]),
        ("^0.0", &["0.0.0", "0.0.9"], &["0.1.0"]),
        ("^0", &["0.0.0", "0.9.9"], &["1.0.0"]),
        ("^*", &["0.0.0", "7.1.0"], &[]),
        // Comparisons with partial versions.
        (">2.8", &["2.9.0", "3.0.0"], &["2.8.9", "2.8.0"]),
        (">2", &["3.0.0"], &["2.99.0"]),
        (">2.8.1", &["2.8.2"], &["2.8.1"]),
        (">=2.8", &["2.8.0", "3.0.0"], &["2.7.9"]),
        ("<2.8", &["2.7.9"], &["2.8.0"]),
        ("<2", &["1.9.9"], &["2.0.0"]),
        ("<=2.8", &["2.8.9", "1.0.0"], &["2.9.0"]),
        ("<=2", &["2.99.0"], &["3.0.0"]),
        ("<=2.8.1", &["2.8.1"], &["2.8.2"]),
        ("!=2.8.1", &["2.8.0", "2.8.2"], &["2.8.1"]),
        ("!=2.8", &["2.7.0", "2.9.0"], &["2.8.0", "2.8.5"]),
        ("!=2.x", &["1.0.0", "3.0.0"], &["2.5.0"]),
        ("=>1.2 =<1.3", &["1.2.0", "1.3.9"], &["1.4.0"]),
        // Lone wildcards read as the set of all versions.
        ("<=*", &["0.0.0", "9.0.0"], &[]),
        (">=*", &["9.0.0"], &[]),
        (">*", &[], &["1.0.0"]),
        ("!=*", &[], &["1.0.0"]),
        // Hyphen ranges: a partial upper bound covers its whole line.
        ("1.2 - 1.4.5", &["1.2.0", "1.4.5"], &["1.4.6", "1.1.9"]),
        ("2.3.4 - 4.5", &["2.3.4", "4.5.9"], &["4.6.0", "2.3.3"]),
        ("2.6 - 2.8", &["2.6.0", "2.8.8"], &["2.9.0"]),
        ("1 - 2", &["1.0.0", "2.9.9"], &["3.0.0"]),
        // AND and OR.
        (">=1.2, <1.4 || >=2", &["1.3.0", "2.0.0"], &["1.4.0", "1.1.0"]),
        ("1.x !=1.5.0", &["1.4.0"], &["1.5.0"]),
        // 2.9 -> 3.0 is an ordinary step up.
        ("^2.9", &["2.9.4", "2.10.0"], &["3.0.0"]),
        (">=2.9 <4", &["3.0.0", "2.9.0"], &["4.0.0"]),
    ];

    #[test]
    fn vectors() {
        for (constraint, yes, no) in VECTORS {
            for version in *yes {
                assert!(matches(constraint, version), "{constraint:?} should match {version}");
            }
            for version in *no {
                assert!(
                    !matches(constraint, version),
                    "{constraint:?} should not match {version}"
                );
            }
        }
    }

    #[test]
    fn prereleases_need_a_prerelease_in_the_same_alternative() {
        assert!(!matches("2.x", "2.9.0-rc.1"));
        assert!(!matches(">=2.0.0", "3.0.0-rc.1"));
        assert!(matches(">=2.0.0-0", "3.0.0-rc.1"));
        assert!(matches(">=3.0.0-rc.1", "3.0.0-rc.2"));
        assert!(!matches(">=3.0.0-rc.2", "3.0.0-rc.1"));
        assert!(matches("3.0.0-rc.1", "3.0.0-rc.1"));
        assert!(matches("^3.0.0-0", "3.0.0-rc.1"));
        assert!(matches("^3.0.0-0", "3.1.0"));
        assert!(matches("~3.0.0-0", "3.0.0-beta"));
        // The whole alternative opts in, not only the comparator naming a prerelease.
        assert!(matches(">=3.0.0-0 <4", "3.0.0-rc.1"));
        // Only the alternative that names one.
        assert!(!matches("2.x || >=4.0.0-0", "3.0.0-rc.1"));
        assert!(matches("2.x || >=3.0.0-0", "3.0.0-rc.1"));
        // Once opted in, the lines of partial versions still hold.
        assert!(!matches("~2.8 >=2.8.0-0", "2.9.0-rc.1"));
        assert!(matches("<=2.8, >=2.8.0-0", "2.8.5-rc.1"));
    }

    #[test]
    fn spelling_variants_parse_alike() {
        let spellings = [
            ">=2.6.0 <2.9.0",
            ">=2.6.0, <2.9.0",
            ">=2.6.0,<2.9.0",
            " >= 2.6.0 , < 2.9.0 ",
            ">=v2.6.0 <v2.9.0",
            "\t>=2.6.0\n<2.9.0",
        ];
        for s in spellings {
            for (version, expected) in [("2.6.0", true), ("2.8.8", true), ("2.9.0", false), ("2.5.1", false)] {
                assert_eq!(matches(s, version), expected, "{s:?} on {version}");
            }
        }
    }

    #[test]
    fn display_keeps_the_text() {
        let c = Constraint::parse(" ~2.8 ").expect("parses");
        assert_eq!(c.to_string(), " ~2.8 ");
        assert_eq!(c.as_str(), " ~2.8 ");
    }

    /// (constraint, a piece of text the message must contain)
    const INVALID: &[(&str, &str)] = &[
        ("2.8.x.y", "\"2.8.x.y\" has 4 dot-separated parts"),
        ("2.8.0.1", "at most 3"),
        (">>2", "\">2\" is not a version"),
        ("latest", "\"latest\" is not a version"),
        ("", "empty"),
        ("   ", "empty"),
        ("2.8 ||", "alternative 2 of 2"),
        ("|| 2.8", "alternative 1 of 2"),
        ("2.7 |||| 2.9", "alternative 2 of 3"),
        ("2.7 | 2.9", "\"|\" is not a version"),
        ("2.8,", "ends with a comma"),
        ("2.8, ,2.9", "expected a version"),
        (">=", "\">=\" is not followed by a version"),
        (">= ", "\">=\" is not followed by a version"),
        ("2.6 -", "no upper bound"),
        ("2.6 - ", "no upper bound"),
        (">=2.6 - 2.8", "take no operator"),
        ("2.6 - >=2.8", "\">=2.8\" is not a version"),
        ("2.8-", "invalid prerelease \"\""),
        ("2.8.0-01", "invalid prerelease \"01\""),
        ("2.8.0+", "invalid build metadata"),
        ("v", "\"v\" is not a version"),
        ("2..8", "\"\" is neither a number"),
        ("2.8.", "\"\" is neither a number"),
        ("2.y", "\"y\" is neither a number"),
        ("V2.8", "\"V2.8\" is not a version"),
        ("99999999999999999999", "too large"),
    ];

    #[test]
    fn invalid_constraints_name_the_culprit() {
        for (constraint, expected) in INVALID {
            let err = Constraint::parse(constraint).expect_err(constraint);
            let message = err.to_string();
            assert!(
                message.starts_with(&format!(
                    "spec.distribution.version: invalid version constraint {constraint:?}: "
                )),
                "{message}"
            );
            assert!(
                message.contains(expected),
                "{constraint:?}: {message:?} lacks {expected:?}"
            );
            assert_eq!(err.reason(), "BuildFailed");
        }
    }

    #[test]
    fn overlong_constraints_are_refused() {
        let long = "2.x || ".repeat(100);
        assert!(Constraint::parse(&long).is_err());
        let many = vec!["2.x"; 40].join("||");
        let err = Constraint::parse(&many).expect_err("too many alternatives");
        assert!(err.to_string().contains("more than 32 alternatives"));
    }
}
