//! Reads the cluster and computes the FluxReport's spec and the metric series. Lists are
//! paginated, so memory stays bounded however many Flux objects there are.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::{Client, ResourceExt};
use serde_json::Value;

use super::stats::{classify, human_size, str_of};
use crate::api::{
    API_VERSION, ClusterInfo, ComponentStatus, FluxDistributionStatus, FluxInstance, FluxReportSpec, GROUP,
    OperatorInfo, ReconcilerStats, ReconcilerStatus, SyncStatus,
};
use crate::apply::{Pager, Readiness, readiness};
use crate::metrics::{InstanceInfo, ResourceInfo};

const PAGE: u32 = 500;
const FLUX_CRD: &str = "gitrepositories.source.toolkit.fluxcd.io";
const PART_OF_FLUX: &str = "app.kubernetes.io/part-of=flux";
/// Plurals of the operator's own reconciled kinds besides FluxInstance.
const OPERATOR_APPLIERS: [&str; 2] = ["resourcesets", "resourcesetinputproviders"];

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("reading {what}: {source}")]
    Read {
        what: String,
        #[source]
        source: kube::Error,
    },
}

fn read(what: impl Into<String>) -> impl FnOnce(kube::Error) -> Error {
    let what = what.into();
    move |source| Error::Read { what, source }
}

/// Everything one refresh produces.
#[derive(Debug, Default)]
pub struct Computed {
    pub spec: FluxReportSpec,
    pub instances: Vec<InstanceInfo>,
    pub resources: Vec<ResourceInfo>,
}

pub async fn compute(client: &Client, namespace: &str) -> Result<Computed, Error> {
    let mut computed = Computed::default();
    computed.spec.distribution = distribution(client).await;
    computed.spec.cluster = Some(cluster(client).await?);
    computed.spec.operator = Some(OperatorInfo {
        api_version: API_VERSION.to_owned(),
        version: crate::metrics::operator_version(),
        platform: crate::metrics::platform(),
    });
    computed.spec.components = components(client, namespace).await?;

    let instances: Api<FluxInstance> = Api::all(client.clone());
    let instance_list = instances
        .list(&ListParams::default())
        .await
        .map_err(read("FluxInstances"))?;
    let (mut reconcilers, resources) = flux_reconcilers(client).await?;
    // Without Flux's CRDs (not installed yet, or relabelled by commonMetadata) upstream
    // reports neither reconcilers nor a sync: the report describes a Flux installation.
    let flux_installed = !reconcilers.is_empty();
    reconcilers.extend(operator_reconcilers(client).await?);
    let mut stats = ReconcilerStats::default();
    for instance in &instance_list {
        let value = serde_json::to_value(instance).unwrap_or(Value::Null);
        let state = classify("FluxInstance", &value);
        count(&mut stats, state.suspended, state.failing);
        computed.instances.push(InstanceInfo {
            uid: state.info.uid,
            name: state.info.name,
            namespace: state.info.namespace,
            ready: state.info.ready,
            reason: state.info.reason,
            suspended: state.suspended,
            registry: instance.spec.distribution.registry.clone(),
            revision: instance
                .status
                .as_ref()
                .and_then(|s| s.last_applied_revision.clone())
                .unwrap_or_default(),
        });
    }
    reconcilers.push(ReconcilerStatus {
        api_version: API_VERSION.to_owned(),
        kind: "FluxInstance".into(),
        stats: Some(stats),
    });
    // Grouped by API, as upstream lists them.
    reconcilers.sort_by(|a, b| a.api_version.cmp(&b.api_version).then(a.kind.cmp(&b.kind)));
    if flux_installed {
        computed.spec.reconcilers = reconcilers;
    }
    computed.resources = resources;

    let own = instance_list
        .items
        .iter()
        .find(|i| i.namespace().as_deref() == Some(namespace));
    computed.spec.sync = match own {
        Some(instance) if flux_installed => sync(client, instance).await?,
        _ => None,
    };
    Ok(computed)
}

/// The distribution as its CRDs tell it: installed by whom, at which version.
async fn distribution(client: &Client) -> FluxDistributionStatus {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut d = FluxDistributionStatus {
        entitlement: "Unknown".into(),
        ..Default::default()
    };
    match crds.get_opt(FLUX_CRD).await {
        Ok(Some(crd)) => {
            let labels = crd.labels();
            d.status = "Installed".into();
            d.version = labels.get("app.kubernetes.io/version").cloned().unwrap_or_default();
            d.managed_by = match labels.get("app.kubernetes.io/managed-by") {
                Some(m) => m.clone(),
                None if labels.contains_key("kustomize.toolkit.fluxcd.io/name") => "flux bootstrap".into(),
                None => String::new(),
            };
        }
        Ok(None) => d.status = "Not Installed".into(),
        Err(error) => {
            tracing::warn!(%error, "reading the Flux CRDs");
            d.status = "Unknown".into();
        }
    }
    d
}

async fn cluster(client: &Client) -> Result<ClusterInfo, Error> {
    let version = client.apiserver_version().await.map_err(read("the server version"))?;
    let nodes: Api<Node> = Api::all(client.clone());
    let mut count = 0i64;
    let mut pager = Pager::new(ListParams::default(), PAGE);
    while let Some(params) = pager.next_params() {
        let page = nodes.list_metadata(params).await.map_err(read("Nodes"))?;
        pager.advance(&page.metadata);
        count += page.items.len() as i64;
    }
    Ok(ClusterInfo {
        server_version: version.git_version,
        platform: version.platform,
        nodes: Some(count),
    })
}

async fn components(client: &Client, namespace: &str) -> Result<Vec<ComponentStatus>, Error> {
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().labels(PART_OF_FLUX))
        .await
        .map_err(read("Deployments"))?;
    let mut out: Vec<ComponentStatus> = list
        .items
        .iter()
        .map(|d| {
            let value = serde_json::to_value(d).unwrap_or(Value::Null);
            let replicas = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let (ready, status) = match readiness(&value) {
                Readiness::Ready => (true, format!("Current Deployment is available. Replicas: {replicas}")),
                Readiness::InProgress(m) => (false, format!("InProgress {m}")),
                Readiness::Failed(m) => (false, format!("Failed {m}")),
            };
            let image = d
                .spec
                .as_ref()
                .and_then(|s| s.template.spec.as_ref())
                .and_then(|s| s.containers.first())
                .and_then(|c| c.image.clone())
                .unwrap_or_default();
            ComponentStatus {
                name: d.name_any(),
                ready,
                status,
                image,
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Statistics of every Flux kind (CRDs labelled part-of=flux, at their storage version),
/// and one metric series per object.
async fn flux_reconcilers(client: &Client) -> Result<(Vec<ReconcilerStatus>, Vec<ResourceInfo>), Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let list = crds
        .list(&ListParams::default().labels(PART_OF_FLUX))
        .await
        .map_err(read("the Flux CRDs"))?;
    let mut reconcilers = Vec::new();
    let mut resources = Vec::new();
    for crd in &list.items {
        if let Some(reconciler) = scan(client, crd, Some(&mut resources)).await? {
            reconcilers.push(reconciler);
        }
    }
    Ok((reconcilers, resources))
}

/// The operator's own appliers, listed when their CRDs are installed, as upstream lists
/// them; their objects have no `flux_resource_info` series upstream either.
async fn operator_reconcilers(client: &Client) -> Result<Vec<ReconcilerStatus>, Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let mut out = Vec::new();
    for plural in OPERATOR_APPLIERS {
        let name = format!("{plural}.{GROUP}");
        let crd = crds.get_opt(&name).await.map_err(read(format!("the CRD {name}")))?;
        if let Some(crd) = crd
            && let Some(reconciler) = scan(client, &crd, None).await?
        {
            out.push(reconciler);
        }
    }
    Ok(out)
}

/// The statistics of one kind, read page by page; each object's series go to `resources`.
async fn scan(
    client: &Client,
    crd: &CustomResourceDefinition,
    mut resources: Option<&mut Vec<ResourceInfo>>,
) -> Result<Option<ReconcilerStatus>, Error> {
    let Some(version) = crd.spec.versions.iter().find(|v| v.storage).map(|v| v.name.clone()) else {
        return Ok(None);
    };
    let names = &crd.spec.names;
    let gvk = GroupVersionKind::gvk(&crd.spec.group, &version, &names.kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, &names.plural);
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &resource);
    let mut stats = ReconcilerStats::default();
    let mut total_size: Option<u64> = None;
    let mut pager = Pager::new(ListParams::default(), PAGE);
    while let Some(params) = pager.next_params() {
        let page = api
            .list(params)
            .await
            .map_err(read(format!("{} objects", names.kind)))?;
        pager.advance(&page.metadata);
        for item in &page.items {
            let value = serde_json::to_value(item).unwrap_or(Value::Null);
            let state = classify(&names.kind, &value);
            count(&mut stats, state.suspended, state.failing);
            if let Some(size) = state.artifact_size {
                *total_size.get_or_insert(0) += size;
            }
            if let Some(resources) = resources.as_deref_mut() {
                resources.push(state.info);
            }
        }
    }
    stats.total_size = total_size.map(human_size).unwrap_or_default();
    Ok(Some(ReconcilerStatus {
        api_version: gvk.api_version(),
        kind: names.kind.clone(),
        stats: Some(stats),
    }))
}

fn count(stats: &mut ReconcilerStats, suspended: bool, failing: bool) {
    if suspended {
        stats.suspended += 1;
    } else {
        stats.running += 1;
    }
    if failing {
        stats.failing += 1;
    }
}

/// The sync Kustomization of the instance, named after `spec.sync.name` (default: the
/// namespace) rather than assumed.
async fn sync(client: &Client, instance: &FluxInstance) -> Result<Option<SyncStatus>, Error> {
    let Some(sync) = &instance.spec.sync else {
        return Ok(None);
    };
    let namespace = instance.namespace().unwrap_or_default();
    let name = sync.name.clone().unwrap_or_else(|| namespace.clone());
    let gvk = GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization");
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &ApiResource::from_gvk(&gvk));
    let live = match api.get_opt(&name).await {
        Ok(live) => live,
        // The Kustomization CRD is not installed (yet).
        Err(kube::Error::Api(s)) if s.code == 404 => None,
        Err(e) => return Err(read("the sync Kustomization")(e)),
    };
    // Not created yet (or its CRD missing): upstream leaves the sync out of the report.
    let Some(live) = live else { return Ok(None) };
    let (ready, status) = sync_state(&live.data);
    Ok(Some(SyncStatus {
        id: format!("kustomization/{name}"),
        path: sync.path.clone(),
        ready,
        status,
        source: sync_source(sync),
    }))
}

/// Where the sync reads from: the URL, or for a Bucket (whose `ref` is the bucket's name)
/// `<endpoint>/<bucket>`, as upstream reports it.
fn sync_source(sync: &crate::api::SyncSpec) -> String {
    match sync.kind {
        crate::api::SyncKind::Bucket => format!("{}/{}", sync.url, sync.ref_),
        _ => sync.url.clone(),
    }
}

/// (ready, status) of the sync Kustomization: its Ready condition, or where it stands
/// without one.
fn sync_state(live: &Value) -> (bool, String) {
    let ready = live["status"]["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Ready"));
    match ready {
        Some(c) => (c["status"] == "True", str_of(&c["message"])),
        // Created, never reconciled yet: upstream's wording.
        None => (false, "not initialized".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_bucket_sync_names_endpoint_and_bucket() {
        let sync = |kind: &str| -> crate::api::SyncSpec {
            serde_json::from_value(json!({"kind": kind, "url": "minio.example.com", "ref": "fleet", "path": "./"}))
                .expect("sync")
        };
        assert_eq!(sync_source(&sync("Bucket")), "minio.example.com/fleet");
        assert_eq!(sync_source(&sync("GitRepository")), "minio.example.com");
    }

    #[test]
    fn sync_states() {
        let fresh = json!({"metadata": {"name": "flux-system"}, "status": {}});
        assert_eq!(sync_state(&fresh), (false, "not initialized".into()));
        let ready = json!({"status": {"conditions": [
            {"type": "Reconciling", "status": "True", "message": "x"},
            {"type": "Ready", "status": "True", "message": "Applied revision: main@sha1:1"}]}});
        assert_eq!(sync_state(&ready), (true, "Applied revision: main@sha1:1".into()));
        let failed =
            json!({"status": {"conditions": [{"type": "Ready", "status": "False", "message": "build failed"}]}});
        assert_eq!(sync_state(&failed), (false, "build failed".into()));
    }
}
