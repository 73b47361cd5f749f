//! The build of a ResourceSet (SPEC-resourceset §11.5), pure: spec and input sets in,
//! objects per step out.
//!
//! - Each `resources` item is written as YAML (sorted keys, block style, lists not
//!   indented under their key, strings plain whenever YAML allows, multi-line strings as
//!   literal blocks, no folding), rendered once per input set and read back as exactly one
//!   object, which must have apiVersion, kind and metadata.name. Users rely on the YAML
//!   form: `replicas: << inputs.n | int >>` gives an integer, and `<< x | toYaml |
//!   nindent 4 >>` under a key nests.
//! - `resourcesTemplate` is rendered once per input set into documents; `List`s are
//!   expanded; documents without apiVersion, kind or metadata.name and kustomize's
//!   `kustomize.config.k8s.io` Kustomizations are dropped silently.
//! - Order: each `resources` item for each input set, then `resourcesTemplate` for each
//!   input set. Objects annotated `fluxcd.controlplane.io/reconcile: disabled` are dropped,
//!   then duplicates by group/kind/namespace/name (the version does not count): the first
//!   wins, so `resources` beats `resourcesTemplate`. Both rules hold with nil inputs too
//!   (upstream skips them for `resources` there, §15).
//! - [`Inputs::Nil`] renders each template once with nil inputs; no input sets build
//!   nothing.
//! - Steps build independently with the same inputs; one object in two steps fails.
//! - Every object gets `commonMetadata`, then the owner labels (last, so that garbage
//!   collection can rely on them). No namespace is defaulted.
//! - The spec rules that the CRD checks with CEL are checked again, for API servers that
//!   skip CEL.
//!
//! Bounded cost: the template engine bounds each render (output, work, nesting); a build
//! also stops past [`MAX_RENDERS`] renders, [`MAX_BUILD_BYTES`] of rendered text, and
//! [`MAX_OBJECTS`] objects (counted before the disabled drop and dedup).

mod error;
mod render;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::api::{CommonMetadata, ResourceSetSpec, annotation};
use crate::apply::ObjectId;
use crate::build::{labels, object, revision::write_canonical};

use super::inputs::Inputs;

pub use error::{BuildError, InputRef, Location, TemplateRef};
use render::{StepTemplates, Usage, render_step};

/// Most objects one build renders, across steps.
pub const MAX_OBJECTS: usize = 10_000;
/// Most rendered text one build produces, across steps.
pub const MAX_BUILD_BYTES: usize = 64 << 20;
/// Most template renders (templates × input sets) of one build.
pub const MAX_RENDERS: usize = 100_000;

/// The labels that tie a generated object to its ResourceSet.
pub const OWNER_NAME_LABEL: &str = "resourceset.fluxcd.controlplane.io/name";
pub const OWNER_NAMESPACE_LABEL: &str = "resourceset.fluxcd.controlplane.io/namespace";

/// The objects of one step; `name` is `None` for a set without steps.
#[derive(Debug, Clone, PartialEq)]
pub struct BuiltStep {
    pub name: Option<String>,
    pub timeout: Option<String>,
    pub objects: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Build {
    pub steps: Vec<BuiltStep>,
}

impl Build {
    /// Every object, in step order.
    pub fn objects(&self) -> impl Iterator<Item = &Value> {
        self.steps.iter().flat_map(|s| &s.objects)
    }
}

/// Builds the objects of the ResourceSet `name` in `namespace`.
pub fn build(name: &str, namespace: &str, spec: &ResourceSetSpec, inputs: &Inputs) -> Result<Build, BuildError> {
    check_spec(spec)?;
    let mut usage = Usage::default();
    let mut steps = Vec::new();
    for (plan, timeout) in plan(spec) {
        let objects = dedup(
            render_step(&plan, inputs, &mut usage)?
                .into_iter()
                .filter(|o| !disabled(o)),
        );
        steps.push(BuiltStep {
            name: plan.name.map(str::to_owned),
            timeout: timeout.map(str::to_owned),
            objects,
        });
    }
    check_across_steps(&steps)?;
    for step in &mut steps {
        stamp(&mut step.objects, spec.common_metadata.as_ref(), name, namespace);
    }
    Ok(Build { steps })
}

/// The steps to build, with their timeouts.
fn plan(spec: &ResourceSetSpec) -> Vec<(StepTemplates<'_>, Option<&str>)> {
    if spec.steps.is_empty() {
        let whole = StepTemplates {
            name: None,
            resources: &spec.resources,
            template: spec.resources_template.as_deref(),
        };
        return vec![(whole, None)];
    }
    spec.steps
        .iter()
        .map(|s| {
            let step = StepTemplates {
                name: Some(&s.name),
                resources: &s.resources,
                template: s.resources_template.as_deref(),
            };
            (step, s.timeout.as_deref())
        })
        .collect()
}

/// The CRD's CEL rules, for API servers that do not run them. An empty list counts as
/// absent, as in the rules.
fn check_spec(spec: &ResourceSetSpec) -> Result<(), BuildError> {
    let has_template = spec.resources_template.as_deref().is_some_and(|t| !t.is_empty());
    if !spec.steps.is_empty() && (!spec.resources.is_empty() || has_template) {
        return Err(BuildError::StepsWithResources);
    }
    if spec.steps.is_empty() && spec.resources.is_empty() && spec.resources_template.is_none() {
        return Err(BuildError::NothingToBuild);
    }
    let mut names = BTreeSet::new();
    for step in &spec.steps {
        if step.resources.is_empty() && step.resources_template.is_none() {
            return Err(BuildError::EmptyStep(step.name.clone()));
        }
        if !names.insert(step.name.as_str()) {
            return Err(BuildError::DuplicateStepName(step.name.clone()));
        }
    }
    Ok(())
}

/// Marked `fluxcd.controlplane.io/reconcile: disabled` (exactly; the set's own annotation is
/// case-insensitive, an object's is not).
fn disabled(obj: &Value) -> bool {
    obj.pointer("/metadata/annotations")
        .and_then(|a| a.get(annotation::RECONCILE))
        .and_then(Value::as_str)
        == Some(annotation::RECONCILE_DISABLED_VALUE)
}

/// group/kind/namespace/name: the version does not make another object.
fn identity(obj: &Value) -> Option<(String, String, String, String)> {
    ObjectId::from_object(obj).map(|id| (id.group, id.kind, id.namespace, id.name))
}

fn dedup(objects: impl Iterator<Item = Value>) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    objects
        .filter(|o| identity(o).is_some_and(|id| seen.insert(id)))
        .collect()
}

fn check_across_steps(steps: &[BuiltStep]) -> Result<(), BuildError> {
    let mut owner: BTreeMap<(String, String, String, String), &str> = BTreeMap::new();
    for step in steps {
        let step_name = step.name.as_deref().unwrap_or_default();
        for obj in &step.objects {
            let Some(id) = ObjectId::from_object(obj) else { continue };
            let key = (id.group.clone(), id.kind.clone(), id.namespace.clone(), id.name.clone());
            if let Some(first) = owner.insert(key, step_name) {
                return Err(BuildError::DuplicateAcrossSteps {
                    object: id.to_string(),
                    step: step_name.to_owned(),
                    first: first.to_owned(),
                });
            }
        }
    }
    Ok(())
}

fn stamp(objects: &mut [Value], common: Option<&CommonMetadata>, name: &str, namespace: &str) {
    labels::apply_common(objects, common);
    for obj in objects {
        object::set_label(obj, OWNER_NAME_LABEL, name);
        object::set_label(obj, OWNER_NAMESPACE_LABEL, namespace);
    }
}

/// `sha256:<hex>` over the objects, whatever their order: the sorted canonical JSON of
/// each, one per line. It changes exactly when an object does; no objects give the digest
/// of the empty text.
pub fn revision<'a>(objects: impl IntoIterator<Item = &'a Value>) -> String {
    let mut lines: Vec<Vec<u8>> = objects
        .into_iter()
        .map(|obj| {
            let mut line = Vec::new();
            write_canonical(obj, &mut line);
            line.push(b'\n');
            line
        })
        .collect();
    lines.sort();
    let mut hasher = Sha256::new();
    for line in &lines {
        hasher.update(line);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests;
