//! The ResourceSet figures on the test bed: a set that generates 100 objects,
//! from apply to Ready, then what its idle periodic reconciles cost the API server (the
//! watches of the generated objects let a reconcile with nothing changed skip the apply).

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
    let (mut total, mut on_objects, mut writes) = (0.0, 0.0, Vec::new());
    for (key, value) in &after {
        let delta = value - before.get(key).copied().unwrap_or(0.0);
        let (verb, dry_run, resource, _) = key;
        if delta == 0.0 || !["configmaps", "resourcesets"].contains(&resource.as_str()) {
            continue;
        }
        total += delta;
        if resource == "configmaps" {
            on_objects += delta;
        }
        let write = ["POST", "PUT", "PATCH", "APPLY", "DELETE"].contains(&verb.as_str());
        // Each reconcile writes the set's status (its history's lastReconciled), as
        // upstream does; no generated object may be written when nothing changed.
        if write && dry_run.is_empty() && resource == "configmaps" {
            writes.push((key.clone(), delta));
        }
    }
    eprintln!(
        "FIGURE ResourceSet of 100 objects: Ready {:.2} s after apply; idle: {count} periodic reconciles, \
         {total} API requests in 10 s ({:.1} per reconcile, {on_objects} on the generated objects), \
         writes {writes:?}",
        took.as_secs_f64(),
        total / count.max(1.0)
    );
    assert!(count >= 2.0, "{count} periodic reconciles in 10 s at a 2 s interval");
    assert!(writes.is_empty(), "an idle reconcile writes no object: {writes:?}");
    // Nothing changed since the last apply, and the watches of the generated kinds say so:
    // no request for the 100 objects (a GET and a dry-run each without the watches). A
    // watch that re-lists moves the epoch: at most one reconcile in the window asks.
    assert!(
        on_objects <= 2.5 * 100.0,
        "{on_objects} requests on the generated objects in {count} idle reconciles"
    );
    assert!(
        total / count <= 2.5 * 100.0 / 2.0 + 10.0,
        "{total} requests for {count} reconciles"
    );
}
