//! One step's templates rendered into objects, in build order: each `resources` item for
//! each input set, then `resourcesTemplate` for each input set.

use serde_json::Value;

use crate::api::InputSet;
use crate::resourceset::inputs::{ID_KEY, Inputs};
use crate::resourceset::template::{self, Template, yaml::json_to_yaml_unfolded};

use super::error::{BuildError, InputRef, Location, TemplateRef};
use super::{MAX_BUILD_BYTES, MAX_OBJECTS, MAX_RENDERS};

/// The templates of one step (the spec itself when there are no steps).
pub(super) struct StepTemplates<'a> {
    pub name: Option<&'a str>,
    pub resources: &'a [Value],
    pub template: Option<&'a str>,
}

/// What the whole build has spent of its limits.
#[derive(Debug, Default)]
pub(super) struct Usage {
    objects: usize,
    bytes: usize,
    renders: usize,
}

impl Usage {
    fn render(&mut self, at: &Location) -> Result<(), BuildError> {
        self.renders += 1;
        if self.renders > MAX_RENDERS {
            return Err(BuildError::TooManyRenders { at: at.clone() });
        }
        Ok(())
    }

    fn output(&mut self, bytes: usize, at: &Location) -> Result<(), BuildError> {
        self.bytes += bytes;
        if self.bytes > MAX_BUILD_BYTES {
            return Err(BuildError::TooLarge { at: at.clone() });
        }
        Ok(())
    }

    fn objects(&mut self, count: usize, at: &Location) -> Result<(), BuildError> {
        self.objects += count;
        if self.objects > MAX_OBJECTS {
            return Err(BuildError::TooManyObjects { at: at.clone() });
        }
        Ok(())
    }
}

/// The input sets to render with, each with how errors name it.
fn input_sets(inputs: &Inputs) -> Vec<(InputRef, Option<&InputSet>)> {
    match inputs {
        Inputs::Nil => vec![(InputRef::None, None)],
        Inputs::Sets(sets) => sets
            .iter()
            .enumerate()
            .map(|(i, set)| {
                let input = match set.get(ID_KEY) {
                    Some(Value::String(id)) => InputRef::Id(id.clone()),
                    Some(Value::Number(id)) => InputRef::Id(id.to_string()),
                    _ => InputRef::Index(i),
                };
                (input, Some(set))
            })
            .collect(),
    }
}

pub(super) fn render_step(step: &StepTemplates, inputs: &Inputs, usage: &mut Usage) -> Result<Vec<Value>, BuildError> {
    let sets = input_sets(inputs);
    let locate = |template: TemplateRef, input: &InputRef| Location {
        step: step.name.map(str::to_owned),
        template,
        input: input.clone(),
    };
    let mut objects = Vec::new();
    for (index, item) in step.resources.iter().enumerate() {
        let which = TemplateRef::Resource(index);
        let text = json_to_yaml_unfolded(item).map_err(|e| BuildError::ToYaml {
            at: locate(which, &InputRef::None),
            reason: Box::new(e),
        })?;
        let parsed = parse(&text, "resource", &locate(which, &InputRef::None))?;
        for (input, set) in &sets {
            let at = locate(which, input);
            let out = render(&parsed, *set, &at, usage)?;
            let object = one_object(&out, &at)?;
            usage.objects(1, &at)?;
            objects.push(object);
        }
    }
    if let Some(text) = step.template {
        let which = TemplateRef::ResourcesTemplate;
        let parsed = parse(text, "resourcesTemplate", &locate(which, &InputRef::None))?;
        for (input, set) in &sets {
            let at = locate(which, input);
            let out = render(&parsed, *set, &at, usage)?;
            let docs = documents(&out, &at)?;
            usage.objects(docs.len(), &at)?;
            objects.extend(docs);
        }
    }
    Ok(objects)
}

fn parse(text: &str, name: &str, at: &Location) -> Result<Template, BuildError> {
    Template::parse(name, text).map_err(|error| BuildError::Template {
        at: at.clone(),
        error: Box::new(error),
    })
}

fn render(template: &Template, set: Option<&InputSet>, at: &Location, usage: &mut Usage) -> Result<String, BuildError> {
    usage.render(at)?;
    let out = template.render(set).map_err(|error| BuildError::Template {
        at: at.clone(),
        error: Box::new(error),
    })?;
    usage.output(out.len(), at)?;
    Ok(out)
}

/// The parser's first line: the rest is a drawing of the input around the fault.
fn not_yaml(error: crate::yaml::Error, at: &Location) -> BuildError {
    let reason = match error {
        crate::yaml::Error::Parse(m) | crate::yaml::Error::Serialize(m) => m,
    };
    let first = reason.lines().next().unwrap_or_default().to_owned();
    BuildError::NotYaml {
        at: at.clone(),
        reason: template::shorten_message(first),
    }
}

/// A rendered `resources` item: exactly one object with an identity.
fn one_object(out: &str, at: &Location) -> Result<Value, BuildError> {
    let value: Value = crate::yaml::from_str(out).map_err(|e| not_yaml(e, at))?;
    if !value.is_object() {
        return Err(BuildError::NotAnObject { at: at.clone() });
    }
    if !has_identity(&value) {
        return Err(BuildError::NoIdentity { at: at.clone() });
    }
    Ok(value)
}

/// A rendered `resourcesTemplate`: its documents with Lists expanded, keeping only objects
/// with an identity that are not kustomize's own Kustomization files.
fn documents(out: &str, at: &Location) -> Result<Vec<Value>, BuildError> {
    let docs: Vec<Value> = crate::yaml::from_multi_str_up_to(out, MAX_OBJECTS + 1).map_err(|e| not_yaml(e, at))?;
    let mut objects = Vec::with_capacity(docs.len());
    for doc in docs {
        match doc {
            Value::Object(mut map) if is_list(&map) => {
                if let Some(Value::Array(items)) = map.remove("items") {
                    objects.extend(items);
                }
            }
            other => objects.push(other),
        }
    }
    objects.retain(|o| has_identity(o) && !is_kustomize_config(o));
    Ok(objects)
}

fn is_list(map: &serde_json::Map<String, Value>) -> bool {
    map.get("kind")
        .and_then(Value::as_str)
        .is_some_and(|k| k.ends_with("List"))
        && map.get("items").is_some_and(Value::is_array)
}

fn non_empty_str(value: Option<&Value>) -> bool {
    value.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

fn has_identity(obj: &Value) -> bool {
    non_empty_str(obj.get("apiVersion"))
        && non_empty_str(obj.get("kind"))
        && non_empty_str(obj.pointer("/metadata/name"))
}

/// A `kustomization.yaml` that slipped into the template: kustomize's config, not an object.
fn is_kustomize_config(obj: &Value) -> bool {
    let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
    api_version.split('/').next() == Some("kustomize.config.k8s.io")
        && obj.get("kind").and_then(Value::as_str) == Some("Kustomization")
}
