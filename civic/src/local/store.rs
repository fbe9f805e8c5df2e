//! The local store: a folder holding one folder per bucket (`<store>/data`, `<store>/ledger`, the same keys as
//! S3), the demo's generated inputs (`<store>/inputs`) and the reports (`<store>/reports`); opening a bucket
//! outside any function, deleting a store for `--fresh`, and writing a run's report.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;

/// The folders `civic` writes in a store; `--fresh` refuses to delete a folder holding anything else.
pub const FOLDERS: [&str; 4] = ["data", "ledger", "inputs", "reports"];

/// Open `<root>/<bucket>` as a local object store (creating the folder), for reading outside a function.
pub fn open_bucket(root: &Path, bucket: &str) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let dir = root.join(bucket);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = LocalFileSystem::new_with_prefix(&dir)
        .with_context(|| format!("opening bucket {bucket} at {}", dir.display()))?;
    Ok(Arc::new(store))
}

/// Deletes the store, refusing folders that hold anything `civic` does not write.
pub fn remove(store: &Path) -> anyhow::Result<()> {
    if !store.exists() {
        return Ok(());
    }
    for entry in std::fs::read_dir(store).with_context(|| format!("reading {}", store.display()))? {
        let name = entry?.file_name();
        if !FOLDERS.iter().any(|o| name == *o) {
            bail!(
                "--fresh refuses to delete {}: it holds {:?}, which is not a civic store folder ({})",
                store.display(),
                name,
                FOLDERS.join(", ")
            );
        }
    }
    std::fs::remove_dir_all(store).with_context(|| format!("deleting {}", store.display()))
}

/// The reports folder of a store.
pub fn reports_dir(store: &Path) -> PathBuf {
    store.join("reports")
}

/// The default report path of a run.
pub fn default_report(store: &Path, dataset: &str, run: &str) -> PathBuf {
    reports_dir(store).join(format!("{dataset}-{run}.html"))
}

/// Gather, render and write the report; returns what it showed.
pub async fn write_report(
    store: &Path,
    dataset: &str,
    run: &str,
    layers: &[String],
    out: &Path,
) -> anyhow::Result<report::ReportData> {
    let runs = [(dataset.to_owned(), run.to_owned(), layers.to_vec())];
    Ok(write_reports(store, &runs, out).await?.remove(0))
}

/// One page with a section per (dataset, run, layers), written to `out`; the gathered data of each.
pub async fn write_reports(
    store: &Path,
    runs: &[(String, String, Vec<String>)],
    out: &Path,
) -> anyhow::Result<Vec<report::ReportData>> {
    let data = open_bucket(store, "data")?;
    let ledger = open_bucket(store, "ledger")?;
    // The report reads what the `process` and `ledger-api` functions may read.
    let loc = report::Locations {
        runs: prefixes::process::runs().into(),
        processed: prefixes::ledger_api::processed(),
        ledger: ledger_api::Locations::granted().ledger(),
    };
    let mut gathered = Vec::new();
    let mut across = None;
    for (dataset, run, layers) in runs {
        gathered.push(report::gather(&data, &ledger, &loc, dataset, run, layers).await?);
        if layers.iter().any(|l| l == "correlate") {
            let analysis = process::Locations::granted().analysis();
            let features = store.join("data").join(analysis.features_root().as_ref());
            across = report::cross::gather(
                &data,
                &analysis,
                dataset,
                run,
                correlate::Config::default().alpha,
                features.display().to_string(),
            )
            .await?;
        }
    }
    let html = report::render_with(&gathered, across.as_ref())?;
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    // Write beside, then rename: a reader never sees half a page.
    let tmp = out.with_extension("html.tmp");
    std::fs::write(&tmp, html).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, out).with_context(|| format!("renaming to {}", out.display()))?;
    Ok(gathered)
}

/// The dataset whose run `run` is in `store` (`data/runs/<dataset>/run=<run>/`); an error names the candidates
/// when none or several hold it.
pub fn dataset_of_run(store: &Path, run: &str) -> anyhow::Result<String> {
    let runs = store.join("data/runs");
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(&runs) {
        for e in entries.flatten() {
            if e.path().join(format!("run={run}")).is_dir() {
                found.push(e.file_name().to_string_lossy().into_owned());
            }
        }
    }
    found.sort();
    match found.as_slice() {
        [one] => Ok(one.clone()),
        [] => anyhow::bail!(
            "no dataset in {} has run {run} (looked for {}/<dataset>/run={run}/); pass --dataset ID",
            store.display(),
            runs.display()
        ),
        many => anyhow::bail!(
            "several datasets in {} have a run {run} ({}); pass --dataset ID",
            store.display(),
            many.join(", ")
        ),
    }
}
