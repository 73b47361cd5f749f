//! Why the grammar refused a constraint: the library only says "improper constraint", the
//! user is told which part is wrong. This never decides what is accepted.

use semver::{BuildMetadata, Prerelease};

use super::comparator::parse_number;
use super::grammar::{in_alphabet, is_space, is_wildcard};
use super::problem::ConstraintProblem as Problem;

/// The first problem found in `text`, a constraint the grammar refused.
pub(super) fn explain(text: &str) -> Problem {
    if let Some(character) = text.chars().find(|c| !in_alphabet(*c)) {
        return Problem::ForbiddenCharacter { character };
    }
    let alternatives: Vec<&str> = text.split("||").collect();
    for (i, alternative) in alternatives.iter().enumerate() {
        if alternative.trim_matches(is_space).is_empty() {
            return Problem::EmptyAlternative {
                number: i + 1,
                count: alternatives.len(),
            };
        }
        if let Err(problem) = explain_alternative(alternative) {
            return problem;
        }
    }
    if text.contains(" - ") || text.contains(" -\t") || text.contains("\t- ") {
        Problem::MisplacedHyphenRange
    } else {
        Problem::NotAccepted
    }
}

/// Walks the comparators of one `||` alternative and stops at the first that is wrong.
fn explain_alternative(text: &str) -> Result<(), Problem> {
    let mut rest = text.trim_start_matches(is_space);
    loop {
        let (op, after_op) = split_op(rest);
        let (token, after) = split_token(after_op.trim_start_matches(is_space));
        if token.is_empty() {
            return Err(match op {
                Some(operator) => Problem::NoVersionAfter { operator },
                None => Problem::VersionExpected { at: rest.to_string() },
            });
        }
        check_version(token)?;
        let mut after = after;
        if let Some(upper_text) = hyphen_upper(after) {
            let (upper_token, after_upper) = split_token(upper_text);
            if op.is_some() || split_op(upper_token).0.is_some() {
                return Err(Problem::OperatorInHyphenRange {
                    range: rest[..rest.len() - after_upper.len()].to_string(),
                });
            }
            if upper_token.is_empty() {
                return Err(Problem::NoUpperBound {
                    lower: token.to_string(),
                });
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
                return Err(Problem::TrailingComma {
                    alternative: text.trim_matches(is_space).to_string(),
                });
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
fn check_version(token: &str) -> Result<(), Problem> {
    let token_text = || token.to_string();
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
        return Err(Problem::NotAVersion { token: token_text() });
    }
    let segments: Vec<&str> = core.split('.').collect();
    if segments.len() > 3 {
        return Err(Problem::TooManyParts {
            token: token_text(),
            parts: segments.len(),
        });
    }
    let mut after_wildcard = false;
    for segment in segments {
        let ignored =
            after_wildcard && !segment.is_empty() && segment.chars().all(|c| c.is_ascii_digit() || "|xX*".contains(c));
        if ignored || is_wildcard(segment) {
            after_wildcard = true;
        } else if parse_number(segment).is_none() {
            let (token, part) = (token_text(), segment.to_string());
            return Err(if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                Problem::PartTooLarge { token, part }
            } else {
                Problem::PartNotANumber { token, part }
            });
        }
    }
    if let Some(pre) = pre
        && Prerelease::new(pre).map_or(true, |p| p.is_empty())
    {
        return Err(Problem::InvalidPrerelease {
            token: token_text(),
            prerelease: pre.to_string(),
        });
    }
    if let Some(build) = build
        && BuildMetadata::new(build).map_or(true, |b| b.is_empty())
    {
        return Err(Problem::InvalidBuildMetadata {
            token: token_text(),
            build: build.to_string(),
        });
    }
    Ok(())
}
