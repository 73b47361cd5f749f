//! The input sets of a set (SPEC-resourceset §11.4, step 6): its inline sets and the
//! exported inputs of the providers `spec.inputsFrom` names or selects in its namespace,
//! read from the providers' store.

use kube::runtime::reflector::Store;

use super::outcome::Cause;
use crate::api::{ResourceSet, ResourceSetInputProvider};
use crate::resourceset::inputs::Inputs;
use crate::resourceset::selection::{self, SelectError};

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
    let state = providers.state();
    let found = selection::select(obj, state.iter().map(|p| p.as_ref())).map_err(|e| match e {
        SelectError::InvalidSelector { index, problem } => Cause::InvalidSelector { index, problem },
        SelectError::Missing { namespace, name } => Cause::ProviderMissing { namespace, name },
    })?;
    Ok(selection::set_inputs(obj, &found)?)
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
