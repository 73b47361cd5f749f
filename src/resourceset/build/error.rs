use std::fmt;

use crate::resourceset::template;

use super::{MAX_BUILD_BYTES, MAX_OBJECTS, MAX_RENDERS};

/// Which template of which step, rendered with which input set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub step: Option<String>,
    pub template: TemplateRef,
    pub input: InputRef,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateRef {
    /// The `resources` item at this index.
    Resource(usize),
    ResourcesTemplate,
}

/// The input set a render used: its `id`, else its position; none for nil inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputRef {
    None,
    Id(String),
    Index(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(step) = &self.step {
            write!(f, "step {step:?} ")?;
        }
        match self.template {
            TemplateRef::Resource(i) => write!(f, "resources[{i}]")?,
            TemplateRef::ResourcesTemplate => f.write_str("resourcesTemplate")?,
        }
        match &self.input {
            InputRef::None => Ok(()),
            InputRef::Id(id) => write!(f, " with input set id {id}"),
            InputRef::Index(i) => write!(f, " with input set #{i}"),
        }
    }
}

/// Why a build failed; every message is one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("spec.steps is mutually exclusive with spec.resources and spec.resourcesTemplate")]
    StepsWithResources,
    #[error("one of spec.resources, spec.resourcesTemplate or spec.steps must be set")]
    NothingToBuild,
    #[error("step {0:?} sets neither resources nor resourcesTemplate")]
    EmptyStep(String),
    #[error("step name {0:?} is used more than once")]
    DuplicateStepName(String),
    #[error("{at}: cannot write the item as YAML: {reason}")]
    ToYaml {
        at: Location,
        #[source]
        reason: Box<crate::resourceset::template::funcs::FuncError>,
    },
    /// Boxed: the engine's error would double the size of every build result.
    #[error("{at}: {error}")]
    Template { at: Location, error: Box<template::Error> },
    #[error("{at}: the output is not YAML: {reason}")]
    NotYaml { at: Location, reason: String },
    #[error("{at}: the output is not one object")]
    NotAnObject { at: Location },
    #[error("{at}: the output lacks apiVersion, kind or metadata.name")]
    NoIdentity { at: Location },
    #[error("duplicate resource {object} in step {step:?}, already defined in step {first:?}")]
    DuplicateAcrossSteps {
        object: String,
        step: String,
        first: String,
    },
    #[error("the build exceeds {MAX_OBJECTS} objects (at {at})")]
    TooManyObjects { at: Location },
    #[error("the build exceeds {MAX_BUILD_BYTES} bytes of rendered text (at {at})")]
    TooLarge { at: Location },
    #[error("the build exceeds {MAX_RENDERS} template renders (at {at})")]
    TooManyRenders { at: Location },
}
