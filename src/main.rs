use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use flux_operator_rs::controller::RunArgs;
use flux_operator_rs::{api, build, controller, distribution, yaml};

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
}

#[derive(Subcommand)]
enum BuildCommand {
    /// Print the objects of a FluxInstance as multi-document YAML.
    Instance {
        /// The FluxInstance YAML file.
        #[arg(short = 'f', long = "file", value_name = "FILE")]
        file: PathBuf,
        /// The distribution folder (`flux/vX.Y.Z`, `flux-images/vX.Y.Z`).
        #[arg(long, value_name = "DIR", default_value = "/data")]
        storage_path: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(*args),
        Command::Crds { output_dir } => crds(output_dir),
        Command::Build {
            what: BuildCommand::Instance { file, storage_path },
        } => build_instance(&file, &storage_path),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            // One line, so that scripts and CI logs show the whole reason.
            let line = message.split_whitespace().collect::<Vec<_>>().join(" ");
            eprintln!("error: {line}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: RunArgs) -> Result<(), String> {
    init_logging(&args.log_level, &args.log_encoding)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(controller::run(args))
}

fn init_logging(level: &str, encoding: &str) -> Result<(), String> {
    let filter = tracing_subscriber::EnvFilter::try_new(level).map_err(|e| format!("--log-level {level:?}: {e}"))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match encoding {
        "json" => builder.json().flatten_event(true).init(),
        "console" => builder.init(),
        other => return Err(format!("--log-encoding {other:?}: must be json or console")),
    }
    Ok(())
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
    print!("{out}");
    Ok(())
}

fn crds(output_dir: Option<PathBuf>) -> Result<(), String> {
    let crds = api::crds();
    let Some(dir) = output_dir else {
        print!("{}", yaml::to_multi_string(&crds).map_err(|e| e.to_string())?);
        return Ok(());
    };
    for crd in &crds {
        let text = yaml::to_multi_string(std::slice::from_ref(crd)).map_err(|e| e.to_string())?;
        let path = dir.join(format!("{}.yaml", crd.spec.names.plural));
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
