//! The Prometheus registry. Metric and label names are upstream's: dashboards and alerts
//! match on them. Label values are bounded: no error strings.

mod controller;
mod object_info;
mod rest;

use std::sync::Mutex;

use prometheus::{Encoder, GaugeVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};

use controller::Families;
pub use controller::{ControllerMetrics, ReconcileResult, Work};
pub use object_info::ObjectInfoVec;
pub use rest::{RestMetrics, RestMetricsLayer};

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

/// The labels every object's info series starts with, in this order.
const OBJECT_LABELS: [&str; 7] = [
    "uid",
    "kind",
    "name",
    "exported_namespace",
    "ready",
    "reason",
    "suspended",
];

pub struct Metrics {
    registry: Registry,
    instance_info: GaugeVec,
    resource_info: GaugeVec,
    controller_families: Families,
    controllers: Mutex<Vec<ControllerMetrics>>,
    rest_requests: IntCounterVec,
    leader_status: IntGaugeVec,
    notifications: IntCounterVec,
    /// `flux_resourceset_info`: labels as [`OBJECT_LABELS`], then resources and revision.
    pub resourceset_info: ObjectInfoVec,
    /// `flux_resourcesetinputprovider_info`: labels as [`OBJECT_LABELS`], then url.
    pub provider_info: ObjectInfoVec,
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let with_object_labels = |extra: &[&'static str]| [OBJECT_LABELS.as_slice(), extra].concat();
        let instance_info = GaugeVec::new(
            Opts::new("flux_instance_info", "The current state of a FluxInstance."),
            &with_object_labels(&["registry", "revision"]),
        )?;
        let resource_info = GaugeVec::new(
            Opts::new("flux_resource_info", "The current state of a Flux resource."),
            &with_object_labels(&["revision", "url", "ref", "source_name", "path"]),
        )?;
        let operator_info = GaugeVec::new(
            Opts::new("flux_operator_info", "Version and platform of the Flux Operator."),
            &["version", "api_version", "platform"],
        )?;
        let resourceset_info = GaugeVec::new(
            Opts::new("flux_resourceset_info", "The current state of a ResourceSet."),
            &with_object_labels(&["resources", "revision"]),
        )?;
        let provider_info = GaugeVec::new(
            Opts::new(
                "flux_resourcesetinputprovider_info",
                "The current state of a ResourceSetInputProvider.",
            ),
            &with_object_labels(&["url"]),
        )?;
        registry.register(Box::new(resourceset_info.clone()))?;
        registry.register(Box::new(provider_info.clone()))?;
        let rest_requests = IntCounterVec::new(
            Opts::new(
                "rest_client_requests_total",
                "Number of HTTP requests to the Kubernetes API, by status code, method and host",
            ),
            &["code", "host", "method"],
        )?;
        let leader_status = IntGaugeVec::new(
            Opts::new(
                "leader_election_master_status",
                "1 while this process holds the leader Lease, 0 while it waits; name is the Lease",
            ),
            &["name"],
        )?;
        let notifications = IntCounterVec::new(
            Opts::new(
                "flux_operator_notifications_total",
                "Events forwarded to Flux's notification-controller, by result: sent, duplicate, failed, dropped.",
            ),
            &["result"],
        )?;
        for result in ["sent", "duplicate", "failed", "dropped"] {
            notifications.with_label_values(&[result]);
        }
        registry.register(Box::new(notifications.clone()))?;
        registry.register(Box::new(instance_info.clone()))?;
        registry.register(Box::new(resource_info.clone()))?;
        registry.register(Box::new(operator_info.clone()))?;
        registry.register(Box::new(rest_requests.clone()))?;
        registry.register(Box::new(leader_status.clone()))?;
        let controller_families = Families::register(&registry)?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(prometheus::process_collector::ProcessCollector::for_self()))?;
        operator_info
            .with_label_values(&[&operator_version(), crate::api::API_VERSION, &platform()])
            .set(1.0);
        Ok(Self {
            registry,
            instance_info,
            resource_info,
            controller_families,
            controllers: Mutex::default(),
            rest_requests,
            leader_status,
            notifications,
            resourceset_info: ObjectInfoVec::new(resourceset_info),
            provider_info: ObjectInfoVec::new(provider_info),
        })
    }

    /// The reconcile and workqueue metrics of one controller, every series created at zero.
    pub fn add_controller(&self, name: &'static str, max_concurrent: i64) -> ControllerMetrics {
        let controller = ControllerMetrics::new(name, self.controller_families.clone(), max_concurrent);
        self.controllers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(controller.clone());
        controller
    }

    /// The layer that counts the kube client's requests to the API server at `host`.
    pub fn rest_layer(&self, host: String) -> RestMetricsLayer {
        RestMetricsLayer::new(self.rest_requests.clone(), host)
    }

    /// Where the notifier counts what became of each event.
    pub fn notification_outcomes(&self) -> IntCounterVec {
        self.notifications.clone()
    }

    /// `leader_election_master_status` of the Lease `name`, created at 0 (not leading).
    pub fn leader_status(&self, name: &str) -> IntGauge {
        let gauge = self.leader_status.with_label_values(&[name]);
        gauge.set(0);
        gauge
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

    /// The text exposition format.
    pub fn encode(&self) -> String {
        for controller in self.controllers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            controller.refresh_gauges();
        }
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
pub fn bool_label(b: bool) -> &'static str {
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

    /// The value of one exact series in the exposition text.
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.strip_prefix(' ')))
            .map(|v| v.parse().unwrap())
    }

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
    }

    #[test]
    fn controller_series_exist_at_zero_before_the_first_reconcile() {
        let m = Metrics::new().unwrap();
        m.add_controller("fluxinstance", 10);
        let text = m.encode();
        for result in ["success", "error", "requeue", "requeue_after"] {
            let series =
                format!(r#"controller_runtime_reconcile_total{{controller="fluxinstance",result="{result}"}}"#);
            assert_eq!(value(&text, &series), Some(0.0), "{series}");
        }
        let q = r#"{controller="fluxinstance",name="fluxinstance"}"#;
        for family in [
            "workqueue_adds_total",
            "workqueue_retries_total",
            "workqueue_unfinished_work_seconds",
            "workqueue_longest_running_processor_seconds",
            "workqueue_queue_duration_seconds_count",
            "workqueue_work_duration_seconds_count",
        ] {
            assert_eq!(value(&text, &format!("{family}{q}")), Some(0.0), "{family}");
        }
        assert_eq!(
            value(
                &text,
                r#"controller_runtime_reconcile_errors_total{controller="fluxinstance"}"#
            ),
            Some(0.0)
        );
        assert_eq!(
            value(
                &text,
                r#"controller_runtime_max_concurrent_reconciles{controller="fluxinstance"}"#
            ),
            Some(10.0)
        );
        assert_eq!(
            value(
                &text,
                r#"workqueue_depth{controller="fluxinstance",name="fluxinstance",priority="0"}"#
            ),
            Some(0.0)
        );
    }

    #[test]
    fn the_queue_counts_adds_work_results_and_retries() {
        let m = Metrics::new().unwrap();
        let c = m.add_controller("fluxreport", 1);
        let q = r#"{controller="fluxreport",name="fluxreport"}"#;
        c.add("ns/flux");
        c.add("ns/flux"); // already queued: not added twice
        c.add("ns/other");
        let text = m.encode();
        assert_eq!(value(&text, &format!("workqueue_adds_total{q}")), Some(2.0));
        assert_eq!(
            value(
                &text,
                r#"workqueue_depth{controller="fluxreport",name="fluxreport",priority="0"}"#
            ),
            Some(2.0)
        );
        let work = c.start("ns/flux");
        std::thread::sleep(std::time::Duration::from_millis(5));
        let text = m.encode();
        assert_eq!(
            value(
                &text,
                r#"workqueue_depth{controller="fluxreport",name="fluxreport",priority="0"}"#
            ),
            Some(1.0)
        );
        assert_eq!(
            value(&text, r#"controller_runtime_active_workers{controller="fluxreport"}"#),
            Some(1.0)
        );
        assert!(value(&text, &format!("workqueue_longest_running_processor_seconds{q}")).unwrap() >= 0.005);
        assert!(value(&text, &format!("workqueue_unfinished_work_seconds{q}")).unwrap() >= 0.005);
        work.finish(ReconcileResult::RequeueAfter);
        c.forget("ns/other");
        // The delayed requeue fires: picked up without an explicit add, and fails.
        c.start("ns/flux").finish(ReconcileResult::Error);
        let text = m.encode();
        let total = |r: &str| {
            value(
                &text,
                &format!(r#"controller_runtime_reconcile_total{{controller="fluxreport",result="{r}"}}"#),
            )
        };
        assert_eq!(
            (total("requeue_after"), total("error"), total("success")),
            (Some(1.0), Some(1.0), Some(0.0))
        );
        assert_eq!(
            value(
                &text,
                r#"controller_runtime_reconcile_errors_total{controller="fluxreport"}"#
            ),
            Some(1.0)
        );
        assert_eq!(value(&text, &format!("workqueue_adds_total{q}")), Some(3.0));
        assert_eq!(value(&text, &format!("workqueue_retries_total{q}")), Some(2.0));
        assert_eq!(
            value(&text, &format!("workqueue_queue_duration_seconds_count{q}")),
            Some(1.0)
        );
        assert_eq!(
            value(&text, &format!("workqueue_work_duration_seconds_count{q}")),
            Some(2.0)
        );
        assert_eq!(
            value(
                &text,
                r#"controller_runtime_reconcile_time_seconds_count{controller="fluxreport"}"#
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &text,
                r#"workqueue_depth{controller="fluxreport",name="fluxreport",priority="0"}"#
            ),
            Some(0.0)
        );
        assert_eq!(
            value(&text, &format!("workqueue_longest_running_processor_seconds{q}")),
            Some(0.0)
        );
    }

    #[test]
    fn leader_status_is_zero_until_leading() {
        let m = Metrics::new().unwrap();
        assert!(!m.encode().contains("leader_election_master_status{"));
        let gauge = m.leader_status("flux-operator");
        assert_eq!(
            value(&m.encode(), r#"leader_election_master_status{name="flux-operator"}"#),
            Some(0.0)
        );
        gauge.set(1);
        assert_eq!(
            value(&m.encode(), r#"leader_election_master_status{name="flux-operator"}"#),
            Some(1.0)
        );
    }
}
