//! ExternalArtifact (SPEC-resourceset §12.3, §12.4): the `source.toolkit.fluxcd.io`
//! ExternalArtifacts that `spec.selectors` pick, listed as the provider's ServiceAccount
//! (or `--default-service-account`) when there is one, exported as their labels plus
//! `id name namespace revision`; deduplicated, sorted by namespace then name, limited.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind, Selector, SelectorExt};
use kube::{Client, ResourceExt};
use serde_json::Value;

use super::fetch::{Call, FetchError, Invalid};
use crate::api::{ArtifactSelector, InputSet, ResourceSetInputProviderSpec};
use crate::controller::resourceset::impersonation::as_service_account;
use crate::resourceset::template::ids::adler32;

/// The CRD whose presence starts the ExternalArtifact watch.
pub const CRD_NAME: &str = "externalartifacts.source.toolkit.fluxcd.io";

pub fn api_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(
        "source.toolkit.fluxcd.io",
        "v1",
        "ExternalArtifact",
    ))
}

/// Why a list finds no such resource.
const NO_CRD: &str = "the ExternalArtifact CRD is not installed (Flux v2.7 and later have it)";

/// One selector, ready to list with and to match against.
pub struct Pick {
    /// None: every namespace.
    namespace: Option<String>,
    name: Option<String>,
    labels: Selector,
}

impl Pick {
    /// Whether the ExternalArtifact `namespace/name` with `labels` is picked.
    pub fn selects(&self, namespace: &str, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == namespace)
            && self.name.as_deref().is_none_or(|n| n == name)
            && self.labels.matches(labels)
    }

    fn list_params(&self) -> ListParams {
        let mut params = ListParams::default().labels_from(&self.labels);
        if let Some(name) = &self.name {
            params = params.fields(&format!("metadata.name={name}"));
        }
        params
    }
}

/// The selectors of a provider in `own` namespace: `""` (or none) is `own`, `*` is all.
pub fn picks(selectors: &[ArtifactSelector], own: &str) -> Result<Vec<Pick>, Invalid> {
    selectors
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let labels = LabelSelector {
                match_labels: s.match_labels.clone(),
                match_expressions: s.match_expressions.clone(),
            };
            let labels = Selector::try_from(labels).map_err(|e| Invalid::Field {
                field: "spec.selectors",
                why: format!("selector {index}: {e}"),
            })?;
            let namespace = match s.namespace.as_deref() {
                None | Some("") => Some(own.to_owned()),
                Some("*") => None,
                Some(other) => Some(other.to_owned()),
            };
            Ok(Pick {
                namespace,
                name: s.name.clone(),
                labels,
            })
        })
        .collect()
}

/// The admission rules of this type, checked again: selectors, and no url.
pub fn check(spec: &ResourceSetInputProviderSpec) -> Result<(), Invalid> {
    if spec.selectors.is_empty() {
        return Err(Invalid::Field {
            field: "spec.selectors",
            why: "required for the ExternalArtifact type".to_owned(),
        });
    }
    match spec.url.as_deref() {
        None | Some("") => Ok(()),
        Some(_) => Err(Invalid::Field {
            field: "spec.url",
            why: "not allowed for the ExternalArtifact type".to_owned(),
        }),
    }
}

pub async fn fetch(call: &Call<'_>) -> Result<Vec<InputSet>, FetchError> {
    let own = call.namespace();
    let picks = picks(&call.spec().selectors, &own)?;
    let client = lister(call, &own)?;
    let ar = api_resource();
    let mut found = BTreeMap::new();
    for pick in &picks {
        let api: Api<DynamicObject> = match &pick.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let where_ = pick.namespace.as_deref().unwrap_or("all namespaces");
        let list = api.list(&pick.list_params()).await.map_err(|e| {
            let what = format!("list ExternalArtifacts in {where_}");
            match e {
                kube::Error::Api(s) if s.code == 404 => FetchError::failed(what, NO_CRD),
                e => FetchError::failed(what, e),
            }
        })?;
        for obj in list.items {
            found.insert((obj.namespace().unwrap_or_default(), obj.name_any()), obj);
        }
    }
    let limit = call.spec().filter.clone().unwrap_or_default().limit;
    let limit = usize::try_from(limit).unwrap_or(0);
    Ok(found.values().take(limit).map(export).collect())
}

/// The client that lists: the provider's ServiceAccount, else the default one, else the
/// operator itself.
fn lister(call: &Call<'_>, own: &str) -> Result<Client, Invalid> {
    let account = call
        .spec()
        .service_account_name
        .as_deref()
        .or(call.default_service_account);
    match account {
        None => Ok(call.client.clone()),
        Some(name) => as_service_account(call.client, own, name).ok_or_else(|| Invalid::Field {
            field: "spec.serviceAccountName",
            why: format!("{name:?} is not a valid ServiceAccount name"),
        }),
    }
}

/// The artifact's labels, then `id` (Adler-32 of `namespace/name`), `name`, `namespace`
/// and `revision` (when it has one).
pub fn export(obj: &DynamicObject) -> InputSet {
    let (namespace, name) = (obj.namespace().unwrap_or_default(), obj.name_any());
    let mut set: InputSet = obj
        .labels()
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let id = adler32(format!("{namespace}/{name}").as_bytes()).to_string();
    set.insert("id".into(), Value::String(id));
    set.insert("name".into(), Value::String(name));
    set.insert("namespace".into(), Value::String(namespace));
    if let Some(revision) = obj.data.pointer("/status/artifact/revision").and_then(Value::as_str) {
        set.insert("revision".into(), Value::String(revision.to_owned()));
    }
    set
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn selectors(value: Value) -> Vec<ArtifactSelector> {
        serde_json::from_value(value).expect("selectors")
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn selectors_pick_by_namespace_name_and_labels() {
        let picks = picks(
            &selectors(json!([
                {"name": "one"},
                {"namespace": "*", "matchLabels": {"team": "a"}},
                {"namespace": "other", "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod"]}]}
            ])),
            "apps",
        )
        .unwrap();
        assert!(picks[0].selects("apps", "one", &labels(&[])));
        assert!(!picks[0].selects("other", "one", &labels(&[])), "own namespace only");
        assert!(!picks[0].selects("apps", "two", &labels(&[])));
        assert!(picks[1].selects("anywhere", "x", &labels(&[("team", "a")])));
        assert!(!picks[1].selects("anywhere", "x", &labels(&[("team", "b")])));
        assert!(picks[2].selects("other", "x", &labels(&[("env", "prod")])));
        assert!(!picks[2].selects("apps", "x", &labels(&[("env", "prod")])));
    }

    #[test]
    fn selectors_are_required_and_a_url_refused() {
        let spec = |value| serde_json::from_value(value).expect("spec");
        assert!(check(&spec(json!({"type": "ExternalArtifact", "selectors": [{"name": "a"}]}))).is_ok());
        let none = check(&spec(json!({"type": "ExternalArtifact"}))).unwrap_err();
        assert_eq!(
            none.to_string(),
            "spec.selectors: required for the ExternalArtifact type"
        );
        let url = json!({"type": "ExternalArtifact", "url": "http://x", "selectors": [{"name": "a"}]});
        assert!(check(&spec(url)).is_err());
    }

    #[test]
    fn a_bad_expression_is_invalid() {
        let bad = selectors(json!([{"matchExpressions": [{"key": "env", "operator": "Near"}]}]));
        let error = picks(&bad, "apps").err().expect("invalid").to_string();
        assert!(error.starts_with("spec.selectors: selector 0: "), "{error}");
    }

    #[test]
    fn export_labels_then_the_fields() {
        let obj: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
            "metadata": {"name": "app", "namespace": "apps", "labels": {"team": "a", "name": "label"}},
            "status": {"artifact": {"revision": "v1@sha256:abc"}}
        }))
        .unwrap();
        let set = export(&obj);
        let id = adler32(b"apps/app").to_string();
        assert_eq!(
            Value::Object(set),
            json!({"team": "a", "name": "app", "namespace": "apps", "id": id, "revision": "v1@sha256:abc"})
        );
        let bare: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "ExternalArtifact",
            "metadata": {"name": "b", "namespace": "apps"}
        }))
        .unwrap();
        assert!(!export(&bare).contains_key("revision"));
    }
}
