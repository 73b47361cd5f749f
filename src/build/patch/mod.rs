//! Kustomize-compatible patches for `spec.kustomize.patches`: the semantics of kustomize v5's
//! `patches:` field, checked against `kubectl kustomize` by `tests/kustomize_oracle.rs`.
//!
//! A patch is a strategic-merge patch (YAML objects, merged as kyaml does, see
//! [`strategic_merge`]) or a JSON 6902 patch (a YAML or JSON list of operations, see
//! [`json6902`]). With a target it applies to every object the target selects ([`target`]);
//! a strategic-merge patch without target applies to the object with its apiVersion, kind,
//! name and namespace, and is an error when there is none (as in kustomize); a patch with a
//! target that selects nothing does nothing (as in kustomize and the upstream operator).

mod json6902;
mod merge_keys;
mod parse;
mod selector;
mod strategic_merge;
mod target;

use serde_json::{Map, Value};

use self::parse::PatchBody;
use self::strategic_merge::{Merged, scalar_text};
use self::target::{ObjectId, Target};
use crate::api::Patch;

/// A patch that cannot be applied; the message starts with `spec.kustomize.patches[<i>]`.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The patch text is neither a strategic-merge patch nor a list of operations, or does not
    /// fit its target (several objects with a target, operations without one).
    #[error("spec.kustomize.patches[{index}]: {message}")]
    InvalidPatch { index: usize, message: String },
    /// A target field is not a valid regular expression or selector.
    #[error("spec.kustomize.patches[{index}]: {message}")]
    InvalidTarget { index: usize, message: String },
    /// A strategic-merge patch without target names no object.
    #[error("spec.kustomize.patches[{index}]: {message}")]
    NoMatch { index: usize, message: String },
    /// Applying the patch to an object failed.
    #[error("spec.kustomize.patches[{index}]: {message}")]
    Failed { index: usize, message: String },
}

impl Error {
    /// The status condition reason of this error.
    pub fn reason(&self) -> &'static str {
        crate::api::reason::BUILD_FAILED
    }

    /// The index of the offending patch in `spec.kustomize.patches`.
    pub fn index(&self) -> usize {
        match self {
            Error::InvalidPatch { index, .. }
            | Error::InvalidTarget { index, .. }
            | Error::NoMatch { index, .. }
            | Error::Failed { index, .. } => *index,
        }
    }
}

struct Compiled {
    body: PatchBody,
    target: Option<Target>,
}

fn compile(index: usize, patch: &Patch) -> Result<Compiled, Error> {
    let body =
        parse::parse(&patch.patch, patch.target.is_some()).map_err(|message| Error::InvalidPatch { index, message })?;
    let target = patch
        .target
        .as_ref()
        .map(Target::compile)
        .transpose()
        .map_err(|message| Error::InvalidTarget { index, message })?;
    Ok(Compiled { body, target })
}

/// Bookkeeping across the patches of one call.
struct Work<'a> {
    objects: &'a mut [Value],
    /// The objects as they were before this call, for those a patch touched.
    originals: Vec<(usize, Value)>,
    /// kustomize remembers an object's identities before each JSON patch; the first is its
    /// original identity, which targets may still name.
    previous_ids: Vec<Vec<ObjectId>>,
}

impl Work<'_> {
    fn live(&self) -> impl Iterator<Item = usize> + '_ {
        self.objects
            .iter()
            .enumerate()
            .filter(|(_, o)| o.is_object())
            .map(|(i, _)| i)
    }

    fn select(&self, target: &Target) -> Vec<usize> {
        self.live()
            .filter(|&i| target.matches(&self.objects[i], self.previous_ids[i].first()))
            .collect()
    }

    /// Takes the object out for patching, remembering how it was.
    fn take(&mut self, i: usize) -> Value {
        if !self.originals.iter().any(|(j, _)| *j == i) {
            self.originals.push((i, self.objects[i].clone()));
        }
        std::mem::take(&mut self.objects[i])
    }

    fn restore(&mut self) {
        for (i, original) in self.originals.drain(..) {
            self.objects[i] = original;
        }
    }

    fn apply(&mut self, index: usize, compiled: &Compiled) -> Result<(), Error> {
        let failed = |message: String| Error::Failed { index, message };
        match (&compiled.body, &compiled.target) {
            (PatchBody::Strategic(objects), None) => {
                for patch_object in objects {
                    let id = ObjectId::of(patch_object);
                    let found: Vec<usize> = self
                        .live()
                        .filter(|&i| {
                            let current = ObjectId::of(&self.objects[i]);
                            self.previous_ids[i]
                                .iter()
                                .chain([&current])
                                .any(|known| known.same_as(&id))
                        })
                        .collect();
                    match found[..] {
                        [i] => self.merge_into(i, patch_object, false).map_err(failed)?,
                        [] => {
                            return Err(Error::NoMatch {
                                index,
                                message: format!(
                                    "no object is the patch's {id} (apiVersion {:?}); a patch without target applies \
                                     to the object of the same apiVersion, kind, name and namespace",
                                    id.api_version
                                ),
                            });
                        }
                        _ => return Err(failed(format!("several objects are the patch's {id}"))),
                    }
                }
            }
            (body, Some(target)) => {
                // A target that selects nothing is no error, for kustomize and upstream alike.
                for i in self.select(target) {
                    match body {
                        PatchBody::Strategic(objects) => {
                            for patch_object in objects {
                                self.merge_into(i, patch_object, true).map_err(failed)?;
                            }
                        }
                        PatchBody::Json6902(ops) => self.apply_operations(i, ops).map_err(failed)?,
                    }
                }
            }
            (PatchBody::Json6902(_), None) => {
                return Err(Error::InvalidPatch {
                    index,
                    message: "a JSON 6902 patch needs a target".to_string(),
                });
            }
        }
        Ok(())
    }

    fn merge_into(&mut self, i: usize, patch_object: &Value, targeted: bool) -> Result<(), String> {
        let object = self.take(i);
        let id = ObjectId::of(&object);
        let patch = if targeted {
            retargeted(patch_object, &object)
        } else {
            patch_object.clone()
        };
        let kind = object.get("kind").cloned();
        match strategic_merge::merge(object, &patch).map_err(|e| format!("merging into {id}: {e}"))? {
            Merged::Deleted => self.objects[i] = Value::Null,
            Merged::Unchanged(object) => self.objects[i] = object,
            Merged::Object(mut merged) => {
                restore_identity(&mut merged, kind, &id);
                normalize_annotations(&mut merged);
                self.objects[i] = merged;
            }
        }
        Ok(())
    }

    fn apply_operations(&mut self, i: usize, ops: &[json6902::Operation]) -> Result<(), String> {
        let id = ObjectId::of(&self.objects[i]);
        self.previous_ids[i].push(id.clone());
        let mut object = self.take(i);
        json6902::apply(&mut object, ops).map_err(|e| format!("on {id}: {e}"))?;
        if !object.is_object() {
            return Err(format!("on {id}: the patched object is no longer an object"));
        }
        normalize_annotations(&mut object);
        self.objects[i] = object;
        Ok(())
    }
}

/// kustomize merges a targeted patch as if it were written for the object: it takes the
/// object's apiVersion, and its labels and annotations are read as maps of strings (so `null`
/// becomes the string "null", and an empty map disappears).
fn retargeted(patch: &Value, object: &Value) -> Value {
    let mut patch = patch.clone();
    let Value::Object(map) = &mut patch else { return patch };
    match object.get("apiVersion") {
        Some(v) => {
            map.insert("apiVersion".to_string(), v.clone());
        }
        None => {
            map.remove("apiVersion");
        }
    }
    if let Some(Value::Object(metadata)) = map.get_mut("metadata") {
        for field in ["labels", "annotations"] {
            let strings: Option<Map<String, Value>> = match metadata.get(field) {
                Some(Value::Object(m)) if !m.is_empty() => Some(
                    m.iter()
                        .map(|(k, v)| (k.clone(), Value::String(scalar_text(v))))
                        .collect(),
                ),
                _ => None,
            };
            match strings {
                Some(m) => {
                    metadata.insert(field.to_string(), Value::Object(m));
                }
                None => {
                    metadata.remove(field);
                }
            }
        }
    }
    patch
}

/// A strategic merge cannot change what the object is: kustomize puts its kind, name and
/// namespace back afterwards.
fn restore_identity(object: &mut Value, kind: Option<Value>, id: &ObjectId) {
    let Value::Object(map) = object else { return };
    if let Some(kind) = kind {
        map.insert("kind".to_string(), kind);
    }
    let metadata = map.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !metadata.is_object() {
        *metadata = Value::Object(Map::new());
    }
    if let Value::Object(metadata) = metadata {
        metadata.insert("name".to_string(), Value::String(id.name.clone()));
        if id.namespace.is_empty() {
            metadata.remove("namespace");
        } else {
            metadata.insert("namespace".to_string(), Value::String(id.namespace.clone()));
        }
    }
}

/// kustomize keeps annotations as a map of strings and drops an empty one; a patched object's
/// annotations get the same treatment (an annotation that is not a string would be refused by
/// the API server anyway).
fn normalize_annotations(object: &mut Value) {
    let Some(Value::Object(metadata)) = object.get_mut("metadata") else {
        return;
    };
    match metadata.get_mut("annotations") {
        Some(Value::Object(annotations)) if !annotations.is_empty() => {
            for v in annotations.values_mut() {
                if !v.is_string() {
                    *v = Value::String(scalar_text(v));
                }
            }
        }
        Some(_) => {
            metadata.remove("annotations");
        }
        None => {}
    }
}

/// Applies every patch, in order, to the objects it targets. All or nothing: on error the
/// objects are left as they were.
///
/// An object that a patch deletes (`$patch: delete` at the top of a strategic-merge patch) is
/// replaced by `Value::Null`; entries that are not objects are ignored by later patches.
/// [`apply_patches_to_vec`] removes them.
pub fn apply_patches(objects: &mut [Value], patches: &[Patch]) -> Result<(), Error> {
    apply_patches_with_origins(objects, patches, &[])
}

/// [`apply_patches`] for objects that had other identities before: `origins[i]` lists the
/// identities (objects with apiVersion, kind, metadata name and namespace) that
/// `objects[i]` had, first the original. As kustomize's, targets match an object by its
/// original or current name and namespace, and a patch without target by any identity.
pub fn apply_patches_with_origins(
    objects: &mut [Value],
    patches: &[Patch],
    origins: &[Vec<Value>],
) -> Result<(), Error> {
    if patches.is_empty() {
        return Ok(());
    }
    let compiled = patches
        .iter()
        .enumerate()
        .map(|(i, p)| compile(i, p))
        .collect::<Result<Vec<_>, _>>()?;
    let previous_ids = (0..objects.len())
        .map(|i| {
            origins
                .get(i)
                .map(|ids| ids.iter().map(ObjectId::of).collect())
                .unwrap_or_default()
        })
        .collect();
    let mut work = Work {
        objects,
        originals: Vec::new(),
        previous_ids,
    };
    for (index, compiled) in compiled.iter().enumerate() {
        if let Err(e) = work.apply(index, compiled) {
            work.restore();
            return Err(e);
        }
    }
    Ok(())
}

/// [`apply_patches`], then drops the objects the patches deleted.
pub fn apply_patches_to_vec(objects: &mut Vec<Value>, patches: &[Patch]) -> Result<(), Error> {
    apply_patches(objects, patches)?;
    objects.retain(|o| !o.is_null());
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::api::PatchTarget;

    fn deployment(name: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "flux-system", "labels": {"app": name}},
            "spec": {"template": {"spec": {"containers": [{"name": "manager", "args": ["--log-level=info"]}]}}},
        })
    }

    fn objects() -> Vec<Value> {
        vec![
            deployment("kustomize-controller"),
            deployment("helm-controller"),
            json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "webhook", "namespace": "flux-system"}}),
        ]
    }

    fn patch(text: &str, target: Option<PatchTarget>) -> Patch {
        Patch {
            patch: text.to_string(),
            target,
        }
    }

    fn kind(kind: &str) -> Option<PatchTarget> {
        Some(PatchTarget {
            kind: Some(kind.to_string()),
            ..Default::default()
        })
    }

    #[test]
    fn no_patches_change_nothing() {
        let mut objs = objects();
        apply_patches(&mut objs, &[]).expect("ok");
        assert_eq!(objs, objects());
    }

    #[test]
    fn json_patch_on_regex_target() {
        let mut objs = objects();
        let target = PatchTarget {
            kind: Some("Deployment".into()),
            name: Some("(kustomize|helm)-controller".into()),
            ..Default::default()
        };
        let p = patch(
            "- op: add\n  path: /spec/template/spec/containers/0/args/-\n  value: --concurrent=20\n",
            Some(target),
        );
        apply_patches(&mut objs, &[p]).expect("applies");
        for d in &objs[..2] {
            assert_eq!(
                d["spec"]["template"]["spec"]["containers"][0]["args"],
                json!(["--log-level=info", "--concurrent=20"])
            );
        }
        assert_eq!(objs[2], objects()[2]);
    }

    #[test]
    fn strategic_merge_with_target_ignores_the_patch_name() {
        let mut objs = objects();
        let p = patch(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: all\nspec:\n  replicas: 2\n",
            kind("Deployment"),
        );
        apply_patches(&mut objs, &[p]).expect("applies");
        assert_eq!(objs[0]["spec"]["replicas"], json!(2));
        assert_eq!(objs[0]["metadata"]["name"], json!("kustomize-controller"));
        assert_eq!(objs[1]["spec"]["replicas"], json!(2));
    }

    #[test]
    fn strategic_merge_without_target_needs_the_identity() {
        let mut objs = objects();
        let p = patch(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm-controller\n  namespace: flux-system\nspec:\n  replicas: 3\n",
            None,
        );
        apply_patches(&mut objs, &[p]).expect("applies");
        assert_eq!(objs[1]["spec"]["replicas"], json!(3));
        assert!(objs[0]["spec"].get("replicas").is_none());
    }

    #[test]
    fn patches_apply_in_order() {
        let mut objs = objects();
        let first = patch(
            "[{\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 1}]",
            kind("Deployment"),
        );
        let second = patch(
            "[{\"op\": \"replace\", \"path\": \"/spec/replicas\", \"value\": 5}]",
            kind("Deployment"),
        );
        apply_patches(&mut objs, &[first, second]).expect("applies");
        assert_eq!(objs[0]["spec"]["replicas"], json!(5));
    }

    #[test]
    fn delete_removes_the_object() {
        let mut objs = objects();
        let p = patch(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: webhook\n  namespace: flux-system\n$patch: delete\n",
            None,
        );
        apply_patches(&mut objs, std::slice::from_ref(&p)).expect("applies");
        assert!(objs[2].is_null());
        let mut objs = objects();
        apply_patches_to_vec(&mut objs, &[p]).expect("applies");
        assert_eq!(objs.len(), 2);
    }

    fn error(objs: &mut [Value], patches: &[Patch]) -> Error {
        let before = objs.to_vec();
        let e = apply_patches(objs, patches).expect_err("fails");
        assert_eq!(objs, &before[..], "all or nothing");
        e
    }

    #[test]
    fn error_not_an_object_nor_operations() {
        let e = error(&mut objects(), &[patch("just: [text", kind("Deployment"))]);
        assert!(matches!(e, Error::InvalidPatch { index: 0, .. }));
        let e = error(&mut objects(), &[patch("replicas: 2\n", kind("Deployment"))]);
        assert!(
            e.to_string()
                .starts_with("spec.kustomize.patches[0]: the patch is neither a strategic-merge patch"),
            "{e}"
        );
    }

    #[test]
    fn error_op_on_missing_path() {
        let ok = patch(
            "[{\"op\": \"add\", \"path\": \"/spec/replicas\", \"value\": 1}]",
            kind("Deployment"),
        );
        let bad = patch(
            "- op: replace\n  path: /spec/strategy/type\n  value: Recreate\n",
            kind("Deployment"),
        );
        let e = error(&mut objects(), &[ok, bad]);
        assert_eq!(
            e.to_string(),
            "spec.kustomize.patches[1]: on Deployment flux-system/kustomize-controller: operation 0 (replace \
             \"/spec/strategy/type\"): path \"/spec/strategy/type\" does not exist"
        );
        assert!(matches!(e, Error::Failed { index: 1, .. }));
    }

    #[test]
    fn target_matching_nothing_does_nothing() {
        let target = PatchTarget {
            kind: Some("Deployment".into()),
            name: Some("image-.*".into()),
            ..Default::default()
        };
        let mut objs = objects();
        apply_patches(
            &mut objs,
            &[patch("[{\"op\": \"remove\", \"path\": \"/spec\"}]", Some(target))],
        )
        .expect("no object selected is no error");
        assert_eq!(objs, objects());
    }

    #[test]
    fn error_untargeted_patch_matching_nothing() {
        let untargeted = patch(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: helm-controller\nspec: {}\n",
            None,
        );
        let e = error(&mut objects(), &[untargeted]);
        assert!(
            e.to_string()
                .contains("no object is the patch's Deployment helm-controller"),
            "{e}"
        );
        assert!(matches!(e, Error::NoMatch { .. }));
    }

    #[test]
    fn error_bad_regex_in_target() {
        let target = PatchTarget {
            name: Some("(kustomize|helm-controller".into()),
            ..Default::default()
        };
        let e = error(
            &mut objects(),
            &[patch("[{\"op\": \"remove\", \"path\": \"/spec\"}]", Some(target))],
        );
        assert!(matches!(e, Error::InvalidTarget { index: 0, .. }));
        assert!(e.to_string().starts_with("spec.kustomize.patches[0]: target name \"(kustomize|helm-controller\" is not a valid regular expression"), "{e}");
    }

    #[test]
    fn error_bad_label_selector() {
        let target = PatchTarget {
            label_selector: Some("app in kustomize-controller".into()),
            ..Default::default()
        };
        let e = error(
            &mut objects(),
            &[patch("[{\"op\": \"remove\", \"path\": \"/spec\"}]", Some(target))],
        );
        assert!(matches!(e, Error::InvalidTarget { index: 0, .. }));
        assert!(
            e.to_string()
                .contains("target labelSelector \"app in kustomize-controller\" is not a valid selector"),
            "{e}"
        );
        assert_eq!(e.reason(), "BuildFailed");
    }

    #[test]
    fn error_merge_failure_names_the_object() {
        let p = patch(
            "kind: Deployment\nmetadata:\n  name: x\nspec:\n  template: oops\n",
            kind("Deployment"),
        );
        let e = error(&mut objects(), &[p]);
        assert_eq!(
            e.to_string(),
            "spec.kustomize.patches[0]: merging into Deployment flux-system/kustomize-controller: at spec.template: \
             cannot merge a scalar into a map"
        );
    }

    #[test]
    fn error_json_patch_without_target() {
        let e = error(&mut objects(), &[patch("- {op: remove, path: /spec}", None)]);
        assert_eq!(
            e.to_string(),
            "spec.kustomize.patches[0]: a JSON 6902 patch needs a target"
        );
    }

    #[test]
    fn targeted_metadata_maps_read_as_strings() {
        let mut objs = objects();
        let p = patch(
            "kind: X\nmetadata:\n  name: x\n  labels: {app: null, n: 7}\n",
            kind("Service"),
        );
        apply_patches(&mut objs, &[p]).expect("applies");
        assert_eq!(objs[2]["metadata"]["labels"], json!({"app": "null", "n": "7"}));
    }

    #[test]
    fn later_targets_see_original_names() {
        let mut objs = objects();
        let rename = patch(
            "[{\"op\": \"replace\", \"path\": \"/metadata/name\", \"value\": \"hooks\"}]",
            kind("Service"),
        );
        let by_old_name = patch(
            "[{\"op\": \"add\", \"path\": \"/metadata/labels\", \"value\": {\"a\": \"b\"}}]",
            Some(PatchTarget {
                name: Some("webhook".into()),
                ..Default::default()
            }),
        );
        apply_patches(&mut objs, &[rename, by_old_name]).expect("applies");
        assert_eq!(
            objs[2]["metadata"],
            json!({"name": "hooks", "namespace": "flux-system", "labels": {"a": "b"}})
        );
    }
}
