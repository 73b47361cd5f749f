use std::path::Path;

use serde::Deserialize;

use super::Error;

/// One controller image of a release, from `flux-images/vX.Y.Z/<variant>.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Full repository, e.g. `ghcr.io/fluxcd/source-controller`.
    pub name: String,
    pub tag: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

impl ImageInfo {
    /// The last path segment of `name`, e.g. `source-controller`.
    pub fn component(&self) -> &str {
        self.name.rsplit('/').next().unwrap_or(&self.name)
    }
}

/// The file layout is kustomize's `images:` list, which is why the tag is `newTag`.
#[derive(Deserialize)]
struct ImagesFile {
    images: Vec<ImageEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImageEntry {
    name: String,
    new_tag: String,
    digest: String,
}

/// Parses an image list, refusing entries that could not be pinned by digest later.
pub(super) fn parse(text: &str, path: &Path) -> Result<Vec<ImageInfo>, Error> {
    let invalid = |message: String| Error::Images {
        path: path.to_path_buf(),
        message,
    };
    let file: ImagesFile = crate::yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if file.images.is_empty() {
        return Err(invalid("the images list is empty".into()));
    }
    file.images
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            if entry.name.trim().is_empty() {
                return Err(invalid(format!("images[{i}].name is empty")));
            }
            if entry.new_tag.trim().is_empty() {
                return Err(invalid(format!("images[{i}].newTag of {} is empty", entry.name)));
            }
            if !is_sha256_digest(&entry.digest) {
                return Err(invalid(format!(
                    "images[{i}].digest of {} is {:?}, expected sha256:<64 hex digits>",
                    entry.name, entry.digest
                )));
            }
            Ok(ImageInfo {
                name: entry.name,
                tag: entry.new_tag,
                digest: entry.digest,
            })
        })
        .collect()
}

fn is_sha256_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "sha256:8a8ed0a57b8b86f561d5a4309a69f65e62f0cebe4de8801593c5ff35a3bc3c23";

    #[test]
    fn parses_a_kustomize_images_list() {
        let text =
            format!("images:\n  - name: ghcr.io/fluxcd/source-controller\n    newTag: v1.9.4\n    digest: {DIGEST}\n");
        let images = parse(&text, Path::new("x.yaml")).expect("parses");
        assert_eq!(
            images,
            vec![ImageInfo {
                name: "ghcr.io/fluxcd/source-controller".into(),
                tag: "v1.9.4".into(),
                digest: DIGEST.into(),
            }]
        );
        assert_eq!(images[0].component(), "source-controller");
    }

    #[test]
    fn refuses_entries_that_cannot_be_pinned() {
        let cases = [
            ("images: []\n".to_string(), "empty"),
            (
                "images:\n  - name: a\n    newTag: v1\n    digest: sha256:abc\n".to_string(),
                "images[0].digest of a",
            ),
            (
                format!("images:\n  - name: a\n    newTag: ''\n    digest: {DIGEST}\n"),
                "images[0].newTag",
            ),
            (format!("images:\n  - name: a\n    digest: {DIGEST}\n"), "newTag"),
            ("not: [a list\n".to_string(), "invalid YAML"),
        ];
        for (text, expected) in cases {
            let message = parse(&text, Path::new("/d/v1.yaml")).expect_err(&text).to_string();
            assert!(message.starts_with("invalid image list /d/v1.yaml: "), "{message}");
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }
}
