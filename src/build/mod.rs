//! Pure: FluxInstance spec + distribution -> ordered list of objects + revision. No client.
//!
//! The steps follow SPEC.md section 3, in its order; each lives in the file named after
//! what it changes.

mod args;
mod components;
mod deployment;
pub(crate) mod duration;
mod error;
mod images;
mod input;
pub(crate) mod labels;
mod multitenancy;
mod namespace;
mod notification;
pub(crate) mod object;
mod openshift;
mod order;
pub mod patch;
mod profile;
pub(crate) mod revision;
mod sharding;
mod size;
mod storage;
mod sync;
mod validate;
mod working;

use semver::Version;
use serde_json::Value;

use crate::api::{Cluster, ClusterType, Component, ComponentImage, FluxInstanceSpec};
use crate::distribution::{self, Distribution, Release};
use working::Working;

pub use error::Error;
pub use input::{DEFAULT_NAMESPACE, Instance, parse_instance};
pub use labels::{OWNER_NAME, OWNER_NAMESPACE};

/// The result of a build: what to apply, in apply order, and how to report it.
#[derive(Debug, Clone)]
pub struct Build {
    /// The Flux release built.
    pub version: Version,
    /// Every object, sorted: CRDs, Namespaces, cluster-scoped RBAC, then the rest.
    pub objects: Vec<Value>,
    /// `vX.Y.Z@sha256:<hex>` over the objects.
    pub revision: String,
    /// The controller images, in component order.
    pub components: Vec<ComponentImage>,
    /// Things the user should know that do not stop the build.
    pub warnings: Vec<String>,
}

/// Resolves `spec.distribution.version` among the distribution's releases, reads that release
/// (the only I/O here, for the CLI and tests; the operator keeps releases in memory), then builds.
pub fn resolve_and_build(
    namespace: &str,
    spec: &FluxInstanceSpec,
    distribution: &Distribution,
) -> Result<Build, Error> {
    let version = distribution::resolve_version(&spec.distribution.version, distribution.versions())?;
    build(namespace, spec, &distribution.release(&version)?)
}

/// Builds the objects of `release` for an instance in `namespace`. Pure: the release is
/// already in memory.
///
/// The steps run in an order that reproduces upstream's output, not in SPEC.md's numbering:
/// shards are copied before the size profile and the tenant flags (which reach the shards
/// too, and whose arguments come after the shard's own), and the images, the operator's
/// labels and annotations, `commonMetadata` and the owner labels come after the user's
/// patches (a patch sees the release's images and labels, and cannot remove the operator's).
pub fn build(namespace: &str, spec: &FluxInstanceSpec, release: &Release) -> Result<Build, Error> {
    let version = release.version();
    validate::namespace(namespace)?;
    validate::spec(spec)?;
    let default_cluster = Cluster::default();
    let cluster = spec.cluster.as_ref().unwrap_or(&default_cluster);
    let selected = components::selected(spec);
    components::check_gates(spec, &selected, version)?;

    let mut objects = configured(namespace, spec, cluster, &selected, release)?;

    // 14. Sync.
    for obj in sync::objects(spec.sync.as_ref(), &selected, namespace, version, cluster.multitenant)? {
        objects.push(obj, false);
    }

    // 15. User patches.
    let patches = spec
        .kustomize
        .as_ref()
        .map(|k| k.patches.as_slice())
        .unwrap_or_default();
    objects.patch(patches, namespace)?;
    let mut objects = objects.list;

    // 4. Images.
    let (images, warning) = images::apply(
        &mut objects,
        release,
        &spec.distribution.registry,
        spec.distribution.variant,
    )?;

    // 3 and 16. The operator's labels and annotations, commonMetadata, owner labels.
    let standard = labels::Standard::new(namespace, version);
    for obj in &mut objects {
        standard.apply(obj);
    }
    size::check_render(&objects, labels::common_size(spec.common_metadata.as_ref()))?;
    labels::apply_common(&mut objects, spec.common_metadata.as_ref());
    labels::apply_owner(&mut objects, namespace);

    // 17. Order and revision.
    order::sort(&mut objects);
    let revision = revision::revision(version, &objects);

    Ok(Build {
        version: version.clone(),
        objects,
        revision,
        components: components::in_spec_order(images, spec),
        warnings: warning.into_iter().collect(),
    })
}

/// Steps 1 to 13: the release files configured for the instance.
fn configured(
    namespace: &str,
    spec: &FluxInstanceSpec,
    cluster: &Cluster,
    selected: &[Component],
    release: &Release,
) -> Result<Working, Error> {
    let version = release.version();
    // 1. Release files and the Namespace.
    let loaded = components::load(release, selected, cluster.network_policy)?;
    let rbac = loaded.rbac.clone();
    let mut objects = Working::new(loaded.objects, |i| !rbac.contains(&i));
    objects.push(namespace::namespace_object(namespace), false);

    // 2. Namespace and per-instance names of rbac.yaml.
    for renamed in namespace::apply(&mut objects.list, namespace, loaded.rbac) {
        objects.renamed(renamed.index, &renamed.original);
    }

    // 5-6. Controller flags and Deployment-wide settings.
    let notification = selected.contains(&Component::NotificationController);
    args::apply(&mut objects.list, namespace, &cluster.domain, notification);
    deployment::apply(&mut objects.list, spec.distribution.image_pull_secret.as_deref());

    // 13. Shards, copied before the steps that tune every controller.
    let shards = sharding::apply(
        &mut objects.list,
        spec.sharding.as_ref(),
        spec.storage.as_ref(),
        version,
        namespace,
        &cluster.domain,
    );
    for shard in shards {
        objects.push(shard.object, false);
        objects.renamed(objects.list.len() - 1, &shard.original);
    }

    // 7. Size profile.
    profile::apply(&mut objects.list, cluster.size);

    // 8. OpenShift.
    if cluster.type_ == ClusterType::Openshift {
        openshift::apply(&mut objects.list);
    }

    // 9-10. Multi-tenancy, workload identity, feature gates.
    let source_watcher = selected.contains(&Component::SourceWatcher);
    multitenancy::apply(&mut objects.list, cluster, version, namespace, source_watcher);

    // 11. The operator's kinds in notification-controller's CRDs and RBAC.
    if notification {
        notification::apply(&mut objects.list, namespace);
    }

    // 12. Persistent storage.
    if let Some(claim) = storage::apply(&mut objects.list, namespace, spec.storage.as_ref()) {
        objects.push(claim, true);
    }
    Ok(objects)
}
