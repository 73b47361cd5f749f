//! Schemas for free-form fields that schemars cannot describe structurally: the apiserver
//! needs `x-kubernetes-preserve-unknown-fields` to keep what users put there.

use schemars::{Schema, SchemaGenerator, json_schema};

/// A list of JSON objects with any keys (input sets, resource templates).
pub fn object_list(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    })
}

/// One JSON object with any keys.
pub fn free_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({"type": "object", "x-kubernetes-preserve-unknown-fields": true})
}
