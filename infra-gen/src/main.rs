//! `infra-gen`: validate the manifests, synthesize one CloudFormation stack per feature, and generate
//! the `prefixes` crate. Exit codes: 0 ok, 1 failure, 2 invalid manifests.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use infra_gen::deploy::{self, Deployer, Options, Outcome, affected, aws::Aws};
use infra_gen::manifest::Manifests;
use infra_gen::{ci_role, codegen, load_valid, synth};

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
    /// Deploy the bootstrap stack (assets bucket for packages and large templates, and the CloudFormation
    /// service role the feature stacks deploy through): run once per stage and account, and again when
    /// a new resource type appears, with operator credentials (CI cannot change the service role).
    Bootstrap(AwsArgs),
    /// Build (or take --artifacts), upload changed packages, and deploy feature stacks via change sets.
    Deploy(DeployArgs),
    /// Show what a deploy would change (change sets created, printed, then deleted).
    Diff(DeployArgs),
    /// Delete feature stacks in reverse dependency order (retained data buckets stay).
    Destroy(DestroyArgs),
    /// Print the features affected by changes since a git ref, one per line.
    Affected(AffectedArgs),
    /// Print the deployed names and URLs as JSON.
    Outputs(AwsArgs),
    /// Print the IAM trust and permissions policies of a GitHub Actions OIDC deploy role (change sets on
    /// this project's feature stacks through the bootstrap service role, and the assets bucket).
    CiRole(CiRoleArgs),
    /// Check a local store (`civic --store DIR`): every object must be a declared object of a writable
    /// prefix of prefixes.yaml (exit 1 otherwise, naming each misplaced key).
    Conform(ConformArgs),
}

#[derive(Debug, Args)]
struct ConformArgs {
    /// The store root: one folder per bucket (`DIR/data`, `DIR/ledger`), as `civic` writes it.
    #[arg(long, value_name = "DIR")]
    store: PathBuf,
}

#[derive(Debug, Args)]
struct AwsArgs {
    /// Stage to act on.
    #[arg(long, default_value = "dev")]
    stage: String,
    /// AWS region (default: from the AWS config chain, e.g. AWS_REGION).
    #[arg(long)]
    region: Option<String>,
    /// AWS profile (default: from the AWS config chain, e.g. AWS_PROFILE).
    #[arg(long)]
    profile: Option<String>,
}

#[derive(Debug, Args)]
struct DeployArgs {
    #[command(flatten)]
    aws: AwsArgs,
    /// Only these features (repeatable); refuses when a dependency's stack is missing.
    #[arg(long = "feature", value_name = "F")]
    features: Vec<String>,
    /// Only the features affected by changes since this git ref.
    #[arg(long, value_name = "GITREF", conflicts_with = "features")]
    changed_since: Option<String>,
    /// Use packages built earlier: DIR/<crate>/bootstrap.zip (cargo-lambda's target/lambda layout).
    #[arg(long, value_name = "DIR")]
    artifacts: Option<PathBuf>,
    /// Do not ask before replacing or removing a bucket or queue.
    #[arg(long)]
    yes: bool,
}

#[derive(Debug, Args)]
struct DestroyArgs {
    #[command(flatten)]
    aws: AwsArgs,
    /// Only these features (repeatable).
    #[arg(long = "feature", value_name = "F")]
    features: Vec<String>,
}

#[derive(Debug, Args)]
struct AffectedArgs {
    /// Git ref to compare the working tree with, e.g. HEAD~1 or origin/main.
    #[arg(long, value_name = "GITREF")]
    since: String,
}

#[derive(Debug, Args)]
struct CiRoleArgs {
    /// GitHub repository allowed to assume the role, as OWNER/NAME.
    #[arg(long)]
    repo: String,
    /// AWS account id that holds the GitHub OIDC provider.
    #[arg(long, default_value = "<ACCOUNT_ID>")]
    account: String,
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
        Command::Conform(a) => {
            let report = infra_gen::conform::check_store(&m, &a.store)
                .map_err(|e| anyhow::anyhow!("reading the store {}: {e}", a.store.display()))?;
            for (object, n) in &report.by_object {
                println!("{n:>8}  {object}");
            }
            for bad in &report.misplaced {
                eprintln!("error: {bad}");
            }
            println!(
                "conform: {} object(s) under {}, {} misplaced",
                report.objects,
                a.store.display(),
                report.misplaced.len()
            );
            if !report.misplaced.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Affected(a) => {
            for f in affected_features(&cli.root, &m, &a.since)? {
                println!("{f}");
            }
        }
        Command::CiRole(a) => {
            println!("# Trust policy (who may assume the role):");
            println!(
                "{}",
                serde_json::to_string_pretty(&ci_role::trust_policy(&a.account, &a.repo))?
            );
            println!(
                "# Permissions policy (what deploy calls; CloudFormation creates the resources as the service role `infra-gen bootstrap` made):"
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&ci_role::permissions_policy(&m, &a.account))?
            );
        }
        Command::Bootstrap(_)
        | Command::Deploy(_)
        | Command::Diff(_)
        | Command::Destroy(_)
        | Command::Outputs(_) => {
            let rt = tokio::runtime::Runtime::new()?;
            return rt.block_on(async {
                tokio::select! {
                    r = aws_command(cli, &m) => r,
                    _ = tokio::signal::ctrl_c() => {
                        eprintln!("interrupted: CloudFormation finishes or rolls back the operation already started by itself; rerun the same command to converge");
                        Ok(ExitCode::from(130))
                    }
                }
            });
        }
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

fn affected_features(root: &Path, m: &Manifests, since: &str) -> anyhow::Result<Vec<String>> {
    let changed = affected::changed_files(root, since)?;
    let old = affected::prefixes_at(root, since);
    let ws = affected::workspace(root)?;
    let (compiled, notes) = affected::inputs(m, &ws);
    for note in notes {
        eprintln!("{note}");
    }
    Ok(affected::affected(
        m,
        &changed,
        old.as_ref(),
        &ws,
        &compiled,
    ))
}

fn check_stage(m: &Manifests, stage: &str) -> anyhow::Result<()> {
    if !m.stage_names().contains(&stage) {
        anyhow::bail!(
            "unknown stage '{stage}' (declared in prefixes.yaml: {})",
            m.stage_names().join(", ")
        );
    }
    Ok(())
}

async fn aws_command(cli: &Cli, m: &Manifests) -> anyhow::Result<ExitCode> {
    let (aws_args, yes, diff_only) = match &cli.command {
        Command::Bootstrap(a) | Command::Outputs(a) => (a, true, false),
        Command::Deploy(d) => (&d.aws, d.yes, false),
        Command::Diff(d) => (&d.aws, true, true),
        Command::Destroy(d) => (&d.aws, true, false),
        _ => unreachable!("not an AWS command"),
    };
    check_stage(m, &aws_args.stage)?;
    // Resolve everything that can fail locally before touching AWS.
    let plan = match &cli.command {
        Command::Deploy(d) | Command::Diff(d) => {
            let names = match &d.changed_since {
                Some(since) => affected_features(&cli.root, m, since)?,
                None => d.features.clone(),
            };
            if d.changed_since.is_some() && names.is_empty() {
                eprintln!(
                    "no feature is affected by changes since {}; nothing to deploy",
                    d.changed_since.as_deref().unwrap_or("")
                );
                return Ok(ExitCode::SUCCESS);
            }
            let only = !names.is_empty();
            let features = deploy::select(m, &names)?;
            let artifacts = deploy::artifacts(&cli.root, m, d.artifacts.as_deref())?;
            Some((features, artifacts, only))
        }
        _ => None,
    };
    let aws = Aws::connect(aws_args.region.as_deref(), aws_args.profile.as_deref()).await?;
    let d = Deployer {
        m,
        aws,
        opts: Options {
            stage: aws_args.stage.clone(),
            yes,
            diff_only,
        },
    };
    match &cli.command {
        Command::Bootstrap(_) => {
            d.bootstrap().await?;
            println!("assets bucket: {}", d.assets_bucket().await?);
        }
        Command::Deploy(_) | Command::Diff(_) => {
            let (features, artifacts, only) = plan.expect("planned above");
            let results = d.deploy(&features, &artifacts, only).await?;
            for (stack, outcome) in results {
                let what = match outcome {
                    Outcome::NoChanges => "no changes".to_string(),
                    Outcome::Created => "created".into(),
                    Outcome::Updated => "updated".into(),
                    Outcome::Diff(rows) => format!("{} change(s) (not executed)", rows.len()),
                };
                println!("{stack}: {what}");
            }
        }
        Command::Destroy(a) => {
            let features = deploy::select(m, &a.features)?;
            d.destroy(&features).await?;
        }
        Command::Outputs(_) => println!("{}", serde_json::to_string_pretty(&d.outputs().await?)?),
        _ => unreachable!(),
    }
    Ok(ExitCode::SUCCESS)
}
