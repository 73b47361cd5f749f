//! The `fluxcd.controlplane.io/reconcile: disabled` annotation, which both reconcilers honour.

use std::collections::BTreeMap;

use kube::ResourceExt;

use super::annotation::{RECONCILE, RECONCILE_DISABLED_VALUE};
use super::{FluxInstance, FluxReport, ResourceSet, ResourceSetInputProvider};

fn disabled(annotations: &BTreeMap<String, String>) -> bool {
    annotations
        .get(RECONCILE)
        .is_some_and(|v| v.eq_ignore_ascii_case(RECONCILE_DISABLED_VALUE))
}

impl FluxInstance {
    /// Reconciliation is suspended by the user: the operator leaves the instance alone.
    pub fn is_disabled(&self) -> bool {
        disabled(self.annotations())
    }
}

impl ResourceSet {
    /// Reconciliation is suspended by the user: nothing is applied, nor deleted.
    pub fn is_disabled(&self) -> bool {
        disabled(self.annotations())
    }
}

impl ResourceSetInputProvider {
    /// Reconciliation is suspended by the user: the exported inputs stay as they are.
    pub fn is_disabled(&self) -> bool {
        disabled(self.annotations())
    }
}

impl FluxReport {
    /// Reconciliation is suspended by the user: the report is not refreshed.
    pub fn is_disabled(&self) -> bool {
        disabled(self.annotations())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disabled_annotation() {
        let a = BTreeMap::from([(RECONCILE.to_owned(), "disabled".to_owned())]);
        assert!(disabled(&a));
        let upper = BTreeMap::from([(RECONCILE.to_owned(), "Disabled".to_owned())]);
        assert!(disabled(&upper));
        let enabled = BTreeMap::from([(RECONCILE.to_owned(), "enabled".to_owned())]);
        assert!(!disabled(&enabled));
        assert!(!disabled(&BTreeMap::new()));
    }
}
