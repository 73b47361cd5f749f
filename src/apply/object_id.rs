use std::fmt;

use serde_json::Value;

/// Identity of an applied object, as kept in `status.inventory.entries`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectId {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectId {
    /// Reads apiVersion, kind, metadata.namespace and metadata.name of an object.
    pub fn from_object(obj: &Value) -> Option<Self> {
        let api_version = obj.get("apiVersion")?.as_str()?;
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_owned(), v.to_owned()),
            None => (String::new(), api_version.to_owned()),
        };
        let meta = obj.get("metadata")?;
        Some(Self {
            group,
            version,
            kind: obj.get("kind")?.as_str()?.to_owned(),
            namespace: meta
                .get("namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            name: meta.get("name")?.as_str()?.to_owned(),
        })
    }

    /// `<namespace>_<name>_<group>_<kind>`, the inventory id upstream uses.
    pub fn id(&self) -> String {
        format!("{}_{}_{}_{}", self.namespace, self.name, self.group, self.kind)
    }

    /// Parses an inventory entry back; names and namespaces cannot hold `_`, groups can't either.
    pub fn from_inventory(id: &str, version: &str) -> Option<Self> {
        let mut parts = id.splitn(4, '_');
        let namespace = parts.next()?.to_owned();
        let name = parts.next()?.to_owned();
        let group = parts.next()?.to_owned();
        let kind = parts.next()?.to_owned();
        if name.is_empty() || kind.is_empty() {
            return None;
        }
        Some(Self {
            group,
            version: version.to_owned(),
            kind,
            namespace,
            name,
        })
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Same object regardless of the API version it was applied with.
    pub fn same_object(&self, other: &Self) -> bool {
        self.group == other.group
            && self.kind == other.kind
            && self.namespace == other.namespace
            && self.name == other.name
    }
}

impl fmt::Display for ObjectId {
    /// `Kind/namespace/name`, the form used in status messages and events.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            write!(f, "{}/{}", self.kind, self.name)
        } else {
            write!(f, "{}/{}/{}", self.kind, self.namespace, self.name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn inventory_id_round_trips() {
        let obj = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "source-controller", "namespace": "flux-system"}});
        let r = ObjectId::from_object(&obj).unwrap();
        assert_eq!(r.id(), "flux-system_source-controller_apps_Deployment");
        assert_eq!(ObjectId::from_inventory(&r.id(), "v1").unwrap(), r);

        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}});
        let r = ObjectId::from_object(&ns).unwrap();
        assert_eq!(r.id(), "_flux-system__Namespace");
        assert_eq!(ObjectId::from_inventory(&r.id(), "v1").unwrap(), r);
        assert_eq!(r.to_string(), "Namespace/flux-system");
    }

    #[test]
    fn malformed_inventory_ids_are_rejected() {
        assert!(ObjectId::from_inventory("a_b", "v1").is_none());
        assert!(ObjectId::from_inventory("ns__apps_Deployment", "v1").is_none());
    }
}
