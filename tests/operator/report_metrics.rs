//! What the report test asserts of the metric series, family by family, with the values
//! upstream v0.58.1 exposes for the same objects.

use std::collections::BTreeMap;

use crate::prometheus::{samples, value};

type Series = BTreeMap<String, String>;

fn find<'a>(in_ns: &'a [&Series], kind: &str, name: &str) -> &'a Series {
    in_ns
        .iter()
        .find(|s| s["kind"] == kind && s["name"] == name)
        .unwrap_or_else(|| panic!("no series for {kind} {name}: {in_ns:#?}"))
}

/// (ready, url, ref, source_name, revision) of the objects `flux_objects::every_kind`
/// creates, and of the report test's own Kustomizations.
pub fn assert_labels_of_every_kind(in_ns: &[&Series]) {
    let expected = [
        (
            "podinfo",
            "OCIRepository",
            "True",
            "oci://ghcr.io/org/manifests",
            ">=6.0.0",
            "",
            "6.7.1@sha256:4444",
        ),
        (
            "bucket",
            "Bucket",
            "True",
            "minio.minio:9000",
            "manifests",
            "",
            "sha256:6666",
        ),
        (
            "charts-oci",
            "HelmRepository",
            "True",
            "oci://ghcr.io/org/charts",
            "",
            "",
            "",
        ),
        ("slack", "Provider", "True", "", "", "", ""),
        ("alert", "Alert", "True", "", "", "", ""),
        ("receiver", "Receiver", "True", "/hook/abcdef", "", "", ""),
        ("app", "ImageRepository", "True", "ghcr.io/org/app", "", "", ""),
        ("app-policy", "ImagePolicy", "True", "", "", "app", ""),
        // The last attempted revision, not the last applied one.
        ("k-failing", "Kustomization", "False", "", "", "apps", "main@sha1:3"),
    ];
    for (name, kind, ready, url, ref_, source_name, revision) in expected {
        let s = find(in_ns, kind, name);
        let got = (
            s["kind"].as_str(),
            s["ready"].as_str(),
            s["url"].as_str(),
            s["ref"].as_str(),
            s["source_name"].as_str(),
            s["revision"].as_str(),
        );
        assert_eq!(got, (kind, ready, url, ref_, source_name, revision), "{name}: {s:?}");
        assert_eq!(s["suspended"], "False", "{name}");
    }
}

/// controller-runtime's reconcile and workqueue families, filled by real work: the instance
/// was reconciled and the report refreshed before the scrape.
pub fn assert_controller_families(text: &str) {
    for controller in ["fluxinstance", "fluxreport"] {
        for result in ["success", "error", "requeue", "requeue_after"] {
            let labels = [("controller", controller), ("result", result)];
            value(text, "controller_runtime_reconcile_total", &labels);
        }
        // A healthy object is requeued for its next periodic reconcile.
        let requeued = [("controller", controller), ("result", "requeue_after")];
        assert!(
            value(text, "controller_runtime_reconcile_total", &requeued) >= 1.0,
            "{controller}"
        );
        value(
            text,
            "controller_runtime_reconcile_errors_total",
            &[("controller", controller)],
        );
        let q = [("controller", controller), ("name", controller)];
        for counted in [
            "workqueue_adds_total",
            "workqueue_retries_total",
            "workqueue_queue_duration_seconds_count",
            "workqueue_work_duration_seconds_count",
        ] {
            assert!(value(text, counted, &q) >= 1.0, "{counted} of {controller}");
        }
        assert!(
            value(text, "workqueue_work_duration_seconds_sum", &q) > 0.0,
            "{controller}"
        );
        for gauge in [
            "workqueue_unfinished_work_seconds",
            "workqueue_longest_running_processor_seconds",
        ] {
            assert!(value(text, gauge, &q) >= 0.0, "{gauge} of {controller}");
        }
        let depth = [("controller", controller), ("name", controller), ("priority", "0")];
        assert!(value(text, "workqueue_depth", &depth) >= 0.0);
    }
}

/// Every request of the operator's client, by code, host and method: bounded labels.
pub fn assert_rest_client_requests(text: &str, host: &str) {
    let all = samples(text, "rest_client_requests_total");
    assert!(!all.is_empty(), "no rest_client_requests_total series");
    for (labels, _) in &all {
        let keys: Vec<&str> = labels.keys().map(String::as_str).collect();
        assert_eq!(keys, ["code", "host", "method"]);
        assert_eq!(labels["host"], host);
        assert!(
            labels["code"].parse::<u16>().is_ok() || labels["code"] == "<error>",
            "{labels:?}"
        );
    }
    let count = |code: &str, method: &str| {
        value(
            text,
            "rest_client_requests_total",
            &[("code", code), ("host", host), ("method", method)],
        )
    };
    // Lists and gets; server-side applies of the instance's objects and the report.
    assert!(count("200", "GET") >= 10.0);
    assert!(count("200", "PATCH") + count("201", "PATCH") >= 5.0);
}
