//! Why the grammar refused a constraint: the library only says "improper constraint", the
//! user is told which part is wrong. This never decides what is accepted.

use semver::{BuildMetadata, Prerelease};

use super::comparator::parse_number;
use super::grammar::{in_alphabet, is_space, is_wildcard};
use crate::text::shorten;

/// The first problem found in `text`, a constraint the grammar refused.
pub(super) fn explain(text: &str) -> String {
    if let Some(c) = text.chars().find(|c| !in_alphabet(*c)) {
        let what = if c.is_whitespace() {
            "; only ASCII spaces, tabs, newlines and commas separate comparators"
        } else {
            ""
        };
        return format!(
            "it contains {c:?} (U+{:04X}), which a constraint cannot contain{what}",
            c as u32
        );
    }
    let alternatives: Vec<&str> = text.split("||").collect();
    for (i, alternative) in alternatives.iter().enumerate() {
        if alternative.trim_matches(is_space).is_empty() {
            return format!("alternative {} of {} around \"||\" is empty", i + 1, alternatives.len());
        }
        if let Err(message) = explain_alternative(alternative) {
            return message;
        }
    }
    if text.contains(" - ") || text.contains(" -\t") || text.contains("\t- ") {
        "a hyphen range (\"A - B\") must start its \"||\" alternative, with a space after \"||\", \
         or follow a comma"
            .into()
    } else {
        "Masterminds/semver v3 does not accept it".into()
    }
}

/// Walks the comparators of one `||` alternative and stops at the first that is wrong.
fn explain_alternative(text: &str) -> Result<(), String> {
    let mut rest = text.trim_start_matches(is_space);
    loop {
        let (op, after_op) = split_op(rest);
        let (token, after) = split_token(after_op.trim_start_matches(is_space));
        if token.is_empty() {
            return Err(match op {
                Some(op) => format!("{op:?} is not followed by a version"),
                None => format!("expected a version at {:?}", shorten(rest)),
            });
        }
        check_version(token)?;
        let mut after = after;
        if let Some(upper_text) = hyphen_upper(after) {
            let (upper_token, after_upper) = split_token(upper_text);
            if op.is_some() || split_op(upper_token).0.is_some() {
                return Err(format!(
                    "{:?}: the bounds of a hyphen range take no operator",
                    shorten(&rest[..rest.len() - after_upper.len()])
                ));
            }
            if upper_token.is_empty() {
                return Err(format!(
                    "the hyphen range starting at {:?} has no upper bound",
                    shorten(token)
                ));
            }
            check_version(upper_token)?;
            after = after_upper;
        }
        let trimmed = after.trim_start_matches(is_space);
        if trimmed.is_empty() {
            return Ok(());
        }
        rest = match trimmed.strip_prefix(',') {
            Some(next) if next.trim_matches(is_space).is_empty() => {
                return Err(format!("{:?} ends with a comma", shorten(text.trim_matches(is_space))));
            }
            Some(next) => next.trim_start_matches(is_space),
            None => trimmed,
        };
    }
}

/// What follows ` - ` when `rest` (the text after a version) continues a hyphen range.
fn hyphen_upper(rest: &str) -> Option<&str> {
    let trimmed = rest.trim_start_matches(is_space);
    if trimmed.len() == rest.len() {
        return None;
    }
    let after = trimmed.strip_prefix('-')?;
    if after.is_empty() || after.starts_with(is_space) {
        Some(after.trim_start_matches(is_space))
    } else {
        None
    }
}

/// Splits a leading operator off; two-character operators first so `>=` is not `>`.
fn split_op(text: &str) -> (Option<&'static str>, &str) {
    const OPS: [&str; 11] = ["!=", ">=", "=>", "<=", "=<", "~>", "=", ">", "<", "~", "^"];
    OPS.iter()
        .find_map(|op| text.strip_prefix(op).map(|rest| (Some(*op), rest)))
        .unwrap_or((None, text))
}

/// Splits off a version token, which ends at whitespace, a comma or the end.
fn split_token(text: &str) -> (&str, &str) {
    let end = text.find(|c: char| is_space(c) || c == ',').unwrap_or(text.len());
    text.split_at(end)
}

/// What is wrong with a version token, by the library's rules: up to three dot-separated
/// parts, numbers until a wildcard, then anything of the version alphabet (ignored).
fn check_version(token: &str) -> Result<(), String> {
    let quoted = shorten(token);
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
        return Err(format!("{quoted:?} is not a version"));
    }
    let segments: Vec<&str> = core.split('.').collect();
    if segments.len() > 3 {
        return Err(format!(
            "{quoted:?} has {} dot-separated parts, at most 3 (major.minor.patch) are allowed",
            segments.len()
        ));
    }
    let mut after_wildcard = false;
    for segment in segments {
        let ignored =
            after_wildcard && !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit() || "|xX*".contains(c));
        if ignored || is_wildcard(segment) {
            after_wildcard = true;
        } else if parse_number(segment).is_none() {
            let why = if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
                "is too large"
            } else {
                "is neither a number nor a wildcard (x, X, *)"
            };
            return Err(format!("{quoted:?} is not a version: {:?} {why}", shorten(segment)));
        }
    }
    if let Some(pre) = pre
        && Prerelease::new(pre).map_or(true, |p| p.is_empty())
    {
        return Err(format!("{quoted:?} has an invalid prerelease {:?}", shorten(pre)));
    }
    if let Some(build) = build
        && BuildMetadata::new(build).map_or(true, |b| b.is_empty())
    {
        return Err(format!("{quoted:?} has invalid build metadata {:?}", shorten(build)));
    }
    Ok(())
}
