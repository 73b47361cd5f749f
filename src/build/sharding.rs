//! Step 13: one copy of each shardable controller per shard, each watching only the objects
//! labelled with its shard.

use semver::Version;
use serde_json::{Value, json};

use crate::api::{Sharding, ShardingStorage, Storage};

use super::{args, object, storage};

pub const ROLE_ANNOTATION: &str = "sharding.fluxcd.io/role";

fn shardable(component: &str, version: &Version) -> bool {
    match component {
        "source-controller"
        | "kustomize-controller"
        | "helm-controller"
        | "image-reflector-controller"
        | "image-automation-controller" => true,
        "source-watcher" => version >= &Version::new(2, 9, 0),
        _ => false,
    }
}

/// An object of a shard, and the name of the main controller's object it copies: patch
/// targets naming the main object also reach its shards, as upstream's do.
pub struct Shard {
    pub object: Value,
    pub original: String,
}

/// Copies the shardable controllers per shard and confines the main ones to unlabelled
/// objects. Runs before the size profile and the tenant flags, which then reach the shards
/// too, in upstream's argument order.
pub fn apply(
    objects: &mut [Value],
    sharding: Option<&Sharding>,
    storage_spec: Option<&Storage>,
    version: &Version,
    ns: &str,
    domain: &str,
) -> Vec<Shard> {
    let Some(sharding) = sharding else { return Vec::new() };
    let key = sharding.key.as_str();
    let components: Vec<String> = objects
        .iter()
        .filter(|o| object::is_deployment(o) && shardable(object::name(o), version))
        .map(|o| object::name(o).to_owned())
        .collect();

    let mut added = Vec::new();
    for shard in &sharding.shards {
        for component in &components {
            for obj in objects.iter() {
                let copy = match object::kind(obj) {
                    "Deployment" if object::name(obj) == component => {
                        shard_deployment(obj, component, shard, key, domain)
                    }
                    "Service" if selects(obj, component) => shard_service(obj, component, shard),
                    _ => continue,
                };
                added.push(Shard {
                    object: copy,
                    original: object::name(obj).to_owned(),
                });
            }
            if component == "source-controller"
                && sharding.storage == ShardingStorage::Persistent
                && let Some(spec) = storage_spec
                && let Some(claim) = persistent_storage(&mut added, component, shard, ns, spec)
            {
                added.push(claim);
            }
        }
    }

    for obj in objects.iter_mut().filter(|o| object::is_deployment(o)) {
        if components.iter().any(|c| c == object::name(obj))
            && let Some(list) = object::manager_args(obj)
        {
            object::set_arg(list, "--watch-label-selector", &format!("!{key}"));
        }
    }
    added
}

/// The shard's own claim, mounted instead of the release's `data` volume: a ReadWriteOnce
/// claim cannot be shared with the main controller.
fn persistent_storage(added: &mut [Shard], component: &str, shard: &str, ns: &str, spec: &Storage) -> Option<Shard> {
    let name = format!("{component}-{shard}");
    let deployment = added
        .iter_mut()
        .rfind(|s| object::is_deployment(&s.object) && object::name(&s.object) == name)?;
    let volume = format!("{}-{shard}", storage::PERSISTENT_VOLUME);
    storage::mount_claim(&mut deployment.object, &volume, &name, true);
    let mut claim = storage::claim(&name, ns, spec);
    object::set_annotation(&mut claim, ROLE_ANNOTATION, "shard");
    Some(Shard {
        object: claim,
        original: name,
    })
}

fn selects(service: &Value, component: &str) -> bool {
    service.pointer("/spec/selector/app").and_then(Value::as_str) == Some(component)
}

fn shard_deployment(main: &Value, component: &str, shard: &str, key: &str, domain: &str) -> Value {
    let shard_name = format!("{component}-{shard}");
    let mut copy = main.clone();
    object::set_name(&mut copy, &shard_name);
    object::set_annotation(&mut copy, ROLE_ANNOTATION, "shard");
    object::map_at(&mut copy, &["spec", "selector", "matchLabels"]).insert("app".into(), json!(shard_name));
    object::map_at(&mut copy, &["spec", "template", "metadata", "labels"]).insert("app".into(), json!(shard_name));
    object::map_at(&mut copy, &["spec", "template", "metadata", "annotations"])
        .insert(ROLE_ANNOTATION.into(), json!("shard"));
    if let Some(list) = object::manager_args(&mut copy) {
        // Added after the main controller's address, as upstream does: the last one wins.
        if args::ARTIFACT_SERVERS.contains(&component) {
            let address = args::storage_adv_addr(&shard_name, domain);
            object::add_arg(list, format!("--storage-adv-addr={address}"));
        }
        object::set_arg(list, "--watch-label-selector", &format!("{key}={shard}"));
    }
    copy
}

fn shard_service(main: &Value, component: &str, shard: &str) -> Value {
    let mut copy = main.clone();
    object::set_name(&mut copy, &format!("{}-{shard}", object::name(main)));
    object::set_annotation(&mut copy, ROLE_ANNOTATION, "shard");
    object::map_at(&mut copy, &["spec", "selector"]).insert("app".into(), json!(format!("{component}-{shard}")));
    copy
}
