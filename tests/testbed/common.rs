//! One real etcd + kube-apiserver for this test binary,
//! started by `hack/testbed.sh` on loopback and stopped when the test process exits.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use serde_json::Value;

pub const FIELD_MANAGER: &str = "flux-operator-rs-tests";

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

static TESTBED_FLAGS: OnceLock<Vec<&'static str>> = OnceLock::new();

/// Flags of `hack/testbed.sh up` for this binary's test bed (`--full`, `--node`); call it
/// before anything starts the test bed.
pub fn testbed_flags(flags: &[&'static str]) {
    TESTBED_FLAGS
        .set(flags.to_vec())
        .expect("testbed_flags is called once, before the test bed starts");
}

/// The folder of this test binary's test bed (ca.crt, port, and with `--node` registry).
pub fn testbed_dir() -> &'static Path {
    kubeconfig()
        .parent()
        .expect("the kubeconfig is in the test bed's folder")
}

/// The kubeconfig of this test binary's test bed. `FLUX_TESTBED_KUBECONFIG` reuses a running
/// one (started by hand with `hack/testbed.sh up DIR`).
pub fn kubeconfig() -> &'static Path {
    static KUBECONFIG: OnceLock<PathBuf> = OnceLock::new();
    KUBECONFIG.get_or_init(|| {
        if let Ok(path) = std::env::var("FLUX_TESTBED_KUBECONFIG") {
            return PathBuf::from(path);
        }
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "tests".into());
        let dir = project_root()
            .join("target/testbed-runs")
            .join(format!("{binary}-{}", std::process::id()));
        let status = Command::new(project_root().join("hack/testbed.sh"))
            .arg("up")
            .arg(&dir)
            .args(TESTBED_FLAGS.get_or_init(Vec::new))
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .status()
            .expect("run hack/testbed.sh");
        assert!(status.success(), "hack/testbed.sh up {} failed", dir.display());
        dir.join("kubeconfig")
    })
}

/// A client of the test bed; one per test because a client is bound to its tokio runtime.
pub async fn client() -> Client {
    Client::try_from(config().await).expect("client")
}

/// The test bed's client configuration, for code that builds its own client.
pub async fn config() -> Config {
    let kubeconfig = Kubeconfig::read_from(kubeconfig()).expect("read kubeconfig");
    Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("kubeconfig")
}

/// kubectl against the test bed; returns (success, stdout, stderr).
pub fn kubectl(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kubectl");
    if let (Some(input), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(input.as_bytes()).expect("write kubectl stdin");
    }
    let out = child.wait_with_output().expect("kubectl output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// kubectl against the test bed, failing the test on error; returns stdout.
pub fn kubectl_ok(args: &[&str], stdin: Option<&str>) -> String {
    let (ok, stdout, stderr) = kubectl(args, stdin);
    assert!(ok, "kubectl {} failed:\n{stdout}\n{stderr}", args.join(" "));
    stdout
}

/// `kubectl ... -o json` against the test bed, parsed.
pub fn kubectl_json(args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["-o", "json"]);
    serde_json::from_str(&kubectl_ok(&all, None)).expect("kubectl JSON")
}

/// Installs this project's CRDs (from `crds/`) and waits until they are Established.
pub async fn install_crds(client: &Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in flux_operator_rs::api::crds() {
        let name = crd.metadata.name.clone().unwrap();
        api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&crd))
            .await
            .expect("apply CRD");
        wait_established(&api, &name).await;
    }
}

pub async fn wait_established(
    api: &Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>,
    name: &str,
) {
    let cond = kube::runtime::conditions::is_crd_established();
    tokio::time::timeout(
        std::time::Duration::from_secs(60),
        kube::runtime::wait::await_condition(api.clone(), name, cond),
    )
    .await
    .unwrap_or_else(|_| panic!("CRD {name} not Established within 60s"))
    .expect("watch CRD");
}

/// Creates a namespace with a unique name for one test.
pub async fn namespace(client: &Client, prefix: &str) -> String {
    use k8s_openapi::api::core::v1::Namespace;
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let name = format!("{prefix}-{n}");
    let api: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}
    }))
    .unwrap();
    api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(&ns))
        .await
        .expect("create namespace");
    name
}

pub fn flux_instance_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("fluxcd.controlplane.io", "v1", "FluxInstance"))
}

pub fn flux_report_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("fluxcd.controlplane.io", "v1", "FluxReport"))
}

/// Server-side applies an arbitrary (possibly invalid) object; returns the apiserver's
/// error message on rejection.
pub async fn apply_dynamic(client: &Client, resource: &ApiResource, obj: &Value) -> Result<DynamicObject, String> {
    let ns = obj["metadata"]["namespace"].as_str().expect("namespace");
    let name = obj["metadata"]["name"].as_str().expect("name");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, resource);
    api.patch(name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(obj))
        .await
        .map_err(|e| match e {
            kube::Error::Api(status) => status.message.clone(),
            other => other.to_string(),
        })
}

/// Reads a YAML file of the project as JSON.
pub fn read_yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(project_root().join(path)).expect("read file");
    flux_operator_rs::yaml::from_str(&text).expect("parse YAML")
}
