//! `civic transform`: the arguments of transforming one ingested run; [`crate::local::transform`] drives the
//! run's `transform` layer through the `process` function's own entry point.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::local;

/// Arguments of `civic transform`: the run's `transform` layer only, through the deployed `process` function's
/// handler on the local topology (its transform runner, the worklist queue and the fan-in), so the layer report
/// (`worklist/<dataset>/run=<RUN>/transform/...`) is the one the Lambda writes. Then the per-run roll-up
/// `runs/<dataset>/run=<RUN>/transform-report.json` (rows in = out + quarantined, per partition) and one line per
/// partition. The layer is then complete for the run: a later `civic process` of the same run reuses its jobs'
/// results and goes on with the next layer. Exit 1 when a job failed, 2 (bad input) when no era of the catalog
/// maps the run's header: the message names the columns no era maps, and nothing is written under canonical/.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id of an ingested run (runs/{dataset}/run={RUN}/manifest.json must exist).
    #[arg(long)]
    pub run: String,
    /// Local store root; the data bucket is <STORE>/data.
    #[arg(long, default_value = ".civic")]
    pub store: PathBuf,
    /// Dataset id (default: the one dataset whose runs/<dataset>/run=<RUN>/ holds the run in the store).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Dataset catalog directory (folders like the repository's datasets/) for the function's transform runner
    /// instead of the one built into civic; a single canonical.yaml file replaces just the run's dataset's.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Only these partitions' jobs (repeatable); default: every partition of the manifest. The layer then
    /// completes with these jobs only: use a separate run for a partial transform you mean to process further.
    #[arg(long = "partition")]
    pub partitions: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    local::init_logs();
    let dataset = match args.dataset {
        Some(d) => d,
        None => local::store::dataset_of_run(&args.store, &args.run)?,
    };
    local::block_on(local::transform::run(local::transform::TransformRun {
        run: args.run,
        store: args.store,
        dataset,
        catalog: args.catalog,
        partitions: args.partitions,
    }))
}
