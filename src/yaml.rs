//! YAML in and out, on serde-saphyr (serde_yaml is archived).

use serde::Serialize;
use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid YAML: {0}")]
    Parse(String),
    #[error("cannot serialize to YAML: {0}")]
    Serialize(String),
}

/// Parses every document of a multi-document YAML stream, skipping empty ones.
pub fn from_multi_str<T: DeserializeOwned>(input: &str) -> Result<Vec<T>, Error> {
    let docs: Vec<Option<T>> = serde_saphyr::from_multiple(input).map_err(|e| Error::Parse(e.to_string()))?;
    Ok(docs.into_iter().flatten().collect())
}

/// Like [`from_multi_str`], with room for `max_documents` documents instead of the
/// parser's default 1024 (a ResourceSet template may render thousands of objects).
pub fn from_multi_str_up_to<T: DeserializeOwned>(input: &str, max_documents: usize) -> Result<Vec<T>, Error> {
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! { max_documents: max_documents },
    };
    let docs: Vec<Option<T>> =
        serde_saphyr::from_multiple_with_options(input, options).map_err(|e| Error::Parse(e.to_string()))?;
    Ok(docs.into_iter().flatten().collect())
}

/// Parses a single YAML document.
pub fn from_str<T: DeserializeOwned>(input: &str) -> Result<T, Error> {
    serde_saphyr::from_str(input).map_err(|e| Error::Parse(e.to_string()))
}

/// Serializes one value as a YAML document.
pub fn to_string<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_saphyr::to_string(value).map_err(|e| Error::Serialize(e.to_string()))
}

/// Serializes values as a multi-document YAML stream, each document started by `---`.
pub fn to_multi_string<T: Serialize>(values: &[T]) -> Result<String, Error> {
    let mut out = String::new();
    for v in values {
        out.push_str("---\n");
        out.push_str(&to_string(v)?);
    }
    Ok(out)
}
