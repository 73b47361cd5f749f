//! The version constraint language of Masterminds/semver v3 (v3.5.0, what upstream
//! resolves `spec.distribution.version` with), evaluated on the `semver` crate's `Version`.
//!
//! `semver::VersionReq` is not used for user input because the two languages read the
//! same text differently: Cargo takes `2.8.0` as `^2.8.0`, Masterminds as exactly
//! 2.8.0; Cargo takes `>2.8` as `>=2.9.0` too, but `2.8` as `>=2.8.0, <2.9.0` only by
//! accident of its `=` rules, and it has no `!=`, hyphen ranges or `||`.
//!
//! The grammar is the library's own ([`grammar`]), quirks included. Semantics, with P a
//! version as written (1 to 3 numbers, a wildcard `x`/`X`/`*` ending it early) and k how
//! many numbers precede the end or the wildcard:
//! - no operator or `=`: k = 3 is equality; otherwise any version whose first k
//!   numbers are P's (`2.8` and `2.8.x` are `>=2.8.0 <2.9.0`).
//! - `~`: at least P, same major, and same minor when P has one (`~2` is the whole 2
//!   line, `~2.8.1` is `>=2.8.1 <2.9.0`); `~0.0.0` matches everything, as upstream.
//! - `^`: at least P, same major; for 0.y versions the same minor, and for 0.0.z with
//!   a patch, exactly that patch.
//! - `>`: beyond every version P stands for (`>2.8` is `>=2.9.0`, `>2` is `>=3.0.0`).
//! - `>=`, `<`: compared with P's missing numbers read as 0.
//! - `<=`: up to the last version P stands for (`<=2.8` is `<2.9.0`).
//! - `!=`: any version P does not stand for; with k = 2 the library also keeps the
//!   versions of P's line whose prerelease differs from P's (`!=2.9-rc.1` keeps 2.9.0).
//! - `A - B` is `>=A <=B`; space or comma is AND; `||` is OR.
//!
//! A version with a prerelease only matches when its `||` alternative names a
//! prerelease somewhere; that keeps release candidates away from `2.x` users.
//!
//! One difference is kept on purpose: a wildcard major (`*`, `x`, `X.x`, `*.4`) stands
//! for all versions with every operator, as the library's documentation says ("`*` is
//! equivalent to `>= 0.0.0`"), where the library itself gives accidental results
//! (`<=*` matches only 0.0.x, `^*` only 0.0.0, `!=*` and `>*` all but 0.0.0). Here
//! `=`, `~`, `^`, `>=`, `<=` match everything and `>`, `<`, `!=` match nothing.

mod comparator;
mod explain;
mod grammar;
mod problem;
#[cfg(test)]
mod tests;

use std::fmt;

use semver::Version;

use self::comparator::Comparator;
use self::grammar::is_space;
pub use self::problem::ConstraintProblem;
use super::Error;

/// The library refuses longer constraints too; this keeps hostile input cheap.
const MAX_LEN: usize = 512;
/// Same limit as the library on `||` alternatives.
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
        let invalid = |problem: ConstraintProblem| Error::InvalidConstraint {
            constraint: text.to_string(),
            problem,
        };
        if text.len() > MAX_LEN {
            return Err(invalid(ConstraintProblem::TooLong));
        }
        if text.trim_matches(is_space).is_empty() {
            return Err(invalid(ConstraintProblem::Empty));
        }
        let rewritten = grammar::rewrite_ranges(text);
        let parts: Vec<&str> = rewritten.split("||").collect();
        if parts.len() > MAX_ALTERNATIVES {
            return Err(invalid(ConstraintProblem::TooManyAlternatives));
        }
        let alternatives = parts.iter().map(|part| Group::parse(part)).collect::<Option<Vec<_>>>();
        match alternatives {
            Some(alternatives) => Ok(Self {
                text: text.to_string(),
                alternatives,
            }),
            None => Err(invalid(explain::explain(text))),
        }
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
    /// `None` when the library refuses this `||` alternative (after range rewriting).
    fn parse(text: &str) -> Option<Self> {
        let comparators = grammar::comparators(text)?
            .iter()
            .map(Comparator::from_raw)
            .collect::<Option<Vec<_>>>()?;
        let allows_prerelease = comparators.iter().any(Comparator::has_prerelease);
        Some(Self {
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
