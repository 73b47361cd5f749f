//! Which providers a ResourceSet reads (SPEC-resourceset §11.4): each `spec.inputsFrom`
//! entry names one provider of the set's namespace or selects them by labels. Pure: the
//! operator passes its store's providers, `build resourceset` those of a file.

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

use super::inputs::{self, Inputs, InputsError, Source, SourceKind, Strategy};
use crate::api::{ResourceSet, ResourceSetInputProvider};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error("spec.inputsFrom[{index}].selector: {problem}")]
    InvalidSelector { index: usize, problem: String },
    #[error("ResourceSetInputProvider {namespace}/{name} not found")]
    Missing { namespace: String, name: String },
}

/// The set's own inline sets as a source.
pub fn own_source(set: &ResourceSet) -> Source {
    Source {
        kind: SourceKind::ResourceSet,
        name: set.name_any(),
        namespace: set.namespace().unwrap_or_default(),
        sets: set.spec.inputs.clone(),
    }
}

/// The providers `set` reads among `providers` (those being deleted left out), merged by
/// identity and sorted.
pub fn select<'a>(
    set: &ResourceSet,
    providers: impl Iterator<Item = &'a ResourceSetInputProvider> + Clone,
) -> Result<Vec<Source>, SelectError> {
    let namespace = set.namespace().unwrap_or_default();
    let live = providers
        .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
        .filter(|p| p.metadata.deletion_timestamp.is_none());
    let mut found = Vec::new();
    for (index, reference) in set.spec.inputs_from.iter().enumerate() {
        match (&reference.name, &reference.selector) {
            (Some(name), _) => {
                let provider = live.clone().find(|p| p.name_any() == *name);
                let provider = provider.ok_or_else(|| SelectError::Missing {
                    namespace: namespace.clone(),
                    name: name.clone(),
                })?;
                found.push(provider_source(provider));
            }
            (None, Some(selector)) => {
                let selector = Selector::try_from(selector.clone()).map_err(|e| SelectError::InvalidSelector {
                    index,
                    problem: e.to_string(),
                })?;
                let matching = live.clone().filter(|p| selector.matches(p.labels()));
                found.extend(matching.map(provider_source));
            }
            (None, None) => {
                return Err(SelectError::InvalidSelector {
                    index,
                    problem: "one of name or selector must be set".into(),
                });
            }
        }
    }
    Ok(inputs::merge_providers(found))
}

/// The input sets of `set` from the `providers` it selected.
pub fn set_inputs(set: &ResourceSet, providers: &[Source]) -> Result<Inputs, InputsError> {
    let strategy = Strategy::from_spec(set.spec.input_strategy.as_ref());
    inputs::compute(&own_source(set), providers, !set.spec.inputs_from.is_empty(), strategy)
}

/// A provider's exported inputs as they are, whatever its Ready condition.
pub fn provider_source(provider: &ResourceSetInputProvider) -> Source {
    Source {
        kind: SourceKind::ResourceSetInputProvider,
        name: provider.name_any(),
        namespace: provider.namespace().unwrap_or_default(),
        sets: provider
            .status
            .as_ref()
            .map(|s| s.exported_inputs.clone())
            .unwrap_or_default(),
    }
}
