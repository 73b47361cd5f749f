//! The config helpers of rendered objects (SPEC-resourceset §11.7), pure: the controller
//! reads the sources from the cluster and hands them here.
//!
//! - `copyFrom: ns/name` on a v1 ConfigMap or Secret: the source's content replaces the
//!   object's (a Secret's data goes to `stringData`; its `type` is copied unless templated).
//! - `convertKubeConfigFrom: ns/name[:key]` on a ConfigMap: the first cluster's server and
//!   CA of the kubeconfig in that Secret become `data.address` and `data["ca.crt"]`,
//!   unless the template has them.
//! - `checksumFrom: Kind/ns/name, ...` in any `metadata.annotations` map of an object:
//!   `fluxcd.controlplane.io/checksum` next to it, the SHA-256 of the sources' content.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const COPY_FROM: &str = "fluxcd.controlplane.io/copyFrom";
pub const CONVERT_KUBECONFIG_FROM: &str = "fluxcd.controlplane.io/convertKubeConfigFrom";
pub const CHECKSUM_FROM: &str = "fluxcd.controlplane.io/checksumFrom";
pub const CHECKSUM: &str = "fluxcd.controlplane.io/checksum";

/// A ConfigMap or Secret a helper reads.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    #[error("annotation {key}: {value:?} is not {expected}")]
    Format {
        key: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("{0} not found")]
    Missing(SourceRef),
    #[error("{source_ref}: {problem}")]
    Content { source_ref: SourceRef, problem: String },
}

/// `ns/name` of a copyFrom annotation, of a `kind` object.
pub fn parse_copy_from(value: &str, kind: &str) -> Result<SourceRef, SourceError> {
    split_ref(value.trim(), kind).ok_or_else(|| SourceError::Format {
        key: COPY_FROM,
        value: value.to_owned(),
        expected: "<namespace>/<name>",
    })
}

/// `ns/name[:key]` of a convertKubeConfigFrom annotation: the Secret and the key, if any.
pub fn parse_convert_from(value: &str) -> Result<(SourceRef, Option<String>), SourceError> {
    let (reference, key) = match value.trim().split_once(':') {
        Some((r, k)) if !k.is_empty() => (r, Some(k.to_owned())),
        Some(_) => ("", None),
        None => (value.trim(), None),
    };
    let source = split_ref(reference, "Secret").ok_or_else(|| SourceError::Format {
        key: CONVERT_KUBECONFIG_FROM,
        value: value.to_owned(),
        expected: "<namespace>/<name>[:<key>]",
    })?;
    Ok((source, key))
}

/// The comma-separated `ConfigMap|Secret/ns/name` refs of a checksumFrom annotation.
pub fn parse_checksum_from(value: &str) -> Result<Vec<SourceRef>, SourceError> {
    let bad = || SourceError::Format {
        key: CHECKSUM_FROM,
        value: value.to_owned(),
        expected: "a comma-separated list of ConfigMap/<namespace>/<name> or Secret/<namespace>/<name>",
    };
    value
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            let (kind, rest) = r.split_once('/').ok_or_else(bad)?;
            if !matches!(kind, "ConfigMap" | "Secret") {
                return Err(bad());
            }
            split_ref(rest, kind).ok_or_else(bad)
        })
        .collect()
}

fn split_ref(text: &str, kind: &str) -> Option<SourceRef> {
    let (namespace, name) = text.split_once('/')?;
    let valid = |s: &str| !s.is_empty() && !s.contains('/');
    (valid(namespace) && valid(name)).then(|| SourceRef {
        kind: kind.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    })
}

/// Replaces a rendered ConfigMap's or Secret's content with its source's.
pub fn copy_into(obj: &mut Value, source: &Value) {
    if obj["kind"] == "ConfigMap" {
        obj["data"] = source.get("data").cloned().unwrap_or_else(|| Value::Object(Map::new()));
        if let Some(binary) = source.get("binaryData") {
            obj["binaryData"] = binary.clone();
        }
        return;
    }
    if obj.get("type").is_none_or(|t| t.as_str().is_none_or(str::is_empty)) {
        let type_ = source["type"].as_str().filter(|t| !t.is_empty()).unwrap_or("Opaque");
        obj["type"] = Value::String(type_.to_owned());
    }
    let mut string_data = Map::new();
    let mut binary = Map::new();
    for (key, value) in decoded(&source["data"]) {
        match String::from_utf8(value) {
            Ok(text) => string_data.insert(key, Value::String(text)),
            Err(e) => binary.insert(key, Value::String(STANDARD.encode(e.into_bytes()))),
        };
    }
    if let Some(map) = obj.as_object_mut() {
        map.remove("data");
    }
    obj["stringData"] = Value::Object(string_data);
    if !binary.is_empty() {
        obj["data"] = Value::Object(binary);
    }
}

/// Sets `data.address` and `data["ca.crt"]` of a ConfigMap from the first cluster of
/// `kubeconfig`, keeping what the template has.
pub fn convert_into(obj: &mut Value, source_ref: &SourceRef, kubeconfig: &str) -> Result<(), SourceError> {
    let problem = |problem: String| SourceError::Content {
        source_ref: source_ref.clone(),
        problem,
    };
    let config = kube::config::Kubeconfig::from_yaml(kubeconfig).map_err(|e| problem(format!("kubeconfig: {e}")))?;
    let cluster = config
        .clusters
        .first()
        .and_then(|c| c.cluster.as_ref())
        .ok_or_else(|| problem("kubeconfig has no cluster".into()))?;
    let server = cluster
        .server
        .clone()
        .ok_or_else(|| problem("kubeconfig cluster has no server".into()))?;
    let mut set = |key: &str, value: String| {
        if obj["data"].get(key).is_none() {
            obj["data"][key] = Value::String(value);
        }
    };
    set("address", server);
    if let Some(ca) = &cluster.certificate_authority_data {
        let pem = STANDARD
            .decode(ca.trim())
            .map_err(|e| problem(format!("certificate-authority-data: {e}")))?;
        set("ca.crt", String::from_utf8_lossy(&pem).into_owned());
    }
    Ok(())
}

/// The kubeconfig text of a Secret: `key`, else `kubeconfig`, else `value`.
pub fn kubeconfig_of(secret: &Value, source_ref: &SourceRef, key: Option<&str>) -> Result<String, SourceError> {
    let data = decoded(&secret["data"]);
    let keys: Vec<&str> = match key {
        Some(k) => vec![k],
        None => vec!["kubeconfig", "value"],
    };
    keys.iter()
        .find_map(|k| data.get(*k))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .ok_or_else(|| SourceError::Content {
            source_ref: source_ref.clone(),
            problem: format!("no key {}", keys.join(" or ")),
        })
}

/// The content a checksum covers: a ConfigMap's data and decoded binaryData, a Secret's
/// decoded data with (for a Secret this set renders) stringData over it.
pub fn checksum_content(kind: &str, obj: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut content = BTreeMap::new();
    if kind == "ConfigMap" {
        content.extend(text(&obj["data"]));
        content.extend(decoded(&obj["binaryData"]));
    } else {
        content.extend(decoded(&obj["data"]));
        content.extend(text(&obj["stringData"]));
    }
    content
}

/// `sha256:<hex>` over each source in order: `Kind/ns/name` NUL, then `key` NUL `value`
/// NUL per key in sorted order.
pub fn checksum(sources: &[(SourceRef, BTreeMap<String, Vec<u8>>)]) -> String {
    let mut hasher = Sha256::new();
    for (source, content) in sources {
        hasher.update(source.to_string().as_bytes());
        hasher.update([0]);
        for (key, value) in content {
            hasher.update(key.as_bytes());
            hasher.update([0]);
            hasher.update(value);
            hasher.update([0]);
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// The values of a map of strings, as bytes.
fn text(data: &Value) -> BTreeMap<String, Vec<u8>> {
    data.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.as_bytes().to_vec())))
        .collect()
}

/// The base64-decoded values of a `data` map; undecodable values are left out.
fn decoded(data: &Value) -> BTreeMap<String, Vec<u8>> {
    data.as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), STANDARD.decode(v.as_str()?).ok()?)))
        .collect()
}

#[cfg(test)]
#[path = "config_sources_tests.rs"]
mod tests;
