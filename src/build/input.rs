//! Reading a FluxInstance from a YAML file, with the checks the apiserver would make from
//! the CRD schema, so that the CLI names the field at fault instead of a serde position.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use crate::api::FluxInstance;

use super::Error;
use crate::text::shorten;

/// The FluxInstance of a YAML document and the namespace it builds into.
pub struct Instance {
    pub namespace: String,
    pub instance: FluxInstance,
}

pub const DEFAULT_NAMESPACE: &str = "flux-system";

fn input(message: String) -> Error {
    Error::Input(message)
}

/// Parses exactly one FluxInstance document and checks it against the CRD schema.
pub fn parse_instance(text: &str) -> Result<Instance, Error> {
    let docs: Vec<Value> = crate::yaml::from_multi_str(text).map_err(|e| input(e.to_string()))?;
    let doc = match docs.as_slice() {
        [doc] => doc,
        [] => return Err(input("no FluxInstance document found".to_owned())),
        many => {
            return Err(input(format!(
                "expected one FluxInstance document, found {}",
                many.len()
            )));
        }
    };
    let Some(map) = doc.as_object() else {
        return Err(input("the document is not a FluxInstance object".to_owned()));
    };
    let api_version = map.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    if kind != "FluxInstance" || api_version != "fluxcd.controlplane.io/v1" {
        return Err(input(format!(
            "apiVersion/kind {:?}/{:?}: expected fluxcd.controlplane.io/v1 FluxInstance",
            shorten(api_version),
            shorten(kind)
        )));
    }
    let namespace = match doc.pointer("/metadata/namespace") {
        None | Some(Value::Null) => DEFAULT_NAMESPACE.to_owned(),
        Some(Value::String(ns)) => ns.clone(),
        Some(other) => return Err(input(format!("metadata.namespace {}: expected a string", short(other)))),
    };
    match doc.pointer("/metadata/name") {
        None | Some(Value::Null) => {}
        Some(Value::String(name)) if name == crate::api::SINGLETON_NAME => {}
        Some(other) => {
            return Err(input(format!(
                "metadata.name {}: the only accepted name for a FluxInstance is 'flux'",
                short(other)
            )));
        }
    }
    let Some(spec) = map.get("spec") else {
        return Err(input("spec: required field is missing".to_owned()));
    };
    check(spec, spec_schema(), "spec")?;

    let mut doc = doc.clone();
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.entry("name")
            .or_insert_with(|| Value::String(crate::api::SINGLETON_NAME.to_owned()));
    }
    let instance: FluxInstance = serde_json::from_value(doc).map_err(|e| input(format!("spec: {e}")))?;
    Ok(Instance { namespace, instance })
}

/// The `spec` schema of the CRD this operator installs.
fn spec_schema() -> &'static Value {
    static SCHEMA: OnceLock<Value> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        use kube::CustomResourceExt;
        let crd = serde_json::to_value(FluxInstance::crd()).unwrap_or(Value::Null);
        crd.pointer("/spec/versions/0/schema/openAPIV3Schema/properties/spec")
            .cloned()
            .unwrap_or(Value::Null)
    })
}

/// A value as JSON, shortened for a message.
fn short(value: &Value) -> String {
    shorten(&value.to_string()).into_owned()
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Walks `value` along a structural schema: types, enums, patterns, lengths, required and
/// unknown fields. The first problem wins.
fn check(value: &Value, schema: &Value, path: &str) -> Result<(), Error> {
    if schema.is_null() {
        return Ok(());
    }
    if value.is_null() {
        return if schema.get("nullable").and_then(Value::as_bool) == Some(true) {
            Ok(())
        } else {
            Err(input(format!("{path}: must not be null")))
        };
    }
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(value);
        let ok = actual == expected || (expected == "number" && actual == "integer");
        if !ok {
            return Err(input(format!(
                "{path} {}: expected type {expected}, got {actual}",
                short(value)
            )));
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed.iter().filter_map(Value::as_str).map(str::to_owned).collect();
        return Err(input(format!(
            "{path} {}: must be one of {}",
            short(value),
            names.join(", ")
        )));
    }
    match value {
        Value::String(s) => {
            if let Some(pattern) = schema.get("pattern").and_then(Value::as_str)
                && Regex::new(pattern).is_ok_and(|re| !re.is_match(s))
            {
                return Err(input(format!("{path} {:?}: must match {pattern}", shorten(s))));
            }
            if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
                && s.chars().count() as u64 > max
            {
                return Err(input(format!(
                    "{path} {:?}: must be at most {max} characters",
                    shorten(s)
                )));
            }
        }
        Value::Array(items) => {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                return Err(input(format!("{path}: must have at least {min} items")));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"))?;
                }
            }
        }
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for key in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(key) {
                        return Err(input(format!("{path}.{key}: required field is missing")));
                    }
                }
            }
            let additional = schema.get("additionalProperties");
            let preserve = schema
                .get("x-kubernetes-preserve-unknown-fields")
                .and_then(Value::as_bool)
                == Some(true);
            for (key, item) in map {
                // The key is the user's when the field is unknown.
                let child = format!("{path}.{}", shorten(key));
                match (properties.and_then(|p| p.get(key)), additional) {
                    (Some(sub), _) => check(item, sub, &child)?,
                    (None, Some(sub)) if sub.is_object() => check(item, sub, &child)?,
                    (None, Some(Value::Bool(true))) => {}
                    _ if preserve => {}
                    _ => return Err(input(format!("{child}: unknown field"))),
                }
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(yaml: &str) -> String {
        match parse_instance(yaml) {
            Ok(_) => panic!("accepted: {yaml}"),
            Err(e) => e.to_string(),
        }
    }

    const HEAD: &str = "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n";

    #[test]
    fn reads_a_minimal_instance() {
        let parsed = parse_instance(&format!(
            "{HEAD}spec:\n  distribution:\n    version: 2.x\n    registry: ghcr.io/fluxcd\n"
        ))
        .unwrap();
        assert_eq!(parsed.namespace, "flux-system");
        assert_eq!(parsed.instance.spec.distribution.version, "2.x");
        assert!(parsed.instance.spec.wait);
    }

    #[test]
    fn names_the_field_at_fault() {
        let e = err(&format!("{HEAD}spec:\n  distribution:\n    registry: ghcr.io/fluxcd\n"));
        assert_eq!(e, "spec.distribution.version: required field is missing");
        let e = err(&format!(
            "{HEAD}spec:\n  distribution: {{version: 2.x, registry: ghcr.io/fluxcd}}\n  components: [foo]\n"
        ));
        assert!(
            e.starts_with("spec.components[0] \"foo\": must be one of source-controller"),
            "{e}"
        );
        let e = err(&format!(
            "{HEAD}spec:\n  distribution: {{version: 2.x, registry: r}}\n  clustr: {{}}\n"
        ));
        assert_eq!(e, "spec.clustr: unknown field");
        let e = err(&format!(
            "{HEAD}spec:\n  distribution: {{version: 2.x, registry: r}}\n  cluster: {{multitenant: maybe}}\n"
        ));
        assert_eq!(
            e,
            "spec.cluster.multitenant \"maybe\": expected type boolean, got string"
        );
        let e = err(&format!(
            "{HEAD}spec:\n  distribution: {{version: 2.x, registry: r}}\n  components: abc\n"
        ));
        assert_eq!(e, "spec.components \"abc\": expected type array, got string");
    }

    #[test]
    fn refuses_other_documents() {
        assert!(err("apiVersion: v1\nkind: ConfigMap\n").contains("expected fluxcd.controlplane.io/v1 FluxInstance"));
        assert!(err("a: [").starts_with("invalid YAML"));
        assert_eq!(err(""), "no FluxInstance document found");
    }
}
