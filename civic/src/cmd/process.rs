//! `civic process`: the arguments of processing an ingested run; [`crate::local::process`] drives every
//! declared layer through the `process` function's own entry point on the local topology.

use std::process::ExitCode;

use crate::local;

/// Arguments of `civic process`: ONE worklist message listing every partition, then the `process` function's
/// handler fed SQS events from the embedded worklist queue (visibility and DLQ redrive as
/// `features/processing/feature.yaml` declares them) until every layer completed; prints each layer's report.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: local::RunTarget,
    /// Independent chains per layer; used when the run manifest declares no `lanes` (default: the worklist
    /// queue's `lanes` in the manifests).
    #[arg(long)]
    pub lanes: Option<u32>,
    /// Attempts a job gets before it is recorded as failed.
    #[arg(long, default_value_t = worklist::message::DEFAULT_MAX_ATTEMPTS)]
    pub max_attempts: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    local::init_logs();
    local::block_on(local::process::process(
        &args.target,
        args.lanes,
        args.max_attempts,
    ))
}
