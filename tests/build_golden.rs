//! The builder against the real Flux release data, checked field by field.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use flux_operator_rs::build::{self, Build, parse_instance};
use flux_operator_rs::distribution::Distribution;

fn data_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/flux-distribution")
}

fn distribution() -> Distribution {
    Distribution::open(&data_root()).expect("open the distribution folder")
}

/// A FluxInstance in `ns` with this `spec` (YAML, indented by two spaces).
fn instance_yaml(ns: &str, spec: &str) -> String {
    format!(
        "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: {ns}\nspec:\n{spec}"
    )
}

fn try_build(ns: &str, spec: &str) -> Result<Build, String> {
    let parsed = parse_instance(&instance_yaml(ns, spec)).map_err(|e| e.to_string())?;
    assert_eq!(parsed.namespace, ns);
    build::resolve_and_build(&parsed.namespace, &parsed.instance.spec, &distribution()).map_err(|e| e.to_string())
}

fn build_ok(ns: &str, spec: &str) -> Build {
    try_build(ns, spec).unwrap_or_else(|e| panic!("build failed: {e}\n{spec}"))
}

fn build_err(spec: &str) -> String {
    match try_build("flux-system", spec) {
        Ok(b) => panic!("build of {spec} succeeded with {} objects", b.objects.len()),
        Err(e) => e,
    }
}

fn dist(version: &str) -> String {
    format!("  distribution:\n    version: \"{version}\"\n    registry: ghcr.io/fluxcd\n")
}

fn kind(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or_default()
}

fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or_default()
}

fn get<'a>(b: &'a Build, k: &str, n: &str) -> &'a Value {
    b.objects
        .iter()
        .find(|o| kind(o) == k && name(o) == n)
        .unwrap_or_else(|| panic!("no {k} {n} in {:?}", names(b)))
}

fn has(b: &Build, k: &str, n: &str) -> bool {
    b.objects.iter().any(|o| kind(o) == k && name(o) == n)
}

fn names(b: &Build) -> Vec<String> {
    b.objects.iter().map(|o| format!("{}/{}", kind(o), name(o))).collect()
}

fn deployments(b: &Build) -> Vec<&str> {
    b.objects.iter().filter(|o| kind(o) == "Deployment").map(name).collect()
}

fn args<'a>(b: &'a Build, deployment: &str) -> Vec<&'a str> {
    get(b, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| a.as_str().expect("string arg"))
        .collect()
}

fn container<'a>(b: &'a Build, deployment: &str) -> &'a Value {
    &get(b, "Deployment", deployment)["spec"]["template"]["spec"]["containers"][0]
}

fn pod<'a>(b: &'a Build, deployment: &str) -> &'a Value {
    &get(b, "Deployment", deployment)["spec"]["template"]["spec"]
}

/// `name -> (tag, digest)` from `flux-images/vX.Y.Z/upstream-alpine.yaml`.
fn upstream_images(version: &str) -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(data_root().join(format!("flux-images/{version}/upstream-alpine.yaml")))
        .expect("image list");
    let doc: Value = flux_operator_rs::yaml::from_str(&text).expect("image list YAML");
    doc["images"]
        .as_array()
        .expect("images")
        .iter()
        .map(|i| {
            let repo = i["name"].as_str().expect("name");
            (
                repo.rsplit('/').next().expect("component").to_owned(),
                i["newTag"].as_str().expect("tag").to_owned(),
                i["digest"].as_str().expect("digest").to_owned(),
            )
        })
        .collect()
}

fn rules_of<'a>(b: &'a Build, role: &str) -> &'a Vec<Value> {
    get(b, "ClusterRole", role)["rules"].as_array().expect("rules")
}

fn grants(b: &Build, role: &str, group: &str, resource: &str) -> bool {
    rules_of(b, role).iter().any(|r| {
        r["apiGroups"].as_array().is_some_and(|g| g.contains(&json!(group)))
            && r["resources"].as_array().is_some_and(|g| g.contains(&json!(resource)))
    })
}

fn kind_enum(b: &Build, crd: &str, property: &str) -> Vec<Vec<String>> {
    get(b, "CustomResourceDefinition", crd)["spec"]["versions"]
        .as_array()
        .expect("versions")
        .iter()
        .filter(|v| v["served"] == json!(true))
        .map(|v| {
            v["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"][property]["items"]["properties"]["kind"]
                ["enum"]
                .as_array()
                .expect("kind enum")
                .iter()
                .map(|k| k.as_str().expect("kind").to_owned())
                .collect()
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Defaults

#[test]
fn defaults_build_the_four_default_controllers_of_the_newest_release() {
    let b = build_ok("flux-system", &dist("2.x"));
    assert_eq!(b.version.to_string(), "2.9.4");
    assert!(b.warnings.is_empty(), "{:?}", b.warnings);
    assert_eq!(
        deployments(&b),
        [
            "helm-controller",
            "kustomize-controller",
            "notification-controller",
            "source-controller"
        ]
    );

    // Namespace object.
    let ns = get(&b, "Namespace", "flux-system");
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/warn"],
        "restricted"
    );
    assert_eq!(
        ns["metadata"]["labels"]["pod-security.kubernetes.io/warn-version"],
        "latest"
    );
    assert_eq!(
        ns["metadata"]["annotations"]["fluxcd.controlplane.io/prune"],
        "disabled"
    );

    // Namespaces of everything.
    for o in &b.objects {
        let cluster_scoped = matches!(
            kind(o),
            "CustomResourceDefinition" | "Namespace" | "ClusterRole" | "ClusterRoleBinding"
        );
        assert_eq!(
            o["metadata"]["namespace"].as_str().is_none(),
            cluster_scoped,
            "{}/{}",
            kind(o),
            name(o)
        );
        if !cluster_scoped {
            assert_eq!(o["metadata"]["namespace"], "flux-system");
        }
    }
    // Network policies and the quota are in.
    for policy in ["allow-egress", "allow-scraping", "allow-webhooks"] {
        assert!(has(&b, "NetworkPolicy", policy));
    }
    // The suffix of rbac.yaml applies to its namespaced quota too, as upstream names it.
    assert!(has(&b, "ResourceQuota", "critical-pods-flux-system"));
    // No sync, no PVC.
    assert!(
        !b.objects
            .iter()
            .any(|o| matches!(kind(o), "GitRepository" | "Kustomization" | "PersistentVolumeClaim"))
    );
}

#[test]
fn every_object_carries_the_operator_labels_and_annotations() {
    let b = build_ok("flux-system", &dist("2.x"));
    for o in &b.objects {
        let labels = &o["metadata"]["labels"];
        assert_eq!(labels["app.kubernetes.io/managed-by"], "flux-operator", "{}", name(o));
        assert_eq!(labels["app.kubernetes.io/instance"], "flux-system");
        assert_eq!(labels["app.kubernetes.io/version"], "v2.9.4");
        assert_eq!(labels["app.kubernetes.io/part-of"], "flux");
        let annotations = &o["metadata"]["annotations"];
        assert_eq!(annotations["kustomize.toolkit.fluxcd.io/ssa"], "Ignore", "{}", name(o));
        assert_eq!(annotations["kustomize.toolkit.fluxcd.io/prune"], "Disabled");
        // The owner labels are part of the render: `build instance` prints what is applied.
        assert_eq!(labels["fluxcd.controlplane.io/name"], "flux", "{}", name(o));
        assert_eq!(labels["fluxcd.controlplane.io/namespace"], "flux-system");
    }
}

#[test]
fn order_is_crds_namespaces_cluster_rbac_then_the_rest() {
    let b = build_ok("flux-system", &dist("2.x"));
    let ranks: Vec<u8> = b
        .objects
        .iter()
        .map(|o| match kind(o) {
            "CustomResourceDefinition" => 0,
            "Namespace" => 1,
            "ClusterRole" | "ClusterRoleBinding" => 2,
            _ => 3,
        })
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{:?}", names(&b));
    assert_eq!(kind(&b.objects[0]), "CustomResourceDefinition");
    // Within the rest: accounts before the Deployments that use them.
    let pos = |k: &str, n: &str| {
        b.objects
            .iter()
            .position(|o| kind(o) == k && name(o) == n)
            .expect("present")
    };
    assert!(pos("ServiceAccount", "source-controller") < pos("Deployment", "source-controller"));
    assert!(pos("ClusterRole", "crd-controller-flux-system") < pos("ClusterRoleBinding", "crd-controller-flux-system"));
}

#[test]
fn cluster_rbac_is_renamed_per_namespace_and_references_follow() {
    let b = build_ok("gitops", &dist("2.x"));
    for role in ["crd-controller-gitops", "flux-edit-gitops", "flux-view-gitops"] {
        assert!(has(&b, "ClusterRole", role), "{role}: {:?}", names(&b));
    }
    assert!(!has(&b, "ClusterRole", "crd-controller"));
    let reconciler = get(&b, "ClusterRoleBinding", "cluster-reconciler-gitops");
    assert_eq!(reconciler["roleRef"]["name"], "cluster-admin");
    assert_eq!(
        reconciler["subjects"][0],
        json!({"kind": "ServiceAccount", "name": "kustomize-controller", "namespace": "gitops"})
    );
    assert_eq!(reconciler["subjects"][1]["namespace"], "gitops");
    let crd_binding = get(&b, "ClusterRoleBinding", "crd-controller-gitops");
    assert_eq!(
        crd_binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "crd-controller-gitops"})
    );
    let subjects = crd_binding["subjects"].as_array().expect("subjects");
    assert_eq!(subjects.len(), 7);
    assert!(subjects.iter().all(|s| s["namespace"] == "gitops"));
    // The aggregation labels stay.
    assert_eq!(
        get(&b, "ClusterRole", "flux-view-gitops")["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"],
        "true"
    );
    // The events address follows the namespace.
    assert_eq!(
        args(&b, "helm-controller")[0],
        "--events-addr=http://notification-controller.gitops.svc.cluster.local./"
    );
    assert_eq!(
        get(&b, "Namespace", "gitops")["metadata"]["labels"]["app.kubernetes.io/instance"],
        "gitops"
    );
}

#[test]
fn images_are_pinned_by_digest_from_the_upstream_list() {
    let b = build_ok("flux-system", &dist("2.x"));
    let list = upstream_images("v2.9.4");
    assert_eq!(b.components.len(), 4);
    for component in &b.components {
        let (_, tag, digest) = list.iter().find(|(n, _, _)| *n == component.name).expect("listed");
        assert_eq!(component.repository, format!("ghcr.io/fluxcd/{}", component.name));
        assert_eq!(&component.tag, tag);
        assert_eq!(&component.digest, digest);
        assert_eq!(
            container(&b, &component.name)["image"],
            format!("ghcr.io/fluxcd/{}:{tag}@{digest}", component.name)
        );
    }
    assert_eq!(
        container(&b, "source-controller")["image"],
        "ghcr.io/fluxcd/source-controller:v1.9.4@sha256:8a8ed0a57b8b86f561d5a4309a69f65e62f0cebe4de8801593c5ff35a3bc3c23"
    );
    let names: Vec<&str> = b.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "source-controller",
            "kustomize-controller",
            "helm-controller",
            "notification-controller"
        ]
    );
}

#[test]
fn mirrors_keep_the_manifest_tags_without_digests_and_warn() {
    let b = build_ok(
        "flux-system",
        "  distribution:\n    version: \"2.9.x\"\n    registry: registry.example.com/flux\n",
    );
    assert_eq!(
        container(&b, "kustomize-controller")["image"],
        "registry.example.com/flux/kustomize-controller:v1.9.4"
    );
    assert!(
        b.components
            .iter()
            .all(|c| c.digest.is_empty() && c.repository.starts_with("registry.example.com/flux/"))
    );
    assert_eq!(b.warnings.len(), 1);
    assert!(b.warnings[0].contains("registry.example.com/flux"), "{}", b.warnings[0]);

    // An explicit variant pins the mirror's images.
    let b = build_ok(
        "flux-system",
        "  distribution:\n    version: \"2.9.x\"\n    registry: registry.example.com/flux\n    variant: upstream-alpine\n",
    );
    assert!(b.warnings.is_empty());
    let image = container(&b, "helm-controller")["image"].as_str().expect("image");
    assert!(
        image.starts_with("registry.example.com/flux/helm-controller:v1.6.3@sha256:"),
        "{image}"
    );
}

#[test]
fn without_the_variant_image_list_the_manifest_tags_stay() {
    // As upstream's operator v0.58.1 does (measured): it logs "falling back to extracting
    // images from manifests" and applies the tags without digests.
    let b = build_ok(
        "flux-system",
        "  distribution:\n    version: \"2.9.x\"\n    registry: ghcr.io/controlplaneio-fluxcd/distroless\n",
    );
    assert_eq!(
        container(&b, "helm-controller")["image"],
        "ghcr.io/controlplaneio-fluxcd/distroless/helm-controller:v1.6.3"
    );
    assert!(b.components.iter().all(|c| c.digest.is_empty()));
    assert_eq!(b.warnings.len(), 1);
    assert!(b.warnings[0].contains("enterprise-distroless"), "{}", b.warnings[0]);
}

#[test]
fn docker_hub_spellings() {
    // `fluxcd` is upstream's own registry and pinned; `docker.io/fluxcd` is a mirror to
    // upstream (measured: applied without digests). Both report the full Docker Hub name.
    let pinned = build_ok(
        "flux-system",
        "  distribution:\n    version: \"2.9.x\"\n    registry: fluxcd\n",
    );
    let image = container(&pinned, "helm-controller")["image"].as_str().expect("image");
    assert!(image.starts_with("fluxcd/helm-controller:v1.6.3@sha256:"), "{image}");
    let mirror = build_ok(
        "flux-system",
        "  distribution:\n    version: \"2.9.x\"\n    registry: docker.io/fluxcd\n",
    );
    assert_eq!(
        container(&mirror, "helm-controller")["image"],
        "docker.io/fluxcd/helm-controller:v1.6.3"
    );
    for b in [&pinned, &mirror] {
        assert!(
            b.components
                .iter()
                .all(|c| c.repository == format!("index.docker.io/fluxcd/{}", c.name)),
            "{:?}",
            b.components
        );
    }
}

#[test]
fn controller_args_at_their_positions() {
    let b = build_ok(
        "flux-system",
        &format!("{}  cluster:\n    domain: example.internal\n", dist("2.x")),
    );
    let events = "--events-addr=http://notification-controller.flux-system.svc.example.internal./";
    for controller in ["source-controller", "kustomize-controller", "helm-controller"] {
        let a = args(&b, controller);
        assert_eq!(a[0], events, "{controller}");
        assert_eq!(a[1], "--watch-all-namespaces=true");
        assert_eq!(a[2], "--log-level=info");
        assert_eq!(a[3], "--log-encoding=json");
        assert_eq!(a[4], "--enable-leader-election");
    }
    let n = args(&b, "notification-controller");
    assert_eq!(n[..2], ["--watch-all-namespaces=true", "--log-level=info"]);
    assert!(!n.iter().any(|a| a.starts_with("--events-addr")));
    let s = args(&b, "source-controller");
    assert_eq!(s[5], "--storage-path=/data");
    assert_eq!(
        s[6],
        "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.example.internal."
    );
    // From Flux 2.7 the workload identity gate is always set, off by default.
    assert_eq!(s[7..], ["--feature-gates=ObjectLevelWorkloadIdentity=false"]);
}

#[test]
fn without_notification_controller_no_events_are_sent() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  components: [source-controller, kustomize-controller, helm-controller]\n",
            dist("2.x")
        ),
    );
    for controller in ["source-controller", "kustomize-controller", "helm-controller"] {
        assert_eq!(args(&b, controller)[0], "--events-addr=", "{controller}");
    }
}

#[test]
fn deployment_wide_settings() {
    let b = build_ok(
        "flux-system",
        "  distribution:\n    version: \"2.x\"\n    registry: ghcr.io/fluxcd\n    imagePullSecret: regcred\n",
    );
    for d in deployments(&b) {
        let p = pod(&b, d);
        assert_eq!(p["nodeSelector"], json!({"kubernetes.io/os": "linux"}), "{d}");
        assert_eq!(p["imagePullSecrets"], json!([{"name": "regcred"}]));
        let meta = &get(&b, "Deployment", d)["spec"]["template"]["metadata"];
        assert_eq!(meta["labels"]["app.kubernetes.io/part-of"], "flux");
        assert_eq!(
            meta["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"],
            "true"
        );
        assert_eq!(meta["labels"]["app"], d);
    }
    let b = build_ok("flux-system", &dist("2.x"));
    assert!(pod(&b, "helm-controller").get("imagePullSecrets").is_none());
}

#[test]
fn notification_controller_learns_the_operator_kinds() {
    let b = build_ok("flux-system", &dist("2.x"));
    for (crd, property) in [
        ("alerts.notification.toolkit.fluxcd.io", "eventSources"),
        ("receivers.notification.toolkit.fluxcd.io", "resources"),
    ] {
        let enums = kind_enum(&b, crd, property);
        assert!(!enums.is_empty());
        for e in enums {
            for k in [
                "FluxInstance",
                "ResourceSet",
                "ResourceSetInputProvider",
                "Kustomization",
                "GitRepository",
            ] {
                assert!(e.contains(&k.to_owned()), "{crd}: {k} missing from {e:?}");
            }
        }
    }
    assert!(grants(&b, "crd-controller-flux-system", "fluxcd.controlplane.io", "*"));
    // Older releases serve several Alert versions: every one is extended.
    let b = build_ok("flux-system", &dist("2.2.x"));
    let enums = kind_enum(&b, "alerts.notification.toolkit.fluxcd.io", "eventSources");
    assert!(enums.len() >= 2, "{enums:?}");
    assert!(enums.iter().all(|e| e.contains(&"ResourceSet".to_owned())));
}

#[test]
fn token_creation_is_dropped_without_object_level_workload_identity() {
    let b = build_ok("flux-system", &dist("2.x"));
    assert!(!grants(&b, "crd-controller-flux-system", "", "serviceaccounts/token"));
    // Off is said explicitly from Flux 2.7 on; 2.6 gets no gate when off.
    let gates = |b: &Build, d: &str| -> Vec<String> {
        args(b, d)
            .into_iter()
            .filter(|a| a.starts_with("--feature-gates"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        gates(&b, "kustomize-controller"),
        ["--feature-gates=ObjectLevelWorkloadIdentity=false"]
    );
    let b = build_ok("flux-system", &dist("2.6.x"));
    assert!(!grants(&b, "crd-controller-flux-system", "", "serviceaccounts/token"));
    assert!(gates(&b, "kustomize-controller").is_empty());
}

#[test]
fn revision_is_a_stable_digest_of_the_output() {
    let a = build_ok("flux-system", &dist("2.x"));
    let b = build_ok("flux-system", &dist("2.9.x"));
    assert_eq!(a.revision, b.revision);
    let hex = a.revision.strip_prefix("v2.9.4@sha256:").expect("prefix");
    assert_eq!(hex.len(), 64);
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    // Component order in the spec does not matter, content does.
    let reordered = build_ok(
        "flux-system",
        &format!(
            "{}  components: [notification-controller, helm-controller, kustomize-controller, source-controller]\n",
            dist("2.x")
        ),
    );
    assert_eq!(reordered.revision, a.revision);
    assert_ne!(build_ok("other", &dist("2.x")).revision, a.revision);
    assert_ne!(build_ok("flux-system", &dist("2.8.x")).revision, a.revision);
}

// ---------------------------------------------------------------------------------------
// Size profiles

#[test]
fn small_profile() {
    let b = build_ok("flux-system", &format!("{}  cluster:\n    size: small\n", dist("2.x")));
    for d in ["kustomize-controller", "helm-controller"] {
        let a = args(&b, d);
        assert!(
            a.contains(&"--concurrent=5") && a.contains(&"--requeue-dependency=10s"),
            "{d}: {a:?}"
        );
    }
    let s = args(&b, "source-controller");
    assert_eq!(
        s[7..],
        [
            "--helm-cache-max-size=10",
            "--helm-cache-ttl=720m",
            "--helm-cache-purge-interval=60m",
            "--feature-gates=ObjectLevelWorkloadIdentity=false"
        ]
    );
    for d in deployments(&b) {
        assert_eq!(
            container(&b, d)["resources"],
            json!({"limits": {"cpu": "1000m", "memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}),
            "{d}"
        );
        assert_eq!(
            get(&b, "Deployment", d)["metadata"]["annotations"]["fluxcd.controlplane.io/profile"],
            "small"
        );
    }
}

#[test]
fn medium_profile() {
    let b = build_ok("flux-system", &format!("{}  cluster:\n    size: medium\n", dist("2.x")));
    for d in ["kustomize-controller", "helm-controller"] {
        assert_eq!(
            args(&b, d)[5..],
            [
                "--concurrent=10",
                "--requeue-dependency=5s",
                "--feature-gates=ObjectLevelWorkloadIdentity=false"
            ],
            "{d}"
        );
    }
    assert_eq!(
        args(&b, "source-controller")[7..],
        [
            "--helm-cache-max-size=50",
            "--helm-cache-ttl=720m",
            "--helm-cache-purge-interval=60m",
            "--concurrent=5",
            "--feature-gates=ObjectLevelWorkloadIdentity=false"
        ]
    );
    for d in ["source-controller", "kustomize-controller", "helm-controller"] {
        assert_eq!(
            container(&b, d)["resources"],
            json!({"limits": {"cpu": "2000m", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}),
            "{d}"
        );
    }
    // Every Deployment says its profile, tuned or not.
    for d in deployments(&b) {
        assert_eq!(
            get(&b, "Deployment", d)["metadata"]["annotations"]["fluxcd.controlplane.io/profile"],
            "medium",
            "{d}"
        );
    }
    // notification-controller keeps the release's resources.
    assert_eq!(
        container(&b, "notification-controller")["resources"]["requests"]["cpu"],
        "100m"
    );
    assert_eq!(
        container(&b, "notification-controller")["resources"]["limits"]["memory"],
        "1Gi"
    );
}

#[test]
fn large_profile() {
    let b = build_ok("flux-system", &format!("{}  cluster:\n    size: large\n", dist("2.x")));
    for d in ["kustomize-controller", "helm-controller"] {
        assert_eq!(
            args(&b, d)[5..],
            [
                "--concurrent=20",
                "--requeue-dependency=5s",
                "--feature-gates=ObjectLevelWorkloadIdentity=false"
            ],
            "{d}"
        );
        assert_eq!(
            container(&b, d)["resources"],
            json!({"limits": {"cpu": "3000m", "memory": "3Gi"}, "requests": {"cpu": "100m", "memory": "256Mi"}})
        );
    }
    assert_eq!(
        args(&b, "source-controller")[7..],
        [
            "--helm-cache-max-size=100",
            "--helm-cache-ttl=720m",
            "--helm-cache-purge-interval=60m",
            "--concurrent=10",
            "--feature-gates=ObjectLevelWorkloadIdentity=false"
        ]
    );
    assert_eq!(
        container(&b, "source-controller")["resources"],
        json!({"limits": {"cpu": "2000m", "memory": "2Gi"}, "requests": {"cpu": "100m", "memory": "256Mi"}})
    );
}

// ---------------------------------------------------------------------------------------
// OpenShift

#[test]
fn openshift_drops_pod_security_settings() {
    let b = build_ok(
        "flux-system",
        &format!("{}  cluster:\n    type: openshift\n", dist("2.x")),
    );
    for d in deployments(&b) {
        assert!(pod(&b, d).get("securityContext").is_none(), "{d}");
        let sc = &container(&b, d)["securityContext"];
        assert!(
            sc.get("seccompProfile").is_none() && sc.get("runAsNonRoot").is_none(),
            "{d}: {sc}"
        );
        assert_eq!(sc["readOnlyRootFilesystem"], true);
        assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]));
    }
    let labels = &get(&b, "Namespace", "flux-system")["metadata"]["labels"];
    assert!(labels.get("pod-security.kubernetes.io/warn").is_none());
    assert!(labels.get("pod-security.kubernetes.io/warn-version").is_none());
    assert_eq!(labels["app.kubernetes.io/managed-by"], "flux-operator");

    // Other cluster types change nothing.
    let plain = build_ok("flux-system", &dist("2.x"));
    let aws = build_ok("flux-system", &format!("{}  cluster:\n    type: aws\n", dist("2.x")));
    assert_eq!(plain.revision, aws.revision);
}

// ---------------------------------------------------------------------------------------
// Multi-tenancy and workload identity

const ALL_COMPONENTS: &str = "  components: [source-controller, kustomize-controller, helm-controller, notification-controller, image-reflector-controller, image-automation-controller, source-watcher]\n";

#[test]
fn multitenant_lockdown() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}{ALL_COMPONENTS}  cluster:\n    multitenant: true\n    tenantDefaultServiceAccount: tenant\n  sync:\n    kind: GitRepository\n    url: https://example.com/repo.git\n    ref: refs/heads/main\n    path: clusters/a\n",
            dist("2.x")
        ),
    );
    let k = args(&b, "kustomize-controller");
    for flag in [
        "--no-cross-namespace-refs=true",
        "--no-remote-bases=true",
        "--default-service-account=tenant",
    ] {
        assert!(k.contains(&flag), "{flag}: {k:?}");
    }
    let h = args(&b, "helm-controller");
    assert!(h.contains(&"--no-cross-namespace-refs=true") && h.contains(&"--default-service-account=tenant"));
    assert!(!h.contains(&"--no-remote-bases=true"));
    for d in [
        "notification-controller",
        "image-reflector-controller",
        "image-automation-controller",
        "source-watcher",
    ] {
        let a = args(&b, d);
        assert!(a.contains(&"--no-cross-namespace-refs=true"), "{d}: {a:?}");
        assert!(
            !a.iter().any(|x| x.starts_with("--default-service-account")),
            "{d}: {a:?}"
        );
    }
    assert!(!args(&b, "source-controller").contains(&"--no-cross-namespace-refs=true"));
    assert_eq!(
        get(&b, "Kustomization", "flux-system")["spec"]["serviceAccountName"],
        "kustomize-controller"
    );

    // Default tenant account.
    let b = build_ok(
        "flux-system",
        &format!("{}  cluster:\n    multitenant: true\n", dist("2.x")),
    );
    assert!(args(&b, "helm-controller").contains(&"--default-service-account=default"));
}

#[test]
fn multitenant_workload_identity_on_2_7_and_later() {
    for version in ["2.7.x", "2.x"] {
        let b = build_ok(
            "flux-system",
            &format!(
                "{}  components: [source-controller, kustomize-controller, helm-controller, notification-controller, image-reflector-controller, image-automation-controller]\n  cluster:\n    multitenant: true\n    objectLevelWorkloadIdentity: true\n    multitenantWorkloadIdentity: true\n    tenantDefaultServiceAccount: tenant\n    tenantDefaultDecryptionServiceAccount: sops\n    tenantDefaultKubeConfigServiceAccount: kubeconfig\n",
                dist(version)
            ),
        );
        for d in deployments(&b) {
            assert!(
                args(&b, d).contains(&"--feature-gates=ObjectLevelWorkloadIdentity=true"),
                "{version} {d}"
            );
        }
        for d in [
            "source-controller",
            "notification-controller",
            "image-reflector-controller",
            "image-automation-controller",
        ] {
            assert!(
                args(&b, d).contains(&"--default-service-account=tenant"),
                "{version} {d}"
            );
        }
        let k = args(&b, "kustomize-controller");
        assert!(k.contains(&"--default-decryption-service-account=sops"), "{k:?}");
        assert!(k.contains(&"--default-kubeconfig-service-account=kubeconfig"));
        assert!(k.contains(&"--default-service-account=tenant"));
        assert!(args(&b, "helm-controller").contains(&"--default-kubeconfig-service-account=kubeconfig"));
        assert!(
            !args(&b, "helm-controller")
                .iter()
                .any(|a| a.starts_with("--default-decryption"))
        );
        // The controllers may mint tokens for tenants' accounts.
        assert!(
            grants(&b, "crd-controller-flux-system", "", "serviceaccounts/token"),
            "{version}"
        );
        // Upstream's order: tenant lockdown, feature gates, workload identity defaults.
        assert_eq!(
            k[5..],
            [
                "--no-cross-namespace-refs=true",
                "--no-remote-bases=true",
                "--default-service-account=tenant",
                "--feature-gates=ObjectLevelWorkloadIdentity=true",
                "--default-decryption-service-account=sops",
                "--default-kubeconfig-service-account=kubeconfig"
            ],
            "{version}"
        );
    }
    // The controllers of 2.6 lack the workload identity defaults: upstream refuses it too.
    let e = build_err(&format!(
        "{}  cluster:\n    objectLevelWorkloadIdentity: true\n    multitenantWorkloadIdentity: true\n",
        dist("2.6.x")
    ));
    assert!(
        e.contains("spec.cluster.multitenantWorkloadIdentity") && e.contains("2.7.0"),
        "{e}"
    );
}

#[test]
fn object_level_workload_identity_alone() {
    let b = build_ok(
        "flux-system",
        &format!("{}  cluster:\n    objectLevelWorkloadIdentity: true\n", dist("2.6.x")),
    );
    assert_eq!(b.version.to_string(), "2.6.4");
    let k = args(&b, "kustomize-controller");
    assert_eq!(
        *k.last().expect("args"),
        "--feature-gates=ObjectLevelWorkloadIdentity=true"
    );
    assert!(!k.iter().any(|a| a.starts_with("--default-")), "{k:?}");
    assert!(grants(&b, "crd-controller-flux-system", "", "serviceaccounts/token"));
    // helm-controller knows the gate from Flux 2.7 only.
    assert!(
        !args(&b, "helm-controller")
            .iter()
            .any(|a| a.starts_with("--feature-gates"))
    );
}

#[test]
fn before_2_6_the_release_rbac_is_kept() {
    let b = build_ok("flux-system", &dist("2.5.x"));
    assert_eq!(b.version.to_string(), "2.5.1");
    assert!(!grants(&b, "crd-controller-flux-system", "", "serviceaccounts/token"));
    // The release's rules plus the operator's group for notification-controller.
    let text = std::fs::read_to_string(data_root().join("flux/v2.5.1/rbac.yaml")).expect("rbac.yaml");
    let docs: Vec<Value> = flux_operator_rs::yaml::from_multi_str(&text).expect("rbac YAML");
    let release = docs
        .iter()
        .find(|d| kind(d) == "ClusterRole" && name(d) == "crd-controller")
        .expect("crd-controller");
    let mut expected = release["rules"].as_array().expect("rules").clone();
    expected.push(json!({"apiGroups": ["fluxcd.controlplane.io"], "resources": ["*"], "verbs": ["*"]}));
    assert_eq!(rules_of(&b, "crd-controller-flux-system"), &expected);
}

// ---------------------------------------------------------------------------------------
// All components, sharding, storage

#[test]
fn all_seven_components_on_2_9_4() {
    let b = build_ok("flux-system", &format!("{}{ALL_COMPONENTS}", dist("2.9.4")));
    assert_eq!(
        deployments(&b),
        [
            "helm-controller",
            "image-automation-controller",
            "image-reflector-controller",
            "kustomize-controller",
            "notification-controller",
            "source-controller",
            "source-watcher"
        ]
    );
    assert_eq!(b.components.len(), 7);
    let list = upstream_images("v2.9.4");
    for (component, tag, digest) in &list {
        assert_eq!(
            container(&b, component)["image"],
            format!("ghcr.io/fluxcd/{component}:{tag}@{digest}")
        );
    }
    let w = args(&b, "source-watcher");
    assert_eq!(
        w[0],
        "--events-addr=http://notification-controller.flux-system.svc.cluster.local./"
    );
    assert_eq!(
        w[6],
        "--storage-adv-addr=source-watcher.$(RUNTIME_NAMESPACE).svc.cluster.local."
    );
    // ExternalArtifact first, then the workload identity gate, as upstream orders them.
    for d in ["kustomize-controller", "helm-controller"] {
        assert_eq!(
            args(&b, d)[5..],
            [
                "--feature-gates=ExternalArtifact=true",
                "--feature-gates=ObjectLevelWorkloadIdentity=false"
            ],
            "{d}"
        );
    }
    assert_eq!(
        args(&b, "source-controller")[7..],
        ["--feature-gates=ObjectLevelWorkloadIdentity=false"]
    );
    // source-watcher knows no workload identity gate.
    assert!(
        !args(&b, "source-watcher")
            .iter()
            .any(|a| a.starts_with("--feature-gates"))
    );
    for crd in [
        "imagepolicies.image.toolkit.fluxcd.io",
        "imagerepositories.image.toolkit.fluxcd.io",
        "imageupdateautomations.image.toolkit.fluxcd.io",
        "artifactgenerators.source.extensions.fluxcd.io",
    ] {
        assert!(has(&b, "CustomResourceDefinition", crd), "{crd}");
    }
    assert!(has(&b, "Service", "source-watcher"));
}

#[test]
fn minimal_components_on_2_6() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  components: [kustomize-controller, source-controller]\n",
            dist("2.6.x")
        ),
    );
    assert_eq!(b.version.to_string(), "2.6.4");
    assert_eq!(deployments(&b), ["kustomize-controller", "source-controller"]);
    assert!(!has(
        &b,
        "CustomResourceDefinition",
        "alerts.notification.toolkit.fluxcd.io"
    ));
    assert!(!grants(&b, "crd-controller-flux-system", "fluxcd.controlplane.io", "*"));
    assert!(!grants(&b, "crd-controller-flux-system", "", "serviceaccounts/token"));
    let list = upstream_images("v2.6.4");
    let (_, tag, digest) = list
        .iter()
        .find(|(n, _, _)| n == "kustomize-controller")
        .expect("listed");
    assert_eq!(
        container(&b, "kustomize-controller")["image"],
        format!("ghcr.io/fluxcd/kustomize-controller:{tag}@{digest}")
    );
    assert_eq!(b.components.len(), 2);
    // The release's RBAC still names every controller's account.
    assert_eq!(
        get(&b, "ClusterRoleBinding", "crd-controller-flux-system")["subjects"]
            .as_array()
            .map(Vec::len),
        Some(6)
    );
}

#[test]
fn persistent_storage_for_source_controller() {
    let b = build_ok(
        "flux-system",
        &format!("{}  storage:\n    class: standard\n    size: 10Gi\n", dist("2.x")),
    );
    let pvc = get(&b, "PersistentVolumeClaim", "source-controller");
    assert_eq!(pvc["metadata"]["namespace"], "flux-system");
    assert_eq!(
        pvc["spec"],
        json!({"accessModes": ["ReadWriteOnce"], "storageClassName": "standard", "resources": {"requests": {"storage": "10Gi"}}})
    );
    assert_eq!(
        pvc["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "flux-operator"
    );
    assert_eq!(pvc["metadata"]["labels"]["fluxcd.controlplane.io/name"], "flux");
    // Upstream keeps the release's `data` volume and mounts the claim through its own.
    assert_eq!(
        pod(&b, "source-controller")["volumes"],
        json!([
            {"name": "data", "emptyDir": {}},
            {"name": "tmp", "emptyDir": {}},
            {"name": "persistent-data", "persistentVolumeClaim": {"claimName": "source-controller"}}
        ])
    );
    assert_eq!(
        container(&b, "source-controller")["volumeMounts"],
        json!([{"mountPath": "/data", "name": "persistent-data"}, {"mountPath": "/tmp", "name": "tmp"}])
    );
}

#[test]
fn sharding_with_persistent_storage() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}{ALL_COMPONENTS}  storage:\n    class: standard\n    size: 10Gi\n  sharding:\n    shards: [shard1, shard2]\n    storage: persistent\n",
            dist("2.x")
        ),
    );
    let shardable = [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "image-reflector-controller",
        "image-automation-controller",
        "source-watcher",
    ];
    for main in shardable {
        assert!(
            args(&b, main).contains(&"--watch-label-selector=!sharding.fluxcd.io/key"),
            "{main}"
        );
        for shard in ["shard1", "shard2"] {
            let copy = format!("{main}-{shard}");
            let d = get(&b, "Deployment", &copy);
            assert_eq!(d["metadata"]["annotations"]["sharding.fluxcd.io/role"], "shard");
            assert_eq!(d["metadata"]["namespace"], "flux-system");
            assert_eq!(d["spec"]["selector"]["matchLabels"], json!({"app": copy}));
            assert_eq!(d["spec"]["template"]["metadata"]["labels"]["app"], copy);
            assert_eq!(d["spec"]["template"]["spec"]["serviceAccountName"], main);
            let a = args(&b, &copy);
            assert!(
                a.contains(&format!("--watch-label-selector=sharding.fluxcd.io/key={shard}").as_str()),
                "{a:?}"
            );
            assert!(!a.contains(&"--watch-label-selector=!sharding.fluxcd.io/key"));
            assert_eq!(container(&b, &copy)["image"], container(&b, main)["image"]);
        }
    }
    assert!(!has(&b, "Deployment", "notification-controller-shard1"));
    // Storage servers advertise their own Service: upstream adds the shard's address after
    // the main one (the last one wins), then the shard's selector.
    for server in ["source-controller", "source-watcher"] {
        let copy = format!("{server}-shard1");
        assert_eq!(
            args(&b, &copy)[6..9],
            [
                format!("--storage-adv-addr={server}.$(RUNTIME_NAMESPACE).svc.cluster.local."),
                format!("--storage-adv-addr={copy}.$(RUNTIME_NAMESPACE).svc.cluster.local."),
                "--watch-label-selector=sharding.fluxcd.io/key=shard1".to_owned(),
            ]
        );
        let svc = get(&b, "Service", &copy);
        assert_eq!(svc["spec"]["selector"], json!({"app": copy}));
        assert_eq!(svc["metadata"]["annotations"]["sharding.fluxcd.io/role"], "shard");
    }
    // One claim per shard, as upstream's operator v0.58.1 applies it (measured on a test
    // bed; its `build instance` ignores `sharding.storage`): labelled like every object,
    // annotated as a shard's, mounted through `persistent-data-<shard>` in place of `data`.
    for shard in ["shard1", "shard2"] {
        let claim = format!("source-controller-{shard}");
        let pvc = get(&b, "PersistentVolumeClaim", &claim);
        assert_eq!(pvc["spec"]["storageClassName"], "standard");
        assert_eq!(pvc["spec"]["resources"]["requests"]["storage"], "10Gi");
        assert_eq!(
            pvc["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "flux-operator"
        );
        assert_eq!(
            pvc["metadata"]["labels"]["fluxcd.controlplane.io/namespace"],
            "flux-system"
        );
        assert_eq!(pvc["metadata"]["annotations"]["sharding.fluxcd.io/role"], "shard");
        assert_eq!(
            pvc["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/ssa"],
            "Ignore"
        );
        let volume = format!("persistent-data-{shard}");
        assert_eq!(
            pod(&b, &claim)["volumes"],
            json!([{"name": volume, "persistentVolumeClaim": {"claimName": claim}}, {"name": "tmp", "emptyDir": {}}])
        );
        assert_eq!(
            container(&b, &claim)["volumeMounts"],
            json!([{"mountPath": "/data", "name": volume}, {"mountPath": "/tmp", "name": "tmp"}])
        );
        let template = &get(&b, "Deployment", &claim)["spec"]["template"]["metadata"];
        assert_eq!(template["annotations"]["sharding.fluxcd.io/role"], "shard");
    }
    assert!(has(&b, "PersistentVolumeClaim", "source-controller"));
    // Not copied.
    for shard in ["shard1", "shard2"] {
        assert!(!has(&b, "ServiceAccount", &format!("source-controller-{shard}")));
        assert!(!has(&b, "Service", &format!("notification-controller-{shard}")));
        assert!(!has(&b, "Service", &format!("webhook-receiver-{shard}")));
    }
    assert_eq!(b.objects.iter().filter(|o| kind(o) == "ClusterRole").count(), 3);
    assert_eq!(b.objects.iter().filter(|o| kind(o) == "NetworkPolicy").count(), 3);
    assert_eq!(b.objects.iter().filter(|o| kind(o) == "ResourceQuota").count(), 1);
    assert_eq!(deployments(&b).len(), 7 + 2 * 6);
}

#[test]
fn ephemeral_shards_never_share_the_main_claim() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  storage:\n    class: standard\n    size: 10Gi\n  sharding:\n    key: example.com/shard\n    shards: [a]\n",
            dist("2.x")
        ),
    );
    let volumes = pod(&b, "source-controller-a")["volumes"].as_array().expect("volumes");
    assert!(
        volumes.contains(&json!({"name": "data", "emptyDir": {}})),
        "{volumes:?}"
    );
    assert!(!has(&b, "PersistentVolumeClaim", "source-controller-a"));
    assert!(args(&b, "helm-controller-a").contains(&"--watch-label-selector=example.com/shard=a"));
    assert!(args(&b, "helm-controller").contains(&"--watch-label-selector=!example.com/shard"));
}

#[test]
fn source_watcher_is_sharded_from_2_9_only() {
    let b = build_ok(
        "flux-system",
        &format!("{}{ALL_COMPONENTS}  sharding:\n    shards: [s1]\n", dist("2.8.x")),
    );
    assert!(!has(&b, "Deployment", "source-watcher-s1"));
    assert!(
        !args(&b, "source-watcher")
            .iter()
            .any(|a| a.starts_with("--watch-label-selector"))
    );
    assert!(has(&b, "Deployment", "source-controller-s1"));
}

// ---------------------------------------------------------------------------------------
// Sync

/// An address of the form each source kind takes.
fn sync_url(kind: &str) -> &'static str {
    match kind {
        "OCIRepository" => "oci://ghcr.io/example/fleet",
        "Bucket" => "minio.example.com:9000",
        _ => "https://example.com/fleet.git",
    }
}

fn sync(kind: &str, extra: &str) -> String {
    let url = sync_url(kind);
    format!("  sync:\n    kind: {kind}\n    url: {url}\n    ref: REF\n    path: clusters/prod\n{extra}")
}

#[test]
fn sync_git_repository() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}{}",
            dist("2.x"),
            sync(
                "GitRepository",
                "    pullSecret: git-auth\n    provider: github\n    interval: 5m\n"
            )
        ),
    );
    let source = get(&b, "GitRepository", "flux-system");
    assert_eq!(source["apiVersion"], "source.toolkit.fluxcd.io/v1");
    assert_eq!(source["metadata"]["namespace"], "flux-system");
    assert_eq!(
        source["spec"],
        json!({"interval": "5m0s", "url": sync_url("GitRepository"), "ref": {"name": "REF"}, "secretRef": {"name": "git-auth"}, "provider": "github"})
    );
    assert_eq!(
        source["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "flux-operator"
    );
    let ks = get(&b, "Kustomization", "flux-system");
    assert_eq!(ks["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
    assert_eq!(
        ks["spec"],
        json!({"interval": "10m0s", "path": "clusters/prod", "prune": true, "sourceRef": {"kind": "GitRepository", "name": "flux-system"}})
    );
    // Upstream's order after the Deployments: by API group, so the Kustomization comes
    // before the network policies and the source last.
    let tail: Vec<&str> = b.objects[b.objects.len() - 5..].iter().map(kind).collect();
    assert_eq!(
        tail,
        [
            "Kustomization",
            "NetworkPolicy",
            "NetworkPolicy",
            "NetworkPolicy",
            "GitRepository"
        ]
    );
}

#[test]
fn sync_oci_repository_api_version_follows_the_release() {
    for (version, api) in [
        ("2.5.x", "source.toolkit.fluxcd.io/v1beta2"),
        ("2.6.x", "source.toolkit.fluxcd.io/v1"),
        ("2.x", "source.toolkit.fluxcd.io/v1"),
    ] {
        let b = build_ok(
            "flux-system",
            &format!(
                "{}{}",
                dist(version),
                sync("OCIRepository", "    name: cluster\n    provider: gcp\n")
            ),
        );
        let source = get(&b, "OCIRepository", "cluster");
        assert_eq!(source["apiVersion"], api, "{version}");
        assert_eq!(
            source["spec"],
            json!({"interval": "1m0s", "url": sync_url("OCIRepository"), "ref": {"tag": "REF"}, "provider": "gcp"})
        );
        assert_eq!(
            get(&b, "Kustomization", "cluster")["spec"]["sourceRef"],
            json!({"kind": "OCIRepository", "name": "cluster"})
        );
    }
}

#[test]
fn sync_bucket_api_version_follows_the_release() {
    for (version, api) in [
        ("2.5.x", "source.toolkit.fluxcd.io/v1beta2"),
        ("2.6.x", "source.toolkit.fluxcd.io/v1"),
    ] {
        let b = build_ok(
            "flux-system",
            &format!("{}{}", dist(version), sync("Bucket", "    pullSecret: s3\n")),
        );
        let source = get(&b, "Bucket", "flux-system");
        assert_eq!(source["apiVersion"], api, "{version}");
        assert_eq!(
            source["spec"],
            json!({"interval": "1m0s", "endpoint": sync_url("Bucket"), "bucketName": "REF", "secretRef": {"name": "s3"}})
        );
    }
}

#[test]
fn cobaltcore_example_builds_unchanged() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/cobaltcore-management.yaml"))
            .expect("example");
    let parsed = parse_instance(&text).expect("parse the example");
    assert_eq!(parsed.namespace, "flux-system");
    let b = build::resolve_and_build(&parsed.namespace, &parsed.instance.spec, &distribution()).expect("build");
    assert_eq!(b.version.to_string(), "2.9.4");
    assert_eq!(
        deployments(&b),
        [
            "helm-controller",
            "kustomize-controller",
            "notification-controller",
            "source-controller"
        ]
    );
    let git = get(&b, "GitRepository", "flux-system");
    assert_eq!(
        git["spec"],
        json!({"interval": "1m0s", "url": "ssh://git@github.com/c5c3/c5c3-gitops.git", "ref": {"name": "refs/heads/main"}, "secretRef": {"name": "flux-system"}})
    );
    let ks = get(&b, "Kustomization", "flux-system");
    assert_eq!(ks["spec"]["path"], "clusters/management");
    assert!(ks["spec"].get("serviceAccountName").is_none());
    assert!(has(&b, "NetworkPolicy", "allow-egress"));
    assert!(b.revision.starts_with("v2.9.4@sha256:"));
}

// ---------------------------------------------------------------------------------------
// commonMetadata

#[test]
fn common_metadata_overrides_every_object() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  commonMetadata:\n    labels:\n      app.kubernetes.io/part-of: platform\n      team: infra\n    annotations:\n      example.com/owner: infra\n{}",
            dist("2.x"),
            sync("GitRepository", "")
        ),
    );
    for o in &b.objects {
        assert_eq!(o["metadata"]["labels"]["team"], "infra", "{}", name(o));
        assert_eq!(o["metadata"]["labels"]["app.kubernetes.io/part-of"], "platform");
        assert_eq!(o["metadata"]["annotations"]["example.com/owner"], "infra");
    }
    // Selectors are left alone.
    assert_eq!(
        get(&b, "Deployment", "helm-controller")["spec"]["selector"],
        json!({"matchLabels": {"app": "helm-controller"}})
    );
}

// ---------------------------------------------------------------------------------------
// Bad input: one error each, naming the field and the value

#[test]
fn unparseable_constraint() {
    let e = build_err(&dist("2.x.y.z"));
    assert!(
        e.starts_with("spec.distribution.version") && e.contains("2.x.y.z"),
        "{e}"
    );
}

#[test]
fn no_matching_version() {
    let e = build_err(&dist("3.x"));
    assert!(e.starts_with("spec.distribution.version") && e.contains("3.x"), "{e}");
}

#[test]
fn component_not_in_that_version() {
    let e = build_err(&format!(
        "{}  components: [source-controller, source-watcher]\n",
        dist("2.6.x")
    ));
    assert_eq!(e, "spec.components: source-watcher requires Flux >= 2.7.0, got v2.6.4");
}

#[test]
fn registry_with_spaces() {
    let e = build_err("  distribution:\n    version: 2.x\n    registry: ghcr.io/flux cd\n");
    assert_eq!(
        e,
        "spec.distribution.registry \"ghcr.io/flux cd\" must not contain whitespace or control characters"
    );
}

#[test]
fn duplicate_shard_names() {
    let e = build_err(&format!("{}  sharding:\n    shards: [a, b, a]\n", dist("2.x")));
    assert_eq!(e, "spec.sharding.shards: duplicate shard name \"a\"");
}

#[test]
fn object_level_workload_identity_before_2_6() {
    let e = build_err(&format!(
        "{}  cluster:\n    objectLevelWorkloadIdentity: true\n",
        dist("2.5.x")
    ));
    assert_eq!(
        e,
        "spec.cluster.objectLevelWorkloadIdentity: true requires Flux >= 2.6.0, got v2.5.1"
    );
}

#[test]
fn more_bad_input() {
    let cases = [
        (
            format!("{}  cluster:\n    multitenantWorkloadIdentity: true\n", dist("2.x")),
            "spec.cluster.multitenantWorkloadIdentity",
        ),
        (
            format!("{}  sharding:\n    shards: [a]\n    storage: persistent\n", dist("2.x")),
            "spec.sharding.storage",
        ),
        (
            format!("{}  sharding:\n    shards: [Shard_1]\n", dist("2.x")),
            "\"Shard_1\"",
        ),
        (
            format!("{}  storage:\n    class: standard\n    size: ten\n", dist("2.x")),
            "spec.storage.size \"ten\"",
        ),
        (
            format!("{}{}", dist("2.x"), sync("GitRepository", "    provider: aws\n")),
            "spec.sync.provider \"aws\"",
        ),
        (
            format!(
                "{}  components: [helm-controller]\n{}",
                dist("2.x"),
                sync("GitRepository", "")
            ),
            "spec.sync",
        ),
        (
            format!("{}  cluster:\n    domain: \"bad domain\"\n", dist("2.x")),
            "spec.cluster.domain \"bad domain\"",
        ),
        (
            "  distribution:\n    version: 2.x\n    registry: \"https://ghcr.io/fluxcd\"\n".to_owned(),
            "spec.distribution.registry",
        ),
    ];
    for (spec, needle) in cases {
        let e = build_err(&spec);
        assert!(e.contains(needle), "{needle:?} not in {e:?}");
        assert!(!e.contains('\n'), "{e}");
    }
    let parsed = parse_instance(&instance_yaml("flux-system", &dist("2.x"))).expect("parse");
    let e =
        build::resolve_and_build("Not_A_Namespace", &parsed.instance.spec, &distribution()).expect_err("bad namespace");
    assert_eq!(
        e.to_string(),
        "metadata.namespace \"Not_A_Namespace\" is not a valid namespace name"
    );
    assert_eq!(e.reason(), "BuildFailed");
}

// ---------------------------------------------------------------------------------------
// Speed: the operator rebuilds on every reconcile.

#[test]
fn builds_all_components_with_a_profile_and_patches_quickly() {
    let mut list = String::new();
    for i in 0..5 {
        list.push_str(&format!(
            "      - target:\n          kind: Deployment\n        patch: |\n          - op: add\n            path: /metadata/annotations/example.com~1p{i}\n            value: x\n"
        ));
        list.push_str(&format!(
            "      - target:\n          kind: Deployment\n          name: \"(kustomize|helm)-controller\"\n        patch: |\n          apiVersion: apps/v1\n          kind: Deployment\n          metadata:\n            name: all\n          spec:\n            template:\n              spec:\n                containers:\n                  - name: manager\n                    env:\n                      - name: V{i}\n                        value: x\n"
        ));
    }
    let spec = format!(
        "{}{ALL_COMPONENTS}  cluster:\n    size: large\n{}",
        dist("2.9.4"),
        patches(&list)
    );
    let parsed = parse_instance(&instance_yaml("flux-system", &spec)).expect("parse");
    let d = distribution();
    let version = semver::Version::new(2, 9, 4);
    // The first build reads and parses the release; later ones build from it in memory.
    let start = std::time::Instant::now();
    let release = d.release(&version).expect("release");
    let first = build::build("flux-system", &parsed.instance.spec, &release).expect("build");
    let cold = start.elapsed();
    let runs = 5;
    let start = std::time::Instant::now();
    for _ in 0..runs {
        let again = build::build("flux-system", &parsed.instance.spec, &release).expect("build");
        assert_eq!(again.revision, first.revision);
    }
    let each = start.elapsed() / runs;
    eprintln!("7 components, large profile, 10 patches: first build {cold:?}, then {each:?} each");
    // Loose: debug builds of the tests are 10-30 times slower than release.
    assert!(each < std::time::Duration::from_secs(2), "{each:?}");
}

// ---------------------------------------------------------------------------------------
// User patches (step 15), between the generated objects and commonMetadata

fn patches(list: &str) -> String {
    format!("  kustomize:\n    patches:\n{list}")
}

#[test]
fn json6902_patch_on_a_target() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}{}",
            dist("2.x"),
            patches(
                "      - target:\n          kind: Deployment\n          name: \"(kustomize|helm)-controller\"\n        patch: |\n          - op: add\n            path: /spec/template/spec/containers/0/args/-\n            value: --concurrent=42\n"
            )
        ),
    );
    for d in ["kustomize-controller", "helm-controller"] {
        assert_eq!(*args(&b, d).last().expect("args"), "--concurrent=42", "{d}");
    }
    assert!(!args(&b, "source-controller").contains(&"--concurrent=42"));
}

#[test]
fn strategic_merge_patch_without_target_and_by_label() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}{}{}",
            dist("2.x"),
            sync("GitRepository", ""),
            patches(concat!(
                "      - patch: |\n          apiVersion: apps/v1\n          kind: Deployment\n          metadata:\n            name: source-controller\n          spec:\n            replicas: 0\n",
                "      - target:\n          kind: Deployment\n          labelSelector: app.kubernetes.io/component=helm-controller\n        patch: |\n          apiVersion: apps/v1\n          kind: Deployment\n          metadata:\n            name: any\n            labels:\n              team: infra\n              app.kubernetes.io/part-of: patched\n",
                "      - target:\n          kind: Kustomization\n        patch: |\n          - op: replace\n            path: /spec/interval\n            value: 1h\n",
            ))
        ),
    );
    assert_eq!(get(&b, "Deployment", "source-controller")["spec"]["replicas"], 0);
    assert_eq!(get(&b, "Deployment", "kustomize-controller")["spec"]["replicas"], 1);
    let helm = &get(&b, "Deployment", "helm-controller")["metadata"]["labels"];
    assert_eq!(helm["team"], "infra");
    // The operator's labels come after the patches, as upstream's do.
    assert_eq!(helm["app.kubernetes.io/part-of"], "flux");
    assert_eq!(get(&b, "Kustomization", "flux-system")["spec"]["interval"], "1h");

    // commonMetadata comes after the patches and wins.
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  commonMetadata:\n    labels:\n      team: platform\n{}",
            dist("2.x"),
            patches(
                "      - target:\n          kind: Deployment\n        patch: |\n          - op: add\n            path: /metadata/labels/team\n            value: patched\n"
            )
        ),
    );
    assert_eq!(
        get(&b, "Deployment", "helm-controller")["metadata"]["labels"]["team"],
        "platform"
    );
}

#[test]
fn patches_reach_shard_copies() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  sharding:\n    shards: [shard1]\n{}",
            dist("2.x"),
            patches(
                "      - target:\n          kind: Deployment\n          name: \".*-shard1\"\n        patch: |\n          - op: replace\n            path: /spec/replicas\n            value: 3\n"
            )
        ),
    );
    assert_eq!(get(&b, "Deployment", "helm-controller-shard1")["spec"]["replicas"], 3);
    assert_eq!(get(&b, "Deployment", "helm-controller")["spec"]["replicas"], 1);
}

#[test]
fn patches_change_the_revision() {
    let plain = build_ok("flux-system", &dist("2.x"));
    let patched = build_ok(
        "flux-system",
        &format!(
            "{}{}",
            dist("2.x"),
            patches(
                "      - target:\n          kind: Deployment\n          name: helm-controller\n        patch: |\n          - op: replace\n            path: /spec/replicas\n            value: 2\n"
            )
        ),
    );
    assert_ne!(plain.revision, patched.revision);
}

#[test]
fn bad_patches_name_their_index() {
    for list in [
        "      - patch: \"- op: explode\\n  path: /spec\"\n        target:\n          kind: Deployment\n",
        "      - patch: \"not: [valid\"\n",
        "      - target:\n          kind: Deployment\n          name: helm-controller\n        patch: |\n          - op: remove\n            path: /spec/nothing/here\n",
    ] {
        let e = build_err(&format!("{}{}", dist("2.x"), patches(list)));
        assert!(e.starts_with("spec.kustomize.patches[0]"), "{e}");
    }
    // The index is the patch's position in the list.
    let e = build_err(&format!(
        "{}{}",
        dist("2.x"),
        patches(
            "      - target:\n          kind: Deployment\n        patch: |\n          - op: add\n            path: /metadata/labels/a\n            value: b\n      - patch: \"- op: explode\"\n        target:\n          kind: Deployment\n"
        )
    ));
    assert!(e.starts_with("spec.kustomize.patches[1]"), "{e}");
}

#[test]
fn patches_see_the_objects_without_namespace() {
    // A strategic-merge patch may delete an object.
    let b = build_ok(
        "gitops",
        &format!(
            "{}{}",
            dist("2.x"),
            patches(
                "      - patch: |\n          apiVersion: networking.k8s.io/v1\n          kind: NetworkPolicy\n          metadata:\n            name: allow-egress\n          $patch: delete\n"
            )
        ),
    );
    assert!(!has(&b, "NetworkPolicy", "allow-egress"), "{:?}", names(&b));
    assert!(has(&b, "NetworkPolicy", "allow-scraping"));
    assert!(b.objects.iter().all(Value::is_object));
    // Every namespaced object is back in the instance namespace.
    assert!(
        b.objects
            .iter()
            .filter(|o| !matches!(
                kind(o),
                "CustomResourceDefinition" | "Namespace" | "ClusterRole" | "ClusterRoleBinding"
            ))
            .all(|o| o["metadata"]["namespace"] == "gitops")
    );
    // So a target naming the namespace selects nothing, which is no error (upstream's
    // operator v0.58.1 reconciles such an instance unchanged, as kustomize ignores it).
    let plain = build_ok("flux-system", &dist("2.x"));
    for target in ["namespace: flux-system", "name: no-such-controller"] {
        let b = build_ok(
            "flux-system",
            &format!(
                "{}{}",
                dist("2.x"),
                patches(&format!(
                    "      - target:\n          kind: Deployment\n          {target}\n        patch: |\n          - op: replace\n            path: /spec/replicas\n            value: 2\n"
                ))
            ),
        );
        assert_eq!(b.revision, plain.revision, "{target}");
    }
}

#[test]
fn patches_see_the_generated_objects_in_the_namespace() {
    // Upstream builds rbac.yaml, the shards and the sync objects in the namespace before
    // the patches run; the release's component files get it afterwards.
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  sharding:\n    shards: [s1]\n{}{}",
            dist("2.x"),
            sync("GitRepository", ""),
            patches(concat!(
                "      - target:\n          namespace: flux-system\n        patch: |\n          - op: add\n            path: /metadata/annotations\n            value: {seen: \"yes\"}\n",
                "      - patch: |\n          apiVersion: v1\n          kind: ResourceQuota\n          metadata:\n            name: critical-pods\n            namespace: flux-system\n          spec:\n            hard:\n              pods: \"500\"\n",
            ))
        ),
    );
    let seen = |k: &str, n: &str| get(&b, k, n)["metadata"]["annotations"]["seen"] == "yes";
    for (k, n) in [
        ("ResourceQuota", "critical-pods-flux-system"),
        ("Deployment", "kustomize-controller-s1"),
        ("Service", "source-controller-s1"),
        ("GitRepository", "flux-system"),
        ("Kustomization", "flux-system"),
    ] {
        assert!(seen(k, n), "{k}/{n}");
    }
    for (k, n) in [
        ("Deployment", "kustomize-controller"),
        ("ServiceAccount", "kustomize-controller"),
        ("NetworkPolicy", "allow-egress"),
    ] {
        assert!(!seen(k, n), "{k}/{n}");
    }
    assert_eq!(
        get(&b, "ResourceQuota", "critical-pods-flux-system")["spec"]["hard"]["pods"],
        "500"
    );
}

#[test]
fn the_claim_comes_with_storage_even_without_source_controller() {
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  components: [kustomize-controller, helm-controller]\n  storage:\n    class: standard\n    size: 1Gi\n",
            dist("2.x")
        ),
    );
    assert!(has(&b, "PersistentVolumeClaim", "source-controller"));
}

#[test]
fn patch_targets_may_name_objects_before_the_build_renamed_them() {
    // As kustomize (and so upstream) remembers previous names: `crd-controller` reaches the
    // per-instance ClusterRole, and `kustomize-controller` its shard copies too.
    let b = build_ok(
        "flux-system",
        &format!(
            "{}  sharding:\n    shards: [s1]\n{}",
            dist("2.x"),
            patches(concat!(
                "      - target:\n          kind: ClusterRole\n          name: crd-controller\n        patch: |\n          apiVersion: rbac.authorization.k8s.io/v1\n          kind: ClusterRole\n          metadata:\n            name: any\n            labels:\n              audited: \"true\"\n",
                "      - target:\n          kind: Deployment\n          name: kustomize-controller\n        patch: |\n          - op: replace\n            path: /spec/replicas\n            value: 2\n",
            ))
        ),
    );
    assert_eq!(
        get(&b, "ClusterRole", "crd-controller-flux-system")["metadata"]["labels"]["audited"],
        "true"
    );
    assert_eq!(get(&b, "Deployment", "kustomize-controller")["spec"]["replicas"], 2);
    assert_eq!(get(&b, "Deployment", "kustomize-controller-s1")["spec"]["replicas"], 2);
    assert_eq!(get(&b, "Deployment", "helm-controller-s1")["spec"]["replicas"], 1);
    // A patch without target then names two objects, which upstream refuses too.
    let e = build_err(&format!(
        "{}  sharding:\n    shards: [s1]\n{}",
        dist("2.x"),
        patches(
            "      - patch: |\n          apiVersion: apps/v1\n          kind: Deployment\n          metadata:\n            name: helm-controller\n          spec:\n            replicas: 2\n"
        )
    ));
    assert!(e.contains("several objects"), "{e}");
}
