//! Upstream's values files installed on this binary's test bed (a real kube-apiserver and
//! etcd; no kubelet, so no pod runs: what pods would do is checked by dry runs and by
//! running the hook's command here with the hook's own account).

use serde_json::{Value, json};

use super::{INSTANCE, OPERATOR, UPSTREAM_INSTANCE_VALUES, UPSTREAM_OPERATOR_VALUES, common, strings, template};
use crate::common::{kubectl_json, kubectl_ok};
use crate::helm::{find, helm_ok, permissive_crd, pod_from_template};

/// A kubeconfig for the test bed that authenticates as a service account (with a token
/// the API server issues), so that the account's RBAC is what is tested.
fn kubeconfig_as(namespace: &str, account: &str, dir: &std::path::Path) -> String {
    let token = kubectl_ok(&["-n", namespace, "create", "token", account], None);
    let path = dir.join("kubeconfig").to_string_lossy().into_owned();
    std::fs::write(&path, kubectl_ok(&["config", "view", "--raw", "--minify"], None)).expect("write kubeconfig");
    let token_flag = format!("--token={}", token.trim());
    kubectl_ok(
        &["--kubeconfig", &path, "config", "set-credentials", account, &token_flag],
        None,
    );
    let user_flag = format!("--user={account}");
    kubectl_ok(
        &["--kubeconfig", &path, "config", "set-context", "--current", &user_flag],
        None,
    );
    path
}

#[tokio::test]
async fn upstream_values_install_on_the_test_bed() {
    let kubeconfig = common::kubeconfig().to_string_lossy().into_owned();
    let client = common::client().await;
    let ns = common::namespace(&client, "upstream").await;

    // 1. Every feature on is valid for a real API server (FlowSchema, ServiceMonitor, dual stack).
    let monitor_crd = permissive_crd("monitoring.coreos.com", "ServiceMonitor", "servicemonitors");
    kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&monitor_crd));
    kubectl_ok(
        &[
            "wait",
            "--for=condition=Established",
            "crd/servicemonitors.monitoring.coreos.com",
        ],
        None,
    );
    let all_on = [
        "apiPriority.enabled=true",
        "service.ipFamilyPolicy=PreferDualStack",
        "serviceMonitor.create=true",
    ];
    let (yaml, _) = template(OPERATOR, "flux-operator", &ns, &[UPSTREAM_OPERATOR_VALUES], &all_on);
    kubectl_ok(&["apply", "--server-side", "--dry-run=server", "-f", "-"], Some(&yaml));

    // 2. Both charts install with upstream's default values files, unchanged.
    let install = |release: &str, chart: &str, values: &str| {
        helm_ok(&[
            "install",
            release,
            chart,
            "--kubeconfig",
            &kubeconfig,
            "--namespace",
            &ns,
            "--values",
            values,
        ]);
    };
    install("flux-operator", OPERATOR, UPSTREAM_OPERATOR_VALUES);
    install("flux", INSTANCE, UPSTREAM_INSTANCE_VALUES);
    let instance = kubectl_json(&["-n", &ns, "get", "fluxinstance", "flux"]);
    assert_eq!(instance["spec"]["components"].as_array().map(Vec::len), Some(6));

    // 3. What upstream's documented ServiceMonitor selects (app.kubernetes.io/name:
    // flux-operator, port http-metrics) is this operator's Service, and the Service's
    // selector is the operator pod's.
    let services = kubectl_json(&[
        "-n",
        &ns,
        "get",
        "services",
        "-l",
        "app.kubernetes.io/name=flux-operator",
    ]);
    let items = services["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{services}");
    assert_eq!(items[0]["metadata"]["name"], "flux-operator");
    assert_eq!(items[0]["spec"]["ports"][0]["name"], "http-metrics");
    let deployment = kubectl_json(&["-n", &ns, "get", "deployment", "flux-operator"]);
    let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
    for (key, value) in items[0]["spec"]["selector"].as_object().expect("selector") {
        assert_eq!(&pod_labels[key], value, "{key}");
    }

    // 4. The operator pod meets the "restricted" Pod Security Standard.
    kubectl_ok(
        &[
            "label",
            "namespace",
            &ns,
            "pod-security.kubernetes.io/enforce=restricted",
            "--overwrite",
        ],
        None,
    );
    let pod = pod_from_template(&deployment, &ns);
    kubectl_ok(&["create", "--dry-run=server", "-f", "-"], Some(&pod));

    check_healthcheck_hook(&ns);
}

/// The hook's objects applied as they render, then the Job's command run here as the
/// hook's service account: the Role is enough, and the arguments wait as meant.
fn check_healthcheck_hook(ns: &str) {
    let set = ["healthcheck.enabled=true", "healthcheck.timeout=3s"];
    let (yaml, objects) = template(INSTANCE, "flux", ns, &[UPSTREAM_INSTANCE_VALUES], &set);
    let hook_objects: Vec<&Value> = objects.iter().filter(|o| o["kind"] != "FluxInstance").collect();
    assert_eq!(hook_objects.len(), 4, "{yaml}");
    for object in &hook_objects {
        kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&object.to_string()));
    }
    let job = find(&objects, "Job", "flux-healthcheck");
    let pod = pod_from_template(job, ns);
    kubectl_ok(&["create", "--dry-run=server", "-f", "-"], Some(&pod));
    let args: Vec<String> = strings(&job["spec"]["template"]["spec"]["containers"][0]["args"])
        .into_iter()
        .map(String::from)
        .collect();

    let run = |account: &str| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::process::Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
            .args(&args)
            .env("KUBECONFIG", kubeconfig_as(ns, account, dir.path()))
            .env_remove("KUBERNETES_SERVICE_HOST")
            .output()
            .expect("run the hook's command")
    };
    // An account without the Role fails at once, naming the refusal.
    kubectl_ok(&["-n", ns, "create", "serviceaccount", "nobody"], None);
    let output = run("nobody");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: FluxInstance {ns}/flux cannot be read: ")) && stderr.contains("forbidden"),
        "{stderr}"
    );
    // No operator runs here: the wait times out, having read the instance (not "cannot be read").
    let output = run("flux-healthcheck");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!("error: FluxInstance {ns}/flux is not ready after 3s: generation 1 not reconciled yet")
    );
    let status = json!({"status": {"observedGeneration": 1, "conditions": [{
        "type": "Ready", "status": "True", "reason": "ReconciliationSucceeded",
        "message": "Reconciliation finished in 1s", "lastTransitionTime": "2025-01-01T00:00:00Z",
        "observedGeneration": 1,
    }]}});
    kubectl_ok(
        &[
            "-n",
            ns,
            "patch",
            "fluxinstance",
            "flux",
            "--subresource=status",
            "--type=merge",
            "-p",
            &status.to_string(),
        ],
        None,
    );
    let output = run("flux-healthcheck");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
