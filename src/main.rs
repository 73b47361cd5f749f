use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use flux_operator_rs::{api, yaml};

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
    /// Print the CustomResourceDefinitions as multi-document YAML.
    Crds {
        /// Write one file per CRD (`<plural>.yaml`) into this folder instead of printing.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Crds { output_dir } => crds(output_dir),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
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
