//! What is wrong with a version constraint, in the words a user can act on.

use super::{MAX_ALTERNATIVES, MAX_LEN};
use crate::text::shorten;

/// Why a constraint is refused; text quoted from it is shortened when shown.
#[derive(Debug, thiserror::Error)]
pub enum ConstraintProblem {
    #[error("longer than {MAX_LEN} bytes")]
    TooLong,
    #[error("the constraint is empty; use e.g. \"2.x\" for the newest 2.y.z")]
    Empty,
    #[error("more than {MAX_ALTERNATIVES} alternatives separated by \"||\"")]
    TooManyAlternatives,
    #[error(
        "it contains {character:?} (U+{:04X}), which a constraint cannot contain{}",
        u32::from(*character),
        if character.is_whitespace() {
            "; only ASCII spaces, tabs, newlines and commas separate comparators"
        } else {
            ""
        }
    )]
    ForbiddenCharacter { character: char },
    /// `number` counts from 1.
    #[error("alternative {number} of {count} around \"||\" is empty")]
    EmptyAlternative { number: usize, count: usize },
    #[error("{operator:?} is not followed by a version")]
    NoVersionAfter { operator: &'static str },
    #[error("expected a version at {:?}", shorten(at))]
    VersionExpected { at: String },
    #[error("{:?}: the bounds of a hyphen range take no operator", shorten(range))]
    OperatorInHyphenRange { range: String },
    #[error("the hyphen range starting at {:?} has no upper bound", shorten(lower))]
    NoUpperBound { lower: String },
    #[error("{:?} ends with a comma", shorten(alternative))]
    TrailingComma { alternative: String },
    #[error("{:?} is not a version", shorten(token))]
    NotAVersion { token: String },
    #[error(
        "{:?} has {parts} dot-separated parts, at most 3 (major.minor.patch) are allowed",
        shorten(token)
    )]
    TooManyParts { token: String, parts: usize },
    #[error("{:?} is not a version: {:?} is too large", shorten(token), shorten(part))]
    PartTooLarge { token: String, part: String },
    #[error(
        "{:?} is not a version: {:?} is neither a number nor a wildcard (x, X, *)",
        shorten(token),
        shorten(part)
    )]
    PartNotANumber { token: String, part: String },
    #[error("{:?} has an invalid prerelease {:?}", shorten(token), shorten(prerelease))]
    InvalidPrerelease { token: String, prerelease: String },
    #[error("{:?} has invalid build metadata {:?}", shorten(token), shorten(build))]
    InvalidBuildMetadata { token: String, build: String },
    #[error(
        "a hyphen range (\"A - B\") must start its \"||\" alternative, with a space after \"||\", or follow a comma"
    )]
    MisplacedHyphenRange,
    /// The library refuses it for a reason none of the others names.
    #[error("Masterminds/semver v3 does not accept it")]
    NotAccepted,
}
