//! `infra-gen`: validate the manifests, synthesize one CloudFormation stack per feature, and generate
//! the `prefixes` crate. Exit codes: 0 ok, 1 failure, 2 invalid manifests.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use infra_gen::{codegen, load_valid, synth};

/// Infrastructure from one source of truth: prefixes.yaml (where data lives and who may touch it) and
/// features/*/feature.yaml (functions, queues, triggers) become one CloudFormation stack per feature,
/// with IAM scoped to exactly the granted prefixes, and the typed key builders in crates/prefixes.
#[derive(Debug, Parser)]
#[command(name = "infra-gen", version, about, long_about)]
struct Cli {
    /// Folder holding prefixes.yaml and features/.
    #[arg(long, global = true, default_value = ".", value_name = "DIR")]
    root: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Validate the manifests and report every problem with file:line:col (exit 2 when any).
    Check,
    /// Write OUT/STAGE/<feature>.template.json for every feature and print a summary table.
    Synth(SynthArgs),
    /// Regenerate crates/prefixes/src/generated.rs from the manifests.
    Codegen(CodegenArgs),
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Stage to synthesize; physical names start with <project>-<stage>-.
    #[arg(long, default_value = "dev")]
    stage: String,
    /// Output folder (git-ignored); templates go to OUT/STAGE/.
    #[arg(long, default_value = "infra.out", value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct CodegenArgs {
    /// Do not write; exit 1 when the committed file differs from what the manifests generate.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<ExitCode> {
    let m = match load_valid(&cli.root) {
        Ok(m) => m,
        Err(diags) => {
            eprintln!("{diags}");
            return Ok(ExitCode::from(2));
        }
    };
    match &cli.command {
        Command::Check => {
            let functions = m.functions().count();
            println!(
                "ok: {} features, {functions} functions, {} prefixes",
                m.features.len(),
                m.prefixes().count()
            );
        }
        Command::Synth(a) => {
            if !m.stage_names().contains(&a.stage.as_str()) {
                eprintln!(
                    "error: unknown stage '{}' (declared in prefixes.yaml: {})",
                    a.stage,
                    m.stage_names().join(", ")
                );
                return Ok(ExitCode::from(2));
            }
            let stacks = synth::synth(&m, &a.stage);
            let paths = synth::write(&a.out, &a.stage, &stacks)?;
            print!("{}", synth::summary(&m, &stacks));
            for p in paths {
                println!("wrote {}", p.display());
            }
        }
        Command::Codegen(a) => return codegen_cmd(&cli.root, &m, a.check),
    }
    Ok(ExitCode::SUCCESS)
}

fn codegen_cmd(
    root: &Path,
    m: &infra_gen::manifest::Manifests,
    check: bool,
) -> anyhow::Result<ExitCode> {
    let path = root.join(codegen::GENERATED_PATH);
    let fresh = codegen::generate(m);
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    if check {
        if current == fresh {
            println!("{} is up to date", path.display());
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!(
            "{} is stale; run `cargo run -p infra-gen -- codegen`",
            path.display()
        );
        return Ok(ExitCode::FAILURE);
    }
    if current == fresh {
        println!("{} is up to date", path.display());
    } else {
        std::fs::write(&path, fresh)
            .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
