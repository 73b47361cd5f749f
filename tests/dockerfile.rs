//! The Dockerfile, checked without Docker (this machine has no Docker engine): it is parsed,
//! its data step is run with stand-ins for `curl` and `crane` that serve
//! `../shared/flux-distribution`, and what that step writes is opened with the operator's
//! own reader, as the operator opens `/data` in the image.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use clap::Args;
use flux_operator_rs::api::Variant;
use flux_operator_rs::controller::config::RunArgs;
use flux_operator_rs::distribution::{Distribution, resolve_version};
use semver::Version;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shared() -> PathBuf {
    root().join("../shared/flux-distribution")
}

/// One instruction: the keyword in upper case, its arguments with line continuations
/// joined, and the body of a heredoc (`RUN <<'NAME'`) when it has one.
#[derive(Debug)]
struct Instruction {
    keyword: String,
    args: String,
    heredoc: Option<String>,
}

#[derive(Debug)]
struct Stage {
    base: String,
    name: Option<String>,
    instructions: Vec<Instruction>,
}

struct Dockerfile {
    /// ARGs declared before the first FROM.
    global: Vec<Instruction>,
    stages: Vec<Stage>,
}

/// Parses the subset of Dockerfile syntax the project uses: comments, line continuations
/// (comment lines inside them are dropped, as Docker does) and heredocs.
fn parse_dockerfile(text: &str) -> Dockerfile {
    let lines: Vec<&str> = text.lines().collect();
    let mut instructions = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        i += 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut logical = trimmed.to_string();
        while logical.ends_with('\\') {
            logical.pop();
            while i < lines.len() && lines[i].trim_start().starts_with('#') {
                i += 1;
            }
            assert!(i < lines.len(), "the Dockerfile ends inside a line continuation");
            logical.push_str(lines[i]);
            i += 1;
        }
        let (keyword, args) = logical.split_once(char::is_whitespace).unwrap_or((&logical, ""));
        let args = args.trim().to_string();
        let heredoc = args.find("<<").map(|start| {
            let marker = args[start + 2..].trim_start_matches('-');
            let name: String = marker
                .trim_start_matches(['\'', '"'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            assert!(!name.is_empty(), "heredoc without a name: {logical}");
            let mut body = String::new();
            loop {
                assert!(i < lines.len(), "heredoc {name} is not closed");
                let line = lines[i];
                i += 1;
                if line.trim() == name {
                    break;
                }
                body.push_str(line);
                body.push('\n');
            }
            body
        });
        instructions.push(Instruction {
            keyword: keyword.to_ascii_uppercase(),
            args,
            heredoc,
        });
    }
    let mut global = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for instruction in instructions {
        if instruction.keyword == "FROM" {
            let words: Vec<&str> = instruction
                .args
                .split_whitespace()
                .filter(|w| !w.starts_with("--"))
                .collect();
            let name = match words.as_slice() {
                [_, alias, name] if alias.eq_ignore_ascii_case("as") => Some(name.to_string()),
                [_] => None,
                other => panic!("unexpected FROM {other:?}"),
            };
            stages.push(Stage {
                base: words[0].to_string(),
                name,
                instructions: Vec::new(),
            });
        } else if let Some(stage) = stages.last_mut() {
            stage.instructions.push(instruction);
        } else {
            global.push(instruction);
        }
    }
    Dockerfile { global, stages }
}

impl Dockerfile {
    fn read() -> Self {
        let text = std::fs::read_to_string(root().join("Dockerfile")).expect("read Dockerfile");
        parse_dockerfile(&text)
    }

    fn stage(&self, name: &str) -> &Stage {
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(name))
            .unwrap_or_else(|| panic!("no stage named {name}"))
    }

    fn last(&self) -> &Stage {
        self.stages.last().expect("the Dockerfile has a FROM")
    }

    /// The default of an ARG, global or of a stage, without its quotes.
    fn arg_default(&self, name: &str) -> String {
        self.global
            .iter()
            .chain(self.stages.iter().flat_map(|s| s.instructions.iter()))
            .filter(|i| i.keyword == "ARG")
            .find_map(|i| {
                let (arg, value) = i.args.split_once('=')?;
                (arg == name).then(|| value.trim().trim_matches('"').to_string())
            })
            .unwrap_or_else(|| panic!("no ARG {name} with a default"))
    }
}

impl Stage {
    fn all(&self, keyword: &str) -> impl Iterator<Item = &Instruction> {
        self.instructions.iter().filter(move |i| i.keyword == keyword)
    }

    fn one(&self, keyword: &str) -> &Instruction {
        let found: Vec<_> = self.all(keyword).collect();
        assert_eq!(found.len(), 1, "expected one {keyword} in stage {:?}", self.name);
        found[0]
    }

    /// The data step: the one heredoc RUN of the stage.
    fn heredoc(&self) -> &str {
        let bodies: Vec<&str> = self.all("RUN").filter_map(|i| i.heredoc.as_deref()).collect();
        assert_eq!(bodies.len(), 1, "expected one heredoc RUN in stage {:?}", self.name);
        bodies[0]
    }
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

fn json_array(args: &str) -> Vec<String> {
    serde_json::from_str(args).unwrap_or_else(|e| panic!("{args} is not the exec (JSON) form: {e}"))
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
    let command = RunArgs::augment_args(clap::Command::new("run"));
    let storage = command
        .get_arguments()
        .find(|a| a.get_id() == "storage_path")
        .expect("run has --storage-path");
    let defaults: Vec<String> = storage
        .get_default_values()
        .iter()
        .map(|v| v.to_string_lossy().into_owned())
        .collect();
    assert_eq!(defaults, ["/data"]);

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

/// The index the `crane` stand-in answers from: `ghcr.io/fluxcd/<component>:<tag> <digest>`
/// for every image of every release in the shared folder.
fn digest_index() -> BTreeMap<String, String> {
    let mut index = BTreeMap::new();
    for entry in std::fs::read_dir(shared().join("flux-images")).expect("read flux-images") {
        let path = entry.expect("entry").path().join("upstream-alpine.yaml");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let file: serde_json::Value = flux_operator_rs::yaml::from_str(&text).expect("parse image list");
        for image in file["images"].as_array().expect("images") {
            let reference = format!(
                "{}:{}",
                image["name"].as_str().expect("name"),
                image["newTag"].as_str().expect("newTag")
            );
            let digest = image["digest"].as_str().expect("digest").to_string();
            if let Some(other) = index.insert(reference.clone(), digest.clone()) {
                assert_eq!(other, digest, "{reference} has two digests in the shared data");
            }
        }
    }
    index
}

const CURL_STAND_IN: &str = r#"#!/bin/sh
# curl, for the Dockerfile's data step: serves manifests.tar.gz of a Flux release from the
# shared folder and logs the URL.
out=""
url=""
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift 2 ;;
        --retry) shift 2 ;;
        -*) shift ;;
        *) url=$1; shift ;;
    esac
done
echo "$url" >> "$STUB_LOG/curl.log"
version=$(echo "$url" | sed -n 's|^https://github.com/fluxcd/flux2/releases/download/\(v[0-9.]*\)/manifests.tar.gz$|\1|p')
[ -n "$version" ] && [ -n "$out" ] && [ -d "$SHARED/flux/$version" ] || { echo "curl: (22) 404 $url" >&2; exit 22; }
exec tar -czf "$out" -C "$SHARED/flux/$version" .
"#;

const CRANE_STAND_IN: &str = r#"#!/bin/sh
# crane, for the Dockerfile's data step: `crane digest REF` answers from the shared image
# lists; a reference they lack gets a made-up digest and is logged as such.
[ "$1" = digest ] && [ $# -eq 2 ] || { echo "crane stand-in: unexpected arguments: $*" >&2; exit 2; }
found=$(sed -n "s|^$2 \(sha256:.*\)\$|\1|p" "$STUB_LOG/digests.txt")
if [ -n "$found" ]; then
    echo "$found"
else
    echo "$2" >> "$STUB_LOG/unknown.log"
    echo "sha256:$(printf '%s' "$2" | sha256sum | cut -d' ' -f1)"
fi
"#;

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("write stand-in");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod stand-in");
}

#[test]
fn the_data_step_writes_a_distribution_the_operator_reads() {
    let dockerfile = Dockerfile::read();
    let script = dockerfile.stage("data").heredoc();
    let versions = dockerfile.arg_default("FLUX_VERSIONS");

    let tmp = tempfile::tempdir().expect("tempdir");
    let bin = tmp.path().join("bin");
    let logs = tmp.path().join("logs");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&bin).expect("mkdir bin");
    std::fs::create_dir_all(&logs).expect("mkdir logs");
    write_executable(&bin.join("curl"), CURL_STAND_IN);
    write_executable(&bin.join("crane"), CRANE_STAND_IN);
    let index = digest_index();
    let lines: String = index.iter().map(|(r, d)| format!("{r} {d}\n")).collect();
    std::fs::write(logs.join("digests.txt"), lines).expect("write digest index");

    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .env("FLUX_VERSIONS", &versions)
        .env("DATA_DIR", &data)
        .env("SHARED", shared())
        .env("STUB_LOG", &logs)
        .output()
        .expect("run the data step with sh");
    assert!(
        out.status.success(),
        "the data step failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // It downloaded each release once, from the fluxcd/flux2 release assets.
    let urls = std::fs::read_to_string(logs.join("curl.log")).expect("curl log");
    let expected: Vec<String> = versions
        .split_whitespace()
        .map(|v| format!("https://github.com/fluxcd/flux2/releases/download/{v}/manifests.tar.gz"))
        .collect();
    assert_eq!(urls.lines().collect::<Vec<_>>(), expected);

    // Nothing but the layout the operator reads.
    let mut top: Vec<String> = std::fs::read_dir(&data)
        .expect("read data")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["flux", "flux-images"]);

    // The operator's reader: every release, 2.x resolves to the newest, which VERSION names.
    let distribution = Distribution::open(&data).expect("the operator opens the baked data");
    let listed: Vec<String> = distribution.versions().iter().map(|v| format!("v{v}")).collect();
    assert_eq!(listed, shared_versions());
    let newest = resolve_version("2.x", distribution.versions()).expect("2.x resolves");
    let version_file = std::fs::read_to_string(data.join("flux-images/VERSION")).expect("flux-images/VERSION");
    assert_eq!(version_file, format!("v{newest}\n"));
    assert_eq!(
        version_file,
        std::fs::read_to_string(shared().join("flux-images/VERSION")).expect("shared VERSION")
    );

    for version in distribution.versions() {
        let release = format!("v{version}");
        // The release manifests, unmodified, directly in flux/vX.Y.Z.
        let ours = data.join("flux").join(&release);
        let theirs = shared().join("flux").join(&release);
        let mut files: Vec<String> = std::fs::read_dir(&ours)
            .expect("read release")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut expected_files: Vec<String> = std::fs::read_dir(&theirs)
            .expect("read shared release")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        expected_files.sort();
        assert_eq!(files, expected_files, "{release}");
        assert!(
            distribution
                .manifest(version, "source-controller.yaml")
                .expect("read manifest")
                .is_some()
        );

        // The image list: every controller of the release, with the tag its manifests use.
        let images = distribution
            .images(version, Variant::UpstreamAlpine)
            .unwrap_or_else(|e| panic!("{release}: {e}"));
        let manifests = expected_files
            .iter()
            .filter(|f| f.ends_with("-controller.yaml") || *f == "source-watcher.yaml");
        assert_eq!(images.len(), manifests.count(), "{release}: one image per controller");
        for image in &images {
            assert_eq!(image.name, format!("ghcr.io/fluxcd/{}", image.component()));
            let manifest = distribution
                .manifest(version, &format!("{}.yaml", image.component()))
                .expect("read manifest")
                .expect("the image's controller is in the release");
            assert!(
                manifest.contains(&format!("image: fluxcd/{}:{}\n", image.component(), image.tag)),
                "{release}: {} {} is not the image of its manifest",
                image.name,
                image.tag
            );
        }

        // Byte for byte the shared image list, but for v2.2.3: its manifests deploy
        // source-controller v1.2.5, where the shared list (as upstream's) names v1.2.4.
        let ours = std::fs::read_to_string(data.join("flux-images").join(&release).join("upstream-alpine.yaml"))
            .expect("our image list");
        let theirs = std::fs::read_to_string(shared().join("flux-images").join(&release).join("upstream-alpine.yaml"))
            .expect("shared image list");
        if release == "v2.2.3" {
            let differing: Vec<(&str, &str)> = ours.lines().zip(theirs.lines()).filter(|(a, b)| a != b).collect();
            assert_eq!(differing.len(), 2, "{differing:?}");
            assert_eq!(differing[0], ("    newTag: v1.2.5", "    newTag: v1.2.4"));
        } else {
            assert_eq!(ours, theirs, "{release}: the image list differs from the shared one");
        }
    }
    // The operator binary builds Flux from the baked data alone, as in an air-gapped cluster:
    // 2.x is the newest release, its images pinned by the digests of the image list.
    let instance = tmp.path().join("instance.yaml");
    std::fs::write(
        &instance,
        "apiVersion: fluxcd.controlplane.io/v1\nkind: FluxInstance\nmetadata:\n  name: flux\n  namespace: flux-system\nspec:\n  distribution:\n    version: \"2.x\"\n    registry: ghcr.io/fluxcd\n",
    )
    .expect("write FluxInstance");
    let out = Command::new(env!("CARGO_BIN_EXE_flux-operator-rs"))
        .args(["build", "instance", "-f"])
        .arg(&instance)
        .arg("--storage-path")
        .arg(&data)
        .output()
        .expect("run flux-operator-rs build instance");
    assert!(
        out.status.success(),
        "build instance from the baked data failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifests = String::from_utf8_lossy(&out.stdout);
    let default_components = [
        "source-controller",
        "kustomize-controller",
        "helm-controller",
        "notification-controller",
    ];
    for image in distribution
        .images(&newest, Variant::UpstreamAlpine)
        .expect("images of the newest release")
        .iter()
        .filter(|i| default_components.contains(&i.component()))
    {
        let pinned = format!("{}:{}@{}", image.name, image.tag, image.digest);
        assert!(manifests.contains(&pinned), "{pinned} is not in the built manifests");
    }

    let unknown = std::fs::read_to_string(logs.join("unknown.log")).unwrap_or_default();
    assert_eq!(
        unknown, "ghcr.io/fluxcd/source-controller:v1.2.5\n",
        "only v2.2.3's source-controller is missing from the shared image lists"
    );
}

#[test]
fn the_data_step_refuses_a_malformed_version() {
    let dockerfile = Dockerfile::read();
    let script = dockerfile.stage("data").heredoc();
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("FLUX_VERSIONS", "2.9.4")
        .env("DATA_DIR", tmp.path())
        .output()
        .expect("run the data step with sh");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("FLUX_VERSIONS: 2.9.4 is not vX.Y.Z"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_parser_reads_continuations_comments_and_heredocs() {
    let parsed = parse_dockerfile(
        "# syntax=docker/dockerfile:1.7\nARG A=1\nFROM x:${A} AS one\nRUN a \\\n    # dropped\n    b\nRUN <<'EOS'\necho hi\nEOS\nFROM scratch\nUSER 1:1\n",
    );
    assert_eq!(parsed.global.len(), 1);
    assert_eq!(parsed.stages.len(), 2);
    let one = &parsed.stages[0];
    assert_eq!((one.base.as_str(), one.name.as_deref()), ("x:${A}", Some("one")));
    assert_eq!(one.instructions[0].args, "a     b");
    assert_eq!(one.heredoc(), "echo hi\n");
    assert_eq!(parsed.stages[1].one("USER").args, "1:1");
    assert_eq!(parsed.arg_default("A"), "1");
}
