//! The ResourceSet figures on the test bed: a set that generates 100 objects,
//! from apply to Ready, then what its idle periodic reconciles cost the API server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::harness::{reconciles, request_counts};
use crate::rset_bed::*;

#[tokio::test]
async fn resourceset_figures_100_objects_and_idle_reconciles() {
    let bed = Bed::start("rs-figures").await;
    let (client, ns) = (&bed.client, bed.ns.as_str());
    let inputs: Vec<Value> = (0..100).map(|i| json!({"i": i})).collect();
    let object = cm(ns, "cm-<< inputs.i >>", json!({"n": "n<< inputs.i >>"}));
    let spec = json!({"inputs": inputs, "resources": [object]});
    // The shortest periodic interval the operator takes, to count idle reconciles.
    let every = json!({"fluxcd.controlplane.io/reconcileEvery": "2s"});
    let started = Instant::now();
    apply_set(client, ns, "set", spec, every).await;
    let set = wait_set(client, ns, "set", 120, "Ready with 100 objects", is_ready).await;
    let took = started.elapsed();
    let inventory = set
        .status
        .as_ref()
        .and_then(|s| s.inventory.as_ref())
        .map_or(0, |i| i.entries.len());
    assert_eq!(inventory, 100, "all 100 objects in the inventory");
    let made = config_map_names(client, ns).await;
    assert_eq!(made.iter().filter(|n| n.starts_with("cm-")).count(), 100);

    let before_reconciles = reconciles(bed.metrics_port, "resourceset").await;
    let before = request_counts(client).await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    let after = request_counts(client).await;
    let count = reconciles(bed.metrics_port, "resourceset").await - before_reconciles;
    // Other scenarios' objects may still be reconciled by this operator (it watches every
    // namespace): only the kinds of this set count.
    let (mut total, mut writes) = (0.0, Vec::new());
    for (key, value) in &after {
        let delta = value - before.get(key).copied().unwrap_or(0.0);
        let (verb, dry_run, resource, _) = key;
        if delta == 0.0 || !["configmaps", "resourcesets"].contains(&resource.as_str()) {
            continue;
        }
        total += delta;
        let write = ["POST", "PUT", "PATCH", "APPLY", "DELETE"].contains(&verb.as_str());
        // Each reconcile writes the set's status (its history's lastReconciled), as
        // upstream does; no generated object may be written when nothing changed.
        if write && dry_run.is_empty() && resource == "configmaps" {
            writes.push((key.clone(), delta));
        }
    }
    eprintln!(
        "FIGURE ResourceSet of 100 objects: Ready {:.2} s after apply; idle: {count} periodic reconciles, \
         {total} API requests in 10 s ({:.1} per reconcile), writes {writes:?}",
        took.as_secs_f64(),
        total / count.max(1.0)
    );
    assert!(count >= 2.0, "{count} periodic reconciles in 10 s at a 2 s interval");
    assert!(writes.is_empty(), "an idle reconcile writes no object: {writes:?}");
    // A GET and a dry-run apply per object, the status write and little else; the window
    // also catches part of one more reconcile.
    assert!(
        total / count <= 2.5 * 100.0 + 20.0,
        "{total} requests for {count} reconciles"
    );
}
