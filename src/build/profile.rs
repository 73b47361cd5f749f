//! Step 7: vertical scaling profiles (`spec.cluster.size`).

use serde_json::{Value, json};

use crate::api::ClusterSize;

use super::object;

pub const PROFILE_ANNOTATION: &str = "fluxcd.controlplane.io/profile";

struct Resources {
    requests: (&'static str, &'static str),
    limits: (&'static str, &'static str),
}

struct Profile {
    name: &'static str,
    /// Args of kustomize-controller and helm-controller.
    reconciler_args: &'static [(&'static str, &'static str)],
    /// Args of source-controller.
    source_args: &'static [(&'static str, &'static str)],
    /// Resources per Deployment; None leaves the Deployment's own.
    resources: fn(&str) -> Option<Resources>,
}

const CACHE_TTL: (&str, &str) = ("--helm-cache-ttl", "720m");
const CACHE_PURGE: (&str, &str) = ("--helm-cache-purge-interval", "60m");

fn profile(size: ClusterSize) -> Profile {
    match size {
        ClusterSize::Small => Profile {
            name: "small",
            reconciler_args: &[("--concurrent", "5"), ("--requeue-dependency", "10s")],
            source_args: &[("--helm-cache-max-size", "10"), CACHE_TTL, CACHE_PURGE],
            resources: |_| {
                Some(Resources {
                    requests: ("100m", "64Mi"),
                    limits: ("1000m", "512Mi"),
                })
            },
        },
        ClusterSize::Medium => Profile {
            name: "medium",
            reconciler_args: &[("--concurrent", "10"), ("--requeue-dependency", "5s")],
            source_args: &[
                ("--helm-cache-max-size", "50"),
                CACHE_TTL,
                CACHE_PURGE,
                ("--concurrent", "5"),
            ],
            resources: |component| match component {
                "source-controller" | "kustomize-controller" | "helm-controller" => Some(Resources {
                    requests: ("100m", "128Mi"),
                    limits: ("2000m", "1Gi"),
                }),
                _ => None,
            },
        },
        ClusterSize::Large => Profile {
            name: "large",
            reconciler_args: &[("--concurrent", "20"), ("--requeue-dependency", "5s")],
            source_args: &[
                ("--helm-cache-max-size", "100"),
                CACHE_TTL,
                CACHE_PURGE,
                ("--concurrent", "10"),
            ],
            resources: |component| match component {
                "kustomize-controller" | "helm-controller" => Some(Resources {
                    requests: ("100m", "256Mi"),
                    limits: ("3000m", "3Gi"),
                }),
                "source-controller" => Some(Resources {
                    requests: ("100m", "256Mi"),
                    limits: ("2000m", "2Gi"),
                }),
                _ => None,
            },
        },
    }
}

/// Tunes the controllers of the profile and marks every Deployment (shards included) with
/// it, tuned or not, so that the whole installation says which profile it runs.
pub fn apply(objects: &mut [Value], size: Option<ClusterSize>) {
    let Some(size) = size else { return };
    let profile = profile(size);
    for obj in objects.iter_mut().filter(|o| object::is_deployment(o)) {
        let component = object::component(obj).to_owned();
        let args: &[(&str, &str)] = match component.as_str() {
            "kustomize-controller" | "helm-controller" => profile.reconciler_args,
            "source-controller" => profile.source_args,
            _ => &[],
        };
        if let Some(list) = object::manager_args(obj) {
            for (flag, value) in args {
                object::set_arg(list, flag, value);
            }
        }
        if let Some(r) = (profile.resources)(&component)
            && let Some(container) = object::manager_container(obj)
        {
            container.insert(
                "resources".into(),
                json!({
                    "limits": { "cpu": r.limits.0, "memory": r.limits.1 },
                    "requests": { "cpu": r.requests.0, "memory": r.requests.1 },
                }),
            );
        }
        object::set_annotation(obj, PROFILE_ANNOTATION, profile.name);
    }
}
