//! Which results a Git or OCI provider exports (SPEC-resourceset §12.4), pure: the
//! include/exclude regexes, required labels, semver ordering of tags, the limit and the
//! `skip.labels` freeze.
//!
//! Upstream keeps one include slot and one exclude slot for the branch, tag and environment
//! fields (the last one set of branch→tag→environment wins), so `includeTag` silently
//! filters the branches of a Branch type. Here the field that matches the type is used; only
//! when it is absent and another is set does upstream's slot apply, with a note the caller
//! turns into a Warning event (§15).

use std::cmp::Ordering;

use regex::Regex;
use semver::{BuildMetadata, Prerelease, Version};

use crate::api::{Filter, InputSet, ProviderType, Skip};
use crate::distribution::{self, Constraint};
use crate::text::shorten;

use super::inputs::ID_KEY;

/// Results exported when `filter.limit` is absent (or not positive).
pub const DEFAULT_LIMIT: usize = 100;
/// The schema's bound on `filter.limit`, also enforced here.
pub const MAX_LIMIT: usize = 10_000;
/// Compiled regexes are bounded so that a hostile pattern cannot take the operator's memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// What the include/exclude regexes of a type are matched against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// Branch names, and the source branch of change requests.
    Branch,
    Tag,
    Environment,
}

impl Slot {
    /// Upstream's order: the last field set in this order fills the shared slot.
    const ORDER: [Slot; 3] = [Slot::Branch, Slot::Tag, Slot::Environment];

    /// The slot of a type, `None` for the types that take no regex.
    pub fn of(type_: ProviderType) -> Option<Slot> {
        use ProviderType::*;
        match type_ {
            GitHubBranch
            | GitLabBranch
            | AzureDevOpsBranch
            | AWSCodeCommitBranch
            | GiteaBranch
            | GitHubPullRequest
            | GitLabMergeRequest
            | AzureDevOpsPullRequest
            | AWSCodeCommitPullRequest
            | GiteaPullRequest => Some(Slot::Branch),
            GitHubTag | GitLabTag | AzureDevOpsTag | AWSCodeCommitTag | GiteaTag | OCIArtifactTag | ACRArtifactTag
            | ECRArtifactTag | GARArtifactTag => Some(Slot::Tag),
            GitLabEnvironment => Some(Slot::Environment),
            Static | ExternalService | ExternalArtifact => None,
        }
    }

    fn include(self, filter: &Filter) -> Option<&str> {
        match self {
            Slot::Branch => filter.include_branch.as_deref(),
            Slot::Tag => filter.include_tag.as_deref(),
            Slot::Environment => filter.include_environment.as_deref(),
        }
    }

    fn exclude(self, filter: &Filter) -> Option<&str> {
        match self {
            Slot::Branch => filter.exclude_branch.as_deref(),
            Slot::Tag => filter.exclude_tag.as_deref(),
            Slot::Environment => filter.exclude_environment.as_deref(),
        }
    }

    fn include_field(self) -> &'static str {
        match self {
            Slot::Branch => "spec.filter.includeBranch",
            Slot::Tag => "spec.filter.includeTag",
            Slot::Environment => "spec.filter.includeEnvironment",
        }
    }

    fn exclude_field(self) -> &'static str {
        match self {
            Slot::Branch => "spec.filter.excludeBranch",
            Slot::Tag => "spec.filter.excludeTag",
            Slot::Environment => "spec.filter.excludeEnvironment",
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Slot::Branch => "branch names",
            Slot::Tag => "tags",
            Slot::Environment => "environment names",
        }
    }
}

/// A filter this operator refuses: retrying cannot help until the spec changes.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct FilterError {
    pub field: &'static str,
    pub why: String,
}

/// One direction of the slot: which field, read how.
struct Side {
    value: fn(Slot, &Filter) -> Option<&str>,
    field: fn(Slot) -> &'static str,
}

const INCLUDE: Side = Side {
    value: Slot::include,
    field: Slot::include_field,
};
const EXCLUDE: Side = Side {
    value: Slot::exclude,
    field: Slot::exclude_field,
};

/// A provider's filter, compiled for one slot.
#[derive(Debug, Clone)]
pub struct Selection {
    include: Option<Regex>,
    exclude: Option<Regex>,
    labels: Vec<String>,
    semver: Option<Constraint>,
    limit: usize,
}

impl Selection {
    /// Compiles `filter` for the results of `slot`; the notes say which fields were read
    /// differently from upstream, for a Warning event.
    pub fn compile(filter: Option<&Filter>, slot: Slot) -> Result<(Self, Vec<String>), FilterError> {
        let default = Filter::default();
        let filter = filter.unwrap_or(&default);
        let mut notes = Vec::new();
        let include = pick(filter, slot, &INCLUDE, &mut notes)
            .map(|(field, text)| regex(field, text))
            .transpose()?;
        let exclude = pick(filter, slot, &EXCLUDE, &mut notes)
            .map(|(field, text)| regex(field, text))
            .transpose()?;
        let semver = filter.semver.as_deref().map(constraint).transpose()?;
        let limit = usize::try_from(filter.limit)
            .ok()
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_LIMIT)
            .min(MAX_LIMIT);
        let selection = Self {
            include,
            exclude,
            labels: filter.labels.clone(),
            semver,
            limit,
        };
        Ok((selection, notes))
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The include regex as written, for APIs that filter on the server too.
    pub fn include_pattern(&self) -> Option<&str> {
        self.include.as_ref().map(Regex::as_str)
    }

    /// The labels a change request must all carry.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// Whether `name` passes the include and exclude regexes.
    pub fn admits(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|r| r.is_match(name))
            && !self.exclude.as_ref().is_some_and(|r| r.is_match(name))
    }

    /// Whether a change request carries every required label.
    pub fn has_labels(&self, labels: &[String]) -> bool {
        self.labels.iter().all(|wanted| labels.contains(wanted))
    }

    /// Branches, change requests, environments: the first `limit` admitted, in the API's order.
    pub fn first<T>(&self, items: impl IntoIterator<Item = T>, name: impl Fn(&T) -> &str) -> Vec<T> {
        items
            .into_iter()
            .filter(|item| self.admits(name(item)))
            .take(self.limit)
            .collect()
    }

    /// Tags (Git or OCI): the admitted ones; with `semver` those that parse and satisfy it,
    /// newest first, else all in reverse byte order of their names; then the first `limit`.
    pub fn tags<T>(&self, items: impl IntoIterator<Item = T>, name: impl Fn(&T) -> &str) -> Vec<T> {
        let admitted = items.into_iter().filter(|item| self.admits(name(item)));
        let mut kept: Vec<T> = match &self.semver {
            Some(constraint) => {
                let mut versioned: Vec<(Version, T)> = admitted
                    .filter_map(|item| tag_version(name(&item)).map(|v| (v, item)))
                    .filter(|(v, _)| constraint.matches(v))
                    .collect();
                versioned.sort_by(|(va, a), (vb, b)| newest_first(va, vb).then_with(|| name(b).cmp(name(a))));
                versioned.into_iter().map(|(_, item)| item).collect()
            }
            None => {
                let mut all: Vec<T> = admitted.collect();
                all.sort_by(|a, b| name(b).as_bytes().cmp(name(a).as_bytes()));
                all
            }
        };
        kept.truncate(self.limit);
        kept
    }
}

fn newest_first(a: &Version, b: &Version) -> Ordering {
    b.cmp_precedence(a)
}

/// The field of `side` that applies to `slot`: its own, else upstream's shared slot (the
/// last set in branch→tag→environment order), noting every field read unlike upstream.
fn pick<'f>(filter: &'f Filter, slot: Slot, side: &Side, notes: &mut Vec<String>) -> Option<(&'static str, &'f str)> {
    let own = (side.value)(slot, filter);
    let others: Vec<Slot> = Slot::ORDER
        .into_iter()
        .filter(|s| *s != slot && (side.value)(*s, filter).is_some())
        .collect();
    if let Some(text) = own {
        for other in &others {
            notes.push(format!(
                "{} is ignored: this type filters {} with {}",
                (side.field)(*other),
                slot.noun(),
                (side.field)(slot)
            ));
        }
        return Some(((side.field)(slot), text));
    }
    let fallback = *others.last()?;
    notes.push(format!(
        "{} is applied to {} as upstream does; set {} instead",
        (side.field)(fallback),
        slot.noun(),
        (side.field)(slot)
    ));
    Some(((side.field)(fallback), (side.value)(fallback, filter)?))
}

fn regex(field: &'static str, text: &str) -> Result<Regex, FilterError> {
    regex::RegexBuilder::new(text)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| FilterError {
            field,
            why: format!("invalid regular expression {:?}: {}", shorten(text), regex_problem(&e)),
        })
}

/// The regex crate's syntax errors span lines (the pattern, a caret, the reason): keep
/// the reason only, for a one-line condition message.
fn regex_problem(error: &regex::Error) -> String {
    let text = error.to_string();
    let reason = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("error: "))
        .map(str::to_owned);
    reason.unwrap_or_else(|| text.lines().last().unwrap_or_default().trim().to_owned())
}

fn constraint(text: &str) -> Result<Constraint, FilterError> {
    Constraint::parse(text).map_err(|e| {
        let problem = match e {
            distribution::Error::InvalidConstraint { problem, .. } => problem.to_string(),
            other => other.to_string(),
        };
        FilterError {
            field: "spec.filter.semver",
            why: format!("invalid version constraint {:?}: {problem}", shorten(text)),
        }
    })
}

/// A tag as a version: three dot-separated numbers (leading zeros allowed), an optional
/// `v` before them, and optional `-prerelease` and `+build` parts.
pub fn tag_version(tag: &str) -> Option<Version> {
    let text = tag.strip_prefix('v').unwrap_or(tag);
    let (text, build) = text.split_once('+').unwrap_or((text, ""));
    let (core, pre) = text.split_once('-').unwrap_or((text, ""));
    let mut numbers = core.split('.').map(|part| {
        let digits = !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
        digits.then(|| part.parse::<u64>().ok()).flatten()
    });
    let (major, minor, patch) = (numbers.next()??, numbers.next()??, numbers.next()??);
    if numbers.next().is_some() || (text.contains('-') && pre.is_empty()) || (tag.contains('+') && build.is_empty()) {
        return None;
    }
    Some(Version {
        major,
        minor,
        patch,
        pre: Prerelease::new(pre).ok()?,
        build: BuildMetadata::new(build).ok()?,
    })
}

/// `skip.labels`: a result is skipped when any rule matches, `x` when it carries `x`,
/// `!x` when it does not.
#[derive(Debug, Clone, Default)]
pub struct SkipRules {
    rules: Vec<(bool, String)>,
}

impl SkipRules {
    pub fn new(skip: Option<&Skip>) -> Self {
        let rules = skip
            .into_iter()
            .flat_map(|s| &s.labels)
            .map(|rule| match rule.strip_prefix('!') {
                Some(absent) => (false, absent.to_owned()),
                None => (true, rule.clone()),
            })
            .collect();
        Self { rules }
    }

    pub fn skips(&self, labels: &[String]) -> bool {
        self.rules
            .iter()
            .any(|(present, label)| labels.contains(label) == *present)
    }
}

/// One result a provider found, with the labels `skip.labels` reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub set: InputSet,
    pub labels: Vec<String>,
}

/// The sets to export: a skipped result keeps what was exported under its `id` before
/// (frozen), or is left out when it was not exported yet.
pub fn freeze(found: Vec<Found>, rules: &SkipRules, previous: &[InputSet]) -> Vec<InputSet> {
    found
        .into_iter()
        .filter_map(|f| {
            if !rules.skips(&f.labels) {
                return Some(f.set);
            }
            let id = f.set.get(ID_KEY)?;
            previous.iter().find(|p| p.get(ID_KEY) == Some(id)).cloned()
        })
        .collect()
}

#[cfg(test)]
#[path = "provider_filter_tests.rs"]
mod tests;
