use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

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

    /// Log level: error, warn, info, debug or trace.
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Log encoding: json or console.
    #[arg(long, env = "LOG_ENCODING", default_value = "json")]
    pub log_encoding: String,

    /// Shortest delay before a failed reconciliation is retried.
    #[arg(long, env = "MIN_RETRY_DELAY", default_value = "750ms", value_parser = parse_duration)]
    pub min_retry_delay: Duration,

    /// Longest delay before a failed reconciliation is retried.
    #[arg(long, env = "MAX_RETRY_DELAY", default_value = "15m", value_parser = parse_duration)]
    pub max_retry_delay: Duration,

    /// Jitter added to periodic reconciliations, in percent of the interval.
    #[arg(long, env = "INTERVAL_JITTER_PERCENTAGE", default_value_t = 5, value_parser = clap::value_parser!(u8).range(0..100))]
    pub interval_jitter_percentage: u8,

    /// Run only while holding the `flux-operator` Lease.
    #[arg(long, env = "ENABLE_LEADER_ELECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub enable_leader_election: bool,

    /// Field managers whose fields are taken over, besides the built-in ones.
    #[arg(long = "override-manager", value_name = "NAME")]
    pub override_managers: Vec<String>,

    /// The namespace the operator runs in and acts on.
    #[arg(long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
    pub runtime_namespace: String,

    /// Service account the tenants of a multitenant instance default to.
    #[arg(long, env = "DEFAULT_SERVICE_ACCOUNT")]
    pub default_service_account: Option<String>,

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
}

/// Parses Go-style durations (`750ms`, `5m`, `1h30m`), as upstream's flags and annotations take.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let mut total = 0f64;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(format!("invalid duration {text:?}: empty"));
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, tail) = rest.split_at(number_end);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: expected a number at {rest:?}"))?;
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
            "" => return Err(format!("invalid duration {text:?}: missing unit (ms, s, m, h)")),
            other => return Err(format!("invalid duration {text:?}: unknown unit {other:?}")),
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
        assert!(parse_duration("5").unwrap_err().contains("missing unit"));
        assert!(parse_duration("5 minutes").unwrap_err().contains("\"5 minutes\""));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("3d").unwrap_err().contains("unknown unit"));
    }
}
