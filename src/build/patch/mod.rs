//! Kustomize-compatible patches for `spec.kustomize.patches`: the semantics of kustomize v5's
//! `patches:` field, checked against `kubectl kustomize` by `tests/kustomize_oracle.rs`.
//!
//! A patch is a strategic-merge patch (YAML objects, merged as kyaml does, see
//! [`strategic_merge`]) or a JSON 6902 patch (a YAML or JSON list of operations, see
//! [`json6902`]). With a target it applies to every object the target selects ([`target`]);
//! a strategic-merge patch without target applies to the object with its apiVersion, kind,
//! name and namespace, and is an error when there is none (as in kustomize); a patch with a
//! target that selects nothing does nothing (as in kustomize and the upstream operator).

mod check;
mod error;
mod json6902;
mod merge_keys;
mod normalize;
mod parse;
mod selector;
mod strategic_merge;
mod target;

use serde_json::Value;

use self::check::{Sizes, Touched};
use self::normalize::{ensure_annotations, normalize_annotations, restore_identity, retargeted};
use self::parse::PatchBody;
use self::strategic_merge::Merged;
use self::target::{ObjectId, Target};
use crate::api::PatchSpec;

pub use self::check::{Limit, Problem};
pub use self::error::{Error, Failure};
pub use self::json6902::{OpError, OpFailure};
pub use self::parse::{ObjectsError, OperationsError, ParseError};
pub use self::selector::{RequirementError, SelectorError};
pub use self::strategic_merge::{ElementError, MergeError};
pub use self::target::TargetError;

struct Compiled {
    body: PatchBody,
    target: Option<Target>,
}

fn compile(index: usize, patch: &PatchSpec) -> Result<Compiled, Error> {
    let body =
        parse::parse(&patch.patch, patch.target.is_some()).map_err(|source| Error::InvalidPatch { index, source })?;
    let target = patch
        .target
        .as_ref()
        .map(Target::compile)
        .transpose()
        .map_err(|source| Error::InvalidTarget { index, source })?;
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
    /// The patch being applied.
    index: usize,
    /// Which objects the patches changed, and what they were.
    touched: Vec<Option<Touched>>,
    sizes: Sizes,
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
        let patch = self.index;
        let was = self.touched[i]
            .take()
            .map_or_else(|| ObjectId::of(&self.objects[i]), |t| t.was);
        self.touched[i] = Some(Touched { patch, was });
        std::mem::take(&mut self.objects[i])
    }

    /// Counts the size of object `i` after the current patch changed it.
    fn measure(&mut self, i: usize, id: &ObjectId) -> Result<(), Error> {
        self.sizes.update(i, &self.objects[i]).map_err(|limit| Error::TooLarge {
            index: self.index,
            object: id.to_string(),
            limit,
        })
    }

    fn restore(&mut self) {
        for (i, original) in self.originals.drain(..) {
            self.objects[i] = original;
        }
    }

    fn apply(&mut self, index: usize, compiled: &Compiled) -> Result<(), Error> {
        self.index = index;
        let failed = |source: Failure| Error::Failed { index, source };
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
                        [i] => self.merge_into(i, patch_object, false)?,
                        [] => {
                            return Err(Error::NoMatch {
                                index,
                                object: id.to_string(),
                                api_version: id.api_version,
                            });
                        }
                        _ => return Err(failed(Failure::SeveralObjects { object: id.to_string() })),
                    }
                }
            }
            (body, Some(target)) => {
                // A target that selects nothing is no error, for kustomize and upstream alike.
                for i in self.select(target) {
                    match body {
                        PatchBody::Strategic(objects) => {
                            for patch_object in objects {
                                self.merge_into(i, patch_object, true)?;
                            }
                        }
                        PatchBody::Json6902(ops) => self.apply_operations(i, ops)?,
                    }
                }
            }
            (PatchBody::Json6902(_), None) => {
                return Err(Error::InvalidPatch {
                    index,
                    source: ParseError::NoTarget,
                });
            }
        }
        Ok(())
    }

    fn merge_into(&mut self, i: usize, patch_object: &Value, targeted: bool) -> Result<(), Error> {
        let object = self.take(i);
        let id = ObjectId::of(&object);
        let patch = if targeted {
            retargeted(patch_object, &object)
        } else {
            patch_object.clone()
        };
        let kind = object.get("kind").cloned();
        let merged = strategic_merge::merge(object, &patch).map_err(|source| Error::Failed {
            index: self.index,
            source: Failure::Merge {
                object: id.to_string(),
                source,
            },
        })?;
        match merged {
            Merged::Deleted => self.objects[i] = Value::Null,
            Merged::Unchanged(object) => self.objects[i] = object,
            Merged::Object(mut merged) => {
                restore_identity(&mut merged, kind, &id);
                normalize_annotations(&mut merged);
                self.objects[i] = merged;
            }
        }
        self.measure(i, &id)
    }

    fn apply_operations(&mut self, i: usize, ops: &[json6902::Operation]) -> Result<(), Error> {
        let index = self.index;
        let id = ObjectId::of(&self.objects[i]);
        self.previous_ids[i].push(id.clone());
        let mut object = self.take(i);
        // kustomize's own annotations are on every object while it applies a JSON patch, so
        // `/metadata/annotations/<key>` can be added to an object without annotations.
        ensure_annotations(&mut object);
        json6902::apply(&mut object, ops).map_err(|source| match source.failure {
            OpFailure::CopyLimit => Error::TooLarge {
                index,
                object: id.to_string(),
                limit: Limit::Copy,
            },
            _ => Error::Failed {
                index,
                source: Failure::Operation {
                    object: id.to_string(),
                    source: Box::new(source),
                },
            },
        })?;
        if !object.is_object() {
            return Err(Error::Failed {
                index,
                source: Failure::NotAnObject { object: id.to_string() },
            });
        }
        normalize_annotations(&mut object);
        self.objects[i] = object;
        self.measure(i, &id)
    }
}

/// Applies every patch, in order, to the objects it targets. All or nothing: on error the
/// objects are left as they were.
///
/// An object that a patch deletes (`$patch: delete` at the top of a strategic-merge patch) is
/// replaced by `Value::Null`; entries that are not objects are ignored by later patches.
/// [`apply_patches_to_vec`] removes them.
pub fn apply_patches(objects: &mut [Value], patches: &[PatchSpec]) -> Result<(), Error> {
    apply_patches_with_origins(objects, patches, &[]).map(drop)
}

/// [`apply_patches`] for objects that had other identities before: `origins[i]` lists the
/// identities (objects with apiVersion, kind, metadata name and namespace) that
/// `objects[i]` had, first the original. As kustomize's, targets match an object by its
/// original or current name and namespace, and a patch without target by any identity.
pub fn apply_patches_with_origins(
    objects: &mut [Value],
    patches: &[PatchSpec],
    origins: &[Vec<Value>],
) -> Result<Patched, Error> {
    if patches.is_empty() {
        return Ok(Patched { touched: Vec::new() });
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
        sizes: Sizes::of(objects),
        touched: vec![None; objects.len()],
        objects,
        originals: Vec::new(),
        previous_ids,
        index: 0,
    };
    let applied = compiled
        .iter()
        .enumerate()
        .try_for_each(|(index, compiled)| work.apply(index, compiled))
        .and_then(|()| check::patched(work.objects, &work.touched));
    if let Err(e) = applied {
        work.restore();
        return Err(e);
    }
    Ok(Patched { touched: work.touched })
}

/// Which objects the patches changed, to check them again after the builder has moved
/// them (into the instance namespace, where two objects may meet).
pub struct Patched {
    touched: Vec<Option<Touched>>,
}

impl Patched {
    /// Drops the objects the patches deleted (left as `null`) from `objects`.
    pub fn drop_deleted(&mut self, objects: &mut Vec<Value>) {
        self.touched.resize(objects.len(), None);
        let kept: Vec<bool> = objects.iter().map(Value::is_object).collect();
        objects.retain(Value::is_object);
        let mut kept = kept.into_iter();
        self.touched.retain(|_| kept.next().unwrap_or(false));
    }

    /// The checks [`apply_patches`] made, again.
    pub fn check(&self, objects: &[Value]) -> Result<(), Error> {
        check::patched(objects, &self.touched)
    }
}

/// [`apply_patches`], then drops the objects the patches deleted.
pub fn apply_patches_to_vec(objects: &mut Vec<Value>, patches: &[PatchSpec]) -> Result<(), Error> {
    apply_patches(objects, patches)?;
    objects.retain(|o| !o.is_null());
    Ok(())
}

#[cfg(test)]
mod tests;
