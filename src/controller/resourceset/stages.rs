//! The order a step's objects are applied in (SPEC-resourceset §11.6 step 9): CRDs,
//! Namespaces and ClusterRoles (CRDs waited for until Established), then kinds ending in
//! `Class` (waited for until ready), then RBAC Roles, then the rest. Each group is applied
//! whole or not at all, after the one before it succeeded.

use std::time::Duration;

use serde_json::Value;

use super::recreate;
use crate::apply::{self, Applier, ChangeSet, ObjectId, WaitOutcome};

/// How long `*Class` objects may take to become ready.
const CLASS_READY_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    Cluster,
    Class,
    Role,
    Rest,
}

fn group(obj: &Value) -> Group {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    match kind {
        "CustomResourceDefinition" | "Namespace" | "ClusterRole" => Group::Cluster,
        k if k.ends_with("Class") => Group::Class,
        "Role" if api_version.starts_with("rbac.authorization.k8s.io/") => Group::Role,
        _ => Group::Rest,
    }
}

/// Applies `objects` group by group; see the module doc.
pub async fn apply(applier: &Applier<'_>, objects: &[Value], set_forced: bool) -> Result<ChangeSet, apply::Error> {
    let mut changes = ChangeSet::default();
    for stage in [Group::Cluster, Group::Class, Group::Role, Group::Rest] {
        let members: Vec<Value> = objects.iter().filter(|o| group(o) == stage).cloned().collect();
        if members.is_empty() {
            continue;
        }
        changes
            .entries
            .extend(recreate::apply_forcing(applier, &members, set_forced).await?.entries);
        if stage == Group::Class {
            let ids: Vec<ObjectId> = members.iter().filter_map(ObjectId::from_object).collect();
            let never = |_: &[apply::NotReady]| async { false };
            let outcome = apply::wait_ready(
                applier,
                &ids,
                CLASS_READY_TIMEOUT,
                apply::Polling {
                    every: Duration::from_secs(1),
                    woken_by: None,
                },
                never,
            )
            .await?;
            if outcome != WaitOutcome::Ready {
                tracing::info!(
                    details = outcome.details(),
                    "Class objects not ready; applying the rest anyway"
                );
            }
        }
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn groups_follow_the_spec_order() {
        let of = |api: &str, kind: &str| group(&json!({"apiVersion": api, "kind": kind}));
        assert_eq!(
            of("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            Group::Cluster
        );
        assert_eq!(of("v1", "Namespace"), Group::Cluster);
        assert_eq!(of("networking.k8s.io/v1", "IngressClass"), Group::Class);
        assert_eq!(of("rbac.authorization.k8s.io/v1", "Role"), Group::Role);
        assert_eq!(of("example.com/v1", "Role"), Group::Rest);
        assert_eq!(of("rbac.authorization.k8s.io/v1", "RoleBinding"), Group::Rest);
        assert!(Group::Cluster < Group::Class && Group::Class < Group::Role && Group::Role < Group::Rest);
    }
}
