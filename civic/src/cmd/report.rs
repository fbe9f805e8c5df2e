//! `civic report`: the arguments of writing a run's findings report, one self-contained HTML page (see the
//! `report` crate); [`crate::local::store::write_report`] gathers and writes it.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::local;

/// Arguments of `civic report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id (as printed by `civic ingest` or `civic demo`).
    #[arg(long)]
    pub run: String,
    /// Local store root; buckets are <STORE>/data and <STORE>/ledger.
    #[arg(long, value_name = "DIR", default_value = "./.civic")]
    pub store: PathBuf,
    /// Dataset id (default: the one dataset whose runs/<dataset>/run=<RUN>/ holds the run in the store).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Output HTML file (default: <STORE>/reports/<DATASET>-<RUN>.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Worklist layers summarized in the data-quality section (default: the worklist queue's layers).
    #[arg(long, value_delimiter = ',', default_values_t = prefixes::queues::WORKLIST.layers.iter().map(|l| l.to_string()))]
    pub layers: Vec<String>,
}

pub fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    let dataset = match args.dataset.take() {
        Some(d) => d,
        None => local::store::dataset_of_run(&args.store, &args.run)?,
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| local::store::default_report(&args.store, &dataset, &args.run));
    let data = local::block_on(local::store::write_report(
        &args.store,
        &dataset,
        &args.run,
        &args.layers,
        &out,
    ))?;
    eprintln!(
        "report of run {}: {} district(s), {} finding(s)",
        args.run,
        data.districts.len(),
        data.findings.len()
    );
    println!("{}", out.display());
    Ok(ExitCode::SUCCESS)
}
