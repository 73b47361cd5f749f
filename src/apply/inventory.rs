//! `status.inventory`: what the last apply wrote, and what of it a new build leaves behind.

use super::ObjectId;
use crate::api::{ResourceInventory, ResourceRef};

/// The entries of `old` that `new` does not have (an API version change keeps an object).
pub fn stale_entries(old: Option<&ResourceInventory>, new: &[ObjectId]) -> Vec<ObjectId> {
    old.map(|inv| {
        inv.entries
            .iter()
            .filter_map(|e| ObjectId::from_inventory(&e.id, &e.v))
            .filter(|o| !new.iter().any(|n| n.same_object(o)))
            .collect()
    })
    .unwrap_or_default()
}

/// The objects of an inventory; entries that cannot be read are left out.
pub fn entries(inventory: Option<&ResourceInventory>) -> Vec<ObjectId> {
    inventory
        .map(|inv| {
            inv.entries
                .iter()
                .filter_map(|e| ObjectId::from_inventory(&e.id, &e.v))
                .collect()
        })
        .unwrap_or_default()
}

/// The inventory of `refs`, in their order.
pub fn inventory(refs: &[ObjectId]) -> ResourceInventory {
    ResourceInventory {
        entries: refs
            .iter()
            .map(|r| ResourceRef {
                id: r.id(),
                v: r.version.clone(),
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_entries_ignore_api_version_changes() {
        let old = ResourceInventory {
            entries: vec![
                ResourceRef {
                    id: "flux-system_a_apps_Deployment".into(),
                    v: "v1".into(),
                },
                ResourceRef {
                    id: "flux-system_b_source.toolkit.fluxcd.io_OCIRepository".into(),
                    v: "v1beta2".into(),
                },
            ],
        };
        let new = vec![ObjectId::from_inventory("flux-system_b_source.toolkit.fluxcd.io_OCIRepository", "v1").unwrap()];
        let stale = stale_entries(Some(&old), &new);
        assert_eq!(stale.len(), 1);
        assert_eq!(stale[0].name, "a");
        assert_eq!(inventory(&new).entries[0].v, "v1");
    }
}
