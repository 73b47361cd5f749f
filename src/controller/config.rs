use std::path::PathBuf;
use std::time::Duration;

use crate::text::shorten;

/// What the operator process is configured with. The binary fills it from its flags and
/// the environment (each flag also reads its upstream environment variable); tests build
/// it directly. [`OperatorConfig::default`] is what the flags default to.
#[derive(Debug, Clone, PartialEq)]
pub struct OperatorConfig {
    /// How many FluxInstances are reconciled at once.
    pub concurrent: u16,
    /// How often the FluxReport is recomputed.
    pub reporting_interval: Duration,
    /// Address of the Prometheus metrics endpoint.
    pub metrics_addr: String,
    /// Address of the /healthz and /readyz probes.
    pub health_addr: String,
    /// Folder with the Flux distribution data (`flux/`, `flux-images/`) and the artifact cache.
    pub storage_path: PathBuf,
    /// Shortest delay before a failed reconciliation is retried.
    pub min_retry_delay: Duration,
    /// Longest delay before a failed reconciliation is retried.
    pub max_retry_delay: Duration,
    /// Jitter added to periodic reconciliations, in percent of the interval (0-99).
    pub interval_jitter_percentage: u8,
    /// Run only while holding the `flux-operator` Lease.
    pub enable_leader_election: bool,
    /// How long a Lease lasts without renewal before a standby may take it.
    pub leader_election_lease_duration: Duration,
    /// How long the leader keeps retrying a failed renewal before it gives up the Lease.
    pub leader_election_renew_deadline: Duration,
    /// How long electors wait between attempts to take or renew the Lease.
    pub leader_election_retry_period: Duration,
    /// Release the Lease on a graceful shutdown, so that the next replica takes over at once.
    pub leader_election_release_on_cancel: bool,
    /// Field managers whose fields are taken over, besides the built-in ones.
    pub override_managers: Vec<String>,
    /// The namespace the operator runs in and acts on.
    pub runtime_namespace: String,
    /// Do not send events to Flux's notification-controller.
    pub notifications_disabled: bool,
    /// Address of Flux's notification-controller, for events (default: its Service in the
    /// runtime namespace).
    pub notification_controller_address: Option<String>,
    /// PEM bundle of certificate authorities trusted for `spec.distribution.artifact`
    /// registries besides the system's; read on every pull.
    pub artifact_ca_file: Option<PathBuf>,
    /// Registries reached over plain HTTP for distribution artifacts: `host` (any port) or
    /// `host:port`.
    pub artifact_plain_http_registries: Vec<String>,
    /// Where pulled distribution artifacts are unpacked (default:
    /// `<storage_path>/artifacts`).
    pub artifact_cache_path: Option<PathBuf>,
    /// Time limit of one artifact pull or digest check.
    pub artifact_timeout: Duration,
    /// How soon a ResourceSet whose dependencies are not ready looks again.
    pub requeue_dependency: Duration,
    /// The ServiceAccount (in each set's namespace) that ResourceSets without
    /// `serviceAccountName` act as; None: the operator's own identity.
    pub default_service_account: Option<String>,
    /// The ServiceAccount of workload identity for ResourceSetInputProviders of the cloud
    /// types that name none. Kept as a setting only: those types are not implemented yet
    /// (they are Stalled, saying so), so it has no other effect.
    pub default_workload_identity_service_account: Option<String>,
    /// ConfigMaps and Secrets with these labels, read by a ResourceSet's config helpers,
    /// re-run it when they change.
    pub watch_configs_label_selector: String,
    /// The API server's address, set by `run_with` from the client configuration: failure
    /// logs name it, so that a user sees which server could not be reached.
    pub api_server: Option<String>,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            concurrent: 10,
            reporting_interval: Duration::from_secs(300),
            metrics_addr: ":8080".into(),
            health_addr: ":8081".into(),
            storage_path: "/data".into(),
            min_retry_delay: Duration::from_millis(750),
            max_retry_delay: Duration::from_secs(900),
            interval_jitter_percentage: 5,
            enable_leader_election: true,
            leader_election_lease_duration: Duration::from_secs(35),
            leader_election_renew_deadline: Duration::from_secs(30),
            leader_election_retry_period: Duration::from_secs(5),
            leader_election_release_on_cancel: true,
            override_managers: Vec::new(),
            runtime_namespace: "flux-system".into(),
            notifications_disabled: false,
            notification_controller_address: None,
            artifact_ca_file: None,
            artifact_plain_http_registries: Vec::new(),
            artifact_cache_path: None,
            artifact_timeout: Duration::from_secs(30),
            requeue_dependency: Duration::from_secs(5),
            default_service_account: None,
            default_workload_identity_service_account: None,
            watch_configs_label_selector: "reconcile.fluxcd.io/watch=Enabled".into(),
            api_server: None,
        }
    }
}

/// Why a text is no Go-style duration; `text` is all of it, shortened when shown.
#[derive(Debug, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {:?}: empty", shorten(text))]
    Empty { text: String },
    #[error("invalid duration {:?}: expected a number at {:?}", shorten(text), shorten(at))]
    NumberExpected { text: String, at: String },
    #[error("invalid duration {:?}: missing unit (ms, s, m, h)", shorten(text))]
    MissingUnit { text: String },
    #[error("invalid duration {:?}: unknown unit {:?}", shorten(text), shorten(unit))]
    UnknownUnit { text: String, unit: String },
}

/// Parses Go-style durations (`750ms`, `5m`, `1h30m`), as upstream's flags and annotations take.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(DurationError::Empty { text: text.to_string() });
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_end);
        let value: f64 = number.parse().map_err(|_| DurationError::NumberExpected {
            text: text.to_string(),
            at: rest.to_string(),
        })?;
        let unit_end = tail
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_end);
        let seconds = match unit {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            "" => return Err(DurationError::MissingUnit { text: text.to_string() }),
            other => {
                return Err(DurationError::UnknownUnit {
                    text: text.to_string(),
                    unit: other.to_string(),
                });
            }
        };
        total += value * seconds;
        rest = tail;
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_duration("750ms").unwrap(), Duration::from_millis(750));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        let error = |text: &str| parse_duration(text).unwrap_err().to_string();
        assert!(error("5").contains("missing unit"));
        assert!(error("5 minutes").contains("\"5 minutes\""));
        assert!(parse_duration("").is_err());
        assert!(error("3d").contains("unknown unit"));
    }
}
