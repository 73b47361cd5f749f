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

/// Returns the objects to add: the shards' Deployments, Services and claims.
pub fn apply(
    objects: &mut [Value],
    sharding: Option<&Sharding>,
    storage_spec: Option<&Storage>,
    version: &Version,
    ns: &str,
    domain: &str,
) -> Vec<Value> {
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
            let shard_name = format!("{component}-{shard}");
            for obj in objects.iter() {
                match object::kind(obj) {
                    "Deployment" if object::name(obj) == component => {
                        added.push(shard_deployment(obj, component, shard, &shard_name, key, domain));
                    }
                    "Service" if selects(obj, component) => {
                        added.push(shard_service(obj, component, shard, &shard_name));
                    }
                    _ => {}
                }
            }
            if component == "source-controller"
                && let Some(i) = added
                    .iter()
                    .rposition(|o| object::is_deployment(o) && object::name(o) == shard_name)
            {
                let volume = match (sharding.storage, storage_spec) {
                    (ShardingStorage::Persistent, Some(spec)) => {
                        added.push(storage::claim(&shard_name, ns, spec));
                        storage::claim_volume(&shard_name)
                    }
                    // The main instance's claim is ReadWriteOnce: never share it.
                    _ => storage::empty_dir_volume(),
                };
                storage::set_data_volume(&mut added[i], volume);
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

fn selects(service: &Value, component: &str) -> bool {
    service.pointer("/spec/selector/app").and_then(Value::as_str) == Some(component)
}

fn shard_deployment(main: &Value, component: &str, shard: &str, shard_name: &str, key: &str, domain: &str) -> Value {
    let mut copy = main.clone();
    object::set_name(&mut copy, shard_name);
    object::set_annotation(&mut copy, ROLE_ANNOTATION, "shard");
    object::map_at(&mut copy, &["spec", "selector", "matchLabels"]).insert("app".into(), json!(shard_name));
    object::map_at(&mut copy, &["spec", "template", "metadata", "labels"]).insert("app".into(), json!(shard_name));
    if let Some(list) = object::manager_args(&mut copy) {
        object::set_arg(list, "--watch-label-selector", &format!("{key}={shard}"));
        if args::ARTIFACT_SERVERS.contains(&component) {
            object::set_arg(list, "--storage-adv-addr", &args::storage_adv_addr(shard_name, domain));
        }
    }
    copy
}

fn shard_service(main: &Value, component: &str, shard: &str, shard_name: &str) -> Value {
    let mut copy = main.clone();
    let name = if object::name(main) == component {
        shard_name.to_owned()
    } else {
        format!("{}-{shard}", object::name(main))
    };
    object::set_name(&mut copy, &name);
    object::set_annotation(&mut copy, ROLE_ANNOTATION, "shard");
    object::map_at(&mut copy, &["spec", "selector"]).insert("app".into(), json!(shard_name));
    copy
}
