//! `spec.commonMetadata` with the API server's own rules for labels and annotations: the
//! builder copies them into every object, so one bad key would make every apply fail, and
//! one huge value would be copied a hundred times.

use std::collections::BTreeMap;

use super::{LABEL_NAME, invalid, is_dns_subdomain};
use crate::api::CommonMetadata;
use crate::build::Error;
use crate::build::size::human;
use crate::text::shorten;

/// The API server's limit on the annotations of one object, keys and values together.
pub const ANNOTATIONS_LIMIT: usize = 256 << 10;

const QUALIFIED_NAME: &str = "a qualified name: an optional DNS subdomain prefix and '/', then at most 63 \
                              alphanumerics, '-', '_' or '.', starting and ending alphanumeric";
const LABEL_VALUE: &str =
    "a valid label value: empty, or at most 63 alphanumerics, '-', '_' or '.', starting and ending alphanumeric";

/// Kubernetes' `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain.
pub fn is_qualified_name(value: &str) -> bool {
    let (prefix, name) = match value.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, value),
    };
    prefix.is_none_or(is_dns_subdomain) && is_label_value(name) && !name.is_empty()
}

/// Kubernetes' `IsValidLabelValue`.
fn is_label_value(value: &str) -> bool {
    value.is_empty() || (value.len() <= 63 && LABEL_NAME.is_match(value))
}

fn check_keys<'a>(field: &str, keys: impl Iterator<Item = (&'a String, String)>) -> Result<(), Error> {
    for (key, checked) in keys {
        if !is_qualified_name(&checked) {
            return Err(invalid(format!(
                "{field}: key {:?} is not {QUALIFIED_NAME}",
                shorten(key)
            )));
        }
    }
    Ok(())
}

pub fn common_metadata(common: &CommonMetadata) -> Result<(), Error> {
    let labels = "spec.commonMetadata.labels";
    check_keys(labels, common.labels.keys().map(|k| (k, k.clone())))?;
    for (key, value) in &common.labels {
        if !is_label_value(value) {
            return Err(invalid(format!(
                "{labels}[{:?}]: value {:?} is not {LABEL_VALUE}",
                shorten(key),
                shorten(value)
            )));
        }
    }
    // The API server checks annotation keys in lower case.
    let annotations = "spec.commonMetadata.annotations";
    check_keys(annotations, common.annotations.keys().map(|k| (k, k.to_lowercase())))?;
    let total = annotations_size(&common.annotations);
    if total > ANNOTATIONS_LIMIT {
        return Err(invalid(format!(
            "{annotations}: {total} bytes of keys and values, more than the API server's {}",
            human(ANNOTATIONS_LIMIT)
        )));
    }
    Ok(())
}

fn annotations_size(annotations: &BTreeMap<String, String>) -> usize {
    annotations.iter().map(|(k, v)| k.len() + v.len()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn common(labels: &[(&str, &str)], annotations: &[(&str, &str)]) -> CommonMetadata {
        let map = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        CommonMetadata {
            labels: map(labels),
            annotations: map(annotations),
        }
    }

    #[test]
    fn valid_metadata() {
        let ok = common(
            &[
                ("team", "platform"),
                ("example.com/tier", "a_b.c-d"),
                ("empty", ""),
                ("x", &"v".repeat(63)),
            ],
            &[
                ("Example.COM/Owner", "anything at all: spaces, \n newlines, é"),
                (&format!("{}/{}", "a".repeat(253), "n".repeat(63)), ""),
            ],
        );
        assert!(common_metadata(&ok).is_ok());
    }

    #[test]
    fn invalid_keys() {
        for key in [
            "bad key!",
            "",
            "/x",
            "a/",
            "Example.com/x",
            "a/b/c",
            "-a",
            &"k".repeat(64),
        ] {
            let e = common_metadata(&common(&[(key, "v")], &[])).expect_err(key);
            assert!(e.to_string().starts_with("spec.commonMetadata.labels: key "), "{e}");
        }
        let e = common_metadata(&common(&[], &[("bad key!", "v")])).expect_err("bad");
        assert_eq!(
            e.to_string(),
            format!("spec.commonMetadata.annotations: key \"bad key!\" is not {QUALIFIED_NAME}")
        );
    }

    #[test]
    fn invalid_label_values() {
        for value in ["-a", "a b", "a/b", "é", &"v".repeat(64)] {
            let e = common_metadata(&common(&[("team", value)], &[])).expect_err(value);
            assert!(
                e.to_string()
                    .starts_with("spec.commonMetadata.labels[\"team\"]: value "),
                "{e}"
            );
        }
        let huge = "v".repeat(10 << 20);
        let e = common_metadata(&common(&[("team", &huge)], &[])).expect_err("huge");
        assert!(e.to_string().len() < 300, "{e}");
        assert!(e.to_string().contains("(10485760 bytes)"), "{e}");
    }

    #[test]
    fn annotations_are_limited_in_total() {
        let half = "v".repeat(128 << 10);
        assert!(common_metadata(&common(&[], &[("a", &half[..half.len() - 2])])).is_ok());
        let e = common_metadata(&common(&[], &[("a", &half), ("b", &half)])).expect_err("too large");
        assert_eq!(
            e.to_string(),
            "spec.commonMetadata.annotations: 262146 bytes of keys and values, more than the API server's 256 KiB"
        );
    }
}
