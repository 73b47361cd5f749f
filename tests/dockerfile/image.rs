//! hack/image.sh's image against the Dockerfile's: the same files where the Dockerfile
//! copies them (path, type, owner; /data byte for byte what the data step writes), what
//! the operator uses of the distroless base, and the same entrypoint, command, user and
//! labels. The image is read back from its OCI layout, layer by layer.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::parse::{Dockerfile, json_array};
use crate::{data_step, root};

#[derive(Debug, Clone, PartialEq)]
struct Entry {
    dir: bool,
    uid: u64,
    gid: u64,
    mode: u32,
    bytes: Vec<u8>,
}

/// What the operator takes from distroless static:nonroot, with distroless's owners and
/// modes: its users, the CA bundle (registries over TLS), a writable /tmp and the home.
const BASE: [(&str, bool, u64, u32); 9] = [
    ("etc", true, 0, 0o755),
    ("etc/group", false, 0, 0o644),
    ("etc/passwd", false, 0, 0o644),
    ("etc/ssl", true, 0, 0o755),
    ("etc/ssl/certs", true, 0, 0o755),
    ("etc/ssl/certs/ca-certificates.crt", false, 0, 0o644),
    ("home", true, 0, 0o755),
    ("home/nonroot", true, 65532, 0o700),
    ("tmp", true, 0, 0o1777),
];

fn blob(layout: &Path, digest: &str) -> Vec<u8> {
    let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
    std::fs::read(layout.join("blobs/sha256").join(hex)).expect("read blob")
}

/// The image's config and its files, the layers applied in order.
fn read_image(layout: &Path) -> (Value, BTreeMap<String, Entry>) {
    let index: Value = serde_json::from_slice(&std::fs::read(layout.join("index.json")).expect("index.json")).unwrap();
    let manifest: Value =
        serde_json::from_slice(&blob(layout, index["manifests"][0]["digest"].as_str().unwrap())).unwrap();
    let config: Value = serde_json::from_slice(&blob(layout, manifest["config"]["digest"].as_str().unwrap())).unwrap();
    let mut files = BTreeMap::new();
    for layer in manifest["layers"].as_array().expect("layers") {
        let gz = blob(layout, layer["digest"].as_str().unwrap());
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
        for entry in archive.entries().expect("layer is a tar") {
            let mut entry = entry.expect("tar entry");
            let header = entry.header().clone();
            let path = entry
                .path()
                .expect("path")
                .to_string_lossy()
                .trim_end_matches('/')
                .to_string();
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).expect("read entry");
            let kind = header.entry_type();
            assert!(kind.is_dir() || kind.is_file(), "{path}: only files and folders");
            let entry = Entry {
                dir: kind.is_dir(),
                uid: header.uid().unwrap(),
                gid: header.gid().unwrap(),
                mode: header.mode().unwrap(),
                bytes,
            };
            files.insert(path, entry);
        }
    }
    (config, files)
}

/// Every file and folder of `dir` as `prefix/...`, owned as `COPY --chown=uid:uid` makes it.
fn copied_tree(dir: &Path, prefix: &str, uid: u64, into: &mut BTreeMap<String, Entry>) {
    into.insert(
        prefix.to_string(),
        Entry {
            dir: true,
            uid,
            gid: uid,
            mode: 0o755,
            bytes: Vec::new(),
        },
    );
    for entry in std::fs::read_dir(dir).expect("read_dir") {
        let entry = entry.expect("entry");
        let path = format!("{prefix}/{}", entry.file_name().to_string_lossy());
        if entry.path().is_dir() {
            copied_tree(&entry.path(), &path, uid, into);
        } else {
            let bytes = std::fs::read(entry.path()).expect("read file");
            into.insert(
                path,
                Entry {
                    dir: false,
                    uid,
                    gid: uid,
                    mode: 0o644,
                    bytes,
                },
            );
        }
    }
}

/// The Dockerfile's LABEL pairs.
fn labels(dockerfile: &Dockerfile) -> BTreeMap<String, String> {
    let pair = regex::Regex::new(r#"([A-Za-z0-9_.-]+)="([^"]*)""#).unwrap();
    let label = dockerfile.last().one("LABEL");
    pair.captures_iter(&label.args)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect()
}

#[test]
fn hack_image_sh_builds_the_dockerfiles_image() {
    let dockerfile = Dockerfile::read();
    let last = dockerfile.last();
    let copies: Vec<&str> = last.all("COPY").map(|i| i.args.as_str()).collect();
    assert_eq!(
        copies,
        [
            "--from=data --chown=65532:65532 /data /data",
            "--from=builder /flux-operator-rs /flux-operator-rs"
        ],
        "the comparison below knows these two COPYs"
    );

    let tmp = tempfile::tempdir().expect("tempdir");
    // The layout is under test, not the binary (tests/node_e2e runs the real static one in
    // a pod): a small executable stands in for it, as a debug build takes a minute to pack.
    let binary = tmp.path().join("operator-stand-in");
    std::fs::write(&binary, "#!/bin/false\n").expect("write the stand-in");
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let layout = tmp.path().join("oci");
    let out = Command::new(root().join("hack/image.sh"))
        .arg("--out")
        .arg(&layout)
        .arg("--binary")
        .arg(&binary)
        .output()
        .expect("run hack/image.sh");
    assert!(
        out.status.success(),
        "hack/image.sh failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (config, mut image) = read_image(&layout);

    // The base: what the operator uses of distroless, nothing else (no shell).
    let passwd = String::from_utf8(image["etc/passwd"].bytes.clone()).expect("passwd is text");
    assert!(passwd.contains("\nnonroot:x:65532:65532:"), "{passwd}");
    assert!(
        passwd.lines().all(|l| l.ends_with(":/sbin/nologin")),
        "no login shell: {passwd}"
    );
    for (path, dir, uid, mode) in BASE {
        let entry = image.remove(path).unwrap_or_else(|| panic!("the image lacks /{path}"));
        assert_eq!(
            (entry.dir, entry.uid, entry.gid, entry.mode),
            (dir, uid, uid, mode),
            "/{path}"
        );
    }

    // The binary, as `COPY --from=builder` leaves it: root's, executable.
    let binary_entry = image
        .remove("flux-operator-rs")
        .expect("the image has /flux-operator-rs");
    assert_eq!((binary_entry.uid, binary_entry.mode), (0, 0o755));
    assert_eq!(binary_entry.bytes, std::fs::read(&binary).expect("read the binary"));

    // /data: what the Dockerfile's data step writes, copied with --chown=65532:65532.
    let versions = dockerfile.arg_default("FLUX_VERSIONS");
    data_step::run(tmp.path(), &versions);
    let mut expected = BTreeMap::new();
    copied_tree(&tmp.path().join("data"), "data", 65532, &mut expected);
    let paths = |m: &BTreeMap<String, Entry>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(
        paths(&image),
        paths(&expected),
        "the same files in /data, and nothing else"
    );
    for (path, theirs) in &expected {
        let ours = &image[path];
        assert_eq!(
            (ours.dir, ours.uid, ours.gid),
            (theirs.dir, theirs.uid, theirs.gid),
            "/{path}"
        );
        assert_eq!(ours.mode, if ours.dir { 0o755 } else { 0o644 }, "/{path}");
        // The one difference: the data step asks the registry for the image v2.2.3's manifests
        // really deploy (source-controller v1.2.5); the shared list, as upstream's, says v1.2.4.
        if path != "data/flux-images/v2.2.3/upstream-alpine.yaml" {
            assert!(ours.bytes == theirs.bytes, "/{path} differs from the Dockerfile's");
        }
    }

    // Entrypoint, command, user and labels.
    let cfg = &config["config"];
    assert_eq!(
        cfg["Entrypoint"],
        serde_json::json!(json_array(&last.one("ENTRYPOINT").args))
    );
    assert_eq!(cfg["Cmd"], serde_json::json!(json_array(&last.one("CMD").args)));
    assert_eq!(cfg["User"], last.one("USER").args.as_str());
    let ours: BTreeMap<String, String> = serde_json::from_value(cfg["Labels"].clone()).expect("labels");
    assert_eq!(ours, labels(&dockerfile));
    assert_eq!(
        (config["os"].as_str(), config["architecture"].as_str()),
        (Some("linux"), Some("amd64"))
    );
}
