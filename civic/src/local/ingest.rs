//! `civic ingest` on the local runtime: the `ingest` function's own entry point (`ingest::Function::handle`, its
//! continuations run in process) over the store's data bucket, with the CLI's memory budget, compression, catalog
//! and Socrata settings as the function's options; prints the run's accounting and the manifest's path last.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use ingest_core::partitioner::{PartitionerConfig, default_encode_threads};

use super::{Settings, Topology, driver, repo_root, store};

/// What to ingest, where, and how.
#[derive(Debug, Clone)]
pub struct IngestRun {
    pub dataset: String,
    /// A path (plain or gzip), `file:PATH` or an http(s) URL.
    pub input: Option<String>,
    /// A catalogued Socrata year instead of `input`.
    pub socrata: Option<i32>,
    pub socrata_base_url: Option<String>,
    pub page_rows: usize,
    /// The Socrata app token: the value of the function's SSM parameter on the local topology.
    pub socrata_app_token: Option<String>,
    pub store: PathBuf,
    pub run_id: Option<String>,
    /// The whole process's memory target, in bytes.
    pub memory_budget: usize,
    pub zstd_level: i32,
    /// Threads encoding a row group's columns (None: the cores available, at most 4).
    pub encode_threads: Option<usize>,
    /// Dataset catalog directory instead of the one compiled into the function.
    pub datasets: Option<PathBuf>,
}

/// The topology settings that give the function its SSM parameter when a token is supplied.
pub fn settings(socrata_app_token: Option<&str>) -> Settings {
    let mut parameters = BTreeMap::new();
    if let Some(token) = socrata_app_token.filter(|t| !t.is_empty()) {
        parameters.insert(
            ingest::app_token::PARAMETER.name.to_owned(),
            token.to_owned(),
        );
    }
    Settings {
        parameters,
        ..Settings::default()
    }
}

/// The function's invocation event for a source.
pub fn event(
    dataset: &str,
    input: Option<&str>,
    socrata: Option<i32>,
    run_id: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    let event = ingest::IngestEvent {
        dataset: dataset.to_owned(),
        year: socrata,
        source: match socrata {
            Some(_) => None,
            None => Some(
                input
                    .context("give --input PATH_OR_URL or --socrata YEAR")?
                    .to_owned(),
            ),
        },
        run_id: run_id.map(str::to_owned),
    };
    Ok(serde_json::to_value(event)?)
}

/// Ingest through the function; exit 0 with the manifest's path as the last stdout line.
pub async fn run(args: IngestRun) -> anyhow::Result<ExitCode> {
    let topology = Topology::load_with(
        &repo_root(),
        &args.store,
        &settings(args.socrata_app_token.as_deref()),
    )?;
    let partitioner = PartitionerConfig {
        zstd_level: args.zstd_level,
        encode_threads: args.encode_threads.unwrap_or_else(default_encode_threads),
        ..PartitionerConfig::for_process(args.memory_budget)
    };
    let options = ingest::Options {
        partitioner: Some(partitioner.clone()),
        progress: Some(super::progress::ingest("", true)),
        catalog: args
            .datasets
            .as_deref()
            .map(ingest_core::Catalog::from_dir)
            .transpose()?,
        socrata_base_url: args.socrata_base_url.clone(),
        page_rows: Some(args.page_rows),
    };
    let event = event(
        &args.dataset,
        args.input.as_deref(),
        args.socrata,
        args.run_id.as_deref(),
    )?;
    let started = Instant::now();
    let answer = driver::ingest(&topology, event, options, None).await?;
    let secs = started.elapsed().as_secs_f64();
    let run_id = answer["run_id"].as_str().unwrap_or_default().to_owned();
    let data = store::open_bucket(&args.store, "data")?;
    let m = contract::manifest::read(
        data.as_ref(),
        ::ingest::Locations::granted().runs,
        &args.dataset,
        &run_id,
    )
    .await?;
    let bytes: u64 = m.partitions.iter().map(|p| p.bytes).sum();
    eprintln!(
        "run {}: read {} rows, wrote {} into {} partitions ({} bytes), quarantined {}; {:.1}s, {:.0} rows/s; \
         partitioner peak {} of its {} bytes (process target {}); handed to the in-process worklist queue \
         (`civic process --run {}` processes it)",
        m.run_id,
        m.rows_read,
        m.rows_written,
        m.partitions.len(),
        bytes,
        m.rows_quarantined,
        secs,
        m.rows_read as f64 / secs.max(1e-9),
        answer["partitioner_peak_bytes"],
        partitioner.memory_budget,
        args.memory_budget,
        m.run_id
    );
    let manifest = answer["manifest"].as_str().unwrap_or_default();
    println!("{}", args.store.join("data").join(manifest).display());
    Ok(ExitCode::SUCCESS)
}
