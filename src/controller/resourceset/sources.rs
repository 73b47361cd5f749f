//! The config helpers of a build (SPEC-resourceset §11.7, §11.6 step 8): copyFrom and
//! convertKubeConfigFrom read their sources from the cluster, checksumFrom reads the
//! set's own rendered ConfigMaps and Secrets or the cluster's. The pure part is
//! [`crate::resourceset::config_sources`].

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Client;
use kube::api::Api;
use serde_json::Value;

use super::outcome::Cause;
use crate::apply::ObjectId;
use crate::resourceset::build::Build;
use crate::resourceset::config_sources::{
    self as helpers, CHECKSUM, CHECKSUM_FROM, CONVERT_KUBECONFIG_FROM, COPY_FROM, SourceError, SourceRef,
};

/// What the helpers read: `external`, the sorted `Kind/ns/name` of the cluster objects
/// checksums covered, and every source, so that a change of one reconciles the set.
#[derive(Debug, Default)]
pub struct Resolved {
    pub external: Vec<String>,
    pub sources: BTreeSet<SourceRef>,
}

/// Resolves every helper annotation of `built` in place; `resolved` holds what was read,
/// also when a source is missing (its creation must reconcile the set).
pub async fn resolve(client: &Client, built: &mut Build, resolved: &mut Resolved) -> Result<(), Cause> {
    for step in &mut built.steps {
        for obj in &mut step.objects {
            copy(client, obj, resolved).await?;
            convert(client, obj, resolved).await?;
        }
    }
    let pending: BTreeMap<SourceRef, Value> = built
        .objects()
        .filter(|o| o["apiVersion"] == "v1" && matches!(o["kind"].as_str(), Some("ConfigMap" | "Secret")))
        .filter_map(|o| Some((source_of(&ObjectId::from_object(o)?), o.clone())))
        .collect();
    for step in &mut built.steps {
        for obj in &mut step.objects {
            checksums(client, obj, &pending, resolved).await?;
        }
    }
    resolved.external.sort();
    resolved.external.dedup();
    Ok(())
}

async fn copy(client: &Client, obj: &mut Value, resolved: &mut Resolved) -> Result<(), Cause> {
    let Some(value) = annotation(obj, COPY_FROM) else {
        return Ok(());
    };
    let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
    if obj["apiVersion"] != "v1" || !matches!(kind.as_str(), "ConfigMap" | "Secret") {
        return Ok(());
    }
    let source = helpers::parse_copy_from(&value, &kind).map_err(|e| failed(obj, e))?;
    resolved.sources.insert(source.clone());
    let live = fetch(client, &source)
        .await?
        .ok_or_else(|| failed(obj, SourceError::Missing(source)))?;
    helpers::copy_into(obj, &live);
    Ok(())
}

async fn convert(client: &Client, obj: &mut Value, resolved: &mut Resolved) -> Result<(), Cause> {
    let Some(value) = annotation(obj, CONVERT_KUBECONFIG_FROM) else {
        return Ok(());
    };
    if obj["apiVersion"] != "v1" || obj["kind"] != "ConfigMap" {
        return Ok(());
    }
    let (source, key) = helpers::parse_convert_from(&value).map_err(|e| failed(obj, e))?;
    resolved.sources.insert(source.clone());
    let secret = fetch(client, &source)
        .await?
        .ok_or_else(|| failed(obj, SourceError::Missing(source.clone())))?;
    let kubeconfig = helpers::kubeconfig_of(&secret, &source, key.as_deref()).map_err(|e| failed(obj, e))?;
    helpers::convert_into(obj, &source, &kubeconfig).map_err(|e| failed(obj, e))
}

/// Sets the checksum next to every checksumFrom annotation of `obj`.
async fn checksums(
    client: &Client,
    obj: &mut Value,
    pending: &BTreeMap<SourceRef, Value>,
    resolved: &mut Resolved,
) -> Result<(), Cause> {
    let mut found = Vec::new();
    annotation_maps(obj, String::new(), &mut found);
    for (pointer, value) in found {
        let refs = helpers::parse_checksum_from(&value).map_err(|e| failed(obj, e))?;
        let mut contents = Vec::with_capacity(refs.len());
        for source in refs {
            resolved.sources.insert(source.clone());
            let content = match pending.get(&source) {
                Some(own) => own.clone(),
                None => {
                    resolved.external.push(source.to_string());
                    let live = fetch(client, &source).await?;
                    live.ok_or_else(|| failed(obj, SourceError::Missing(source.clone())))?
                }
            };
            let content = helpers::checksum_content(&source.kind, &content);
            contents.push((source, content));
        }
        if let Some(map) = obj.pointer_mut(&pointer).and_then(Value::as_object_mut) {
            map.insert(CHECKSUM.to_owned(), Value::String(helpers::checksum(&contents)));
        }
    }
    Ok(())
}

/// The JSON pointers of the `metadata.annotations` maps with a checksumFrom, and its value.
fn annotation_maps(value: &Value, pointer: String, out: &mut Vec<(String, String)>) {
    let Some(map) = value.as_object() else {
        if let Some(list) = value.as_array() {
            for (i, item) in list.iter().enumerate() {
                annotation_maps(item, format!("{pointer}/{i}"), out);
            }
        }
        return;
    };
    if let Some(v) = map
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get(CHECKSUM_FROM))
        .and_then(Value::as_str)
    {
        out.push((format!("{pointer}/metadata/annotations"), v.to_owned()));
    }
    for (key, item) in map {
        let escaped = key.replace('~', "~0").replace('/', "~1");
        annotation_maps(item, format!("{pointer}/{escaped}"), out);
    }
}

fn annotation(obj: &Value, key: &str) -> Option<String> {
    obj["metadata"]["annotations"][key].as_str().map(str::to_owned)
}

fn source_of(id: &ObjectId) -> SourceRef {
    SourceRef {
        kind: id.kind.clone(),
        namespace: id.namespace.clone(),
        name: id.name.clone(),
    }
}

fn failed(obj: &Value, source: SourceError) -> Cause {
    let object = ObjectId::from_object(obj).map(|id| id.to_string()).unwrap_or_default();
    Cause::ConfigSource { object, source }
}

/// A ConfigMap or Secret as JSON, or None when it does not exist.
async fn fetch(client: &Client, source: &SourceRef) -> Result<Option<Value>, Cause> {
    let live = if source.kind == "Secret" {
        let api: Api<Secret> = Api::namespaced(client.clone(), &source.namespace);
        api.get_opt(&source.name).await.map(|s| s.map(serde_json::to_value))
    } else {
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &source.namespace);
        api.get_opt(&source.name).await.map(|c| c.map(serde_json::to_value))
    };
    Ok(live.map_err(Cause::Kube)?.and_then(Result::ok))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn checksum_annotations_are_found_at_any_depth() {
        let obj = json!({"metadata": {"name": "d"}, "spec": {"template": {"metadata": {"annotations":
            {CHECKSUM_FROM: "ConfigMap/apps/c"}}}, "list": [{"metadata": {"annotations": {CHECKSUM_FROM: "x"}}}]}});
        let mut found = Vec::new();
        annotation_maps(&obj, String::new(), &mut found);
        found.sort();
        assert_eq!(
            found,
            [
                ("/spec/list/0/metadata/annotations".to_owned(), "x".to_owned()),
                (
                    "/spec/template/metadata/annotations".to_owned(),
                    "ConfigMap/apps/c".to_owned()
                ),
            ]
        );
    }
}
