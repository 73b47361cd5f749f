use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use flux_operator_rs::controller::RunError;
use flux_operator_rs::controller::config::parse_duration;
use flux_operator_rs::distribution::artifact::{self, ArtifactRef, Credentials, Transport};
use flux_operator_rs::{api, build, controller, distribution, logging, resourceset, wait, yaml};
use run_args::RunArgs;

/// The flags of `run`: the binary's, not the library's.
#[path = "cli/run_args.rs"]
mod run_args;

#[derive(Parser)]
#[command(
    name = "flux-operator-rs",
    version,
    about = "Installs, configures and upgrades Flux from a FluxInstance"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator: reconcile the FluxInstance and the FluxReport of RUNTIME_NAMESPACE.
    Run(Box<RunArgs>),
    /// Print the CustomResourceDefinitions as multi-document YAML.
    Crds {
        /// Write one file per CRD (`<plural>.yaml`) into this folder instead of printing.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
    /// Build manifests offline, as the operator would apply them.
    Build {
        #[command(subcommand)]
        what: BuildCommand,
    },
    /// Work with Flux distributions (`flux/vX.Y.Z`, `flux-images/vX.Y.Z`).
    Distribution {
        #[command(subcommand)]
        what: DistributionCommand,
    },
    /// Wait for an object to become ready (the kubeconfig or in-cluster account decides
    /// the cluster).
    Wait {
        #[command(subcommand)]
        what: WaitCommand,
    },
}

#[derive(Subcommand)]
enum WaitCommand {
    /// Exit 0 once the FluxInstance is Ready for its current generation; fail with its
    /// Ready message when it is Stalled or at the timeout.
    Instance {
        /// The FluxInstance (the CRD allows only `flux`).
        #[arg(value_name = "NAME", default_value = "flux")]
        name: String,
        #[arg(short = 'n', long, env = "RUNTIME_NAMESPACE", default_value = "flux-system")]
        namespace: String,
        #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
        timeout: Duration,
    },
}

#[derive(Subcommand)]
enum DistributionCommand {
    /// Publish a distribution folder as a Flux-style OCI artifact, for
    /// `spec.distribution.artifact`; prints the manifest digest.
    Push {
        /// The distribution folder.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
        /// Where to push: oci://host[:port]/repository:tag.
        #[arg(value_name = "oci://REF")]
        reference: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// How to reach and authenticate to a registry.
#[derive(Args)]
struct RegistryArgs {
    /// Use plain HTTP instead of HTTPS (for loopback test registries).
    #[arg(long)]
    plain_http: bool,
    /// PEM bundle of certificate authorities to trust besides the system's.
    #[arg(long, value_name = "FILE")]
    ca_file: Option<PathBuf>,
    /// Credentials as USER:PASSWORD (also the OCI_CREDS environment variable).
    #[arg(
        long,
        env = "OCI_CREDS",
        value_name = "USER:PASSWORD",
        hide_env_values = true,
        conflicts_with = "docker_config"
    )]
    creds: Option<String>,
    /// Docker config JSON to take the registry's credentials from (default: $DOCKER_CONFIG/config.json
    /// or ~/.docker/config.json when it has an entry for the registry).
    #[arg(long, value_name = "FILE")]
    docker_config: Option<PathBuf>,
    /// Time limit of the whole registry operation.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    timeout: Duration,
}

#[derive(Subcommand)]
enum BuildCommand {
    /// Print the objects of a FluxInstance as multi-document YAML.
    Instance {
        /// The FluxInstance YAML file.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// The distribution folder (`flux/vX.Y.Z`, `flux-images/vX.Y.Z`). With --artifact, its
        /// major.minor lines limit the versions taken from the artifact.
        #[arg(long, value_name = "DIR", default_value = "/data")]
        storage_path: PathBuf,
        /// Take the Flux releases from this OCI artifact (oci://host[:port]/repository:tag),
        /// as the operator does for spec.distribution.artifact.
        #[arg(long, value_name = "oci://REF")]
        artifact: Option<String>,
        /// Keep pulled artifacts in this folder (default: a temporary folder, removed after).
        #[arg(long, value_name = "DIR", requires = "artifact")]
        artifact_cache_path: Option<PathBuf>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Print the objects of a ResourceSet as multi-document YAML, as the operator would
    /// apply them.
    #[command(alias = "rset")]
    Resourceset {
        /// The ResourceSet YAML file (`-` for standard input).
        #[arg(short = 'f', long = "filename", alias = "file", value_name = "FILE")]
        file: PathBuf,
        /// A YAML list of input sets that stands for all of the set's inputs.
        #[arg(short = 'i', long = "inputs-from", value_name = "FILE")]
        inputs_from: Option<PathBuf>,
        /// YAML documents of Static ResourceSetInputProviders the set reads.
        #[arg(long = "inputs-from-provider", value_name = "FILE")]
        inputs_from_provider: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(with_default_subcommand(std::env::args_os()));
    let result = match cli.command {
        Command::Run(args) => return run(*args),
        Command::Crds { output_dir } => crds(output_dir),
        Command::Build {
            what:
                BuildCommand::Instance {
                    file,
                    storage_path,
                    artifact,
                    artifact_cache_path,
                    registry,
                },
        } => match artifact {
            None => build_instance(&file, &storage_path),
            Some(reference) => build_instance_from_artifact(
                &file,
                &storage_path,
                &reference,
                artifact_cache_path.as_deref(),
                &registry,
            ),
        },
        Command::Build {
            what:
                BuildCommand::Resourceset {
                    file,
                    inputs_from,
                    inputs_from_provider,
                },
        } => build_resourceset(&file, inputs_from.as_deref(), inputs_from_provider.as_deref()),
        Command::Distribution {
            what:
                DistributionCommand::Push {
                    dir,
                    reference,
                    registry,
                },
        } => distribution_push(&dir, &reference, &registry),
        Command::Wait {
            what:
                WaitCommand::Instance {
                    name,
                    namespace,
                    timeout,
                },
        } => wait_instance(&name, &namespace, timeout),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {}", one_line(&message));
            ExitCode::FAILURE
        }
    }
}

/// One line, so that scripts and CI logs show the whole reason.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Upstream's chart starts the container with flags only (`--log-level=info ...`): a first
/// argument that is a flag means `run`.
fn with_default_subcommand(args: impl IntoIterator<Item = OsString>) -> Vec<OsString> {
    let mut args: Vec<OsString> = args.into_iter().collect();
    let starts_with_flag = args
        .get(1)
        .and_then(|a| a.to_str())
        .is_some_and(|first| first.starts_with('-') && !matches!(first, "-h" | "--help" | "-V" | "--version"));
    if starts_with_flag {
        args.insert(1, OsString::from("run"));
    }
    args
}

/// The exit code of a replica that lost the leader Lease (EX_TEMPFAIL: try again); its pod
/// restarts and stands by until the Lease is free, as controller-runtime's managers do.
const EXIT_LEADERSHIP_LOST: u8 = 75;

/// The operator. Only here does the process exit: the library returns why it stopped.
fn run(args: RunArgs) -> ExitCode {
    logging::init(args.log_level, args.log_encoding);
    for flag in args.upstream_only.without_effect() {
        tracing::info!(
            flag,
            "flag accepted for compatibility with the upstream operator; it has no effect here"
        );
    }
    if args.default_workload_identity_service_account.is_some() {
        tracing::info!(
            flag = "--default-workload-identity-service-account",
            "stored as the default ServiceAccount of the cloud provider types, which this operator does not implement yet"
        );
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(controller::run(args.config())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error @ RunError::LeadershipLost { .. }) => {
            tracing::error!(exit_code = EXIT_LEADERSHIP_LOST, %error, "leadership lost, exiting");
            ExitCode::from(EXIT_LEADERSHIP_LOST)
        }
        Err(error) => {
            tracing::error!(%error, "the operator stopped");
            eprintln!("error: {}", one_line(&error.to_string()));
            ExitCode::FAILURE
        }
    }
}

/// Prints nothing unless the whole build succeeds.
fn build_instance(file: &Path, storage_path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let parsed = build::parse_instance(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let distribution = distribution::Distribution::open(storage_path).map_err(|e| e.to_string())?;
    let built =
        build::resolve_and_build(&parsed.namespace, &parsed.instance.spec, &distribution).map_err(|e| e.to_string())?;
    for warning in &built.warnings {
        eprintln!("warning: {warning}");
    }
    let out = yaml::to_multi_string(&built.objects).map_err(|e| e.to_string())?;
    print_stdout(&out)
}

/// Prints nothing unless the whole build succeeds.
fn build_resourceset(file: &Path, inputs: Option<&Path>, providers: Option<&Path>) -> Result<(), String> {
    let set = read_text(file)?;
    let inputs = inputs.map(read_text).transpose()?;
    let providers = providers.map(read_text).transpose()?;
    let from = resourceset::offline::Offline {
        inputs: inputs.as_deref(),
        providers: providers.as_deref(),
    };
    let built = resourceset::offline::build_offline(&set, from).map_err(|e| e.to_string())?;
    let out = resourceset::offline::print(&built).map_err(|e| e.to_string())?;
    print_stdout(&out)
}

/// The largest input file read: far above any real manifest, and a bound on memory.
const MAX_INPUT_FILE: u64 = 16 << 20;

/// A file's text (`-`: standard input), refused past [`MAX_INPUT_FILE`].
fn read_text(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let name = path.display();
    let reader: Box<dyn Read> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin())
    } else {
        Box::new(std::fs::File::open(path).map_err(|e| format!("cannot read {name}: {e}"))?)
    };
    let mut text = String::new();
    reader
        .take(MAX_INPUT_FILE + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {name}: {e}"))?;
    if text.len() as u64 > MAX_INPUT_FILE {
        return Err(format!("{name}: larger than {} MiB", MAX_INPUT_FILE >> 20));
    }
    Ok(text)
}

/// `build instance --artifact`: the artifact's releases on the lines the storage path's
/// data has (all of them, with a warning, when there is no such data).
fn build_instance_from_artifact(
    file: &Path,
    storage_path: &Path,
    reference: &str,
    cache_path: Option<&Path>,
    registry: &RegistryArgs,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let parsed = build::parse_instance(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let reference = ArtifactRef::parse("--artifact", reference).map_err(|e| e.to_string())?;
    let transport = registry.transport(&reference)?;
    let credentials = registry.credentials(&reference)?;
    let temporary;
    let cache_root = match cache_path {
        Some(path) => path.to_path_buf(),
        None => {
            temporary = tempdir()?;
            temporary.0.clone()
        }
    };
    let cache = artifact::Cache::new(cache_root);
    let pulled = runtime()?
        .block_on(artifact::pull(&transport, &reference, &credentials, &cache))
        .map_err(|e| e.to_string())?;
    let versions = pulled.distribution.versions();
    let candidates = match distribution::Distribution::open(storage_path) {
        Ok(baked) => distribution::on_known_lines(versions, baked.versions()),
        Err(e) => {
            eprintln!(
                "warning: --storage-path {}: {e}; the artifact's versions are not limited to known lines",
                storage_path.display()
            );
            versions.to_vec()
        }
    };
    let spec = &parsed.instance.spec;
    let version = distribution::resolve_version(&spec.distribution.version, &candidates).map_err(|e| e.to_string())?;
    let release = pulled.distribution.release(&version).map_err(|e| e.to_string())?;
    let built = build::build(&parsed.namespace, spec, &release).map_err(|e| e.to_string())?;
    for warning in &built.warnings {
        eprintln!("warning: {warning}");
    }
    let out = yaml::to_multi_string(&built.objects).map_err(|e| e.to_string())?;
    print_stdout(&out)
}

fn wait_instance(name: &str, namespace: &str, timeout: Duration) -> Result<(), String> {
    runtime()?.block_on(async {
        let client = kube::Client::try_default()
            .await
            .map_err(|e| format!("cannot connect to Kubernetes: {e}"))?;
        wait::instance(client, namespace, name, timeout)
            .await
            .map_err(|e| e.to_string())
    })
}

fn distribution_push(dir: &Path, reference: &str, registry: &RegistryArgs) -> Result<(), String> {
    let reference = ArtifactRef::parse("oci://REF", reference).map_err(|e| e.to_string())?;
    let transport = registry.transport(&reference)?;
    let credentials = registry.credentials(&reference)?;
    let pushed = runtime()?
        .block_on(artifact::push_dir(&transport, &reference, &credentials, dir))
        .map_err(|e| e.to_string())?;
    print_stdout(&format!("{}\n", pushed.digest))
}

impl RegistryArgs {
    fn transport(&self, reference: &ArtifactRef) -> Result<Transport, String> {
        let mut transport = Transport::new(self.timeout);
        if self.plain_http {
            transport = transport.with_plain_http([reference.registry()]);
        }
        if let Some(path) = &self.ca_file {
            transport = transport.with_ca_file("--ca-file", path).map_err(|e| e.to_string())?;
        }
        Ok(transport)
    }

    fn credentials(&self, reference: &ArtifactRef) -> Result<Credentials, String> {
        if let Some(creds) = &self.creds {
            return Credentials::from_user_password(creds).map_err(|e| format!("--creds: {e}"));
        }
        let (path, explicit) = match &self.docker_config {
            Some(path) => (path.clone(), true),
            None => match default_docker_config() {
                Some(path) => (path, false),
                None => return Ok(Credentials::Anonymous),
            },
        };
        let json = match std::fs::read(&path) {
            Ok(json) => json,
            Err(e) if explicit => return Err(format!("--docker-config {}: {e}", path.display())),
            Err(_) => return Ok(Credentials::Anonymous),
        };
        match artifact::from_docker_config(&json, reference.registry()) {
            Ok(Some(credentials)) => Ok(credentials),
            Ok(None) if explicit => Err(format!(
                "--docker-config {}: no credentials for the registry {:?}",
                path.display(),
                reference.registry()
            )),
            Ok(None) => Ok(Credentials::Anonymous),
            Err(message) => Err(format!("--docker-config {}: {message}", path.display())),
        }
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, when present.
fn default_docker_config() -> Option<PathBuf> {
    let path = match std::env::var_os("DOCKER_CONFIG") {
        Some(dir) => PathBuf::from(dir).join("config.json"),
        None => PathBuf::from(std::env::var_os("HOME")?).join(".docker/config.json"),
    };
    path.is_file().then_some(path)
}

/// Writes to stdout; a reader that went away (`| head -1`) ends the command quietly, as
/// with any Unix filter.
fn print_stdout(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(format!("cannot write to stdout: {e}")),
        _ => Ok(()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
}

/// A temporary folder, removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<TempDir, String> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let path = std::env::temp_dir().join(format!("flux-operator-rs-artifact-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    Ok(TempDir(path))
}

fn crds(output_dir: Option<PathBuf>) -> Result<(), String> {
    let crds = api::crds();
    let Some(dir) = output_dir else {
        return print_stdout(&yaml::to_multi_string(&crds).map_err(|e| e.to_string())?);
    };
    for crd in &crds {
        let text = yaml::to_multi_string(std::slice::from_ref(crd)).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{}.yaml", crd.spec.names.plural));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
