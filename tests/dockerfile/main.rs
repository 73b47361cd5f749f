//! The Dockerfile, checked without Docker (this machine has no Docker engine): it is parsed,
//! its data step is run with stand-ins for `curl` and `crane` that serve
//! `../shared/flux-distribution`, and what that step writes is opened with the operator's
//! own reader, as the operator opens `/data` in the image. hack/image.sh's image, built
//! without Docker, has the same files, entrypoint, user and labels.

mod data_step;
mod image;
mod parse;

use std::path::PathBuf;

use flux_operator_rs::controller::OperatorConfig;
use semver::Version;

use parse::{Dockerfile, json_array};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared() -> PathBuf {
    root().join("../shared/flux-distribution")
}

fn shared_versions() -> Vec<String> {
    let mut versions: Vec<Version> = std::fs::read_dir(shared().join("flux"))
        .expect("read ../shared/flux-distribution/flux")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_prefix('v').and_then(|v| Version::parse(v).ok()))
        .collect();
    versions.sort();
    versions.iter().map(|v| format!("v{v}")).collect()
}

#[test]
fn the_image_is_distroless_and_runs_the_operator_as_non_root() {
    let dockerfile = Dockerfile::read();
    let last = dockerfile.last();
    assert!(
        last.base == "scratch"
            || (last.base.starts_with("gcr.io/distroless/static") && last.base.ends_with(":nonroot")),
        "the final stage is based on {}, expected distroless static nonroot or scratch",
        last.base
    );
    let user = &last.one("USER").args;
    let uid = user.split(':').next().unwrap_or_default();
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER {user} must be numeric, so that runAsNonRoot can check it"));
    assert_ne!(uid, 0, "USER must not be root");
    assert_eq!(uid, 65532, "distroless's nonroot user");
    assert_eq!(json_array(&last.one("ENTRYPOINT").args), ["/flux-operator-rs"]);
    assert_eq!(json_array(&last.one("CMD").args), ["run"]);
    let copies: Vec<&str> = last.all("COPY").map(|i| i.args.as_str()).collect();
    assert!(
        copies.contains(&"--from=builder /flux-operator-rs /flux-operator-rs"),
        "{copies:?}"
    );
    // /data belongs to the user that runs the operator.
    assert!(
        copies.iter().any(|c| c.contains("--from=data")
            && c.contains(&format!("--chown={uid}:{uid}"))
            && c.ends_with(" /data /data")),
        "{copies:?}"
    );
    assert!(last.all("RUN").next().is_none(), "distroless has no shell to RUN with");
}

#[test]
fn the_builder_makes_a_static_locked_release_binary() {
    let dockerfile = Dockerfile::read();
    let builder = dockerfile.stage("builder");
    assert!(builder.base.starts_with("rust:"), "{}", builder.base);
    let runs: Vec<&str> = builder.all("RUN").map(|i| i.args.as_str()).collect();
    let build = runs
        .iter()
        .find(|r| r.contains("cargo build"))
        .expect("a RUN with cargo build");
    for flag in ["--locked", "--release", "--bin flux-operator-rs", "--target"] {
        assert!(build.contains(flag), "cargo build lacks {flag}: {build}");
    }
    assert!(
        runs.iter().any(|r| r.contains("amd64) echo x86_64-unknown-linux-musl")),
        "amd64 builds for x86_64-unknown-linux-musl: {runs:?}"
    );
    assert!(runs.iter().any(|r| r.contains("musl-tools")), "{runs:?}");

    // The Rust image is at least the crate's rust-version.
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).expect("read Cargo.toml");
    let rust_version = manifest
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .expect("Cargo.toml has a rust-version")
        .trim_matches('"');
    let parse = |v: &str| -> Vec<u32> { v.split('.').map(|p| p.parse().expect("numeric version")).collect() };
    let image = dockerfile.arg_default("RUST_VERSION");
    assert!(
        parse(&image) >= parse(rust_version),
        "RUST_VERSION {image} < rust-version {rust_version}"
    );
    assert_eq!(builder.base, "rust:${RUST_VERSION}-bookworm");

    // What the builder copies in is what .dockerignore lets into the build context.
    let copies: Vec<&str> = builder.all("COPY").map(|i| i.args.as_str()).collect();
    assert_eq!(copies, ["Cargo.toml Cargo.lock ./", "src ./src"]);
    let ignore = std::fs::read_to_string(root().join(".dockerignore")).expect("read .dockerignore");
    let rules: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert_eq!(rules, ["*", "!Cargo.toml", "!Cargo.lock", "!src/"]);
}

#[test]
fn flux_versions_default_to_the_shared_releases() {
    let dockerfile = Dockerfile::read();
    let default = dockerfile.arg_default("FLUX_VERSIONS");
    let versions: Vec<&str> = default.split_whitespace().collect();
    assert_eq!(
        versions,
        shared_versions(),
        "FLUX_VERSIONS must list exactly the releases of ../shared/flux-distribution/flux"
    );
}

#[test]
fn the_data_lands_where_the_operator_reads_it() {
    // The binary's flag defaults are these (a unit test of its flags module).
    assert_eq!(OperatorConfig::default().storage_path, std::path::Path::new("/data"));

    let dockerfile = Dockerfile::read();
    let script = dockerfile.stage("data").heredoc();
    assert!(
        script.contains("data=${DATA_DIR:-/data}\n"),
        "the data step writes to /data unless a test redirects it"
    );
    assert!(
        !dockerfile.last().instructions.iter().any(|i| i.keyword == "ENV"),
        "no ENV in the image: STORAGE_PATH or DATA_DIR would move the data"
    );
}
