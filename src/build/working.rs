//! The objects under construction, with what the patch step needs to know of each: the
//! identity an object had before the build renamed it, and whether patches see it without
//! its namespace. Upstream's patches see the release's component and policy files as
//! written, while the objects it generates or copies (rbac.yaml's renamed objects, shard
//! copies, the sync source and Kustomization) already carry the instance namespace.

use serde_json::{Value, json};

use crate::api::PatchSpec;

use super::{Error, namespace, patch};

pub struct Working {
    pub list: Vec<Value>,
    /// The earlier identities of renamed objects (apiVersion, kind, name, namespace).
    origins: Vec<Vec<Value>>,
    /// Whether patches see the object without its namespace.
    bare: Vec<bool>,
}

impl Working {
    /// The release's objects; `bare(i)` tells which of them patches see without namespace.
    pub fn new(list: Vec<Value>, bare: impl Fn(usize) -> bool) -> Self {
        let bare = (0..list.len()).map(bare).collect();
        Self {
            list,
            origins: Vec::new(),
            bare,
        }
    }

    pub fn push(&mut self, obj: Value, bare: bool) {
        self.list.push(obj);
        self.bare.push(bare);
    }

    /// Records that `list[index]` was named `original` in the release files or is a copy of
    /// the object of that name: patches may name it so. Like upstream's, it had that name
    /// first without namespace, then in the instance namespace, before it was renamed.
    pub fn renamed(&mut self, index: usize, original: &str) {
        if self.origins.len() <= index {
            self.origins.resize(index + 1, Vec::new());
        }
        let obj = &self.list[index];
        let identity = |namespace: Option<&Value>| {
            json!({
                "apiVersion": obj.get("apiVersion"),
                "kind": obj.get("kind"),
                "metadata": { "name": original, "namespace": namespace },
            })
        };
        let mut identities = vec![identity(None)];
        if let Some(ns) = obj.pointer("/metadata/namespace") {
            identities.push(identity(Some(ns)));
        }
        self.origins[index] = identities;
    }

    /// Applies the user's patches, then puts every namespaced object (back) into `ns`.
    pub fn patch(&mut self, patches: &[PatchSpec], ns: &str) -> Result<(), Error> {
        if patches.is_empty() {
            return Ok(());
        }
        namespace::strip(&mut self.list, &self.bare);
        let mut patched = patch::apply_patches_with_origins(&mut self.list, patches, &self.origins)?;
        // A strategic-merge `$patch: delete` leaves a null where the object was.
        patched.drop_deleted(&mut self.list);
        namespace::restore(&mut self.list, ns);
        // A renamed object can meet another only now, in the instance namespace.
        patched.check(&self.list)?;
        Ok(())
    }
}
