//! The size limits on OCI artifacts, through `build instance --artifact`: a small layer that
//! unpacks to a huge file, a layer whose headers promise more than the total allows, a
//! manifest past 4 MiB and a layer declared past 128 MiB are each refused with one short
//! line naming the limit and the file, quickly, and leave nothing in the cache. Layers go
//! through the real docker-registry; manifests the real registry will not serve come from
//! a lying one ([`hostile`]).

use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use flux_operator_rs::distribution::artifact::{ArtifactRef, Credentials, Transport, pack, push_layer};

use super::oci_registry::{Options, Registry};
use super::{assert_fails, build_from_artifact, hostile, instance_file, push_ok, stderr};

/// `build instance --artifact REFERENCE` over plain HTTP with its own cache folder fails
/// with one short line naming each needle, within 20 s, and caches nothing.
fn assert_refused(reference: &str, needles: &[&str]) {
    let work = tempfile::tempdir().expect("tempdir");
    let file = instance_file(work.path(), "2.x");
    let cache = work.path().join("cache");
    let started = Instant::now();
    let output = build_from_artifact(
        &file,
        reference,
        &["--plain-http", "--artifact-cache-path", cache.to_str().expect("path")],
    );
    let elapsed = started.elapsed();
    let mut all = vec![reference, "too large"];
    all.extend_from_slice(needles);
    assert_fails(&output, &all);
    let line = stderr(&output);
    assert!(line.len() < 400, "{} bytes: {line}", line.len());
    assert!(elapsed < Duration::from_secs(20), "took {elapsed:?}: {line}");
    println!("{elapsed:?}: {}", line.trim());
    assert_nothing_cached(&cache);
}

fn assert_nothing_cached(cache: &Path) {
    let left = std::fs::read_dir(cache).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "the cache keeps {left} entries");
}

#[test]
fn a_small_layer_that_unpacks_to_a_huge_file_is_refused() {
    let registry = Registry::start(Options::default());
    let dist = tempfile::tempdir().expect("tempdir");
    let release = dist.path().join("flux/v2.9.4");
    std::fs::create_dir_all(&release).expect("mkdir");
    // Valid YAML, 9 MiB of it: a parser would take it, the per-file limit must not.
    let huge = "# padding\n".repeat((9 << 20) / 10);
    std::fs::write(release.join("huge.yaml"), &huge).expect("write");
    let layer = pack(dist.path()).expect("pack");
    assert!(layer.len() < 64 << 10, "the layer has {} bytes", layer.len());

    let reference = registry.oci("flux-manifests:huge-file");
    push_ok(dist.path(), &reference, &["--plain-http"]);
    assert_refused(
        &reference,
        &[
            &format!("flux/v2.9.4/huge.yaml has {} bytes", huge.len()),
            "at most 8 MiB are accepted per file",
        ],
    );
}

/// A tar header that promises 300 MiB (a link, whose data would be skipped but still
/// decompressed), with no data behind it: refused on the header, before reading on.
#[test]
fn a_layer_past_the_total_is_refused_on_its_headers() {
    let registry = Registry::start(Options::default());
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(300 << 20);
    header.set_path("flux/v2.9.4/big").expect("path");
    header.set_cksum();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, header.as_bytes()).expect("gzip");
    let layer = gz.finish().expect("gzip");

    let reference = registry.oci("flux-manifests:big-total");
    let target = ArtifactRef::parse("--artifact", &reference).expect("reference");
    let transport = Transport::default().with_plain_http([registry.host()]);
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(push_layer(&transport, &target, &Credentials::Anonymous, layer))
        .expect("push the layer");
    assert_refused(
        &reference,
        &["the layer unpacks to more than 256 MiB (reached at flux/v2.9.4/big)"],
    );
}

#[test]
fn a_manifest_past_4_mib_is_refused_without_reading_it_all() {
    for declared in [true, false] {
        let server = hostile::Server::start(hostile::Manifest::Endless {
            total: 200 << 20,
            declared,
        });
        let size = if declared { "209715200 bytes" } else { "more than 4 MiB" };
        assert_refused(
            &server.oci("flux:big"),
            &[&format!("the manifest has {size}; at most 4 MiB are accepted")],
        );
        // Socket buffers take a few MiB more than the client reads; 200 MiB were offered.
        let written = server.written.load(Ordering::Relaxed);
        assert!(written < 16 << 20, "the client took {written} bytes");
    }
}

#[test]
fn a_layer_declared_past_128_mib_is_not_downloaded() {
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.cncf.flux.config.v1+json",
                   "digest": format!("sha256:{}", "0".repeat(64)), "size": 2},
        "layers": [{"mediaType": "application/vnd.cncf.flux.content.v1.tar+gzip",
                    "digest": format!("sha256:{}", "1".repeat(64)), "size": 200u64 << 20}],
    });
    let server = hostile::Server::start(hostile::Manifest::Json(manifest.to_string().into_bytes()));
    assert_refused(
        &server.oci("flux:big-layer"),
        &["its first layer declares 209715200 bytes; at most 128 MiB are accepted"],
    );
}
