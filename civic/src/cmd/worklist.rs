//! `civic worklist`: inspect a run's worklist (status) or give its dead letters / failed jobs another round
//! (redrive) through the local runner.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use worklist::Queue;
use worklist::manifest::RunManifest;
use worklist::redrive::{redrive_dead_letters, redrive_failed};
use worklist::status::run_status;

use super::process::{Local, open_store};

/// Arguments of `civic worklist`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// `civic worklist` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Per layer: jobs done, failed, remaining, and dead-lettered messages.
    Status(Target),
    /// Re-send dead-lettered messages, and with --failed LAYER the failed jobs of that layer, then run them.
    Redrive(RedriveArgs),
}

/// Which run.
#[derive(Debug, clap::Args)]
pub struct Target {
    /// Run id.
    #[arg(long)]
    pub run: String,
    /// Local store root; the data bucket is <STORE>/data.
    #[arg(long, default_value = "./.civic")]
    pub store: PathBuf,
    /// Dataset id.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Layer chain, used when the run manifest declares none (default: the worklist queue's `layers` in
    /// features/processing/feature.yaml, as generated into the prefixes crate).
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<String>>,
}

impl Target {
    /// The run's chain: the manifest's, else `--layers`, else the worklist queue's.
    pub fn chain(&self, manifest: &RunManifest) -> Vec<String> {
        manifest.layers.clone().unwrap_or_else(|| {
            self.layers.clone().unwrap_or_else(|| {
                prefixes::queues::WORKLIST
                    .layers
                    .iter()
                    .map(|l| l.to_string())
                    .collect()
            })
        })
    }
}

/// Arguments of `civic worklist redrive`.
#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub target: Target,
    /// Also give the failed jobs of this (completed) layer another round.
    #[arg(long)]
    pub failed: Option<String>,
    /// Attempts each redriven job gets.
    #[arg(long, default_value_t = worklist::message::DEFAULT_MAX_ATTEMPTS)]
    pub max_attempts: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    super::process::init_logs();
    tokio::runtime::Runtime::new()?.block_on(async {
        match args.command {
            Command::Status(t) => status(t).await,
            Command::Redrive(r) => redrive(r).await,
        }
    })
}

/// The worklist's grants as the `process` function holds them (the operator acts as the consumer).
fn grants() -> worklist::Locations {
    process::Locations::granted().worklist()
}

async fn chain(store: &dyn object_store::ObjectStore, t: &Target) -> anyhow::Result<Vec<String>> {
    Ok(t.chain(&worklist::manifest::load(store, &grants(), &t.dataset, &t.run).await?))
}

async fn status(t: Target) -> anyhow::Result<ExitCode> {
    let store = open_store(&t.store)?;
    let layers = chain(store.as_ref(), &t).await?;
    let s = run_status(store.as_ref(), &grants(), &t.dataset, &t.run, &layers).await?;
    println!(
        "{:<12} {:>8} {:>6} {:>6} {:>9} {:>6}  complete",
        "layer", "expected", "done", "failed", "remaining", "in DLQ"
    );
    let show = |n: Option<usize>| n.map_or("?".to_owned(), |n| n.to_string());
    for l in &s.layers {
        println!(
            "{:<12} {:>8} {:>6} {:>6} {:>9} {:>6}  {}",
            l.layer,
            show(l.expected),
            l.done,
            l.failed,
            show(l.remaining),
            l.dead_lettered,
            if l.complete { "yes" } else { "no" }
        );
    }
    for d in &s.dead_letters {
        println!(
            "dead letter {} ({}): {}",
            d.key,
            d.layer.as_deref().unwrap_or("not a worklist message"),
            d.letter.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn redrive(r: RedriveArgs) -> anyhow::Result<ExitCode> {
    let t = &r.target;
    let store = open_store(&t.store)?;
    let layers = chain(store.as_ref(), t).await?;
    let local = Local::new(&t.store, &t.dataset, &t.run, layers.clone())?;
    let letters =
        redrive_dead_letters(store.as_ref(), &grants(), local.queue.as_ref(), &t.dataset, &t.run)
            .await?;
    let mut jobs = Vec::new();
    if let Some(layer) = &r.failed {
        jobs = redrive_failed(
            store.as_ref(),
            &grants(),
            local.queue.as_ref(),
            &t.dataset,
            &t.run,
            &layers,
            layer,
            r.max_attempts,
        )
        .await?;
    }
    eprintln!(
        "redrive {}: {letters} dead letter(s), {} failed job(s) {jobs:?}",
        t.run,
        jobs.len()
    );
    if local.queue.counts().await?.total() == 0 {
        bail!("nothing to redrive for run {}", t.run);
    }
    local.drive_and_report().await
}
