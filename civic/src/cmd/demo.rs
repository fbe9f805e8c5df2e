//! `civic demo`: the whole pipeline on one machine, wired from the deployed manifests (see [`super::topology`]):
//! generate (or read) a MyLA311-shaped year -> the `ingest` function's handler, which hands the run to the
//! embedded worklist queue -> the `process` function's handler, fed SQS events until every layer completed ->
//! findings in the ledger, read back through the `ledger-api` function served on loopback -> the HTML report;
//! then a summary table. Each function wires itself from its local platform (its template's variables, buckets
//! as store folders, embedded queues), exactly as its `main` does from AWS.
//! Idempotent: the run id is derived from the input, finished stages are reused, and every write below is
//! deterministic or create-only, so a second run duplicates neither data nor events.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use ingest_core::generate::{GenOptions, generate};
use ingest_core::partitioner::PartitionerConfig;
use ingest_core::{IngestOptions, Progress};
use object_store::ObjectStoreExt;
use platform::Platform;

use super::demo_process::process_layers;
use super::demo_summary::{Summary, peak_rss_kib};
use super::loopback::Loopback;
use super::{process, report, topology};

/// Arguments of `civic demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rows to generate (about one real MyLA311 year by default).
    #[arg(long, default_value_t = 1_500_000)]
    pub rows: u64,
    /// Local store root (buckets <STORE>/data and <STORE>/ledger; the report goes to <STORE>/reports).
    #[arg(long, value_name = "DIR", default_value = "./.civic")]
    pub store: PathBuf,
    /// Generator seed: the same seed, rows and year give the same rows and the same run id.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Year of the generated data.
    #[arg(long, default_value_t = 2023)]
    pub year: i32,
    /// Delete the store first and start over.
    #[arg(long)]
    pub fresh: bool,
    /// Use this CSV (path, `file:PATH` or http(s) URL) instead of generating rows.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub input: Option<String>,
    /// Read this catalogued MyLA311 year from the Socrata portal instead of generating rows (needs network;
    /// app token from SOCRATA_APP_TOKEN).
    #[arg(long, value_name = "YEAR", conflicts_with = "input")]
    pub socrata: Option<i32>,
    /// Dataset id.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Report file (default: <STORE>/reports/<DATASET>-<RUN>.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Memory target of the ingest stage (see `civic ingest --memory-budget`), e.g. 128MiB.
    #[arg(long, default_value = "128MiB", value_parser = super::ingest::parse_size)]
    pub memory_budget: usize,
    /// After the run, keep serving the ledger API and the report on loopback until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    process::init_logs();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run_async(args))
}

/// A progress bar on a terminal, hidden otherwise (each stage also prints one line when it ends).
pub(super) fn bar(len: u64, template: &str) -> ProgressBar {
    let pb = if std::io::stderr().is_terminal() {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    pb.set_style(ProgressStyle::with_template(template).expect("valid template"));
    pb.enable_steady_tick(Duration::from_millis(120));
    pb
}

/// Deletes the store, refusing folders that hold anything a demo does not write.
fn remove_store(store: &Path) -> anyhow::Result<()> {
    if !store.exists() {
        return Ok(());
    }
    const OURS: [&str; 4] = ["data", "ledger", "inputs", "reports"];
    for entry in std::fs::read_dir(store).with_context(|| format!("reading {}", store.display()))? {
        let name = entry?.file_name();
        if !OURS.iter().any(|o| name == *o) {
            bail!(
                "--fresh refuses to delete {}: it holds {:?}, which is not a civic store folder ({})",
                store.display(),
                name,
                OURS.join(", ")
            );
        }
    }
    std::fs::remove_dir_all(store).with_context(|| format!("deleting {}", store.display()))
}

/// Generates the input CSV once per (year, seed, rows); written beside and renamed, so a file that exists is whole.
fn generate_input(args: &Args, summary: &mut Summary) -> anyhow::Result<PathBuf> {
    let dir = args.store.join("inputs");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!(
        "{}-{}-seed{}-{}.csv",
        args.dataset, args.year, args.seed, args.rows
    ));
    let started = Instant::now();
    if path.is_file() {
        eprintln!("generate: reusing {}", path.display());
        summary.stage("generate", started, None, Some(args.rows), None, "reused");
        return Ok(path);
    }
    let pb = bar(
        args.rows,
        "generate  {spinner} [{elapsed_precise}] {bytes} written ({bytes_per_sec})",
    );
    let tmp = path.with_extension("csv.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut out = pb.wrap_write(std::io::BufWriter::with_capacity(1 << 20, file));
    let stats = generate(&mut out, GenOptions::new(args.rows, args.seed, args.year))?;
    out.flush()?;
    drop(out);
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
    pb.finish_and_clear();
    eprintln!(
        "generate: {} rows ({} malformed on purpose) into {}",
        stats.rows,
        stats.malformed,
        path.display()
    );
    summary.stage(
        "generate",
        started,
        None,
        Some(stats.rows),
        None,
        &format!("{} malformed rows", stats.malformed),
    );
    Ok(path)
}

/// The run id: a function of the input, so the same input is the same run.
fn run_id(args: &Args, input: &str) -> String {
    if let Some(year) = args.socrata {
        return format!("demo-socrata-{year}");
    }
    match &args.input {
        None => format!("demo-{}-s{}-n{}", args.year, args.seed, args.rows),
        Some(_) => {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            input.hash(&mut h);
            std::fs::metadata(input.trim_start_matches("file:"))
                .map(|m| m.len())
                .unwrap_or(0)
                .hash(&mut h);
            format!("demo-input-{:016x}", h.finish())
        }
    }
}

struct IngestBar(ProgressBar);

impl Progress for IngestBar {
    fn start(&self, total_bytes: Option<u64>) {
        if let Some(t) = total_bytes {
            self.0.set_length(t);
        }
    }
    fn update(&self, rows: u64, bytes: u64) {
        self.0.set_position(bytes);
        self.0.set_message(format!("{rows} rows"));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

/// Ingests through the `ingest` function's handler on its local platform, which hands the run to the worklist
/// queue; a run already ingested is reused (returns false: nothing was handed off).
async fn ingest(
    args: &Args,
    topo: &topology::Local,
    input: &str,
    run: &str,
    summary: &mut Summary,
) -> anyhow::Result<(ingest_core::RunManifest, bool)> {
    let started = Instant::now();
    let platform = topo.platform("ingest")?;
    let data = platform.bucket(::ingest::Locations::granted().raw.bucket())?;
    let runs = ::ingest::Locations::granted().runs;
    let key = object_store::path::Path::from(ingest_core::locations::run_manifest_for_reading(
        runs,
        &args.dataset,
        run,
    )?);
    if data.head(&key).await.is_ok() {
        let m = contract::manifest::read(data.as_ref(), runs, &args.dataset, run).await?;
        eprintln!(
            "ingest: run {run} already ingested ({} rows); reusing it",
            m.rows_read
        );
        ingest_stage(summary, started, &m, "reused");
        return Ok((m, false));
    }
    let pb = bar(
        0,
        "ingest    {spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {msg})",
    );
    let opts = IngestOptions {
        partitioner: PartitionerConfig::for_process(args.memory_budget),
        progress: Some(Arc::new(IngestBar(pb))),
        ..Default::default()
    };
    let event = ::ingest::IngestEvent {
        dataset: args.dataset.clone(),
        year: args.socrata,
        source: args.socrata.is_none().then(|| input.to_owned()),
        run_id: Some(run.to_owned()),
    };
    let queue = platform.queue(prefixes::ingest::queues::WORKLIST)?;
    ::ingest::handle_with(event, data.clone(), queue.as_ref(), opts).await?;
    let m = contract::manifest::read(data.as_ref(), runs, &args.dataset, run).await?;
    eprintln!(
        "ingest: {} rows read, {} written into {} partitions, {} quarantined; run handed to the worklist",
        m.rows_read,
        m.rows_written,
        m.partitions.len(),
        m.rows_quarantined
    );
    ingest_stage(
        summary,
        started,
        &m,
        &format!("{} partitions", m.partitions.len()),
    );
    Ok((m, true))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    if args.fresh {
        remove_store(&args.store)?;
        eprintln!("fresh: deleted {}", args.store.display());
    }
    let mut summary = Summary::default();
    let input = match (&args.input, args.socrata) {
        (Some(input), _) => input.clone(),
        (None, Some(year)) => format!("socrata:{year}"),
        (None, None) => generate_input(&args, &mut summary)?.display().to_string(),
    };
    let run = run_id(&args, &input);
    let topo = topology::Local::load(&topology::repo_root(), &args.store)?;
    let data = report::open_bucket(&args.store, "data")?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| report::default_out(&args.store, &args.dataset, &run));
    let reports = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let api = Loopback::start(&topo, reports.to_owned()).await?;
    eprintln!("ledger-api: serving on {}", api.url());
    let before = api.events(&args.dataset).await?.len();
    let (manifest, handed_off) = ingest(&args, &topo, &input, &run, &mut summary).await?;
    let layers = process_layers(&args, &topo, &data, &run, handed_off, &mut summary).await?;
    let after = api.events(&args.dataset).await?;
    let report_started = Instant::now();
    let shown = report::write_report(&args.store, &args.dataset, &run, &layers, &out).await?;
    summary.stage(
        "report",
        report_started,
        None,
        None,
        None,
        &out.display().to_string(),
    );
    let ok = summary
        .print(
            &data,
            &manifest,
            &layers,
            &after,
            after.len() - before.min(after.len()),
            &shown,
        )
        .await?;
    println!(
        "ledger read through the ledger-api function at {}/events",
        api.url()
    );
    println!(
        "wall time {:.1}s, peak memory {}",
        started.elapsed().as_secs_f64(),
        peak_rss_kib().map_or("unknown".into(), |k| format!(
            "{:.0} MiB",
            k as f64 / 1024.0
        ))
    );
    println!("run {run}; report {}", out.display());
    if args.serve {
        use std::io::Write as _;
        println!(
            "serving until Ctrl-C: report {url}/report ({url}/reports/{file}), ledger API {url}/events, \
             OpenAPI {url}/openapi.json",
            url = api.url(),
            file = out.file_name().unwrap_or_default().to_string_lossy()
        );
        std::io::stdout().flush()?;
        api.serve_until_ctrl_c().await?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The ingest row of the summary table, from the run manifest.
fn ingest_stage(summary: &mut Summary, started: Instant, m: &ingest_core::RunManifest, note: &str) {
    summary.stage(
        "ingest",
        started,
        Some(m.rows_read),
        Some(m.rows_written),
        Some(m.rows_quarantined),
        note,
    );
}
