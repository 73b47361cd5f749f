//! Returning a test bed to the state of a new one after a run, in about a second. The beds of
//! the suite run no controller-manager, so this does the work of its namespace controller
//! (which would besides wait five seconds before it starts, and then the pods' grace period)
//! and of the finalizers' controllers (PVC protection), then finalizes the namespace.

use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::core::ApiResource;
use kube::discovery::{Discovery, Scope, verbs};
use kube::{Client, ResourceExt};
use serde_json::json;

use crate::ParityError;
use crate::bed::instance_resource;

/// Removes what a run left: the instance (its finalizer first, so that the operator,
/// already stopped, does not uninstall), every object of `namespace` and the namespace, the
/// Flux CRDs with their objects and the instance's cluster-wide RBAC.
pub async fn clean(client: &Client, namespace: &str) -> Result<(), ParityError> {
    let instances: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, &instance_resource());
    if instances.get_opt("flux").await?.is_some() {
        let unfinalized = json!({"metadata": {"finalizers": null}});
        instances
            .patch("flux", &PatchParams::default(), &Patch::Merge(&unfinalized))
            .await?;
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    // Terminating first: nothing can be created in it while its content is deleted.
    ignore_gone(namespaces.delete(namespace, &DeleteParams::background()).await)?;
    empty_namespace(client, namespace).await?;
    if let Some(mut ns) = namespaces.get_opt(namespace).await? {
        ns.spec.get_or_insert_default().finalizers = Some(Vec::new());
        ignore_gone(
            namespaces
                .replace_subresource("finalize", namespace, &PostParams::default(), &ns)
                .await,
        )?;
    }
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds.list(&ListParams::default()).await?.items {
        if crd.spec.group != "fluxcd.controlplane.io" {
            ignore_gone(crds.delete(&crd.name_any(), &DeleteParams::background()).await)?;
        }
    }
    let managed = ListParams::default().labels("app.kubernetes.io/managed-by=flux-operator");
    let roles: Api<ClusterRole> = Api::all(client.clone());
    let bindings: Api<ClusterRoleBinding> = Api::all(client.clone());
    roles.delete_collection(&DeleteParams::background(), &managed).await?;
    bindings
        .delete_collection(&DeleteParams::background(), &managed)
        .await?;
    wait_gone(namespace, || async {
        let flux_crds = crds.list(&ListParams::default()).await?.items;
        Ok(flux_crds
            .iter()
            .filter(|c| c.spec.group != "fluxcd.controlplane.io")
            .count()
            + roles.list(&managed).await?.items.len()
            + bindings.list(&managed).await?.items.len()
            + usize::from(namespaces.get_opt(namespace).await?.is_some()))
    })
    .await
}

/// Deletes every object of every namespaced kind in `namespace` (pods without grace period)
/// and waits until none is left, finalizers (PVC protection) having run.
async fn empty_namespace(client: &Client, namespace: &str) -> Result<(), ParityError> {
    let discovery = Discovery::new(client.clone()).run_aggregated().await?;
    let kinds: Vec<ApiResource> = discovery
        .groups()
        .flat_map(|g| g.recommended_resources())
        .filter(|(_, caps)| caps.scope == Scope::Namespaced && caps.supports_operation(verbs::DELETE_COLLECTION))
        .map(|(resource, _)| resource)
        .collect();
    let now = DeleteParams {
        grace_period_seconds: Some(0),
        ..DeleteParams::background()
    };
    for kind in &kinds {
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, kind);
        ignore_gone(api.delete_collection(&now, &ListParams::default()).await)?;
    }
    wait_gone(namespace, || async {
        let mut left = 0;
        for kind in &kinds {
            let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), namespace, kind);
            let items = match api.list(&ListParams::default()).await {
                Ok(list) => list.items,
                Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
                Err(e) => return Err(e.into()),
            };
            left += items.len();
            // No controller removes these finalizers (PVC protection) on this bed.
            for obj in items.iter().filter(|o| !o.finalizers().is_empty()) {
                let unfinalized = json!({"metadata": {"finalizers": null}});
                ignore_gone(
                    api.patch(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&unfinalized))
                        .await,
                )?;
            }
        }
        Ok(left)
    })
    .await
}

/// Polls `left` until it reports nothing left, for at most two minutes.
async fn wait_gone<F, Fut>(what: &str, left: F) -> Result<(), ParityError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<usize, ParityError>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let n = left().await?;
        if n == 0 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ParityError::Timeout(format!("cleaning {what}: {n} objects left")));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A deletion of something already gone is no error.
fn ignore_gone<T>(result: Result<T, kube::Error>) -> Result<(), ParityError> {
    match result {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}
