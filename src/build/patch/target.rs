//! Which objects a patch applies to: kustomize's selector (anchored regular expressions on
//! group, version, kind, name and namespace, label and annotation selectors) and, for a
//! strategic-merge patch without target, its identity match.

use std::collections::BTreeMap;

use regex::Regex;
use serde_json::Value;

use super::merge_keys::is_cluster_scoped;
use super::selector::{Selector, SelectorError};
use crate::api::PatchTarget;
use crate::text::shorten;

/// A target field that cannot be compiled; `field` is its name in the patch's target.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("target {field} {pattern:?} is not a valid regular expression: {source}")]
    Regex {
        field: &'static str,
        pattern: String,
        #[source]
        source: regex::Error,
    },
    #[error("target {field} {selector:?} is not a valid selector: {source}")]
    Selector {
        field: &'static str,
        selector: String,
        #[source]
        source: SelectorError,
    },
}

/// kustomize's stand-in namespace for cluster-scoped objects; a namespace regex can match it.
const NOT_NAMESPACEABLE: &str = "_non_namespaceable_";

/// What identifies an object for kustomize: group, version, kind, name and namespace.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObjectId {
    pub(crate) api_version: String,
    pub(crate) kind: String,
    pub(crate) name: String,
    pub(crate) namespace: String,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

impl ObjectId {
    pub(crate) fn of(object: &Value) -> ObjectId {
        ObjectId {
            api_version: str_at(object, &["apiVersion"]).to_string(),
            kind: str_at(object, &["kind"]).to_string(),
            name: str_at(object, &["metadata", "name"]).to_string(),
            namespace: str_at(object, &["metadata", "namespace"]).to_string(),
        }
    }

    /// Group and version, split at the first `/`; a core apiVersion has the empty group.
    pub(crate) fn group_version(&self) -> (&str, &str) {
        self.api_version.split_once('/').unwrap_or(("", &self.api_version))
    }

    /// The namespace as kustomize compares it: cluster-scoped kinds have none, and the empty
    /// namespace is `default`.
    pub(crate) fn effective_namespace(&self) -> &str {
        if is_cluster_scoped(&self.api_version, &self.kind) {
            NOT_NAMESPACEABLE
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// kustomize's `ResId.Equals`.
    pub(crate) fn same_as(&self, other: &ObjectId) -> bool {
        self.group_version() == other.group_version()
            && self.kind == other.kind
            && self.name == other.name
            && self.effective_namespace() == other.effective_namespace()
    }
}

impl std::fmt::Display for ObjectId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Patches can set any of these to a huge value; messages repeat only their start.
        let kind = if self.kind.is_empty() { "object" } else { &self.kind };
        let (kind, name) = (shorten(kind), shorten(&self.name));
        if self.namespace.is_empty() {
            write!(f, "{kind} {name}")
        } else {
            write!(f, "{kind} {}/{name}", shorten(&self.namespace))
        }
    }
}

fn string_map(object: &Value, field: &str) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = object.get("metadata").and_then(|m| m.get(field)) else {
        return BTreeMap::new();
    };
    map.iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                other => other.to_string(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// A compiled `target`: regular expressions and selectors are built once per patch.
#[derive(Debug)]
pub(crate) struct Target {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Option<Selector>,
    annotations: Option<Selector>,
}

fn non_empty(field: &Option<String>) -> Option<&str> {
    field.as_deref().filter(|s| !s.is_empty())
}

fn compile_regex(field: &'static str, pattern: Option<&str>) -> Result<Option<Regex>, TargetError> {
    pattern
        .map(|p| {
            Regex::new(&format!("^(?:{p})$")).map_err(|source| TargetError::Regex {
                field,
                pattern: p.to_string(),
                source,
            })
        })
        .transpose()
}

fn compile_selector(field: &'static str, selector: Option<&str>) -> Result<Option<Selector>, TargetError> {
    selector
        .map(|s| {
            Selector::parse(s).map_err(|source| TargetError::Selector {
                field,
                selector: s.to_string(),
                source,
            })
        })
        .transpose()
}

impl Target {
    pub(crate) fn compile(target: &PatchTarget) -> Result<Target, TargetError> {
        Ok(Target {
            group: compile_regex("group", non_empty(&target.group))?,
            version: compile_regex("version", non_empty(&target.version))?,
            kind: compile_regex("kind", non_empty(&target.kind))?,
            name: compile_regex("name", non_empty(&target.name))?,
            namespace: compile_regex("namespace", non_empty(&target.namespace))?,
            labels: compile_selector("labelSelector", non_empty(&target.label_selector))?,
            annotations: compile_selector("annotationSelector", non_empty(&target.annotation_selector))?,
        })
    }

    /// kustomize's `Select`: name and namespace may match the object's original identity (before
    /// earlier JSON patches renamed it) or its current one.
    pub(crate) fn matches(&self, object: &Value, original: Option<&ObjectId>) -> bool {
        let current = ObjectId::of(object);
        let original = original.unwrap_or(&current);
        let either = |re: &Option<Regex>, f: fn(&ObjectId) -> &str| {
            re.as_ref()
                .is_none_or(|re| re.is_match(f(original)) || re.is_match(f(&current)))
        };
        if !either(&self.namespace, ObjectId::effective_namespace) || !either(&self.name, |id| &id.name) {
            return false;
        }
        let (group, version) = current.group_version();
        let matches = |re: &Option<Regex>, value: &str| re.as_ref().is_none_or(|re| re.is_match(value));
        matches(&self.group, group)
            && matches(&self.version, version)
            && matches(&self.kind, &current.kind)
            && self
                .labels
                .as_ref()
                .is_none_or(|s| s.matches(&string_map(object, "labels")))
            && self
                .annotations
                .as_ref()
                .is_none_or(|s| s.matches(&string_map(object, "annotations")))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn target(f: impl FnOnce(&mut PatchTarget)) -> Target {
        let mut t = PatchTarget::default();
        f(&mut t);
        Target::compile(&t).expect("valid target")
    }

    fn deployment(name: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": name, "namespace": "flux-system", "labels": {"app": name},
                            "annotations": {"team": "platform"}}})
    }

    #[test]
    fn regexes_are_anchored() {
        let t = target(|t| t.name = Some("(kustomize|helm)-controller".into()));
        assert!(t.matches(&deployment("kustomize-controller"), None));
        assert!(t.matches(&deployment("helm-controller"), None));
        assert!(!t.matches(&deployment("source-controller"), None));
        assert!(!t.matches(&deployment("helm-controller-shard1"), None));
        let t = target(|t| t.name = Some("controller".into()));
        assert!(!t.matches(&deployment("helm-controller"), None), "no substring match");
        let t = target(|t| t.name = Some(".*".into()));
        assert!(t.matches(&deployment("x"), None));
    }

    #[test]
    fn group_version_kind() {
        let d = deployment("x");
        assert!(target(|t| t.group = Some("apps".into())).matches(&d, None));
        assert!(!target(|t| t.group = Some("app".into())).matches(&d, None));
        assert!(target(|t| t.version = Some("v1".into())).matches(&d, None));
        assert!(target(|t| t.kind = Some("Deploy.*".into())).matches(&d, None));
        let service = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"}});
        assert!(!target(|t| t.group = Some("apps".into())).matches(&service, None));
        assert!(target(|t| t.version = Some("v1".into())).matches(&service, None));
        assert!(
            target(|t| t.group = Some("".into())).matches(&service, None),
            "empty means any"
        );
    }

    #[test]
    fn namespaces_as_kustomize_sees_them() {
        let d = deployment("x");
        assert!(target(|t| t.namespace = Some("flux-.*".into())).matches(&d, None));
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}});
        assert!(target(|t| t.namespace = Some("default".into())).matches(&cm, None));
        let cr = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                        "metadata": {"name": "x", "namespace": "flux-system"}});
        assert!(!target(|t| t.namespace = Some("flux-system".into())).matches(&cr, None));
        assert!(target(|t| t.namespace = Some(".*".into())).matches(&cr, None));
    }

    #[test]
    fn original_identity_counts() {
        let renamed = deployment("new");
        let original = ObjectId::of(&deployment("old"));
        let t = target(|t| t.name = Some("old".into()));
        assert!(t.matches(&renamed, Some(&original)));
        assert!(!t.matches(&renamed, None));
    }

    #[test]
    fn selectors() {
        let d = deployment("x");
        assert!(target(|t| t.label_selector = Some("app=x".into())).matches(&d, None));
        assert!(!target(|t| t.label_selector = Some("app!=x".into())).matches(&d, None));
        assert!(target(|t| t.annotation_selector = Some("team in (platform)".into())).matches(&d, None));
        assert!(!target(|t| t.annotation_selector = Some("!team".into())).matches(&d, None));
    }

    #[test]
    fn bad_regex_and_bad_selector() {
        let mut t = PatchTarget {
            name: Some("(unclosed".into()),
            ..Default::default()
        };
        let e = Target::compile(&t).expect_err("bad regex");
        assert!(
            e.to_string()
                .starts_with("target name \"(unclosed\" is not a valid regular expression"),
            "{e}"
        );
        t.name = None;
        t.label_selector = Some("app in x".into());
        let e = Target::compile(&t).expect_err("bad selector");
        assert!(
            e.to_string()
                .starts_with("target labelSelector \"app in x\" is not a valid selector"),
            "{e}"
        );
    }

    #[test]
    fn identity() {
        let a = ObjectId::of(&json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}));
        let b = ObjectId::of(&json!({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": "x", "namespace": "default"}}));
        assert!(a.same_as(&b));
        let c = ObjectId::of(&json!({"kind": "ConfigMap", "metadata": {"name": "x"}}));
        assert!(!a.same_as(&c), "the apiVersion is part of the identity");
    }
}
