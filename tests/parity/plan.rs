//! From the shared FluxInstances to the cases the harness runs: which get a sync added, how
//! their sync objects are treated, which run with leader election, which are selected.

use serde_json::{Value, json};

use crate::observe::Case;
use crate::process::RunFlags;
use crate::sync::SyncMode;

/// The cases as the harness runs them:
/// - every second instance without a sync (whose components can serve one) gets one, of a
///   kind in turn, named `<case>+sync`: the sync objects are part of what is compared;
/// - sync cases that wait are mostly served Ready by the harness; every fourth lets the health
///   check time out instead, so the failure statuses are compared too;
/// - the first case runs with leader election, so that its metrics family is compared.
pub fn plan(cases: Vec<(String, Value)>) -> Vec<Case> {
    let mut syncing = 0;
    let mut planned = Vec::new();
    for (i, (name, instance)) in cases.into_iter().enumerate() {
        let (name, instance) = if i % 2 == 1 && can_sync(&instance) {
            (format!("{name}+sync"), with_sync(instance, i / 2))
        } else {
            (name, instance)
        };
        let spec = &instance["spec"];
        let sync = if spec.get("sync").is_none() || spec["wait"] == Value::Bool(false) {
            SyncMode::Plain
        } else {
            syncing += 1;
            if syncing % 4 == 0 {
                SyncMode::Timeout
            } else {
                SyncMode::Ready
            }
        };
        let flags = RunFlags {
            leader_election: i == 0,
            ..RunFlags::default()
        };
        planned.push(Case {
            name,
            instance,
            sync,
            flags,
        });
    }
    planned
}

/// Without a sync, and with the controllers a sync needs (the default components have them).
fn can_sync(instance: &Value) -> bool {
    let spec = &instance["spec"];
    let components = spec["components"].as_array();
    let has = |c: &str| components.is_none_or(|list| list.iter().any(|v| v == c));
    spec.get("sync").is_none() && has("source-controller") && has("kustomize-controller")
}

fn with_sync(mut instance: Value, turn: usize) -> Value {
    let sync = match turn % 3 {
        0 => json!({"kind": "GitRepository", "url": "https://github.com/example/fleet.git",
                    "ref": "refs/heads/main", "path": "clusters/staging"}),
        1 => json!({"kind": "OCIRepository", "url": "oci://ghcr.io/example/fleet-manifests",
                    "ref": "latest", "path": "./clusters/staging"}),
        _ => json!({"kind": "Bucket", "url": "minio.example.com", "ref": "fleet",
                    "path": "./clusters/staging", "provider": "generic"}),
    };
    instance["spec"]["sync"] = sync;
    instance
}

/// `FLUX_PARITY_CASES`, a regular expression over case names, to run some cases only (while
/// working on one difference).
pub fn filtered() -> bool {
    std::env::var_os("FLUX_PARITY_CASES").is_some()
}

pub fn select(cases: Vec<Case>) -> Vec<Case> {
    let Ok(pattern) = std::env::var("FLUX_PARITY_CASES") else {
        return cases;
    };
    let re = regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("FLUX_PARITY_CASES {pattern:?}: {e}"));
    cases.into_iter().filter(|c| re.is_match(&c.name)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(spec: Value) -> (String, Value) {
        (
            "c".into(),
            json!({"metadata": {"name": "flux", "namespace": "flux-system"}, "spec": spec}),
        )
    }

    #[test]
    fn every_second_case_that_can_gets_a_sync_and_every_fourth_sync_times_out() {
        let minimal = json!({"distribution": {"version": "2.x"}});
        let no_kustomize = json!({"distribution": {"version": "2.x"}, "components": ["source-controller"]});
        let cases = vec![
            instance(minimal.clone()),
            instance(minimal.clone()),
            instance(minimal.clone()),
            instance(no_kustomize),
            instance(minimal.clone()),
            instance(minimal.clone()),
            instance(minimal.clone()),
            instance(minimal.clone()),
            instance(minimal.clone()),
            instance(minimal),
        ];
        let planned = plan(cases);
        let names: Vec<&str> = planned.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            ["c", "c+sync", "c", "c", "c", "c+sync", "c", "c+sync", "c", "c+sync"]
        );
        let modes: Vec<SyncMode> = planned
            .iter()
            .filter(|c| c.name.ends_with("+sync"))
            .map(|c| c.sync)
            .collect();
        assert_eq!(
            modes,
            [SyncMode::Ready, SyncMode::Ready, SyncMode::Ready, SyncMode::Timeout]
        );
        assert_eq!(planned[5].instance["spec"]["sync"]["kind"], "Bucket");
        assert!(planned[0].flags.leader_election && !planned[1].flags.leader_election);
    }
}
