//! A test bed (`hack/testbed.sh up`): a real kube-apiserver and etcd; in full mode also
//! kube-controller-manager, kube-scheduler and kwok, so that Deployments roll out for real. A
//! bed serves one operator flavour for a sequence of cases, cleaned between them: starting a
//! bed costs more CPU than a run. Its apiserver has no watch cache: a new CRD's first lists
//! would be refused (429) while the cache initialises, and upstream's FluxReport after an
//! install would spend seconds retrying them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, Config};
use serde_json::{Value, json};
use tokio::process::Command;

use crate::ParityError;

pub const FIELD_MANAGER: &str = "flux-operator-rs-parity";

pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A running test bed; [`TestBed::down`] stops it (the `--owner-pid` watchdog does too when
/// the test process dies first).
pub struct TestBed {
    pub dir: PathBuf,
    pub client: Client,
}

impl TestBed {
    /// Starts a test bed in `target/testbed-runs/parity-<pid>/<name>`; with `full` the
    /// cluster's controllers and kwok run too, else the bed gets a Node object only (the
    /// FluxReport counts nodes) and the harness plays kubelet ([`crate::kubelet`]).
    pub async fn up(name: &str, full: bool) -> Result<Self, ParityError> {
        let dir = project_root()
            .join("target/testbed-runs")
            .join(format!("parity-{}", std::process::id()))
            .join(name);
        let _ = std::fs::remove_dir_all(&dir);
        let out = Command::new(project_root().join("hack/testbed.sh"))
            .arg("up")
            .arg(&dir)
            .args(full.then_some("--full"))
            .arg("--no-watch-cache")
            .arg("--owner-pid")
            .arg(std::process::id().to_string())
            .output()
            .await
            .map_err(|e| ParityError::Spawn("hack/testbed.sh".into(), e))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            return Err(ParityError::TestBed(dir.display().to_string(), stderr));
        }
        let client = client(&dir.join("kubeconfig")).await?;
        if !full {
            let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "parity-node-0",
                "labels": {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                           "kubernetes.io/hostname": "parity-node-0"}}});
            let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
            nodes
                .patch(
                    "parity-node-0",
                    &PatchParams::apply(FIELD_MANAGER),
                    &Patch::Apply(&node),
                )
                .await?;
        }
        Ok(Self { dir, client })
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    /// Installs our four CRDs (upstream's manager needs ResourceSet's two as well) and creates
    /// the namespace the operators run in.
    pub async fn prepare(&self, namespace: &str) -> Result<(), ParityError> {
        let api: Api<CustomResourceDefinition> = Api::all(self.client.clone());
        let crds: Vec<Value> = flux_operator_rs::api::crds()
            .into_iter()
            .map(|crd| serde_json::to_value(crd).expect("CRD as JSON"))
            .collect();
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            api.patch(&name, &PatchParams::apply(FIELD_MANAGER).force(), &Patch::Apply(crd))
                .await?;
        }
        for crd in &crds {
            let name = crd["metadata"]["name"].as_str().unwrap_or_default();
            let established = kube::runtime::conditions::is_crd_established();
            tokio::time::timeout(
                Duration::from_secs(60),
                kube::runtime::wait::await_condition(api.clone(), name, established),
            )
            .await
            .map_err(|_| ParityError::Timeout(format!("CRD {name} Established")))?
            .map_err(|e| ParityError::Timeout(format!("CRD {name} Established: {e}")))?;
        }
        // As a user does before applying the instance: `kubectl create namespace`.
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}})).expect("Namespace");
        let params = PostParams {
            field_manager: Some("kubectl-create".into()),
            ..PostParams::default()
        };
        match namespaces.create(&params, &ns).await {
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            other => other.map(|_| ()).map_err(Into::into),
        }
    }

    pub async fn down(self) {
        let status = Command::new(project_root().join("hack/testbed.sh"))
            .arg("down")
            .arg(&self.dir)
            .output()
            .await;
        if let Err(e) = status {
            eprintln!("parity: testbed down {}: {e}", self.dir.display());
        }
    }
}

pub fn instance_resource() -> ApiResource {
    ApiResource::from_gvk(&GroupVersionKind::gvk("fluxcd.controlplane.io", "v1", "FluxInstance"))
}

pub async fn client(kubeconfig: &Path) -> Result<Client, ParityError> {
    let kubeconfig = Kubeconfig::read_from(kubeconfig).map_err(|e| ParityError::Client(e.to_string()))?;
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| ParityError::Client(e.to_string()))?;
    Client::try_from(config).map_err(|e| ParityError::Client(e.to_string()))
}
