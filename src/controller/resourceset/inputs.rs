//! The input sets of a set (SPEC-resourceset §11.4, step 6): its inline sets and the
//! exported inputs of the providers `spec.inputsFrom` names or selects in its namespace,
//! read from the providers' store.

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};
use kube::runtime::reflector::{ObjectRef, Store};

use super::outcome::Cause;
use crate::api::{ResourceSet, ResourceSetInputProvider};
use crate::resourceset::inputs::{self, Inputs, Source, SourceKind, Strategy};

/// How long a reconcile waits for the providers' first list.
const LIST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn compute(obj: &ResourceSet, providers: &Store<ResourceSetInputProvider>) -> Result<Inputs, Cause> {
    // Before the providers' first list is in, a selector would match nothing and the
    // set would prune everything it made (after an operator restart). Bounded: a list
    // that cannot be had (the CRD missing) must not hold a worker forever.
    if !obj.spec.inputs_from.is_empty() {
        let listed = tokio::time::timeout(LIST_TIMEOUT, providers.wait_until_ready()).await;
        if !matches!(listed, Ok(Ok(()))) {
            return Err(Cause::ProvidersUnknown);
        }
    }
    let namespace = obj.namespace().unwrap_or_default();
    let own = Source {
        kind: SourceKind::ResourceSet,
        name: obj.name_any(),
        namespace: namespace.clone(),
        sets: obj.spec.inputs.clone(),
    };
    let mut found = Vec::new();
    for (index, reference) in obj.spec.inputs_from.iter().enumerate() {
        match (&reference.name, &reference.selector) {
            (Some(name), _) => {
                let provider = providers
                    .get(&ObjectRef::new(name).within(&namespace))
                    .filter(|p| p.metadata.deletion_timestamp.is_none())
                    .ok_or_else(|| Cause::ProviderMissing {
                        namespace: namespace.clone(),
                        name: name.clone(),
                    })?;
                found.push(source(&provider));
            }
            (None, Some(selector)) => {
                let selector = Selector::try_from(selector.clone()).map_err(|e| Cause::InvalidSelector {
                    index,
                    problem: e.to_string(),
                })?;
                found.extend(
                    providers
                        .state()
                        .iter()
                        .filter(|p| p.namespace().as_deref() == Some(namespace.as_str()))
                        .filter(|p| p.metadata.deletion_timestamp.is_none())
                        .filter(|p| selector.matches(p.labels()))
                        .map(|p| source(p)),
                );
            }
            (None, None) => {
                return Err(Cause::InvalidSelector {
                    index,
                    problem: "one of name or selector must be set".into(),
                });
            }
        }
    }
    let strategy = Strategy::from_spec(obj.spec.input_strategy.as_ref());
    let providers = inputs::merge_providers(found);
    Ok(inputs::compute(
        &own,
        &providers,
        !obj.spec.inputs_from.is_empty(),
        strategy,
    )?)
}

/// A provider's exported inputs as they are, whatever its Ready condition.
fn source(provider: &ResourceSetInputProvider) -> Source {
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

#[cfg(test)]
mod tests {
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;
    use serde_json::json;

    use super::*;

    fn set_with_selector() -> ResourceSet {
        serde_json::from_value(json!({
            "apiVersion": "fluxcd.controlplane.io/v1", "kind": "ResourceSet",
            "metadata": {"name": "s", "namespace": "apps"},
            "spec": {"inputsFrom": [{"selector": {"matchLabels": {"team": "a"}}}], "resources": []}
        }))
        .expect("set")
    }

    #[tokio::test]
    async fn no_inputs_are_computed_before_the_providers_are_listed() {
        let (store, writer) = reflector::store::<ResourceSetInputProvider>();
        drop(writer);
        let result = compute(&set_with_selector(), &store).await;
        assert!(matches!(result, Err(Cause::ProvidersUnknown)), "{result:?}");

        let (store, mut writer) = reflector::store::<ResourceSetInputProvider>();
        writer.apply_watcher_event(&Event::Init);
        writer.apply_watcher_event(&Event::InitDone);
        let result = compute(&set_with_selector(), &store).await.expect("inputs");
        assert_eq!(result, Inputs::Sets(Vec::new()), "listed, and none selected");
    }
}
