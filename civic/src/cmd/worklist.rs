//! `civic worklist`: the arguments of inspecting a run's worklist (status) or giving its dead letters / failed
//! jobs another round (redrive); [`crate::local::process`] does both on the local topology.

use std::process::ExitCode;

use crate::local;

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
    Status(local::RunTarget),
    /// Re-send dead-lettered messages, and with --failed LAYER the failed jobs of that layer, then run them
    /// through the `process` function.
    Redrive(RedriveArgs),
}

/// Arguments of `civic worklist redrive`.
#[derive(Debug, clap::Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub target: local::RunTarget,
    /// Also give the failed jobs of this (completed) layer another round.
    #[arg(long)]
    pub failed: Option<String>,
    /// Attempts each redriven job gets.
    #[arg(long, default_value_t = worklist::message::DEFAULT_MAX_ATTEMPTS)]
    pub max_attempts: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    local::init_logs();
    local::block_on(async {
        match &args.command {
            Command::Status(t) => local::process::status(t).await,
            Command::Redrive(r) => {
                local::process::redrive(&r.target, r.failed.as_deref(), r.max_attempts).await
            }
        }
    })
}
