//! Pure: FluxInstance spec + distribution -> ordered list of objects + revision. No client.
//!
//! The steps follow SPEC.md section 3, in its order; each lives in the file named after
//! what it changes.

mod args;
mod components;
mod deployment;
mod error;
mod images;
mod input;
mod labels;
mod multitenancy;
mod namespace;
mod notification;
mod object;
mod openshift;
mod order;
pub mod patch;
mod profile;
mod revision;
mod sharding;
mod storage;
mod sync;
mod validate;

use semver::Version;
use serde_json::Value;

use crate::api::{Cluster, ClusterType, ComponentImage, FluxInstanceSpec};
use crate::distribution::{self, Distribution};

pub use error::Error;
pub use input::{DEFAULT_NAMESPACE, Instance, parse_instance};

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

/// Resolves `spec.distribution.version` among the distribution's releases, then builds.
pub fn resolve_and_build(
    namespace: &str,
    spec: &FluxInstanceSpec,
    distribution: &Distribution,
) -> Result<Build, Error> {
    let version = distribution::resolve_version(&spec.distribution.version, distribution.versions())?;
    build(namespace, spec, distribution, &version)
}

/// Builds the objects of Flux `version` for an instance in `namespace`.
pub fn build(
    namespace: &str,
    spec: &FluxInstanceSpec,
    distribution: &Distribution,
    version: &Version,
) -> Result<Build, Error> {
    validate::namespace(namespace)?;
    validate::spec(spec)?;
    let default_cluster = Cluster::default();
    let cluster = spec.cluster.as_ref().unwrap_or(&default_cluster);
    let selected = components::selected(spec);
    components::check_gates(spec, &selected, version)?;
    let mut warnings = Vec::new();

    // 1. Release files and the Namespace.
    let mut objects = components::load(distribution, version, &selected, cluster.network_policy)?;
    objects.push(namespace::namespace_object(namespace));

    // 2. Namespace and per-instance names of cluster-scoped RBAC.
    namespace::apply(&mut objects, namespace);

    // 3. The operator's labels and annotations.
    let standard = labels::Standard::new(namespace, version);
    for obj in &mut objects {
        standard.apply(obj);
    }

    // 4. Images.
    let (images, warning) = images::apply(
        &mut objects,
        distribution,
        version,
        &spec.distribution.registry,
        spec.distribution.variant,
    )?;
    warnings.extend(warning);

    // 5-6. Controller flags and Deployment-wide settings.
    args::apply(&mut objects, namespace, &cluster.domain);
    deployment::apply(&mut objects, spec.distribution.image_pull_secret.as_deref());

    // 7. Size profile.
    profile::apply(&mut objects, cluster.size);

    // 8. OpenShift.
    if cluster.type_ == ClusterType::Openshift {
        openshift::apply(&mut objects);
    }

    // 9-10. Multi-tenancy, workload identity, feature gates.
    let source_watcher = selected.contains(&crate::api::Component::SourceWatcher);
    multitenancy::apply(&mut objects, cluster, version, namespace, source_watcher);

    // 11. The operator's kinds in notification-controller's CRDs and RBAC.
    if selected.contains(&crate::api::Component::NotificationController) {
        notification::apply(&mut objects, namespace);
    }

    // 12. Persistent storage.
    let mut generated = Vec::new();
    generated.extend(storage::apply(&mut objects, namespace, spec.storage.as_ref()));

    // 13. Shards (copies carry the labels of step 3 already).
    let shards = sharding::apply(
        &mut objects,
        spec.sharding.as_ref(),
        spec.storage.as_ref(),
        version,
        namespace,
        &cluster.domain,
    );

    // 14. Sync.
    generated.extend(sync::objects(
        spec.sync.as_ref(),
        &selected,
        namespace,
        version,
        cluster.multitenant,
    )?);
    for obj in &mut generated {
        standard.apply(obj);
    }
    objects.extend(shards);
    objects.extend(generated);

    // 15. User patches.
    let patches = spec
        .kustomize
        .as_ref()
        .map(|k| k.patches.as_slice())
        .unwrap_or_default();
    if !patches.is_empty() {
        namespace::strip(&mut objects);
        patch::apply_patches(&mut objects, patches)?;
        // A strategic-merge `$patch: delete` leaves a null where the object was.
        objects.retain(Value::is_object);
        namespace::restore(&mut objects, namespace);
    }

    // 16. commonMetadata.
    labels::apply_common(&mut objects, spec.common_metadata.as_ref());

    // 17. Order and revision.
    order::sort(&mut objects);
    let revision = revision::revision(version, &objects);

    Ok(Build {
        version: version.clone(),
        objects,
        revision,
        components: images,
        warnings,
    })
}
