//! Step 4: controller images from the chosen registry, pinned by digest when the registry's
//! digest list is known.

use serde_json::Value;

use crate::api::{ComponentImage, Variant};
use crate::distribution::{self, ImageInfo, Release, variant_name};

use super::{Error, object};
use crate::text::shorten;

/// The image list to pin digests with: the explicit variant, else the one the registry
/// belongs to; None for a mirror.
pub fn variant(registry: &str, explicit: Option<Variant>) -> Option<Variant> {
    if explicit.is_some() {
        return explicit;
    }
    let registry = registry.trim_end_matches('/');
    // Upstream knows these two spellings only; `docker.io/fluxcd` is a mirror to it.
    if registry == "fluxcd" || registry == "ghcr.io/fluxcd" {
        return Some(Variant::UpstreamAlpine);
    }
    let enterprise = registry.contains("controlplaneio-fluxcd") || registry.contains("controlplane/fluxcd");
    if !enterprise {
        return None;
    }
    match registry.rsplit('/').next().unwrap_or_default() {
        "distroless-fips" => Some(Variant::EnterpriseDistrolessFips),
        "alpine" => Some(Variant::EnterpriseAlpine),
        _ => Some(Variant::EnterpriseDistroless),
    }
}

/// Rewrites every `fluxcd/<component>:<tag>` image of the Deployments and returns the
/// images per component, in object order, plus a warning for unpinned mirrors.
pub fn apply(
    objects: &mut [Value],
    release: &Release,
    registry: &str,
    explicit: Option<Variant>,
) -> Result<(Vec<ComponentImage>, Option<String>), Error> {
    let version = release.version();
    let registry = registry.trim_end_matches('/');
    let variant = variant(registry, explicit);
    let (pinned, warning) = digest_list(release, registry, variant)?;

    let mut components = Vec::new();
    for obj in objects.iter_mut().filter(|o| object::is_deployment(o)) {
        for container in object::all_containers(obj) {
            let Some(image) = container.get("image").and_then(Value::as_str) else {
                continue;
            };
            let Some((component, manifest_tag)) = parse_flux_image(image) else {
                continue;
            };
            let (reference, record) = match &pinned {
                Some(list) => {
                    let info = list.iter().find(|i| i.component() == component).ok_or_else(|| {
                        Error::Spec(format!(
                            "spec.distribution.variant {:?}: the image list of Flux v{version} has no {component}",
                            variant.map(variant_name).unwrap_or_default()
                        ))
                    })?;
                    let reference = format!("{registry}/{component}:{}@{}", info.tag, info.digest);
                    let record = ComponentImage {
                        name: component.to_owned(),
                        repository: repository(registry, component),
                        tag: info.tag.clone(),
                        digest: info.digest.clone(),
                    };
                    (reference, record)
                }
                None => {
                    let reference = format!("{registry}/{component}:{manifest_tag}");
                    let record = ComponentImage {
                        name: component.to_owned(),
                        repository: repository(registry, component),
                        tag: manifest_tag.to_owned(),
                        digest: String::new(),
                    };
                    (reference, record)
                }
            };
            container.insert("image".into(), Value::String(reference));
            if !components.iter().any(|c: &ComponentImage| c.name == record.name) {
                components.push(record);
            }
        }
    }
    Ok((components, warning))
}

/// The image list to pin with, and a warning when there is none: a mirror, or a variant
/// whose list the distribution lacks (upstream then keeps the manifests' tags too).
fn digest_list<'r>(
    release: &'r Release,
    registry: &str,
    variant: Option<Variant>,
) -> Result<(Option<&'r [ImageInfo]>, Option<String>), Error> {
    let version = release.version();
    let Some(variant) = variant else {
        return Ok((
            None,
            Some(format!(
                "spec.distribution.registry {:?} is not a registry with known digests: images keep their \
                 tags without digests; set spec.distribution.variant to pin them",
                shorten(registry)
            )),
        ));
    };
    match release.images(variant) {
        Ok(list) => Ok((Some(list), None)),
        Err(distribution::Error::VariantUnavailable { .. }) => Ok((
            None,
            Some(format!(
                "the distribution has no {} image list for Flux v{version}: images keep their tags without digests",
                variant_name(variant)
            )),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The repository of a component image as upstream reports it in `status.components`:
/// Docker Hub names are spelled out in full (`index.docker.io/...`), as container
/// registry clients normalise them.
fn repository(registry: &str, component: &str) -> String {
    let first = registry.split('/').next().unwrap_or_default();
    let has_host = registry.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let path = match registry.split_once('/') {
        Some(("docker.io" | "index.docker.io", rest)) => rest,
        _ if has_host => return format!("{registry}/{component}"),
        _ => registry,
    };
    format!("index.docker.io/{path}/{component}")
}

/// `fluxcd/source-controller:v1.2.3` -> (`source-controller`, `v1.2.3`).
fn parse_flux_image(image: &str) -> Option<(&str, &str)> {
    let rest = image.strip_prefix("fluxcd/")?;
    let (component, tag) = rest.split_once(':')?;
    Some((component, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variant_inference() {
        assert_eq!(variant("ghcr.io/fluxcd", None), Some(Variant::UpstreamAlpine));
        assert_eq!(variant("fluxcd", None), Some(Variant::UpstreamAlpine));
        assert_eq!(variant("ghcr.io/fluxcd/", None), Some(Variant::UpstreamAlpine));
        assert_eq!(
            variant("ghcr.io/controlplaneio-fluxcd/alpine", None),
            Some(Variant::EnterpriseAlpine)
        );
        assert_eq!(
            variant("ghcr.io/controlplaneio-fluxcd/distroless", None),
            Some(Variant::EnterpriseDistroless)
        );
        assert_eq!(
            variant("ghcr.io/controlplaneio-fluxcd/distroless-fips", None),
            Some(Variant::EnterpriseDistrolessFips)
        );
        assert_eq!(variant("registry.example.com/fluxcd", None), None);
        assert_eq!(variant("docker.io/fluxcd", None), None);
        assert_eq!(
            variant("registry.example.com/fluxcd", Some(Variant::UpstreamAlpine)),
            Some(Variant::UpstreamAlpine)
        );
    }

    #[test]
    fn status_repositories() {
        assert_eq!(repository("ghcr.io/fluxcd", "x"), "ghcr.io/fluxcd/x");
        assert_eq!(repository("fluxcd", "x"), "index.docker.io/fluxcd/x");
        assert_eq!(repository("docker.io/fluxcd", "x"), "index.docker.io/fluxcd/x");
        assert_eq!(repository("index.docker.io/fluxcd", "x"), "index.docker.io/fluxcd/x");
        assert_eq!(repository("mirror:5000/flux", "x"), "mirror:5000/flux/x");
        assert_eq!(repository("localhost/flux", "x"), "localhost/flux/x");
        assert_eq!(repository("team/flux", "x"), "index.docker.io/team/flux/x");
    }

    #[test]
    fn flux_images() {
        assert_eq!(
            parse_flux_image("fluxcd/source-controller:v1.2.3"),
            Some(("source-controller", "v1.2.3"))
        );
        assert_eq!(parse_flux_image("busybox:1"), None);
        assert_eq!(parse_flux_image("fluxcd/x"), None);
    }
}
