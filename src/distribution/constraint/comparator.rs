//! One comparator (`>=2.8`, `~2.8.1`, `!=2.9-rc.1` ...) and what it matches; the rules
//! are the library's, spelled out in the parent module's documentation.

use std::cmp::Ordering;

use semver::{BuildMetadata, Prerelease, Version};

use super::grammar::{RawComparator, is_wildcard};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
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
    /// The operator of a comparator the grammar accepted.
    fn from_text(text: &str) -> Option<Self> {
        Some(match text {
            "" | "=" => Op::Eq,
            "!=" => Op::Ne,
            ">" => Op::Gt,
            ">=" | "=>" => Op::Ge,
            "<" => Op::Lt,
            "<=" | "=<" => Op::Le,
            "~" | "~>" => Op::Tilde,
            "^" => Op::Caret,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Comparator {
    op: Op,
    version: PartialVersion,
}

impl Comparator {
    /// Reads a comparator as the library does; `None` where the library's version parser
    /// refuses what its grammar let through (`2|3`, a number beyond 64 bits, `-01`).
    pub fn from_raw(raw: &RawComparator<'_>) -> Option<Self> {
        Some(Self {
            op: Op::from_text(raw.op)?,
            version: PartialVersion::from_raw(raw)?,
        })
    }

    pub fn has_prerelease(&self) -> bool {
        !self.version.pre.is_empty()
    }

    pub fn matches(&self, v: &Version) -> bool {
        let p = &self.version;
        let vs_floor = v.cmp_precedence(&p.floor());
        match self.op {
            Op::Eq if p.is_exact() => vs_floor == Ordering::Equal,
            Op::Eq | Op::Tilde => vs_floor != Ordering::Less && p.tilde_line(v),
            Op::Caret => vs_floor != Ordering::Less && p.caret_line(v),
            Op::Ne if p.is_exact() => vs_floor != Ordering::Equal,
            // The library's rule for `!=2.9`: the 2.9 line is out, except versions whose
            // prerelease differs from the constraint's (`!=2.9-rc.1` keeps 2.9.0).
            Op::Ne if p.numbers.len() == 2 => p.cmp_prefix(v) != Ordering::Equal || v.pre != p.pre,
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
    /// The library reads parts up to the first wildcard and ignores the rest unread; the
    /// numbers it reads must be decimal and fit 64 bits, the prerelease must be valid.
    fn from_raw(raw: &RawComparator<'_>) -> Option<Self> {
        let mut numbers = Vec::with_capacity(3);
        for part in [Some(raw.major), raw.minor, raw.patch] {
            match part {
                Some(part) if !is_wildcard(part) => numbers.push(parse_number(part)?),
                _ => break,
            }
        }
        let pre = match raw.pre {
            Some(pre) => Prerelease::new(pre).ok()?,
            None => Prerelease::EMPTY,
        };
        Some(Self { numbers, pre })
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

/// A version number the library accepts: decimal digits (leading zeros too), 64 bits.
pub(super) fn parse_number(part: &str) -> Option<u64> {
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    part.parse().ok()
}
