//! The ResourceSet controllers' settings: the operator's flags where it has them
//! (`--requeue-dependency`, `--default-service-account`,
//! `--default-workload-identity-service-account`, `--watch-configs-label-selector`,
//! `--concurrent`), fixed values otherwise.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How soon a ResourceSet whose dependencies are not ready looks again.
    pub requeue_dependency: Duration,
    /// A ResourceSet's periodic reconcile, without `reconcileEvery`.
    pub set_every: Duration,
    /// A ResourceSet's health-check timeout, without `reconcileTimeout`.
    pub set_timeout: Duration,
    /// A provider's periodic reconcile, without `reconcileEvery`.
    pub provider_every: Duration,
    /// How often a health check polls.
    pub wait_poll: Duration,
    /// How long a deletion waits for Flux appliers (Kustomizations, HelmReleases) to go
    /// before it deletes the rest, so that their controllers can still finalize them.
    pub appliers_gone_timeout: Duration,
    /// ResourceSets (and providers) reconciled at once.
    pub concurrency: u16,
    /// The labels that opt a ConfigMap or Secret in to re-running the sets that read it.
    pub watch_configs_label_selector: String,
    /// The ServiceAccount (in each set's namespace) sets without `serviceAccountName` act
    /// as; None: the operator's own identity (`--default-service-account`).
    pub default_service_account: Option<String>,
    /// `--default-workload-identity-service-account`: the ServiceAccount of cloud provider
    /// types that name none. Those types are not implemented yet, so nothing reads it.
    pub default_workload_identity_service_account: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            requeue_dependency: Duration::from_secs(5),
            set_every: Duration::from_secs(3600),
            set_timeout: Duration::from_secs(300),
            provider_every: Duration::from_secs(600),
            wait_poll: Duration::from_secs(2),
            appliers_gone_timeout: Duration::from_secs(60),
            concurrency: 4,
            default_service_account: None,
            default_workload_identity_service_account: None,
            watch_configs_label_selector: "reconcile.fluxcd.io/watch=Enabled".into(),
        }
    }
}

impl Settings {
    /// The settings of an operator started with `config`.
    pub fn from_config(config: &crate::controller::OperatorConfig) -> Self {
        Self {
            requeue_dependency: config.requeue_dependency,
            concurrency: config.concurrent,
            default_service_account: config.default_service_account.clone(),
            default_workload_identity_service_account: config.default_workload_identity_service_account.clone(),
            watch_configs_label_selector: config.watch_configs_label_selector.clone(),
            ..Self::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::OperatorConfig;

    #[test]
    fn the_operator_flags_reach_the_settings() {
        let config = OperatorConfig {
            requeue_dependency: Duration::from_secs(9),
            concurrent: 3,
            default_service_account: Some("tenant".into()),
            default_workload_identity_service_account: Some("wi".into()),
            watch_configs_label_selector: "team=a".into(),
            ..OperatorConfig::default()
        };
        let settings = Settings::from_config(&config);
        assert_eq!(settings.requeue_dependency, Duration::from_secs(9));
        assert_eq!(settings.concurrency, 3);
        assert_eq!(settings.default_service_account.as_deref(), Some("tenant"));
        assert_eq!(
            settings.default_workload_identity_service_account.as_deref(),
            Some("wi")
        );
        assert_eq!(settings.watch_configs_label_selector, "team=a");
        assert_eq!(
            Settings::from_config(&OperatorConfig::default()).requeue_dependency,
            Duration::from_secs(5)
        );
    }
}
