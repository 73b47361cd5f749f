use std::collections::BTreeSet;
use std::fmt;

use kube::Client;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{Value, json};

use super::{Discovery, Error, FIELD_MANAGER, ObjectId, TAKEOVER_MANAGERS};

/// What applying an object did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyAction {
    Created,
    Configured,
    Unchanged,
}

impl fmt::Display for ApplyAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ApplyAction::Created => "created",
            ApplyAction::Configured => "configured",
            ApplyAction::Unchanged => "unchanged",
        })
    }
}

#[derive(Debug, Clone)]
pub struct ChangeSetEntry {
    pub object: ObjectId,
    pub action: ApplyAction,
}

/// The result of applying a list of objects, in apply order.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    pub fn changed(&self) -> impl Iterator<Item = &ChangeSetEntry> {
        self.entries.iter().filter(|e| e.action != ApplyAction::Unchanged)
    }

    pub fn has_changes(&self) -> bool {
        self.changed().next().is_some()
    }

    /// `Kind/namespace/name created` lines of what changed, for events.
    pub fn summary(&self) -> String {
        self.changed()
            .map(|e| format!("{} {}", e.object, e.action))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The object that owns what is applied: the labels (keys and values) that tie an applied
/// object to it, and how a user protects an object from deletion. Prune deletes, and the
/// readiness wait lists, only objects carrying both labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub name_label: &'static str,
    pub namespace_label: &'static str,
    pub name: String,
    pub namespace: String,
    pub prune_marker: PruneMarker,
}

/// Where `fluxcd.controlplane.io/prune: disabled` is honoured: the owners' contracts differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PruneMarker {
    /// The annotation, with exactly the value `disabled`.
    Annotation,
    /// The annotation or a label, with the value in any case.
    AnnotationOrLabelAnyCase,
}

impl Owner {
    /// The label selector of the owner's objects.
    pub fn selector(&self) -> String {
        format!(
            "{}={},{}={}",
            self.name_label, self.name, self.namespace_label, self.namespace
        )
    }

    /// Whether a live object carries both owner labels with this owner's values.
    pub fn owns(&self, live: &Value) -> bool {
        let labels = &live["metadata"]["labels"];
        labels[self.name_label].as_str() == Some(self.name.as_str())
            && labels[self.namespace_label].as_str() == Some(self.namespace.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub owner: Owner,
    /// Managers taken over in addition to [`TAKEOVER_MANAGERS`].
    pub extra_takeover_managers: Vec<String>,
    /// Where the deletions the applier makes are announced, if anyone watches them.
    pub deletions: Option<std::sync::Arc<super::ExpectedDeletions>>,
}

/// Server-side applies objects, writing only what differs from the live state.
pub struct Applier<'a> {
    pub client: &'a Client,
    pub discovery: &'a Discovery,
    pub options: &'a ApplyOptions,
}

/// An object checked against the API server (a server-side dry-run) and not written yet.
pub struct Planned {
    object: ObjectId,
    api: Api<DynamicObject>,
    desired: Value,
    /// The live object, when there is one, to clean of other tools' marks before writing.
    live: Option<Value>,
    action: ApplyAction,
}

impl Planned {
    pub fn action(&self) -> ApplyAction {
        self.action
    }
}

impl Applier<'_> {
    /// Applies one object: [`Applier::plan`], then [`Applier::commit`].
    pub async fn apply(&self, obj: &Value) -> Result<ChangeSetEntry, Error> {
        let planned = self.plan(obj).await?;
        self.commit(planned).await
    }

    /// Dry-runs one object: what applying it would do, with nothing written. An object the
    /// API server refuses fails here, so that a stage is refused whole.
    pub async fn plan(&self, obj: &Value) -> Result<Planned, Error> {
        let object = ObjectId::from_object(obj).ok_or_else(|| Error::InvalidObject { object: describe(obj) })?;
        let api = self.api_for(&object).await?;
        let mut desired = obj.clone();
        self.prepare(&mut desired);
        let live = api.get_opt(&object.name).await.map_err(|source| Error::Read {
            object: object.to_string(),
            source,
        })?;
        let live = live.map(|l| serde_json::to_value(&l).unwrap_or(Value::Null));
        let params = PatchParams::apply(FIELD_MANAGER).force().dry_run();
        let dry_run = api
            .patch(&object.name, &params, &Patch::Apply(&desired))
            .await
            .map_err(|source| Error::DryRun {
                object: object.to_string(),
                source,
            })?;
        let action = match &live {
            None => ApplyAction::Created,
            Some(live) => {
                let dry_run = serde_json::to_value(dry_run).unwrap_or(Value::Null);
                if self.clean_patch(live).is_none() && normalized(&dry_run) == normalized(live) {
                    ApplyAction::Unchanged
                } else {
                    ApplyAction::Configured
                }
            }
        };
        Ok(Planned {
            object,
            api,
            desired,
            live,
            action,
        })
    }

    /// Writes a planned object, unless it is unchanged.
    pub async fn commit(&self, planned: Planned) -> Result<ChangeSetEntry, Error> {
        let Planned {
            object,
            api,
            desired,
            live,
            action,
        } = planned;
        if action != ApplyAction::Unchanged {
            if let Some(patch) = live.as_ref().and_then(|l| self.clean_patch(l)) {
                api.patch(&object.name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map_err(|source| Error::Apply {
                        object: object.to_string(),
                        source,
                    })?;
            }
            let params = PatchParams::apply(FIELD_MANAGER).force();
            api.patch(&object.name, &params, &Patch::Apply(&desired))
                .await
                .map_err(|source| Error::Apply {
                    object: object.to_string(),
                    source,
                })?;
        }
        Ok(ChangeSetEntry { object, action })
    }

    pub async fn api_for(&self, object: &ObjectId) -> Result<Api<DynamicObject>, Error> {
        let (resource, namespaced) =
            self.discovery
                .resolve(self.client, object)
                .await
                .map_err(|source| Error::Discovery {
                    object: object.to_string(),
                    source,
                })?;
        Ok(if namespaced {
            Api::namespaced_with(self.client.clone(), &object.namespace, &resource)
        } else {
            Api::all_with(self.client.clone(), &resource)
        })
    }

    /// The marks of other tools out, before the object is sent. The owner labels come with
    /// the object from the builder.
    fn prepare(&self, obj: &mut Value) {
        let meta = &mut obj["metadata"];
        if let Some(labels) = meta.get_mut("labels").and_then(Value::as_object_mut) {
            for key in STRIPPED_LABELS {
                labels.remove(*key);
            }
        }
        if let Some(annotations) = meta.get_mut("annotations").and_then(Value::as_object_mut) {
            annotations.retain(|k, _| !is_stripped_annotation(k));
        }
    }

    /// The merge patch that removes other tools' marks and field managers from the live
    /// object, if it has any.
    fn clean_patch(&self, live: &Value) -> Option<Value> {
        let mut patch = json!({"metadata": {}});
        let mut dirty = false;
        for field in ["labels", "annotations"] {
            for key in live_keys(live, field) {
                let strip = if field == "labels" {
                    STRIPPED_LABELS.contains(&key.as_str())
                } else {
                    is_stripped_annotation(&key)
                };
                if strip {
                    // null deletes the key in a JSON merge patch.
                    patch["metadata"][field][key] = Value::Null;
                    dirty = true;
                }
            }
        }
        let managed = live["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let kept: Vec<Value> = managed.iter().filter(|m| !self.is_takeover(m)).cloned().collect();
        if kept.len() != managed.len() {
            // An empty list would be ignored by the API server; `[{}]` clears every entry.
            patch["metadata"]["managedFields"] = if kept.is_empty() {
                json!([{}])
            } else {
                Value::Array(kept)
            };
            dirty = true;
        }
        dirty.then_some(patch)
    }

    fn is_takeover(&self, entry: &Value) -> bool {
        let manager = entry["manager"].as_str().unwrap_or_default();
        manager != FIELD_MANAGER
            && (TAKEOVER_MANAGERS.contains(&manager)
                || self.options.extra_takeover_managers.iter().any(|m| m == manager))
    }
}

/// What can be said of an object that lacks its identity fields.
fn describe(obj: &Value) -> String {
    let text = obj.to_string();
    text.chars().take(120).collect()
}

const STRIPPED_LABELS: &[&str] = &[
    "kustomize.toolkit.fluxcd.io/name",
    "kustomize.toolkit.fluxcd.io/namespace",
];

fn is_stripped_annotation(key: &str) -> bool {
    key == "kubectl.kubernetes.io/last-applied-configuration" || key.starts_with("meta.helm.sh/")
}

fn live_keys(live: &Value, field: &str) -> BTreeSet<String> {
    live["metadata"][field]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The object without what changes on every write regardless of content.
fn normalized(obj: &Value) -> Value {
    let mut obj = obj.clone();
    if let Some(managed) = obj["metadata"]["managedFields"].as_array_mut() {
        for entry in managed {
            if let Some(entry) = entry.as_object_mut() {
                entry.remove("time");
            }
        }
    }
    obj
}

/// The API server's own message, which names the field and value it refused.
pub(crate) fn api_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripped_marks() {
        assert!(is_stripped_annotation(
            "kubectl.kubernetes.io/last-applied-configuration"
        ));
        assert!(is_stripped_annotation("meta.helm.sh/release-name"));
        assert!(!is_stripped_annotation("fluxcd.controlplane.io/prune"));
    }

    #[test]
    fn normalization_ignores_managed_field_times_only() {
        let a = json!({"metadata": {"managedFields": [{"manager": "x", "time": "1"}]}, "spec": {"a": 1}});
        let b = json!({"metadata": {"managedFields": [{"manager": "x", "time": "2"}]}, "spec": {"a": 1}});
        let c = json!({"metadata": {"managedFields": [{"manager": "y", "time": "2"}]}, "spec": {"a": 1}});
        assert_eq!(normalized(&a), normalized(&b));
        assert_ne!(normalized(&a), normalized(&c));
    }
}
