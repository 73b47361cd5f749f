//! `spec.dependsOn` (SPEC-resourceset §11.6 steps 3-4): each object must exist and, with
//! `ready: true`, be ready: by its `readyExpr` when it has one ([`ready_expr`]), a
//! ResourceSet or provider by its Ready condition for its current generation, anything
//! else by kstatus. Every `readyExpr` is parsed before any dependency is read.

use serde_json::Value;

use super::Run;
use super::outcome::Cause;
use crate::api::{Dependency, GROUP};
use crate::apply::{Applier, ObjectId, readiness};
use crate::resourceset::ready_expr::{self, ReadyExpr};

pub async fn check(run: &Run<'_>) -> Result<(), Cause> {
    let deps = &run.obj.spec.depends_on;
    let exprs = compile_all(deps).await?;
    let options = run.apply_options();
    // With the operator's identity, as upstream does (§15 documents what that exposes).
    let applier = super::applier(&run.shared.ctx.client, run.shared, &options);
    let namespace = run.obj.metadata.namespace.as_deref().unwrap_or_default();
    for (dep, expr) in deps.iter().zip(exprs) {
        if let Some(problem) = not_ready(&applier, dep, expr, namespace).await? {
            return Err(Cause::DependencyNotReady(problem));
        }
    }
    Ok(())
}

/// Each entry's parsed `readyExpr`, where it counts (`ready: true`); parsing blocks.
async fn compile_all(deps: &[Dependency]) -> Result<Vec<Option<ReadyExpr>>, Cause> {
    let sources: Vec<Option<String>> = deps.iter().map(|d| d.ready_expr.clone().filter(|_| d.ready)).collect();
    let compiled = tokio::task::spawn_blocking(move || {
        let parse = |source: &Option<String>| source.as_deref().map(ready_expr::compile).transpose();
        sources.iter().map(parse).collect::<Vec<_>>()
    })
    .await
    .map_err(|e| invalid(0, e.to_string()))?;
    compiled
        .into_iter()
        .enumerate()
        .map(|(index, parsed)| parsed.map_err(|e| invalid(index, e.to_string())))
        .collect()
}

fn invalid(index: usize, problem: String) -> Cause {
    Cause::InvalidReadyExpr { index, problem }
}

/// Why a dependency is not ready, if it is not; an API error other than "not there" is
/// the reconcile's failure.
async fn not_ready(
    applier: &Applier<'_>,
    dep: &Dependency,
    expr: Option<ReadyExpr>,
    set_namespace: &str,
) -> Result<Option<String>, Cause> {
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
    if let Some(expr) = expr {
        let object = visible(live, &id, set_namespace);
        let answer = tokio::task::spawn_blocking(move || expr.evaluate(&object)).await;
        return Ok(match answer {
            Ok(Ok(true)) => None,
            Ok(Ok(false)) => Some(format!("dependency {id} is not ready: readyExpr is false")),
            Ok(Err(e)) => Some(format!("dependency {id} is not ready: readyExpr {e}")),
            Err(e) => Some(format!("dependency {id} is not ready: readyExpr {e}")),
        });
    }
    let ready = if id.group == GROUP && matches!(id.kind.as_str(), "ResourceSet" | "ResourceSetInputProvider") {
        current_and_ready(&live)
    } else {
        readiness(&live).is_ready()
    };
    Ok((!ready).then(|| format!("dependency {id} is not ready")))
}

/// What a `readyExpr` may read of `live`: not the last-applied annotation, and not the
/// data of a Secret outside the set's namespace.
fn visible(mut live: Value, id: &ObjectId, set_namespace: &str) -> Value {
    if let Some(annotations) = live["metadata"]["annotations"].as_object_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
    let foreign_secret = id.group.is_empty() && id.kind == "Secret" && id.namespace != set_namespace;
    if let (true, Some(object)) = (foreign_secret, live.as_object_mut()) {
        object.remove("data");
        object.remove("stringData");
    }
    live
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
    fn an_expression_sees_neither_last_applied_nor_foreign_secret_data() {
        let live = json!({"metadata": {"annotations": {
            "kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "x"}},
            "data": {"token": "c2VjcmV0"}});
        let secret = |ns: &str| ObjectId {
            group: String::new(),
            version: "v1".into(),
            kind: "Secret".into(),
            namespace: ns.into(),
            name: "s".into(),
        };
        let own = visible(live.clone(), &secret("apps"), "apps");
        assert_eq!(own["data"]["token"], "c2VjcmV0");
        assert_eq!(own["metadata"]["annotations"], json!({"keep": "x"}));
        let foreign = visible(live, &secret("other"), "apps");
        assert!(foreign.get("data").is_none());
    }

    #[tokio::test]
    async fn every_ready_expr_is_parsed_first_and_the_bad_one_named() {
        let dep = |ready: bool, expr: &str| Dependency {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            name: "gate".into(),
            ready,
            ready_expr: Some(expr.into()),
            ..Dependency::default()
        };
        let deps = [
            dep(true, "data.gate == 'open'"),
            dep(false, "=="),
            dep(true, "data.gate =="),
        ];
        let error = compile_all(&deps).await.unwrap_err();
        assert!(matches!(&error, Cause::InvalidReadyExpr { index: 2, .. }), "{error}");
        let parsed = compile_all(&deps[..2]).await.expect("parses");
        assert!(
            parsed[0].is_some() && parsed[1].is_none(),
            "ready: false ignores the expression"
        );
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
