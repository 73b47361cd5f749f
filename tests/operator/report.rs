//! FluxReport numbers and Prometheus series against the real API server, checked with
//! promtool and scraped by a real Prometheus on loopback.

use std::process::Command;
use std::time::Duration;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::{Client, ResourceExt};
use serde_json::json;

use flux_operator_rs::api::{FluxReport, ReconcilerStats};
use flux_operator_rs::report::{classify, human_size};

use crate::common::{client, config, install_crds, namespace, wait_established};
use crate::flux_objects::every_kind;
use crate::harness::*;
use crate::prometheus::{Prometheus, free_port, promtool, scrape, series, value};
use crate::report_metrics::{assert_controller_families, assert_labels_of_every_kind, assert_rest_client_requests};

/// (running, failing, suspended) of a kind's objects outside `ns`: other scenarios of this
/// test binary leave objects behind, and the report counts cluster-wide.
async fn elsewhere(client: &Client, ns: &str, ar: &ApiResource) -> (i64, i64, i64) {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), ar);
    let mut counts = (0, 0, 0);
    for item in api
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|i| i.namespace().as_deref() != Some(ns))
    {
        let state = classify(&ar.kind, &serde_json::to_value(item).unwrap());
        if state.suspended {
            counts.2 += 1;
        } else {
            counts.0 += 1;
        }
        if state.failing {
            counts.1 += 1;
        }
    }
    counts
}

fn plus(a: (i64, i64, i64), b: (i64, i64, i64)) -> (i64, i64, i64) {
    (a.0 + b.0, a.1 + b.1, a.2 + b.2)
}

fn stats(report: &FluxReport, kind: &str) -> ReconcilerStats {
    report
        .spec
        .reconcilers
        .iter()
        .find(|r| r.kind == kind)
        .and_then(|r| r.stats.clone())
        .unwrap_or_else(|| panic!("no reconciler {kind} in {:?}", report.spec.reconcilers))
}

const KS: (&str, &str, &str) = ("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
const GIT: (&str, &str, &str) = ("source.toolkit.fluxcd.io", "v1", "GitRepository");
const HR: (&str, &str, &str) = ("helm.toolkit.fluxcd.io", "v2", "HelmRelease");
const OCI: (&str, &str, &str) = ("source.toolkit.fluxcd.io", "v1", "OCIRepository");
const FI: (&str, &str, &str) = ("fluxcd.controlplane.io", "v1", "FluxInstance");

fn ar((group, version, kind): (&str, &str, &str)) -> ApiResource {
    resource(group, version, kind)
}

/// The report test's own Kustomizations, sources and release, besides `every_kind`'s.
async fn kustomizations_sources_and_a_release(client: &Client, ns: &str) {
    let ks_spec = |path: &str, suspend: bool| json!({"interval": "10m", "path": path, "prune": true, "suspend": suspend, "sourceRef": {"kind": "GitRepository", "name": "apps"}});
    let kustomizations = [
        (
            "k-ready",
            "./ready",
            false,
            json!({"conditions": ready("True", "ReconciliationSucceeded"), "lastAppliedRevision": "main@sha1:1", "lastAttemptedRevision": "main@sha1:1"}),
        ),
        (
            "k-failing",
            "./failing",
            false,
            json!({"conditions": ready("False", "BuildFailed"), "lastAppliedRevision": "main@sha1:1", "lastAttemptedRevision": "main@sha1:3"}),
        ),
        (
            "k-suspended",
            "./suspended",
            true,
            json!({"conditions": ready("False", "BuildFailed")}),
        ),
        (
            "k-waiting",
            "./waiting",
            false,
            json!({"conditions": ready("False", "DependencyNotReady")}),
        ),
    ];
    for (name, path, suspend, status) in kustomizations {
        flux_object(client, ns, &ar(KS), name, ks_spec(path, suspend), status).await;
    }
    let git_spec = |url: &str| json!({"interval": "1m", "url": url, "ref": {"branch": "main"}});
    let artifact = |size: u64| json!({"path": "x", "url": "http://x", "revision": "main@sha1:2", "digest": "sha256:0", "lastUpdateTime": "2026-01-01T00:00:00Z", "size": size});
    for (name, size) in [("apps", 1024), ("infra", 2_000_000)] {
        let status = json!({"conditions": ready("True", "Succeeded"), "artifact": artifact(size)});
        flux_object(
            client,
            ns,
            &ar(GIT),
            name,
            git_spec(&format!("https://example.com/{name}.git")),
            status,
        )
        .await;
    }
    flux_object(
        client,
        ns,
        &ar(HR),
        "podinfo",
        json!({"interval": "5m", "chartRef": {"kind": "OCIRepository", "name": "podinfo"}}),
        json!({"conditions": ready("True", "UpgradeSucceeded"), "lastAttemptedRevision": "6.7.1"}),
    )
    .await;
}

/// Waits until the report's Ready condition has observed its latest generation.
async fn wait_observed(client: &Client, ns: &str) -> FluxReport {
    let api: Api<FluxReport> = Api::namespaced(client.clone(), ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let report = api.get("flux").await.unwrap();
        let ready = report
            .status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"));
        if ready.and_then(|c| c.observed_generation) == report.metadata.generation {
            return report;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Ready never observed generation {:?}: {:?}",
            report.metadata.generation,
            report.status
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

fn assert_succeeded(report: &FluxReport) {
    let c = &report.status.as_ref().unwrap().conditions[0];
    assert_eq!(
        (c.type_.as_str(), c.status.as_str(), c.reason.as_str()),
        ("Ready", "True", "Succeeded")
    );
    let took = c
        .message
        .strip_prefix("Reporting finished in ")
        .unwrap_or_else(|| panic!("{}", c.message));
    let number = took.trim_end_matches("ms").trim_end_matches('s');
    assert!(
        !number.is_empty() && number.chars().all(|ch| ch.is_ascii_digit()),
        "{}",
        c.message
    );
}

// Multi-threaded: curl, promtool and Prometheus are called synchronously while the
// operator's metrics server runs on this test's runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_numbers_and_metric_series_are_exact() {
    let _serial = serial().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "op-report").await;
    let metrics_port = free_port();
    let health_port = free_port();
    let _operator = start_operator(
        &ns,
        &[
            &format!("--metrics-addr=127.0.0.1:{metrics_port}"),
            &format!("--health-addr=127.0.0.1:{health_port}"),
            "--enable-leader-election=true",
        ],
    );
    let _kubelet = start_kubelet(&client, &ns);
    let components = [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
        "image-reflector-controller",
        "image-automation-controller",
    ];
    let spec = json!({"distribution": {"version": "2.9.x", "registry": "ghcr.io/fluxcd"}, "wait": false, "components": components,
        "sync": {"kind": "GitRepository", "url": "https://example.com/fleet.git", "ref": "refs/heads/main", "path": "clusters/prod", "name": "fleet"}});
    apply_instance(&client, &ns, spec, json!({})).await;
    wait_instance(&client, &ns, 120, "Ready", |o| is_ready_at(o, "v2.9.4@")).await;

    // The sync Kustomization exists, but no kustomize-controller has reconciled it yet.
    let sync = request_report(&client, &ns, "t0").await.spec.sync.expect("sync");
    assert_eq!((sync.ready, sync.status.as_str()), (false, "not initialized"));

    kustomizations_sources_and_a_release(&client, &ns).await;
    every_kind(&client, &ns).await;
    // The sync Kustomization the operator generated, made ready as kustomize-controller would.
    let ks_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ar(KS));
    ks_api
        .patch_status(
            "fleet",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"conditions": ready("True", "ReconciliationSucceeded")}})),
        )
        .await
        .expect("sync status");

    let others = (
        elsewhere(&client, &ns, &ar(KS)).await,
        elsewhere(&client, &ns, &ar(GIT)).await,
        elsewhere(&client, &ns, &ar(HR)).await,
        elsewhere(&client, &ns, &ar(FI)).await,
        elsewhere(&client, &ns, &ar(OCI)).await,
    );
    request_report(&client, &ns, "t1").await;
    let report = wait_observed(&client, &ns).await;
    assert_succeeded(&report);
    let triple = |s: ReconcilerStats| (s.running, s.failing, s.suspended);
    // fleet (the sync), k-ready, k-failing, k-waiting run; k-suspended is suspended; only k-failing fails.
    assert_eq!(triple(stats(&report, "Kustomization")), plus((4, 1, 1), others.0));
    // apps, infra, and the generated sync source `fleet` (no artifact).
    let g = stats(&report, "GitRepository");
    assert_eq!(triple(g.clone()), plus((3, 0, 0), others.1));
    if others.1 == (0, 0, 0) {
        assert_eq!(g.total_size, human_size(1024 + 2_000_000));
        assert_eq!(g.total_size, "1.9 MiB");
    }
    assert_eq!(triple(stats(&report, "HelmRelease")), plus((1, 0, 0), others.2));
    assert_eq!(triple(stats(&report, "FluxInstance")), plus((1, 0, 0), others.3));
    assert_eq!(triple(stats(&report, "OCIRepository")), plus((1, 0, 0), others.4));
    assert_eq!(report.spec.distribution.status, "Installed");
    assert_eq!(report.spec.distribution.version, "v2.9.4");
    assert_eq!(report.spec.distribution.managed_by, "flux-operator");
    let mut sorted = components.to_vec();
    sorted.sort();
    let names: Vec<&str> = report.spec.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, sorted);
    assert!(
        report.spec.components.iter().all(|c| c.ready),
        "{:?}",
        report.spec.components
    );
    let sync = report.spec.sync.clone().expect("sync");
    assert_eq!(
        (sync.id.as_str(), sync.path.as_str(), sync.ready),
        ("kustomization/fleet", "clusters/prod", true)
    );
    assert_eq!(sync.source, "https://example.com/fleet.git");
    assert!(
        report
            .spec
            .cluster
            .as_ref()
            .unwrap()
            .server_version
            .starts_with("v1.35")
    );
    let operator_version = report.spec.operator.as_ref().unwrap().version.clone();
    assert_eq!(operator_version, format!("v{}", env!("CARGO_PKG_VERSION")));

    // The probes.
    for probe in ["healthz", "readyz"] {
        let out = Command::new("curl")
            .args(["-fsS", &format!("http://127.0.0.1:{health_port}/{probe}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "/{probe}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // The metric series, label by label.
    let text = scrape(metrics_port);
    let resources = series(&text, "flux_resource_info");
    let in_ns: Vec<_> = resources.iter().filter(|s| s["exported_namespace"] == ns).collect();
    assert_eq!(in_ns.len(), 17, "one series per Flux object: {in_ns:#?}");
    let failing = in_ns.iter().find(|s| s["name"] == "k-failing").unwrap();
    assert_eq!(failing["kind"], "Kustomization");
    assert_eq!(failing["ready"], "False");
    assert_eq!(failing["reason"], "BuildFailed");
    assert_eq!(failing["suspended"], "False");
    assert_eq!(failing["path"], "./failing");
    assert_eq!(failing["source_name"], "apps");
    let suspended = in_ns.iter().find(|s| s["name"] == "k-suspended").unwrap();
    assert_eq!(suspended["suspended"], "True");
    let apps = in_ns.iter().find(|s| s["name"] == "apps").unwrap();
    assert_eq!(
        (apps["url"].as_str(), apps["ref"].as_str(), apps["revision"].as_str()),
        ("https://example.com/apps.git", "main", "main@sha1:2")
    );
    let podinfo = in_ns
        .iter()
        .find(|s| s["name"] == "podinfo" && s["kind"] == "HelmRelease")
        .unwrap();
    assert_eq!(
        (podinfo["source_name"].as_str(), podinfo["revision"].as_str()),
        ("podinfo", "6.7.1")
    );
    assert_labels_of_every_kind(&in_ns);
    let expected_keys = [
        "exported_namespace",
        "kind",
        "name",
        "path",
        "ready",
        "reason",
        "ref",
        "revision",
        "source_name",
        "suspended",
        "uid",
        "url",
    ];
    assert_eq!(apps.keys().map(String::as_str).collect::<Vec<_>>(), expected_keys);

    let instances = series(&text, "flux_instance_info");
    let mine = instances
        .iter()
        .find(|s| s["exported_namespace"] == ns)
        .expect("flux_instance_info");
    assert_eq!(mine["ready"], "True");
    assert_eq!(mine["reason"], "ReconciliationSucceeded");
    assert_eq!(mine["suspended"], "False");
    assert_eq!(mine["registry"], "ghcr.io/fluxcd");
    assert!(mine["revision"].starts_with("v2.9.4@sha256:"));
    assert_eq!(mine["kind"], "FluxInstance");
    let info = series(&text, "flux_operator_info");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0]["version"], operator_version);
    assert!(text.contains("controller_runtime_reconcile_time_seconds_bucket{controller=\"fluxinstance\""));
    assert!(text.contains("process_resident_memory_bytes"));
    assert_controller_families(&text);
    let host = config().await.cluster_url.authority().unwrap().to_string();
    assert_rest_client_requests(&text, &host);
    assert_eq!(
        value(&text, "leader_election_master_status", &[("name", "flux-operator")]),
        1.0
    );
    let (valid, out) = promtool(&["check", "metrics"], Some(&text));
    assert!(valid, "promtool check metrics: {out}");

    // A deleted object's series disappears.
    ks_api.delete("k-waiting", &DeleteParams::default()).await.unwrap();
    request_report(&client, &ns, "t2").await;
    let text = scrape(metrics_port);
    assert!(
        !series(&text, "flux_resource_info")
            .iter()
            .any(|s| s["name"] == "k-waiting" && s["exported_namespace"] == ns)
    );

    // A real Prometheus scrapes the operator; its query API returns the instance as ready.
    let prometheus = Prometheus::start("flux-operator", metrics_port, &[]);
    let result = prometheus
        .wait_for_data(&format!("flux_instance_info{{exported_namespace=\"{ns}\"}}"), 60)
        .await;
    assert_eq!(result[0]["metric"]["ready"], "True", "{result:?}");
    assert_eq!(result[0]["metric"]["name"], "flux");
}

#[tokio::test]
async fn the_report_is_recreated_when_deleted() {
    let _serial = serial().await;
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client, "op-report-del").await;
    let _operator = start_operator(&ns, &[]);
    let api: Api<FluxReport> = Api::namespaced(client.clone(), &ns);
    let first = request_report(&client, &ns, "a").await;
    api.delete("flux", &DeleteParams::default()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(report) = api.get_opt("flux").await.unwrap()
            && report.uid() != first.uid()
        {
            assert_eq!(report.spec.distribution.entitlement, "Unknown");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the FluxReport was not recreated"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Minimal CRDs of the operator's ResourceSet kinds where they are not installed; returns
/// the names of those it created.
async fn operator_applier_crds(client: &Client) -> Vec<String> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut created = Vec::new();
    for (kind, plural) in [
        ("ResourceSet", "resourcesets"),
        ("ResourceSetInputProvider", "resourcesetinputproviders"),
    ] {
        let name = format!("{plural}.fluxcd.controlplane.io");
        if api.get_opt(&name).await.unwrap().is_some() {
            continue;
        }
        let crd: CustomResourceDefinition = serde_json::from_value(json!({
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": "fluxcd.controlplane.io", "scope": "Namespaced",
                "names": {"kind": kind, "plural": plural, "singular": kind.to_lowercase(), "listKind": format!("{kind}List")},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
        }))
        .unwrap();
        api.create(&PostParams::default(), &crd).await.expect("create CRD");
        wait_established(&api, &name).await;
        created.push(name);
    }
    created
}

fn ready_time(report: &FluxReport) -> k8s_openapi::jiff::Timestamp {
    let status = report.status.as_ref().expect("status");
    status
        .conditions
        .iter()
        .find(|c| c.type_ == "Ready")
        .expect("Ready")
        .last_transition_time
        .0
}

/// Writes to the FluxReport (spec, status) between two readings of the API server's counters.
fn report_writes(before: &RequestCounts, after: &RequestCounts) -> (f64, f64) {
    let mut writes = (0.0, 0.0);
    for (key, value) in after {
        let (verb, dry_run, resource, subresource) = key;
        let read = ["GET", "LIST", "WATCH"].contains(&verb.as_str());
        if resource != "fluxreports" || !dry_run.is_empty() || read {
            continue;
        }
        let delta = value - before.get(key).copied().unwrap_or(0.0);
        if subresource == "status" {
            writes.1 += delta;
        } else {
            writes.0 += delta;
        }
    }
    writes
}

/// Once per reporting interval the report is written even when nothing changed, so that its
/// Ready time (`LastUpdated`) shows it is alive; the unchanged spec is not rewritten. The
/// operator's own appliers are listed when their CRDs are installed.
#[tokio::test]
async fn the_report_refreshes_every_interval_and_lists_the_operator_appliers() {
    let _serial = serial().await;
    let client = client().await;
    install_crds(&client).await;
    let created = operator_applier_crds(&client).await;
    let ns = namespace(&client, "op-report-beat").await;
    let _operator = start_operator(&ns, &["--reporting-interval=2s"]);
    let report = request_report(&client, &ns, "a").await;
    assert_succeeded(&report);
    for kind in ["ResourceSet", "ResourceSetInputProvider"] {
        let r = report.spec.reconcilers.iter().find(|r| r.kind == kind);
        let r = r.unwrap_or_else(|| panic!("no reconciler {kind} in {:?}", report.spec.reconcilers));
        assert_eq!(r.api_version, "fluxcd.controlplane.io/v1");
        assert!(r.stats.is_some());
    }
    let order: Vec<(&str, &str)> = report
        .spec
        .reconcilers
        .iter()
        .map(|r| (r.api_version.as_str(), r.kind.as_str()))
        .collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "grouped by API version");

    let first = ready_time(&report);
    let before = request_counts(&client).await;
    let window = Duration::from_secs(7);
    tokio::time::sleep(window).await;
    let after = request_counts(&client).await;
    let api: Api<FluxReport> = Api::namespaced(client.clone(), &ns);
    let report = api.get("flux").await.unwrap();
    assert!(
        ready_time(&report) > first,
        "the Ready time did not move: {:?}",
        report.status
    );
    assert_succeeded(&report);
    let (spec_writes, status_writes) = report_writes(&before, &after);
    assert_eq!(spec_writes, 0.0, "an unchanged spec was rewritten");
    // One status write per 2 s interval: 3 or 4 in 7 s, give or take one at the edges.
    assert!(
        (2.0..=5.0).contains(&status_writes),
        "{status_writes} status writes in {window:?}"
    );
    eprintln!(
        "FIGURE report heartbeat: {status_writes} status writes, 0 spec writes in {}s at a 2s interval",
        window.as_secs()
    );

    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for name in created {
        crds.delete(&name, &DeleteParams::default()).await.unwrap();
    }
}
