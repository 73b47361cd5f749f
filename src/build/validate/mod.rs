//! Checks of the values the builder writes into names, labels, flags and image references.
//! The CRD schema cannot express them all, and the CLI reads files the apiserver never saw.

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use crate::api::{FluxInstanceSpec, ShardingStorage};

use super::Error;
use crate::text::shorten;

mod metadata;
mod source;

pub use source::registry;

static DNS_LABEL: LazyLock<Regex> = LazyLock::new(|| re(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"));
static DNS_SUBDOMAIN: LazyLock<Regex> =
    LazyLock::new(|| re(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"));
static LABEL_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"));
static QUANTITY: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$"));

fn re(pattern: &str) -> Regex {
    // The patterns are constants of this file, covered by its tests.
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in regex {pattern}: {e}"))
}

/// The longest component name a shard name is appended to.
const LONGEST_SHARDABLE: &str = "image-automation-controller";

fn invalid(message: String) -> Error {
    Error::Spec(message)
}

pub fn is_dns_label(s: &str) -> bool {
    s.len() <= 63 && DNS_LABEL.is_match(s)
}

pub fn is_dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && DNS_SUBDOMAIN.is_match(s)
}

fn check_name(field: &str, value: &str) -> Result<(), Error> {
    if is_dns_subdomain(value) {
        Ok(())
    } else {
        Err(invalid(format!(
            "{field} {:?} is not a valid Kubernetes object name",
            shorten(value)
        )))
    }
}

pub fn namespace(ns: &str) -> Result<(), Error> {
    if is_dns_label(ns) {
        Ok(())
    } else {
        Err(invalid(format!(
            "metadata.namespace {:?} is not a valid namespace name",
            shorten(ns)
        )))
    }
}

/// Everything the builder can check before reading the release files.
pub fn spec(spec: &FluxInstanceSpec) -> Result<(), Error> {
    let distribution = &spec.distribution;
    registry(&distribution.registry)?;
    if let Some(secret) = &distribution.image_pull_secret {
        check_name("spec.distribution.imagePullSecret", secret)?;
    }

    if let Some(cluster) = &spec.cluster {
        if !is_dns_subdomain(&cluster.domain) {
            return Err(invalid(format!(
                "spec.cluster.domain {:?} is not a valid DNS domain",
                shorten(&cluster.domain)
            )));
        }
        if cluster.multitenant_workload_identity && !cluster.object_level_workload_identity {
            return Err(invalid(
                "spec.cluster.multitenantWorkloadIdentity: true requires spec.cluster.objectLevelWorkloadIdentity to be true"
                    .to_owned(),
            ));
        }
        for (field, value) in [
            (
                "spec.cluster.tenantDefaultServiceAccount",
                &cluster.tenant_default_service_account,
            ),
            (
                "spec.cluster.tenantDefaultDecryptionServiceAccount",
                &cluster.tenant_default_decryption_service_account,
            ),
            (
                "spec.cluster.tenantDefaultKubeConfigServiceAccount",
                &cluster.tenant_default_kube_config_service_account,
            ),
        ] {
            if let Some(value) = value {
                check_name(field, value)?;
            }
        }
    }

    if let Some(common) = &spec.common_metadata {
        metadata::common_metadata(common)?;
    }

    if let Some(storage) = &spec.storage {
        check_name("spec.storage.class", &storage.class)?;
        if !QUANTITY.is_match(&storage.size) {
            return Err(invalid(format!(
                "spec.storage.size {:?} is not a valid quantity, e.g. 10Gi",
                shorten(&storage.size)
            )));
        }
    }

    if let Some(sharding) = &spec.sharding {
        if !metadata::is_qualified_name(&sharding.key) {
            return Err(invalid(format!(
                "spec.sharding.key {:?} is not a valid label key",
                shorten(&sharding.key)
            )));
        }
        if sharding.shards.is_empty() {
            return Err(invalid("spec.sharding.shards must list at least one shard".to_owned()));
        }
        let max = 63 - LONGEST_SHARDABLE.len() - 1;
        let mut seen = HashSet::new();
        for shard in &sharding.shards {
            if shard.len() > max || !DNS_LABEL.is_match(shard) {
                return Err(invalid(format!(
                    "spec.sharding.shards: shard name {:?} must be lowercase letters, digits and '-', at most {max} characters",
                    shorten(shard)
                )));
            }
            if !seen.insert(shard.as_str()) {
                return Err(invalid(format!(
                    "spec.sharding.shards: duplicate shard name {:?}",
                    shorten(shard)
                )));
            }
        }
        if sharding.storage == ShardingStorage::Persistent && spec.storage.is_none() {
            return Err(invalid(
                "spec.sharding.storage: persistent requires spec.storage to be set".to_owned(),
            ));
        }
    }

    if let Some(sync) = &spec.sync {
        if let Some(name) = &sync.name {
            check_name("spec.sync.name", name)?;
            if name.len() > 63 {
                return Err(invalid(format!(
                    "spec.sync.name {:?} must be at most 63 characters",
                    shorten(name)
                )));
            }
        }
        source::sync(sync)?;
        if let Some(secret) = &sync.pull_secret {
            check_name("spec.sync.pullSecret", secret)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities() {
        for ok in ["10Gi", "1", "0.5Gi", "500M", "1e3"] {
            assert!(QUANTITY.is_match(ok), "{ok}");
        }
        for bad in ["", "ten", "10 Gi", "-1Gi", "10GB"] {
            assert!(!QUANTITY.is_match(bad), "{bad}");
        }
    }
}
