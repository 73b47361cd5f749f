//! What a patch may leave behind: objects the API server can take (an apiVersion, a kind and
//! a name, one object per identity), and no more bytes than the limits of
//! [`crate::build::size`].

use std::collections::HashMap;

use serde_json::Value;

use super::Error;
use super::target::ObjectId;
use crate::build::size::{OBJECT_LIMIT, RENDER_LIMIT, human, json_size};

/// The last patch that changed an object, and the object's identity before the patches.
#[derive(Debug, Clone)]
pub(crate) struct Touched {
    pub(crate) patch: usize,
    pub(crate) was: ObjectId,
}

/// A limit a patch went over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    #[error(
        "its copy operations copy more than {} into the object",
        human(crate::build::size::COPY_LIMIT)
    )]
    Copy,
    #[error("the patched object is larger than {}", human(OBJECT_LIMIT))]
    Object,
    #[error("the patched objects are larger than {} together", human(RENDER_LIMIT))]
    Render,
}

/// What is wrong with an object a patch left.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// `apiVersion`, `kind` or `metadata.name` is missing, empty or not a string.
    #[error("has no {0} after the patch")]
    Missing(&'static str),
    /// Another object has the same apiVersion group, kind, name and namespace.
    #[error("becomes {0}, which another object is too")]
    Duplicate(String),
}

/// The sizes of the objects under patching, to stop a patch that grows one or all of them
/// past the limits.
pub(crate) struct Sizes {
    each: Vec<usize>,
    total: usize,
}

impl Sizes {
    pub(crate) fn of(objects: &[Value]) -> Sizes {
        let each: Vec<usize> = objects.iter().map(|o| json_size(o, usize::MAX).unwrap_or(0)).collect();
        let total = each.iter().sum();
        Sizes { each, total }
    }

    /// Records object `i` as patched now.
    pub(crate) fn update(&mut self, i: usize, object: &Value) -> Result<(), Limit> {
        let size = json_size(object, OBJECT_LIMIT).ok_or(Limit::Object)?;
        self.total = self.total - self.each[i] + size;
        self.each[i] = size;
        if self.total > RENDER_LIMIT {
            return Err(Limit::Render);
        }
        Ok(())
    }
}

fn missing_field(object: &Value) -> Option<&'static str> {
    let text = |v: Option<&Value>| v.and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !text(object.get("apiVersion")) {
        Some("apiVersion")
    } else if !text(object.get("kind")) {
        Some("kind")
    } else if !text(object.pointer("/metadata/name")) {
        Some("metadata.name")
    } else {
        None
    }
}

/// kustomize's identity of an object: `ResId.Equals` as a key.
fn key(id: &ObjectId) -> (String, String, String, String) {
    (
        id.group_version().0.to_owned(),
        id.kind.clone(),
        id.name.clone(),
        id.effective_namespace().to_owned(),
    )
}

/// Refuses patched objects that lack what every object needs, and two objects with one
/// identity (kustomize refuses both too, but for a missing apiVersion). `touched[i]` is
/// `Some` for the objects the patches changed; `null` entries are deleted objects.
pub(crate) fn patched(objects: &[Value], touched: &[Option<Touched>]) -> Result<(), Error> {
    let invalid = |t: &Touched, problem| Error::InvalidObject {
        index: t.patch,
        object: t.was.to_string(),
        problem,
    };
    let mut seen: HashMap<_, usize> = HashMap::new();
    for (i, object) in objects.iter().enumerate().filter(|(_, o)| o.is_object()) {
        let touched_i = touched.get(i).and_then(Option::as_ref);
        if let Some(t) = touched_i
            && let Some(field) = missing_field(object)
        {
            return Err(invalid(t, Problem::Missing(field)));
        }
        let id = ObjectId::of(object);
        if let Some(&j) = seen.get(&key(&id)) {
            // Name the later patch of the two objects: the earlier one alone was fine.
            let blamed = [touched_i, touched.get(j).and_then(Option::as_ref)]
                .into_iter()
                .flatten()
                .max_by_key(|t| t.patch);
            if let Some(t) = blamed {
                return Err(invalid(t, Problem::Duplicate(id.to_string())));
            }
        }
        seen.insert(key(&id), i);
    }
    Ok(())
}
