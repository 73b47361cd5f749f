//! Step 5: the controllers' own flags, pointed at the instance namespace and domain.

use serde_json::Value;

use super::object;

/// Components that serve artifacts and advertise their address.
pub const ARTIFACT_SERVERS: [&str; 2] = ["source-controller", "source-watcher"];

pub fn events_addr(ns: &str, domain: &str) -> String {
    format!("http://notification-controller.{ns}.svc.{domain}./")
}

/// `<service>.$(RUNTIME_NAMESPACE).svc.<domain>.`: the address a storage server advertises.
pub fn storage_adv_addr(service: &str, domain: &str) -> String {
    format!("{service}.$(RUNTIME_NAMESPACE).svc.{domain}.")
}

/// Keeps the positions of the release manifests: events address, watch-all-namespaces and
/// log level first (notification-controller has no events address), the storage address
/// of the artifact servers at index 6. Without notification-controller the events address
/// is empty: the controllers then send no events instead of failing to reach a Service
/// that does not exist.
pub fn apply(objects: &mut [Value], ns: &str, domain: &str, notification: bool) {
    let events = if notification {
        events_addr(ns, domain)
    } else {
        String::new()
    };
    for obj in objects.iter_mut().filter(|o| object::is_deployment(o)) {
        let component = object::component(obj).to_owned();
        let Some(args) = object::manager_args(obj) else {
            continue;
        };
        if component != "notification-controller" {
            object::set_arg(args, "--events-addr", &events);
        }
        object::set_arg(args, "--watch-all-namespaces", "true");
        object::set_arg(args, "--log-level", "info");
        if ARTIFACT_SERVERS.contains(&component.as_str()) {
            object::set_arg(args, "--storage-adv-addr", &storage_adv_addr(&component, domain));
        }
    }
}
