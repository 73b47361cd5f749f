//! Publishing a distribution folder as a Flux-style OCI artifact: one tar+gzip layer,
//! packed reproducibly so that the same folder always has the same digest (a re-push of
//! unchanged data does not make the poller upgrade anything).

use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use http::HeaderValue;
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};

use super::error::chain;
use super::{ArtifactRef, CONFIG_MEDIA_TYPE, CONTENT_MEDIA_TYPE, Credentials, Error, Transport, sha256_digest};
use crate::distribution::Distribution;

/// Folder nesting deeper than this is refused (it can only be a symlink loop).
const MAX_DEPTH: usize = 32;
/// The config blob: Flux artifacts carry an empty JSON object.
const CONFIG: &[u8] = b"{}";

/// What a push published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The manifest digest, `sha256:<hex>`: what `status.lastArtifactRevision` will show.
    pub digest: String,
    /// The digest and size of the tar+gzip layer.
    pub layer_digest: String,
    pub layer_size: usize,
}

/// Packs a distribution folder (checked to have the `flux/vX.Y.Z` layout) as tar+gzip:
/// every file and folder under `dir`, sorted, with fixed owners, modes and times.
pub fn pack(dir: &Path) -> Result<Vec<u8>, Error> {
    Distribution::open(dir).map_err(|e| Error::Pack {
        path: dir.to_path_buf(),
        message: format!("not a distribution folder: {e}"),
    })?;
    let mut files = Vec::new();
    collect(dir, Path::new(""), 0, &mut files)?;
    let mut builder = tar::Builder::new(GzEncoder::new(Vec::new(), Compression::default()));
    let io = |e: std::io::Error| Error::Pack {
        path: dir.to_path_buf(),
        message: format!("cannot pack: {e}"),
    };
    for (relative, is_dir) in &files {
        let mut header = tar::Header::new_ustar();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        if *is_dir {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            builder
                .append_data(&mut header, relative, std::io::empty())
                .map_err(io)?;
        } else {
            let path = dir.join(relative);
            let data = std::fs::read(&path).map_err(|e| Error::Pack {
                path: path.clone(),
                message: format!("cannot read: {e}"),
            })?;
            header.set_entry_type(tar::EntryType::Regular);
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            builder
                .append_data(&mut header, relative, data.as_slice())
                .map_err(io)?;
        }
    }
    builder.into_inner().and_then(|gz| gz.finish()).map_err(io)
}

/// Relative paths under `dir/relative`, folders before their content, sorted by name.
fn collect(root: &Path, relative: &Path, depth: usize, out: &mut Vec<(PathBuf, bool)>) -> Result<(), Error> {
    let dir = root.join(relative);
    if depth > MAX_DEPTH {
        return Err(Error::Pack {
            path: dir,
            message: format!("folders nested deeper than {MAX_DEPTH} (a symlink loop?)"),
        });
    }
    let read = |e: std::io::Error| Error::Pack {
        path: dir.clone(),
        message: format!("cannot read: {e}"),
    };
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .map_err(read)?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<Result<_, _>>()
        .map_err(read)?;
    names.sort();
    for name in names {
        let child = relative.join(&name);
        // Symlinks are followed: a distribution assembled from links packs as files.
        let meta = std::fs::metadata(root.join(&child)).map_err(|e| Error::Pack {
            path: root.join(&child),
            message: format!("cannot read: {e}"),
        })?;
        if meta.is_dir() {
            out.push((child.clone(), true));
            collect(root, &child, depth + 1, out)?;
        } else if meta.is_file() {
            out.push((child, false));
        }
    }
    Ok(())
}

/// Pushes a packed layer as a Flux-style artifact and tags it; returns the digests.
pub async fn push_layer(
    transport: &Transport,
    reference: &ArtifactRef,
    credentials: &Credentials,
    layer: Vec<u8>,
) -> Result<Pushed, Error> {
    super::pull::with_timeout(
        transport,
        reference,
        push_inner(transport, reference, credentials, layer),
    )
    .await
}

/// Packs `dir` and pushes it to `reference`.
pub async fn push_dir(
    transport: &Transport,
    reference: &ArtifactRef,
    credentials: &Credentials,
    dir: &Path,
) -> Result<Pushed, Error> {
    let dir = dir.to_path_buf();
    let layer = tokio::task::spawn_blocking(move || pack(&dir))
        .await
        .map_err(|e| Error::Pack {
            path: PathBuf::new(),
            message: format!("packing stopped: {e}"),
        })??;
    push_layer(transport, reference, credentials, layer).await
}

async fn push_inner(
    transport: &Transport,
    reference: &ArtifactRef,
    credentials: &Credentials,
    layer: Vec<u8>,
) -> Result<Pushed, Error> {
    if reference.digest().is_some() {
        return Err(Error::Reference {
            field: reference.field().to_owned(),
            value: reference.original().to_owned(),
            message: "a push needs a tag, not a digest".to_owned(),
        });
    }
    let client = transport.client(reference)?;
    let image = reference.to_oci();
    client
        .store_auth_if_needed(image.resolve_registry(), &credentials.to_registry_auth())
        .await;
    let fail = |e: oci_client::errors::OciDistributionError| super::pull::classify(reference, e);
    let layer_digest = sha256_digest(&layer);
    let layer_size = layer.len();
    let config_digest = sha256_digest(CONFIG);
    client.push_blob(&image, layer, &layer_digest).await.map_err(fail)?;
    client.push_blob(&image, CONFIG, &config_digest).await.map_err(fail)?;
    let manifest = OciImageManifest {
        schema_version: 2,
        media_type: Some(OCI_IMAGE_MEDIA_TYPE.to_owned()),
        config: OciDescriptor {
            media_type: CONFIG_MEDIA_TYPE.to_owned(),
            digest: config_digest,
            size: CONFIG.len() as i64,
            ..OciDescriptor::default()
        },
        layers: vec![OciDescriptor {
            media_type: CONTENT_MEDIA_TYPE.to_owned(),
            digest: layer_digest.clone(),
            size: layer_size as i64,
            ..OciDescriptor::default()
        }],
        ..OciImageManifest::default()
    };
    let body = serde_json::to_vec(&manifest).map_err(|e| Error::Registry {
        field: reference.field().to_owned(),
        reference: reference.original().to_owned(),
        message: format!("cannot encode the manifest: {}", chain(&e)),
    })?;
    let digest = sha256_digest(&body);
    client
        .push_manifest_raw(&image, body, HeaderValue::from_static(OCI_IMAGE_MEDIA_TYPE))
        .await
        .map_err(fail)?;
    Ok(Pushed {
        digest,
        layer_digest,
        layer_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::distribution::test_data_root;

    #[test]
    fn packing_is_reproducible_and_checks_the_layout() {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("flux/v2.9.4");
        std::fs::create_dir_all(&release).unwrap();
        std::fs::write(release.join("rbac.yaml"), "kind: ClusterRole\n").unwrap();
        let first = pack(dir.path()).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1100));
        std::fs::write(release.join("rbac.yaml"), "kind: ClusterRole\n").unwrap();
        assert_eq!(pack(dir.path()).unwrap(), first, "mtimes do not change the layer");

        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(first.as_slice()));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| {
                e.unwrap()
                    .path()
                    .unwrap()
                    .display()
                    .to_string()
                    .trim_end_matches('/')
                    .to_owned()
            })
            .collect();
        assert_eq!(names, ["flux", "flux/v2.9.4", "flux/v2.9.4/rbac.yaml"]);

        let empty = tempfile::tempdir().unwrap();
        let err = pack(empty.path()).unwrap_err().to_string();
        assert!(
            err.contains("not a distribution folder") && err.contains("has no flux/ folder"),
            "{err}"
        );
    }

    #[test]
    fn the_real_distribution_packs_small() {
        let started = std::time::Instant::now();
        let layer = pack(&test_data_root()).unwrap();
        assert!(layer.len() < 64 << 20, "{} bytes", layer.len());
        eprintln!(
            "packed the shared distribution: {} KiB in {:?}",
            layer.len() / 1024,
            started.elapsed()
        );
    }
}
