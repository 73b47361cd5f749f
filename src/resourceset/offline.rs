//! `build resourceset`: a ResourceSet rendered offline, as the operator would apply it,
//! from the texts of its file and, optionally, an inputs file (a YAML list of input sets
//! that stands for every input of the set) or a file of Static providers (their exported
//! inputs computed as the operator does; without a UID the name stands for it).

use kube::ResourceExt;
use serde_json::Value;

use super::build::{Build, BuildError, build};
use super::exported;
use super::inputs::InputsError;
use super::selection::{self, SelectError};
use super::template::yaml::json_to_yaml;
use crate::api::{InputSet, ProviderType, ResourceSet, ResourceSetInputProvider, ResourceSetInputProviderStatus};
use crate::text::shorten;

/// Where the inputs of an offline build come from, besides the set's own.
#[derive(Debug, Clone, Copy, Default)]
pub struct Offline<'a> {
    /// `--inputs-from`: a YAML list of input sets.
    pub inputs: Option<&'a str>,
    /// `--inputs-from-provider`: YAML documents of Static providers.
    pub providers: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("{what}: {source}")]
    Parse {
        what: &'static str,
        #[source]
        source: crate::yaml::Error,
    },
    #[error("{what}: {problem}")]
    Invalid { what: &'static str, problem: String },
    #[error("the ResourceSet has spec.inputsFrom: give its inputs with --inputs-from or --inputs-from-provider")]
    NeedsInputs,
    #[error("--inputs-from-provider: provider {name} is of type {type_}: only Static providers build offline")]
    NotStatic { name: String, type_: String },
    #[error("failed to compute inputs: {0}")]
    Select(#[from] SelectError),
    #[error("failed to compute inputs: {0}")]
    Inputs(#[from] InputsError),
    #[error("build failed: {0}")]
    Build(#[from] BuildError),
    #[error("cannot print the objects: {0}")]
    Print(String),
}

/// The objects of the ResourceSet in `set_text`.
pub fn build_offline(set_text: &str, from: Offline<'_>) -> Result<Build, OfflineError> {
    let mut set = parse_set(set_text)?;
    let providers = match (from.inputs, from.providers) {
        (Some(text), _) => {
            set.spec.inputs = parse_inputs(text)?;
            set.spec.inputs_from.clear();
            Vec::new()
        }
        (None, Some(text)) => parse_providers(text)?,
        (None, None) if !set.spec.inputs_from.is_empty() => return Err(OfflineError::NeedsInputs),
        (None, None) => Vec::new(),
    };
    let selected = selection::select(&set, providers.iter())?;
    let inputs = selection::set_inputs(&set, &selected)?;
    let (name, namespace) = (set.name_any(), set.namespace().unwrap_or_default());
    Ok(build(&name, &namespace, &set.spec, &inputs)?)
}

/// The objects as a multi-document YAML stream, each document started by `---` and
/// written as sigs.k8s.io/yaml writes it, each step's first one after a `# step: NAME`
/// comment: the text upstream's CLI prints.
pub fn print(built: &Build) -> Result<String, OfflineError> {
    let mut out = String::new();
    for step in &built.steps {
        if let Some(name) = &step.name {
            out.push_str(&format!("# step: {name}\n"));
        }
        for object in &step.objects {
            let doc = json_to_yaml(object).map_err(|e| OfflineError::Print(e.to_string()))?;
            out.push_str("---\n");
            out.push_str(&doc);
        }
    }
    Ok(out)
}

fn parse_set(text: &str) -> Result<ResourceSet, OfflineError> {
    let what = "the ResourceSet";
    let docs: Vec<Value> = crate::yaml::from_multi_str(text).map_err(|source| OfflineError::Parse { what, source })?;
    let [doc] = <[Value; 1]>::try_from(docs).map_err(|docs| OfflineError::Invalid {
        what,
        problem: format!("expected one ResourceSet document, found {}", docs.len()),
    })?;
    let kind = (doc["apiVersion"].as_str(), doc["kind"].as_str());
    if kind != (Some("fluxcd.controlplane.io/v1"), Some("ResourceSet")) {
        let found = format!("{}/{}", doc["apiVersion"], doc["kind"]);
        let problem = format!(
            "apiVersion/kind {}: expected fluxcd.controlplane.io/v1 ResourceSet",
            shorten(&found)
        );
        return Err(OfflineError::Invalid { what, problem });
    }
    let mut set: ResourceSet = serde_json::from_value(doc).map_err(|e| invalid(what, &e))?;
    if set.metadata.name.as_deref().unwrap_or_default().is_empty() {
        return Err(OfflineError::Invalid {
            what,
            problem: "metadata.name: required field is missing".into(),
        });
    }
    set.metadata.namespace.get_or_insert_with(|| "default".to_owned());
    Ok(set)
}

fn parse_inputs(text: &str) -> Result<Vec<InputSet>, OfflineError> {
    let what = "--inputs-from";
    let doc: Value = crate::yaml::from_str(text).map_err(|source| OfflineError::Parse { what, source })?;
    serde_json::from_value(doc).map_err(|e| OfflineError::Invalid {
        what,
        problem: format!("expected a list of input sets (objects): {}", shorten(&e.to_string())),
    })
}

/// The Static providers of `text`, with the inputs the operator would export for them.
fn parse_providers(text: &str) -> Result<Vec<ResourceSetInputProvider>, OfflineError> {
    let what = "--inputs-from-provider";
    let docs: Vec<Value> = crate::yaml::from_multi_str(text).map_err(|source| OfflineError::Parse { what, source })?;
    let mut providers = Vec::with_capacity(docs.len());
    for doc in docs {
        let mut provider: ResourceSetInputProvider = serde_json::from_value(doc).map_err(|e| invalid(what, &e))?;
        let name = provider.name_any();
        if provider.spec.type_ != ProviderType::Static {
            let type_ = serde_json::to_value(provider.spec.type_).unwrap_or_default();
            let type_ = type_.as_str().unwrap_or_default().to_owned();
            return Err(OfflineError::NotStatic { name, type_ });
        }
        provider.metadata.namespace.get_or_insert_with(|| "default".to_owned());
        let uid = provider.uid().unwrap_or_else(|| name.clone());
        let sets = exported::static_inputs(&uid, provider.spec.default_values.as_ref());
        provider.status = Some(ResourceSetInputProviderStatus {
            exported_inputs: sets,
            ..ResourceSetInputProviderStatus::default()
        });
        providers.push(provider);
    }
    Ok(providers)
}

fn invalid(what: &'static str, error: &serde_json::Error) -> OfflineError {
    OfflineError::Invalid {
        what,
        problem: shorten(&error.to_string()).into_owned(),
    }
}

#[cfg(test)]
#[path = "offline_tests.rs"]
mod tests;
