//! `spec.dependsOn` (SPEC-resourceset §11.6 steps 3-4), without CEL: each object must
//! exist and, with `ready: true`, be ready (a ResourceSet or provider by its Ready
//! condition for its current generation, anything else by kstatus). `readyExpr` needs a
//! CEL evaluator this operator does not have yet: it is Stalled, saying so.

use serde_json::Value;

use super::Run;
use super::outcome::Cause;
use crate::api::{Dependency, GROUP};
use crate::apply::{Applier, ObjectId, readiness};

pub async fn check(run: &Run<'_>) -> Result<(), Cause> {
    let deps = &run.obj.spec.depends_on;
    if let Some(index) = deps.iter().position(|d| d.ready && d.ready_expr.is_some()) {
        return Err(Cause::InvalidReadyExpr {
            index,
            problem: "CEL expressions are not supported by this operator yet".into(),
        });
    }
    let options = run.apply_options();
    // With the operator's identity, as upstream does (§15 documents what that exposes).
    let applier = super::applier(&run.shared.ctx.client, run.shared, &options);
    for dep in deps {
        if let Some(problem) = not_ready(&applier, dep).await? {
            return Err(Cause::DependencyNotReady(problem));
        }
    }
    Ok(())
}

/// Why a dependency is not ready, if it is not; an API error other than "not there" is
/// the reconcile's failure.
async fn not_ready(applier: &Applier<'_>, dep: &Dependency) -> Result<Option<String>, Cause> {
    let id = identity(dep);
    // A kind not served (its CRD not installed yet) is a missing dependency.
    let Ok(api) = applier.api_for(&id).await else {
        return Ok(Some(format!("dependency {id} not found: kind not served")));
    };
    let live = match api.get_opt(&id.name).await {
        Ok(Some(live)) => serde_json::to_value(live).unwrap_or(Value::Null),
        Ok(None) => return Ok(Some(format!("dependency {id} not found"))),
        Err(e) => return Err(Cause::Kube(e)),
    };
    if !dep.ready {
        return Ok(None);
    }
    let ready = if id.group == GROUP && matches!(id.kind.as_str(), "ResourceSet" | "ResourceSetInputProvider") {
        current_and_ready(&live)
    } else {
        readiness(&live).is_ready()
    };
    Ok((!ready).then(|| format!("dependency {id} is not ready")))
}

/// Our own kinds: a Ready condition True written for the current generation (upstream also
/// accepts no conditions at all, §15).
fn current_and_ready(live: &Value) -> bool {
    let generation = live["metadata"]["generation"].as_i64();
    live["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"))
        .is_some_and(|c| c["status"] == "True" && c["observedGeneration"].as_i64() == generation)
}

fn identity(dep: &Dependency) -> ObjectId {
    let (group, version) = match dep.api_version.split_once('/') {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (String::new(), dep.api_version.clone()),
    };
    ObjectId {
        group,
        version,
        kind: dep.kind.clone(),
        namespace: dep.namespace.clone().unwrap_or_default(),
        name: dep.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn our_kinds_are_ready_only_for_their_current_generation() {
        let at = |observed: i64, status: &str| {
            json!({"metadata": {"generation": 2}, "status": {"conditions": [
                {"type": "Ready", "status": status, "observedGeneration": observed}]}})
        };
        assert!(current_and_ready(&at(2, "True")));
        assert!(!current_and_ready(&at(1, "True")));
        assert!(!current_and_ready(&at(2, "False")));
        assert!(!current_and_ready(
            &json!({"metadata": {"generation": 1}, "status": {}})
        ));
    }

    #[test]
    fn a_core_dependency_has_no_group() {
        let dep = Dependency {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "gate".into(),
            namespace: Some("apps".into()),
            ..Dependency::default()
        };
        assert_eq!(identity(&dep).to_string(), "ConfigMap/apps/gate");
        assert_eq!(identity(&dep).group, "");
    }
}
