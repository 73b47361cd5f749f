//! FluxReport numbers and Prometheus series against the real API server, checked with
//! promtool and scraped by a real Prometheus on loopback.

use std::collections::BTreeMap;
use std::process::{Child, Command};
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::{Value, json};

use flux_operator_rs::api::{FluxReport, ReconcilerStats};
use flux_operator_rs::report::{classify, human_size};

use crate::common::{FIELD_MANAGER, client, install_crds, namespace};
use crate::harness::*;

fn resource(group: &str, version: &str, kind: &str) -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind))
}

/// Creates a Flux object and sets its status through the status subresource.
async fn flux_object(client: &Client, ns: &str, ar: &ApiResource, name: &str, spec: Value, status: Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, ar);
    let obj = json!({"apiVersion": ar.api_version, "kind": ar.kind, "metadata": {"name": name, "namespace": ns}, "spec": spec});
    api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&obj))
        .await
        .expect("create Flux object");
    api.patch_status(name, &PatchParams::default(), &Patch::Merge(&json!({"status": status})))
        .await
        .expect("status");
}

fn ready(status: &str, reason: &str) -> Value {
    json!([{"type": "Ready", "status": status, "reason": reason, "message": format!("{reason} message"),
            "lastTransitionTime": "2026-01-01T00:00:00Z"}])
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .unwrap()
        .port()
}

async fn request_report(client: &Client, ns: &str, token: &str) -> FluxReport {
    let api: Api<FluxReport> = Api::namespaced(client.clone(), ns);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(report) = api.get_opt("flux").await.unwrap() {
            let handled = report.status.as_ref().and_then(|s| s.last_handled_reconcile_at.clone());
            if handled.as_deref() == Some(token) {
                return report;
            }
            let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
            api.patch("flux", &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .unwrap();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the FluxReport did not handle requestedAt {token}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

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

/// Series of a metric as label maps, from the text exposition format.
fn series(text: &str, metric: &str) -> Vec<BTreeMap<String, String>> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{metric}{{")))
        .map(|l| {
            let inner = &l[metric.len() + 1..l.rfind('}').unwrap()];
            let mut labels = BTreeMap::new();
            let mut rest = inner;
            while let Some((key, after)) = rest.split_once("=\"") {
                let end = after.find('"').unwrap();
                labels.insert(key.trim_start_matches(',').to_owned(), after[..end].to_owned());
                rest = &after[end + 1..];
            }
            labels
        })
        .collect()
}

fn scrape(port: u16) -> String {
    let out = Command::new("curl")
        .args(["-fsS", &format!("http://127.0.0.1:{port}/metrics")])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "scrape failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

struct Prometheus {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_prometheus(target_port: u16, port: u16) -> Prometheus {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n- job_name: flux-operator\n  static_configs:\n  - targets: ['127.0.0.1:{target_port}']\n"
    );
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let child = Command::new("prometheus")
        .arg(format!("--config.file={}", dir.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", dir.path().join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("prometheus.log")).unwrap())
        .spawn()
        .expect("start prometheus (Debian package prometheus, installed by .ci/run)");
    Prometheus { child, _dir: dir }
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
        ],
    );
    let _kubelet = start_kubelet(&client, &ns);
    let spec = json!({"distribution": {"version": "2.9.x", "registry": "ghcr.io/fluxcd"}, "wait": false,
        "sync": {"kind": "GitRepository", "url": "https://example.com/fleet.git", "ref": "refs/heads/main", "path": "clusters/prod", "name": "fleet"}});
    apply_instance(&client, &ns, spec, json!({})).await;
    wait_instance(&client, &ns, 120, "Ready", |o| is_ready_at(o, "v2.9.4@")).await;

    let ks = resource("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let git = resource("source.toolkit.fluxcd.io", "v1", "GitRepository");
    let hr = resource("helm.toolkit.fluxcd.io", "v2", "HelmRelease");
    let ks_spec = |path: &str, suspend: bool| json!({"interval": "10m", "path": path, "prune": true, "suspend": suspend, "sourceRef": {"kind": "GitRepository", "name": "apps"}});
    flux_object(
        &client,
        &ns,
        &ks,
        "k-ready",
        ks_spec("./ready", false),
        json!({"conditions": ready("True", "ReconciliationSucceeded"), "lastAppliedRevision": "main@sha1:1"}),
    )
    .await;
    flux_object(
        &client,
        &ns,
        &ks,
        "k-failing",
        ks_spec("./failing", false),
        json!({"conditions": ready("False", "BuildFailed")}),
    )
    .await;
    flux_object(
        &client,
        &ns,
        &ks,
        "k-suspended",
        ks_spec("./suspended", true),
        json!({"conditions": ready("False", "BuildFailed")}),
    )
    .await;
    flux_object(
        &client,
        &ns,
        &ks,
        "k-waiting",
        ks_spec("./waiting", false),
        json!({"conditions": ready("False", "DependencyNotReady")}),
    )
    .await;
    // The sync Kustomization the operator generated, made ready as kustomize-controller would.
    let ks_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ks);
    ks_api
        .patch_status(
            "fleet",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"conditions": ready("True", "ReconciliationSucceeded")}})),
        )
        .await
        .expect("sync status");
    let git_spec = |url: &str| json!({"interval": "1m", "url": url, "ref": {"branch": "main"}});
    let artifact = |size: u64| json!({"path": "x", "url": "http://x", "revision": "main@sha1:2", "digest": "sha256:0", "lastUpdateTime": "2026-01-01T00:00:00Z", "size": size});
    flux_object(
        &client,
        &ns,
        &git,
        "apps",
        git_spec("https://example.com/apps.git"),
        json!({"conditions": ready("True", "Succeeded"), "artifact": artifact(1024)}),
    )
    .await;
    flux_object(
        &client,
        &ns,
        &git,
        "infra",
        git_spec("https://example.com/infra.git"),
        json!({"conditions": ready("True", "Succeeded"), "artifact": artifact(2_000_000)}),
    )
    .await;
    flux_object(
        &client,
        &ns,
        &hr,
        "podinfo",
        json!({"interval": "5m", "chartRef": {"kind": "OCIRepository", "name": "podinfo"}}),
        json!({"conditions": ready("True", "UpgradeSucceeded")}),
    )
    .await;

    let fi_ar = resource("fluxcd.controlplane.io", "v1", "FluxInstance");
    let oci = resource("source.toolkit.fluxcd.io", "v1", "OCIRepository");
    let others = (
        elsewhere(&client, &ns, &ks).await,
        elsewhere(&client, &ns, &git).await,
        elsewhere(&client, &ns, &hr).await,
        elsewhere(&client, &ns, &fi_ar).await,
        elsewhere(&client, &ns, &oci).await,
    );
    let report = request_report(&client, &ns, "t1").await;
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
    assert_eq!(triple(stats(&report, "OCIRepository")), others.4);
    assert_eq!(report.spec.distribution.status, "Installed");
    assert_eq!(report.spec.distribution.version, "v2.9.4");
    assert_eq!(report.spec.distribution.managed_by, "flux-operator");
    let names: Vec<&str> = report.spec.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "helm-controller",
            "kustomize-controller",
            "notification-controller",
            "source-controller"
        ]
    );
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
    let (status, reason, _) = {
        let c = &report.status.as_ref().unwrap().conditions[0];
        (c.status.clone(), c.reason.clone(), c.message.clone())
    };
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Succeeded"));

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
    assert_eq!(in_ns.len(), 9, "one series per Flux object: {in_ns:#?}");
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
    assert_eq!(mine["registry"], "ghcr.io/fluxcd");
    assert!(mine["revision"].starts_with("v2.9.4@sha256:"));
    assert_eq!(mine["kind"], "FluxInstance");
    assert_eq!(series(&text, "flux_operator_info").len(), 1);
    assert!(text.contains("controller_runtime_reconcile_total{controller=\"fluxinstance\",result=\"success\"}"));
    assert!(text.contains("controller_runtime_reconcile_time_seconds_bucket{controller=\"fluxinstance\""));
    assert!(text.contains("process_resident_memory_bytes"));

    // promtool judges the exposition.
    let promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus, installed by .ci/run)");
    let out = {
        use std::io::Write;
        let mut child = promtool;
        child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A deleted object's series disappears.
    let ks_api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &ks);
    ks_api.delete("k-waiting", &DeleteParams::default()).await.unwrap();
    request_report(&client, &ns, "t2").await;
    let text = scrape(metrics_port);
    assert!(
        !series(&text, "flux_resource_info")
            .iter()
            .any(|s| s["name"] == "k-waiting" && s["exported_namespace"] == ns)
    );

    // A real Prometheus scrapes the operator; its query API returns the instance as ready.
    let prom_port = free_port();
    let _prometheus = start_prometheus(metrics_port, prom_port);
    let query = format!(
        "http://127.0.0.1:{prom_port}/api/v1/query?query=flux_instance_info%7Bexported_namespace%3D%22{ns}%22%7D"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let out = Command::new("curl").args(["-fsS", &query]).output().expect("curl");
        if out.status.success() {
            let body: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
            if let Some(first) = body["data"]["result"].as_array().and_then(|r| r.first()) {
                assert_eq!(first["metric"]["ready"], "True", "{body}");
                assert_eq!(first["metric"]["name"], "flux");
                break;
            }
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "Prometheus never returned flux_instance_info"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
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
