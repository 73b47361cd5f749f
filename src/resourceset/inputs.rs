//! The input sets of a ResourceSet (SPEC-resourceset §11.4), pure: the controller reads the
//! providers and hands their `status.exportedInputs` here.
//!
//! - Every set, inline or from a provider, gets a key `provider` = {`apiVersion`, `kind`,
//!   `name`, `namespace`} of its source, replacing a user key of that name. Provider sets
//!   keep their `id`; inline sets get none under Flatten.
//! - Flatten: the inline sets, then each provider's sets in provider order.
//! - Permute: the sources are the ResourceSet (its inline sets) and then the providers;
//!   each set is nested under its source's normalized name ([`permute_key`]), and the
//!   result is the Cartesian product, last source varying fastest, with a top-level `id`:
//!   the decimal Adler-32 of `<key>=<index>` parts joined by `/`. Sources without sets are
//!   left out, unless `includeEmptyProviders` is set: then an empty provider empties the
//!   product. More than [`MAX_PERMUTATIONS`] sets is an error.
//! - No inline sets and no `inputsFrom`: [`Inputs::Nil`], each template renders once with
//!   nil inputs. With `inputsFrom` and no sets: [`Inputs::Sets`] of nothing, so nothing is
//!   built and everything is pruned.
//!
//! Deviations from upstream (SPEC §15), both fixes: the ResourceSet without inline sets is
//! never part of the product (upstream counts it as an empty provider under
//! `includeEmptyProviders` and so always builds nothing); two sources whose names normalize
//! to the same key (`app-a`, `app_a`, or a provider named like the set), or a source whose
//! key is `id`, fail instead of overwriting each other.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::api::{API_VERSION, InputSet, InputStrategy, InputStrategyName};

use super::template::ids::{EmptyKey, combination_id, permute_key};

/// Most sets a Permute product may have.
pub const MAX_PERMUTATIONS: usize = 10_000;

/// The key every set gets, naming its source.
pub const PROVIDER_KEY: &str = "provider";
/// The key of a set's id.
pub const ID_KEY: &str = "id";

/// Which kind of object a set comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    ResourceSet,
    ResourceSetInputProvider,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::ResourceSet => "ResourceSet",
            SourceKind::ResourceSetInputProvider => "ResourceSetInputProvider",
        }
    }
}

/// The ResourceSet itself or one provider, with its input sets.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub kind: SourceKind,
    pub name: String,
    pub namespace: String,
    pub sets: Vec<InputSet>,
}

impl Source {
    fn label(&self) -> String {
        format!("{}/{}", self.kind.as_str(), self.name)
    }

    /// A set with this source's `provider` key.
    fn stamp(&self, set: &InputSet) -> InputSet {
        let mut set = set.clone();
        let provider = json!({
            "apiVersion": API_VERSION,
            "kind": self.kind.as_str(),
            "name": self.name,
            "namespace": self.namespace,
        });
        set.insert(PROVIDER_KEY.to_owned(), provider);
        set
    }
}

/// `spec.inputStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Strategy {
    #[default]
    Flatten,
    Permute {
        include_empty_providers: bool,
    },
}

impl Strategy {
    pub fn from_spec(spec: Option<&InputStrategy>) -> Strategy {
        match spec {
            Some(s) if s.name == InputStrategyName::Permute => Strategy::Permute {
                include_empty_providers: s.include_empty_providers,
            },
            _ => Strategy::Flatten,
        }
    }
}

/// What the templates render with.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    /// No input sets and no `inputsFrom`: render once with nil inputs.
    Nil,
    /// Render once per set; none means nothing is built.
    Sets(Vec<InputSet>),
}

impl Inputs {
    /// How many sets there are, as history's `inputs` counts them.
    pub fn len(&self) -> usize {
        match self {
            Inputs::Nil => 0,
            Inputs::Sets(sets) => sets.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputsError {
    #[error(transparent)]
    EmptyKey(#[from] EmptyKey),
    #[error("Permute key {key:?} of {second} collides with {first}")]
    KeyCollision { key: String, first: String, second: String },
    #[error("{count} input permutations exceed the limit of {MAX_PERMUTATIONS}")]
    TooManyPermutations { count: String },
}

/// Providers found by name and by selectors, merged by identity and sorted by it (all are
/// ResourceSetInputProviders of one namespace, so the name decides).
pub fn merge_providers(mut providers: Vec<Source>) -> Vec<Source> {
    providers.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    providers.dedup_by(|a, b| a.namespace == b.namespace && a.name == b.name);
    providers
}

/// The input sets of a ResourceSet: `own` holds its inline sets, `providers` the merged
/// providers, `has_inputs_from` whether `spec.inputsFrom` names any.
pub fn compute(
    own: &Source,
    providers: &[Source],
    has_inputs_from: bool,
    strategy: Strategy,
) -> Result<Inputs, InputsError> {
    if own.sets.is_empty() && !has_inputs_from {
        return Ok(Inputs::Nil);
    }
    match strategy {
        Strategy::Flatten => Ok(Inputs::Sets(flatten(own, providers))),
        Strategy::Permute {
            include_empty_providers,
        } => permute(own, providers, include_empty_providers).map(Inputs::Sets),
    }
}

fn flatten(own: &Source, providers: &[Source]) -> Vec<InputSet> {
    std::iter::once(own)
        .chain(providers)
        .flat_map(|source| source.sets.iter().map(|set| source.stamp(set)))
        .collect()
}

/// One source of the product: its key and its stamped sets.
struct Group {
    key: String,
    sets: Vec<InputSet>,
}

fn permute(own: &Source, providers: &[Source], include_empty: bool) -> Result<Vec<InputSet>, InputsError> {
    // The set's own inline sets never count as an empty provider (§15).
    let own = (!own.sets.is_empty()).then_some(own);
    let members: Vec<&Source> = own
        .into_iter()
        .chain(providers.iter().filter(|p| include_empty || !p.sets.is_empty()))
        .collect();
    let mut keys: BTreeMap<String, String> = BTreeMap::new();
    keys.insert(ID_KEY.to_owned(), "the permutation id".to_owned());
    let mut groups = Vec::with_capacity(members.len());
    for source in members {
        let key = permute_key(&source.name)?;
        if let Some(first) = keys.get(&key) {
            return Err(InputsError::KeyCollision {
                key,
                first: first.clone(),
                second: source.label(),
            });
        }
        keys.insert(key.clone(), source.label());
        groups.push(Group {
            key,
            sets: source.sets.iter().map(|set| source.stamp(set)).collect(),
        });
    }
    if groups.is_empty() || groups.iter().any(|g| g.sets.is_empty()) {
        return Ok(Vec::new());
    }
    let count = groups
        .iter()
        .try_fold(1usize, |acc, g| acc.checked_mul(g.sets.len()))
        .filter(|&n| n <= MAX_PERMUTATIONS)
        .ok_or_else(|| InputsError::TooManyPermutations {
            count: product_text(&groups),
        })?;
    Ok(product(&groups, count))
}

/// The product's size for the error message (saturating: it only has to say "too many").
fn product_text(groups: &[Group]) -> String {
    groups
        .iter()
        .fold(1u128, |acc, g| acc.saturating_mul(g.sets.len() as u128))
        .to_string()
}

fn product(groups: &[Group], count: usize) -> Vec<InputSet> {
    let mut out = Vec::with_capacity(count);
    let mut index = vec![0usize; groups.len()];
    loop {
        let mut combined = Map::with_capacity(groups.len() + 1);
        for (group, &i) in groups.iter().zip(&index) {
            combined.insert(group.key.clone(), Value::Object(group.sets[i].clone()));
        }
        let id = combination_id(groups.iter().zip(&index).map(|(g, &i)| (g.key.as_str(), i)));
        combined.insert(ID_KEY.to_owned(), Value::String(id));
        out.push(combined);
        // Odometer: the last source varies fastest.
        let mut g = groups.len();
        loop {
            if g == 0 {
                return out;
            }
            g -= 1;
            index[g] += 1;
            if index[g] < groups[g].sets.len() {
                break;
            }
            index[g] = 0;
        }
    }
}

#[cfg(test)]
#[path = "inputs_tests.rs"]
mod tests;
