//! `civic report`: write a run's findings report, one self-contained HTML page (see the `report` crate).
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

/// Arguments of `civic report`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id (as printed by `civic ingest` or `civic demo`).
    #[arg(long)]
    pub run: String,
    /// Local store root; buckets are <STORE>/data and <STORE>/ledger.
    #[arg(long, value_name = "DIR", default_value = "./.civic")]
    pub store: PathBuf,
    /// Dataset id.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Output HTML file (default: <STORE>/reports/<DATASET>-<RUN>.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Worklist layers summarized in the data-quality section (default: the worklist queue's layers).
    #[arg(long, value_delimiter = ',', default_values_t = prefixes::queues::WORKLIST.layers.iter().map(|l| l.to_string()))]
    pub layers: Vec<String>,
}

/// Open `<root>/<bucket>` as a local object store (creating the folder).
pub(crate) fn open_bucket(root: &Path, bucket: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let dir = root.join(bucket);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = LocalFileSystem::new_with_prefix(&dir)
        .with_context(|| format!("opening bucket {bucket} at {}", dir.display()))?;
    Ok(Arc::new(store))
}

/// The default report path of a run.
pub(crate) fn default_out(store: &Path, dataset: &str, run: &str) -> PathBuf {
    store.join("reports").join(format!("{dataset}-{run}.html"))
}

/// Gather, render and write the report; returns what it showed.
pub(crate) async fn write_report(
    store: &Path,
    dataset: &str,
    run: &str,
    layers: &[String],
    out: &Path,
) -> anyhow::Result<report::ReportData> {
    let data = open_bucket(store, "data")?;
    let ledger = open_bucket(store, "ledger")?;
    // The report reads what the `process` and `ledger-api` functions may read.
    let loc = report::Locations {
        runs: prefixes::process::runs().into(),
        processed: prefixes::ledger_api::processed(),
        ledger: ledger::Locations {
            events: prefixes::ledger_api::events(),
            stakeholders: prefixes::ledger_api::stakeholders(),
        },
    };
    let gathered = report::gather(&data, &ledger, &loc, dataset, run, layers).await?;
    let html = report::render(&gathered)?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Write beside, then rename: a reader never sees half a page.
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, html).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming to {}", out.display()))?;
    Ok(gathered)
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| default_out(&args.store, &args.dataset, &args.run));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let data = rt.block_on(write_report(
        &args.store,
        &args.dataset,
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
