//! The Prometheus registry. Metric and label names are upstream's: dashboards and alerts
//! match on them. Label values are bounded: no error strings.

use std::time::Duration;

use prometheus::{Encoder, GaugeVec, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

/// One series of `flux_instance_info`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InstanceInfo {
    pub uid: String,
    pub name: String,
    pub namespace: String,
    pub ready: String,
    pub reason: String,
    pub suspended: bool,
    pub registry: String,
    pub revision: String,
}

/// One series of `flux_resource_info`: one Flux object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResourceInfo {
    pub uid: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub ready: String,
    pub reason: String,
    pub suspended: bool,
    pub revision: String,
    pub url: String,
    pub ref_: String,
    pub source_name: String,
    pub path: String,
}

pub struct Metrics {
    registry: Registry,
    instance_info: GaugeVec,
    resource_info: GaugeVec,
    reconcile_total: IntCounterVec,
    reconcile_time: HistogramVec,
}

/// controller-runtime's buckets, so that existing dashboards' quantiles read the same.
const RECONCILE_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5,
    1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0,
];

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let instance_info = GaugeVec::new(
            Opts::new("flux_instance_info", "The current state of a FluxInstance."),
            &[
                "uid",
                "kind",
                "name",
                "exported_namespace",
                "ready",
                "reason",
                "suspended",
                "registry",
                "revision",
            ],
        )?;
        let resource_info = GaugeVec::new(
            Opts::new("flux_resource_info", "The current state of a Flux resource."),
            &[
                "uid",
                "kind",
                "name",
                "exported_namespace",
                "ready",
                "reason",
                "suspended",
                "revision",
                "url",
                "ref",
                "source_name",
                "path",
            ],
        )?;
        let operator_info = GaugeVec::new(
            Opts::new("flux_operator_info", "Version and platform of the Flux Operator."),
            &["version", "api_version", "platform"],
        )?;
        let reconcile_total = IntCounterVec::new(
            Opts::new(
                "controller_runtime_reconcile_total",
                "Total number of reconciliations per controller",
            ),
            &["controller", "result"],
        )?;
        let reconcile_time = HistogramVec::new(
            HistogramOpts::new(
                "controller_runtime_reconcile_time_seconds",
                "Length of time per reconciliation per controller",
            )
            .buckets(RECONCILE_BUCKETS.to_vec()),
            &["controller"],
        )?;
        registry.register(Box::new(instance_info.clone()))?;
        registry.register(Box::new(resource_info.clone()))?;
        registry.register(Box::new(operator_info.clone()))?;
        registry.register(Box::new(reconcile_total.clone()))?;
        registry.register(Box::new(reconcile_time.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        operator_info
            .with_label_values(&[&operator_version(), crate::api::API_VERSION, &platform()])
            .set(1.0);
        Ok(Self {
            registry,
            instance_info,
            resource_info,
            reconcile_total,
            reconcile_time,
        })
    }

    /// Replaces every `flux_instance_info` series: series of deleted instances disappear.
    pub fn set_instances(&self, items: &[InstanceInfo]) {
        self.instance_info.reset();
        for i in items {
            self.instance_info
                .with_label_values(&[
                    i.uid.as_str(),
                    "FluxInstance",
                    &i.name,
                    &i.namespace,
                    &i.ready,
                    &i.reason,
                    bool_label(i.suspended),
                    &i.registry,
                    &i.revision,
                ])
                .set(1.0);
        }
    }

    /// Replaces every `flux_resource_info` series.
    pub fn set_resources(&self, items: &[ResourceInfo]) {
        self.resource_info.reset();
        for r in items {
            self.resource_info
                .with_label_values(&[
                    r.uid.as_str(),
                    &r.kind,
                    &r.name,
                    &r.namespace,
                    &r.ready,
                    &r.reason,
                    bool_label(r.suspended),
                    &r.revision,
                    &r.url,
                    &r.ref_,
                    &r.source_name,
                    &r.path,
                ])
                .set(1.0);
        }
    }

    /// Counts a reconciliation; `result` is controller-runtime's: success or error.
    pub fn observe_reconcile(&self, controller: &str, success: bool, elapsed: Duration) {
        let result = if success { "success" } else { "error" };
        self.reconcile_total.with_label_values(&[controller, result]).inc();
        self.reconcile_time
            .with_label_values(&[controller])
            .observe(elapsed.as_secs_f64());
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut buf = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buf) {
            tracing::error!(%error, "encoding metrics");
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// The operator's version as upstream spells it (a `v`-prefixed tag), in the metrics and
/// the FluxReport alike.
pub fn operator_version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// Kubernetes condition spelling, as upstream's `suspended` label has it.
fn bool_label(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// `linux/amd64`, as Go names platforms.
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    format!("{}/{arch}", std::env::consts::OS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_are_replaced_not_accumulated() {
        let m = Metrics::new().unwrap();
        let a = ResourceInfo {
            uid: "1".into(),
            kind: "GitRepository".into(),
            name: "a".into(),
            suspended: true,
            ..Default::default()
        };
        let b = ResourceInfo {
            uid: "2".into(),
            kind: "GitRepository".into(),
            name: "b".into(),
            ..Default::default()
        };
        m.set_resources(&[a.clone(), b]);
        let text = m.encode();
        assert_eq!(text.matches("flux_resource_info{").count(), 2);
        assert!(
            text.contains(r#"name="a",path="",ready="",reason="",ref="",revision="",source_name="",suspended="True""#)
        );
        assert!(
            text.contains(r#"name="b",path="",ready="",reason="",ref="",revision="",source_name="",suspended="False""#)
        );
        m.set_resources(&[a]);
        let text = m.encode();
        assert_eq!(text.matches("flux_resource_info{").count(), 1);
        let version = format!("version=\"v{}\"", env!("CARGO_PKG_VERSION"));
        assert!(text.contains(&format!(
            r#"flux_operator_info{{api_version="fluxcd.controlplane.io/v1",platform="{}",{version}}} 1"#,
            platform()
        )));
        m.observe_reconcile("fluxinstance", true, Duration::from_millis(20));
        assert!(
            m.encode()
                .contains("controller_runtime_reconcile_total{controller=\"fluxinstance\",result=\"success\"} 1")
        );
    }
}
