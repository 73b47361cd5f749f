//! A `--full` test bed with one operator process on it, for benches/operator.rs: the test
//! bed and the operator stop when the bench process exits.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config, ResourceExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NAMESPACE: &str = "flux-system";
const CRD: &str = "helmreleases.helm.toolkit.fluxcd.io";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub enum Flavor {
    Upstream { version: String, binary: PathBuf },
    Ours,
}

impl Flavor {
    /// Upstream's operator, built (or found in the cache) by hack/upstream-operator.sh.
    pub fn upstream(version: &str) -> Self {
        let out = Command::new(root().join("hack/upstream-operator.sh"))
            .args([version, "operator"])
            .output()
            .expect("hack/upstream-operator.sh");
        assert!(
            out.status.success(),
            "hack/upstream-operator.sh {version} operator failed"
        );
        let binary = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        Flavor::Upstream {
            version: version.to_owned(),
            binary,
        }
    }

    pub fn label(&self) -> String {
        match self {
            Flavor::Upstream { version, .. } => format!("upstream {version}"),
            Flavor::Ours => "flux-operator-rs".into(),
        }
    }

    pub fn short(&self) -> &'static str {
        match self {
            Flavor::Upstream { .. } => "upstream",
            Flavor::Ours => "ours",
        }
    }
}

/// apiserver_request_total summed over resource requests (leases, which the control plane
/// renews on its own, and non-resource paths such as this bench's /metrics left out).
#[derive(Debug, Default, Clone)]
pub struct Requests {
    pub total: f64,
    pub writes: f64,
}

impl Requests {
    pub fn delta(&self, before: &Requests) -> Requests {
        Requests {
            total: self.total - before.total,
            writes: self.writes - before.writes,
        }
    }
}

pub struct Bed {
    dir: PathBuf,
    pub client: Client,
}

impl Bed {
    pub async fn up(name: &str) -> Self {
        let dir = root()
            .join("target/testbed-runs")
            .join(format!("{name}-{}", std::process::id()));
        let status = Command::new(root().join("hack/testbed.sh"))
            .arg("up")
            .arg(&dir)
            .arg("--full")
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .status()
            .expect("hack/testbed.sh");
        assert!(status.success(), "test bed did not start");
        let kubeconfig = Kubeconfig::read_from(dir.join("kubeconfig")).expect("kubeconfig");
        let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
            .await
            .expect("config");
        let client = Client::try_from(config).expect("client");
        Self { dir, client }
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn down(self) {
        let _ = Command::new(root().join("hack/testbed.sh"))
            .arg("down")
            .arg(&self.dir)
            .output();
    }

    /// This operator's CRDs (upstream's manager needs all four to start) and the namespace.
    pub async fn install_crds(&self) {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let crds: Vec<Value> = flux_operator_rs::api::crds()
            .into_iter()
            .map(|c| serde_json::to_value(c).expect("CRD"))
            .collect();
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().expect("name").to_owned();
            api.patch(&name, &PatchParams::apply("bench").force(), &Patch::Apply(crd))
                .await
                .expect("CRD");
            let established = kube::runtime::conditions::is_crd_established();
            tokio::time::timeout(
                Duration::from_secs(60),
                kube::runtime::wait::await_condition(api.clone(), &name, established),
            )
            .await
            .expect("CRD Established in time")
            .expect("CRD watch");
        }
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}});
        namespaces
            .patch(NAMESPACE, &PatchParams::apply("kubectl").force(), &Patch::Apply(&ns))
            .await
            .expect("namespace");
    }

    /// `examples/minimal.yaml` with `annotations`, applied as kubectl would.
    pub async fn apply_instance(&self, annotations: &[(&str, &str)]) {
        let text = std::fs::read_to_string(root().join("examples/minimal.yaml")).expect("example");
        let mut instance: Value = parse_yaml(&text);
        let map: serde_json::Map<String, Value> =
            annotations.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect();
        instance["metadata"]["annotations"] = Value::Object(map);
        instance["metadata"]["namespace"] = json!(NAMESPACE);
        self.instances()
            .patch("flux", &PatchParams::apply("kubectl").force(), &Patch::Apply(&instance))
            .await
            .expect("apply the instance");
    }

    fn instances(&self) -> Api<DynamicObject> {
        let gvk = GroupVersionKind::gvk("fluxcd.controlplane.io", "v1", "FluxInstance");
        Api::namespaced_with(self.client.clone(), NAMESPACE, &ApiResource::from_gvk(&gvk))
    }

    pub async fn wait_ready(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let obj = self.instances().get("flux").await.expect("instance");
            let ready = obj.data["status"]["conditions"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["type"] == "Ready").cloned());
            if let Some(c) = ready
                && c["status"] == "True"
                && c["observedGeneration"].as_i64() == obj.metadata.generation
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "not Ready in {limit:?}: {}",
                obj.data["status"]
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn request_counts(&self) -> Requests {
        let request = http::Request::get("/metrics").body(Vec::new()).expect("request");
        let text = self.client.request_text(request).await.expect("apiserver /metrics");
        let mut counts = Requests::default();
        for line in text.lines().filter(|l| l.starts_with("apiserver_request_total{")) {
            let labels = labels(line);
            let resource = labels.get("resource").map(String::as_str).unwrap_or_default();
            if resource.is_empty() || resource == "leases" {
                continue;
            }
            let value: f64 = line.rsplit(' ').next().and_then(|v| v.parse().ok()).unwrap_or(0.0);
            counts.total += value;
            let verb = labels.get("verb").map(String::as_str).unwrap_or_default();
            let dry_run = labels.get("dry_run").is_some_and(|d| !d.is_empty());
            if !dry_run && ["POST", "PUT", "PATCH", "APPLY", "DELETE"].contains(&verb) {
                counts.writes += value;
            }
        }
        counts
    }

    /// Another field manager scales source-controller; how long until it is put back.
    pub async fn time_drift_repair(&self, cap: Duration) -> Option<Duration> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), NAMESPACE);
        let name = "source-controller";
        let patch = json!({"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 3}});
        let started = Instant::now();
        api.patch(name, &PatchParams::apply("someone-else").force(), &Patch::Apply(&patch))
            .await
            .expect("drift");
        until(cap, started, || async {
            let d = api.get(name).await.ok()?;
            (d.spec.and_then(|s| s.replicas) == Some(1)).then_some(())
        })
        .await
    }

    /// helm-controller deleted; how long until a new one exists.
    pub async fn time_deployment_repair(&self, cap: Duration) -> Option<Duration> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), NAMESPACE);
        let name = "helm-controller";
        let old = api.get(name).await.expect("helm-controller").uid();
        let started = Instant::now();
        api.delete(name, &DeleteParams::foreground()).await.expect("delete");
        until(cap, started, || async {
            let d = api.get_opt(name).await.ok()??;
            (d.uid() != old && d.metadata.deletion_timestamp.is_none()).then_some(())
        })
        .await
    }

    /// The HelmRelease CRD deleted; how long until it is back and Established.
    pub async fn time_crd_repair(&self, cap: Duration) -> Option<Duration> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let old = api.get(CRD).await.expect("CRD").uid();
        let started = Instant::now();
        api.delete(CRD, &DeleteParams::default()).await.expect("delete");
        until(cap, started, || async {
            let crd = api.get_opt(CRD).await.ok()??;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .is_some_and(|c| c.iter().any(|c| c.type_ == "Established" && c.status == "True"));
            (crd.metadata.uid != old && established).then_some(())
        })
        .await
    }
}

impl Bed {
    /// The namespace of the instance deleted, as a user would tear a cluster's Flux down:
    /// how long until the namespace is gone and no Flux CRD is left (the namespace
    /// controller deletes the instance, whose finalizer uninstalls Flux).
    pub async fn time_namespace_teardown(&self, cap: Duration) -> Option<Duration> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let crds: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let started = Instant::now();
        namespaces
            .delete(NAMESPACE, &DeleteParams::default())
            .await
            .expect("delete the namespace");
        until(cap, started, || async {
            let gone = namespaces.get_opt(NAMESPACE).await.ok()?.is_none();
            let flux_crds = crds
                .list(&Default::default())
                .await
                .ok()?
                .items
                .iter()
                .filter(|c| c.spec.group.ends_with(".toolkit.fluxcd.io"))
                .count();
            (gone && flux_crds == 0).then_some(())
        })
        .await
    }
}

/// Polls `check` every 100 ms until it gives Some, or `cap` has passed since `started`.
async fn until<F, Fut>(cap: Duration, started: Instant, mut check: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<()>>,
{
    while started.elapsed() < cap {
        if check().await.is_some() {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

fn labels(line: &str) -> BTreeMap<String, String> {
    let inner = line
        .split_once('{')
        .and_then(|(_, rest)| rest.rsplit_once('}'))
        .map(|(inner, _)| inner)
        .unwrap_or_default();
    inner
        .split("\",")
        .filter_map(|pair| pair.split_once("=\""))
        .map(|(k, v)| (k.to_owned(), v.trim_end_matches('"').to_owned()))
        .collect()
}

fn parse_yaml(text: &str) -> Value {
    flux_operator_rs::yaml::from_str(text).expect("example YAML")
}

/// One operator process, killed when dropped.
pub struct Running {
    child: Child,
    metrics_port: u16,
}

impl Running {
    pub fn start(flavor: &Flavor, bed: &Bed) -> Self {
        let metrics_port = free_port();
        let health_port = free_port();
        let storage = root().join("../shared/flux-distribution");
        let mut args = vec![
            format!("--storage-path={}", storage.display()),
            "--enable-leader-election=false".to_owned(),
            format!("--metrics-addr=127.0.0.1:{metrics_port}"),
            format!("--health-addr=127.0.0.1:{health_port}"),
            "--log-level=info".to_owned(),
        ];
        let mut command = match flavor {
            Flavor::Upstream { binary, .. } => {
                args.push("--web-server-port=0".to_owned());
                let mut c = Command::new(binary);
                c.env("GODEBUG", "fips140=on");
                c
            }
            Flavor::Ours => {
                args.insert(0, "run".to_owned());
                Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
            }
        };
        let log = bed.kubeconfig().with_file_name("operator.log");
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .args(&args)
            .env("RUNTIME_NAMESPACE", NAMESPACE)
            .env("KUBECONFIG", bed.kubeconfig())
            .env("NOTIFICATIONS_DISABLED", "true")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log"))
            .stderr(file)
            .spawn()
            .expect("start the operator");
        Self { child, metrics_port }
    }

    pub async fn wait_metrics(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while scrape(self.metrics_port).await.is_none() {
            assert!(Instant::now() < deadline, "the operator's metrics never answered");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// controller_runtime_reconcile_total of the fluxinstance controller, all results.
    pub async fn reconciles(&self) -> f64 {
        let text = scrape(self.metrics_port).await.unwrap_or_default();
        text.lines()
            .filter(|l| {
                l.starts_with("controller_runtime_reconcile_total{") && l.contains("controller=\"fluxinstance\"")
            })
            .filter_map(|l| l.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()))
            .sum()
    }

    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with("VmRSS:"))
            .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<f64>().ok()))
            .unwrap_or(0.0)
            / 1024.0
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn scrape(port: u16) -> Option<String> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await.ok()?;
    body.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}
