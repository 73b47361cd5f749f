use kube::Client;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::{ApiResource, PartialObjectMeta};
use serde_json::Value;

use super::error::Error;
use crate::apply::Pager;

const PAGE: u32 = 500;

/// Merge-patches every object of a kind, cluster-wide, that `select` picks; returns how
/// many were patched. Objects deleted meanwhile are skipped.
pub async fn patch_all(
    client: &Client,
    resource: &ApiResource,
    patch: &Value,
    select: impl Fn(&PartialObjectMeta<DynamicObject>) -> bool,
) -> Result<usize, Error> {
    let all: Api<DynamicObject> = Api::all_with(client.clone(), resource);
    let mut pager = Pager::new(ListParams::default(), PAGE);
    let mut count = 0;
    while let Some(params) = pager.next_params() {
        let page = all.list_metadata(params).await.map_err(Error::Kube)?;
        pager.advance(&page.metadata);
        for item in page.items.iter().filter(|i| select(i)) {
            let Some(name) = item.metadata.name.as_deref() else {
                continue;
            };
            let api: Api<DynamicObject> = match item.metadata.namespace.as_deref() {
                Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
                None => Api::all_with(client.clone(), resource),
            };
            match api.patch(name, &PatchParams::default(), &Patch::Merge(patch)).await {
                Ok(_) => count += 1,
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(Error::Kube(e)),
            }
        }
    }
    Ok(count)
}
