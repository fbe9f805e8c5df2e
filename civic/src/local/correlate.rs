//! `civic correlate`: the correlate layer's code (the same functions the `process` function's `correlate` runner
//! and fan-in hook call) over a local store: every council district's feature rows and tests, then q-values,
//! the association table and the discoveries' ledger events.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::bail;

use super::store;

/// What `civic correlate` is asked to do.
#[derive(Debug, Clone)]
pub struct Request {
    /// Local store root.
    pub store: PathBuf,
    /// Datasets to pair (empty: every analyzed dataset of the catalog).
    pub datasets: Vec<String>,
    /// Catalog directory instead of the one compiled in.
    pub catalog: Option<PathBuf>,
    /// The run the association table belongs to (default: a new local run id).
    pub run: Option<String>,
}

/// What it did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// Datasets with analyzed data that took part.
    pub datasets: Vec<String>,
    /// The run id the table was written under.
    pub run: String,
    /// The fan-in's report.
    pub finish: analysis::cross::FinishReport,
    /// Feature rows written (districts x weeks).
    pub feature_rows: usize,
    /// Districts written.
    pub districts: usize,
    /// The association table on disk.
    pub table: PathBuf,
    /// The feature table's folder on disk.
    pub features: PathBuf,
    /// Seconds taken.
    pub secs: f64,
}

/// The candidates of `req`: the catalog's analyzed datasets, restricted to `req.datasets` (an unknown id is an
/// error naming the known ones).
pub fn candidates(req: &Request) -> anyhow::Result<Vec<analysis::cross::Candidate>> {
    let catalog = datasets::Catalog::from_option(req.catalog.as_deref())?;
    let all = process::Datasets::from_catalog(&catalog)?.correlate_candidates();
    if req.datasets.is_empty() {
        return Ok(all);
    }
    let mut out = Vec::new();
    for id in &req.datasets {
        match all.iter().find(|c| c.dataset == *id) {
            Some(c) => out.push(c.clone()),
            None => bail!(
                "--datasets: {id:?} is not a dataset with an analysis.yaml in this catalog (datasets: {})",
                all.iter()
                    .map(|c| c.dataset.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(out)
}

fn on_disk(store: &Path, key: &str) -> PathBuf {
    store.join("data").join(key)
}

/// Runs the correlate layer's jobs and fan-in over the store.
pub async fn run(req: &Request) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let candidates = candidates(req)?;
    let data = store::open_bucket(&req.store, "data")?;
    let ledger_store = store::open_bucket(&req.store, "ledger")?;
    let grants = process::Locations::granted();
    let loc = grants.analysis();
    let ledger = ledger::Ledger::new(ledger_store, grants.ledger());
    let profiles = analysis::cross::profiles(&data, &loc, &candidates).await?;
    if profiles.is_empty() {
        bail!(
            "no analyzed dataset in {} (of {}): run `civic demo` or `civic process` first",
            req.store.display(),
            candidates
                .iter()
                .map(|c| c.dataset.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let owner = profiles[0].dataset.clone();
    let run = req
        .run
        .clone()
        .unwrap_or_else(|| format!("correlate-{}", chrono::Utc::now().format("%Y%m%dT%H%M%SZ")));
    let config = correlate::Config::default();
    let partitions: Vec<String> = analysis::features::DISTRICTS
        .map(|d| d.to_string())
        .collect();
    let mut feature_rows = 0;
    let mut districts = 0;
    for p in &partitions {
        let r =
            analysis::cross::correlate_district(&data, &loc, &candidates, &owner, &run, p, &config)
                .await?;
        feature_rows += r.feature_rows;
        districts += usize::from(r.feature_key.is_some());
    }
    let finish = analysis::cross::finish(
        &data,
        &loc,
        &ledger,
        &candidates,
        &owner,
        &run,
        &partitions,
        &config,
    )
    .await?;
    Ok(Outcome {
        datasets: profiles.iter().map(|p| p.dataset.clone()).collect(),
        run,
        table: on_disk(&req.store, &finish.table_key),
        features: on_disk(&req.store, loc.features_root().as_ref()),
        finish,
        feature_rows,
        districts,
        secs: started.elapsed().as_secs_f64(),
    })
}

/// The two lines of DuckDB that read the feature table at `folder`.
pub fn duckdb_snippet(folder: &Path) -> String {
    format!(
        "duckdb -c \"SELECT * FROM read_parquet('{}/*/*.parquet', hive_partitioning = true) \
         ORDER BY council_district, week_start LIMIT 10\"",
        folder.display()
    )
}

/// Prints what `run` did; the last line is the association table's path.
pub fn print(o: &Outcome) {
    println!(
        "correlate: {} dataset(s) ({}), {} district(s), {} feature row(s), {} test(s), {} association(s) with q <= 0.05, \
         {} event(s) appended ({} already in the ledger, {} conflicting) in {:.2}s",
        o.datasets.len(),
        o.datasets.join(", "),
        o.districts,
        o.feature_rows,
        o.finish.tests,
        o.finish.discoveries,
        o.finish.events_created,
        o.finish.events_duplicate,
        o.finish.events_conflicting,
        o.secs
    );
    println!("feature table: {}", o.features.display());
    println!("  {}", duckdb_snippet(&o.features));
    println!("{}", o.table.display());
}
