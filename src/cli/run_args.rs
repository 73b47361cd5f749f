//! The flags of `flux-operator-rs run` (a module of the binary, not of the library): clap
//! parses them, with upstream's environment variables, into the library's plain
//! [`OperatorConfig`].

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use flux_operator_rs::controller::config::{OperatorConfig, parse_duration};
use flux_operator_rs::logging::{LogEncoding, LogLevel};

/// Flags of `flux-operator-rs run`; each also reads the environment, as upstream's do.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// How many FluxInstances are reconciled at once.
    #[arg(long, env = "CONCURRENT", default_value_t = 10)]
    pub concurrent: u16,

    /// How often the FluxReport is recomputed.
    #[arg(long, env = "REPORTING_INTERVAL", default_value = "5m", value_parser = parse_duration)]
    pub reporting_interval: Duration,

    /// Address of the Prometheus metrics endpoint.
    #[arg(long, env = "METRICS_ADDR", default_value = ":8080")]
    pub metrics_addr: String,

    /// Address of the /healthz and /readyz probes.
    #[arg(long, env = "HEALTH_ADDR", default_value = ":8081")]
    pub health_addr: String,

    /// Folder with the Flux distribution data (`flux/`, `flux-images/`) and the artifact cache.
    #[arg(long, env = "STORAGE_PATH", default_value = "/data")]
    pub storage_path: PathBuf,

    /// Log level: trace, debug, info, warn or error.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: LogLevel,

    /// Log encoding: json or console.
    #[arg(long, env = "LOG_ENCODING", default_value = "json")]
    pub log_encoding: LogEncoding,

    /// Shortest delay before a failed reconciliation is retried.
    #[arg(long, env = "MIN_RETRY_DELAY", default_value = "750ms", value_parser = parse_duration)]
    pub min_retry_delay: Duration,

    /// Longest delay before a failed reconciliation is retried.
    #[arg(long, env = "MAX_RETRY_DELAY", default_value = "15m", value_parser = parse_duration)]
    pub max_retry_delay: Duration,

    /// Jitter added to periodic reconciliations, in percent of the interval.
    #[arg(long, env = "INTERVAL_JITTER_PERCENTAGE", default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..100))]
    pub interval_jitter_percentage: u8,

    /// Run only while holding the `flux-operator` Lease (`--enable-leader-election` alone
    /// means true, as a Go flag).
    #[arg(long, env = "ENABLE_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub enable_leader_election: bool,

    /// How long a Lease lasts without renewal before a standby may take it.
    #[arg(long, env = "LEADER_ELECTION_LEASE_DURATION", default_value = "35s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// How long the leader keeps retrying a failed renewal before it gives up the Lease.
    #[arg(long, env = "LEADER_ELECTION_RENEW_DEADLINE", default_value = "30s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,

    /// How long electors wait between attempts to take or renew the Lease.
    #[arg(long, env = "LEADER_ELECTION_RETRY_PERIOD", default_value = "5s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,

    /// Release the Lease on a graceful shutdown, so that the next replica takes over at once.
    #[arg(long, env = "LEADER_ELECTION_RELEASE_ON_CANCEL", default_value_t = true, action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub leader_election_release_on_cancel: bool,

    /// Field managers whose fields are taken over, besides the built-in ones (repeatable;
    /// the environment variable takes a comma-separated list).
    #[arg(
        long = "override-manager",
        env = "OVERRIDE_MANAGERS",
        value_name = "NAME",
        value_delimiter = ','
    )]
    pub override_managers: Vec<String>,

    /// The namespace the operator runs in and acts on.
    #[arg(long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
    pub runtime_namespace: String,

    /// Do not send events to Flux's notification-controller.
    #[arg(long, env = "NOTIFICATIONS_DISABLED", default_value_t = false, action = clap::ArgAction::Set)]
    pub notifications_disabled: bool,

    /// Address of Flux's notification-controller, for events.
    #[arg(long, env = "NOTIFICATION_CONTROLLER_ADDRESS")]
    pub notification_controller_address: Option<String>,

    /// PEM bundle of certificate authorities trusted for `spec.distribution.artifact`
    /// registries besides the system's (a private registry or air-gapped mirror). Read on
    /// every pull, so a rotated bundle applies without a restart.
    #[arg(long, env = "ARTIFACT_CA_FILE", value_name = "FILE")]
    pub artifact_ca_file: Option<PathBuf>,

    /// Registries reached over plain HTTP instead of HTTPS for distribution artifacts,
    /// comma-separated `host` (any port) or `host:port`: meant for loopback test registries.
    #[arg(
        long,
        env = "ARTIFACT_PLAIN_HTTP_REGISTRIES",
        value_name = "HOST[:PORT],...",
        value_delimiter = ','
    )]
    pub artifact_plain_http_registries: Vec<String>,

    /// Where pulled distribution artifacts are unpacked, one folder per manifest digest
    /// (default: `<storage-path>/artifacts`; must be writable).
    #[arg(long, env = "ARTIFACT_CACHE_PATH", value_name = "DIR")]
    pub artifact_cache_path: Option<PathBuf>,

    /// Time limit of one artifact pull or digest check.
    #[arg(long, env = "ARTIFACT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub artifact_timeout: Duration,

    /// How soon a ResourceSet whose dependencies are not ready looks again.
    #[arg(long, env = "REQUEUE_DEPENDENCY", default_value = "5s", value_parser = parse_duration)]
    pub requeue_dependency: Duration,

    /// The ServiceAccount ResourceSets act as when they name none (a FluxInstance's tenants
    /// default through `spec.cluster.tenantDefaultServiceAccount`).
    #[arg(long, env = "DEFAULT_SERVICE_ACCOUNT")]
    pub default_service_account: Option<String>,

    /// The ServiceAccount of workload identity for ResourceSetInputProviders of the cloud
    /// types (AzureDevOps, AWSCodeCommit, ACR, ECR, GAR) that name none. Those types are
    /// not implemented yet, so this is only stored.
    #[arg(long, env = "DEFAULT_WORKLOAD_IDENTITY_SERVICE_ACCOUNT")]
    pub default_workload_identity_service_account: Option<String>,

    /// ConfigMaps and Secrets with these labels re-run the ResourceSets that read them.
    #[arg(
        long,
        env = "WATCH_CONFIGS_LABEL_SELECTOR",
        default_value = "reconcile.fluxcd.io/watch=Enabled"
    )]
    pub watch_configs_label_selector: String,

    #[command(flatten)]
    pub upstream_only: UpstreamOnlyArgs,
}

impl RunArgs {
    /// The library's configuration; logging and the upstream-only flags stay with the binary.
    pub fn config(&self) -> OperatorConfig {
        OperatorConfig {
            concurrent: self.concurrent,
            reporting_interval: self.reporting_interval,
            metrics_addr: self.metrics_addr.clone(),
            health_addr: self.health_addr.clone(),
            storage_path: self.storage_path.clone(),
            min_retry_delay: self.min_retry_delay,
            max_retry_delay: self.max_retry_delay,
            interval_jitter_percentage: self.interval_jitter_percentage,
            enable_leader_election: self.enable_leader_election,
            leader_election_lease_duration: self.leader_election_lease_duration,
            leader_election_renew_deadline: self.leader_election_renew_deadline,
            leader_election_retry_period: self.leader_election_retry_period,
            leader_election_release_on_cancel: self.leader_election_release_on_cancel,
            override_managers: self.override_managers.clone(),
            runtime_namespace: self.runtime_namespace.clone(),
            notifications_disabled: self.notifications_disabled,
            notification_controller_address: self.notification_controller_address.clone(),
            artifact_ca_file: self.artifact_ca_file.clone(),
            artifact_plain_http_registries: self.artifact_plain_http_registries.clone(),
            artifact_cache_path: self.artifact_cache_path.clone(),
            artifact_timeout: self.artifact_timeout,
            requeue_dependency: self.requeue_dependency,
            default_service_account: self.default_service_account.clone(),
            default_workload_identity_service_account: self.default_workload_identity_service_account.clone(),
            watch_configs_label_selector: self.watch_configs_label_selector.clone(),
            api_server: None,
        }
    }
}

/// Flags of the upstream operator for features this operator does not have yet (the
/// workload identity token cache) or at all (the web UI). They are
/// accepted so that upstream's chart and scripts start this operator unchanged; a value
/// other than the default is logged once at start as having no effect.
#[derive(Args, Debug, Clone)]
pub struct UpstreamOnlyArgs {
    /// Longest time a workload identity token is cached.
    #[arg(long, env = "TOKEN_CACHE_MAX_DURATION", default_value = "1h", value_parser = parse_duration)]
    pub token_cache_max_duration: Duration,

    /// Most workload identity tokens cached.
    #[arg(long, env = "TOKEN_CACHE_MAX_SIZE", default_value_t = 100)]
    pub token_cache_max_size: i64,

    /// Web UI configuration file (this operator has no web UI).
    #[arg(long, env = "WEB_CONFIG")]
    pub web_config: Option<String>,

    /// Secret with the web UI configuration (this operator has no web UI).
    #[arg(long, env = "WEB_CONFIG_SECRET_NAME")]
    pub web_config_secret_name: Option<String>,

    /// Run only the web UI: this operator has none, so such a process runs no controllers
    /// and only serves its probes and metrics.
    #[arg(long, env = "WEB_SERVER_ONLY", default_value_t = false, action = clap::ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub web_server_only: bool,

    /// Port of the web UI (this operator has no web UI; 0 disables it upstream).
    #[arg(long, env = "WEB_SERVER_PORT", default_value_t = 9080)]
    pub web_server_port: u16,
}

impl UpstreamOnlyArgs {
    /// The flags set to something other than their default, which have no effect here.
    pub fn without_effect(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        let mut note = |changed: bool, flag| {
            if changed {
                set.push(flag);
            }
        };
        note(
            self.token_cache_max_duration != Duration::from_secs(3600),
            "--token-cache-max-duration",
        );
        note(self.token_cache_max_size != 100, "--token-cache-max-size");
        note(self.web_config.is_some(), "--web-config");
        note(self.web_config_secret_name.is_some(), "--web-config-secret-name");
        note(self.web_server_only, "--web-server-only");
        note(self.web_server_port != 9080, "--web-server-port");
        set
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    #[test]
    fn the_flag_defaults_are_the_library_defaults() {
        // Environment variables would change the defaults: none of these is set in tests.
        let cli = Cli::try_parse_from(["run"]).expect("no flags");
        assert_eq!(cli.run.config(), OperatorConfig::default());
        assert!(cli.run.upstream_only.without_effect().is_empty());
    }

    #[test]
    fn flags_reach_the_config() {
        let cli = Cli::try_parse_from([
            "run",
            "--enable-leader-election",
            "--leader-election-retry-period=1s",
            "--override-manager=a",
            "--override-manager=b",
            "--storage-path=/tmp/d",
            "--requeue-dependency=10s",
            "--default-service-account=tenant",
            "--default-workload-identity-service-account=wi",
            "--watch-configs-label-selector=team=a",
        ])
        .expect("flags");
        let config = cli.run.config();
        assert!(config.enable_leader_election);
        assert_eq!(config.leader_election_retry_period, Duration::from_secs(1));
        assert_eq!(config.override_managers, ["a", "b"]);
        assert_eq!(config.storage_path, PathBuf::from("/tmp/d"));
        assert_eq!(config.requeue_dependency, Duration::from_secs(10));
        assert_eq!(config.default_service_account.as_deref(), Some("tenant"));
        assert_eq!(config.default_workload_identity_service_account.as_deref(), Some("wi"));
        assert_eq!(config.watch_configs_label_selector, "team=a");
        assert!(cli.run.upstream_only.without_effect().is_empty(), "they take effect");
    }
}
