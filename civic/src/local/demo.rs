//! The demo pipeline on the local runtime, in process: generate (or read) a MyLA311-shaped year -> the `ingest`
//! function's `handle`, which hands the run to the embedded worklist queue -> the `process` function's `handle`,
//! fed SQS events until every layer completed -> findings in the ledger, read back through the `ledger-api`
//! function served on loopback -> the HTML report; then the summary table. [`run`] returns what a caller (the
//! CLI, a conformance test) needs, including the write log when asked for.
//! Idempotent: the run id is derived from the input, finished stages are reused, and every write below is
//! deterministic or create-only, so a second run duplicates neither data nor events.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ingest_core::generate::{Dataset, DatasetOptions, YearSpan, generate_dataset};
use ingest_core::partitioner::PartitionerConfig;
use object_store::ObjectStoreExt;
use platform::Platform;

use super::driver::{self, Process};
use super::loopback::Loopback;
use super::summary::{Summary, peak_rss_kib};
use super::{Topology, progress, repo_root, store};

/// What to run the demo on.
#[derive(Debug, Clone)]
pub struct Demo {
    /// Rows to generate.
    pub rows: u64,
    /// Local store root.
    pub store: PathBuf,
    pub seed: u64,
    pub year: i32,
    /// Delete the store first.
    pub fresh: bool,
    /// A CSV instead of generated rows.
    pub input: Option<String>,
    /// A catalogued Socrata year instead of generated rows.
    pub socrata: Option<i32>,
    pub socrata_app_token: Option<String>,
    /// The datasets to run, in order (one report section each).
    pub datasets: Vec<String>,
    /// Report file (default: `<STORE>/reports/<DATASET>-<RUN>.html`, `demo-<RUN>.html` for several datasets).
    pub out: Option<PathBuf>,
    /// The ingest stage's memory target, in bytes.
    pub memory_budget: usize,
    /// Record every object the functions write ([`Outcome::writes`]).
    pub write_log: bool,
}

impl Demo {
    /// The demo's defaults over `store` with `rows` generated rows.
    pub fn new(store: impl Into<PathBuf>, rows: u64) -> Demo {
        Demo {
            rows,
            store: store.into(),
            seed: 1,
            year: 2023,
            fresh: false,
            input: None,
            socrata: None,
            socrata_app_token: None,
            datasets: datasets::Catalog::builtin()
                .ids()
                .map(str::to_owned)
                .collect(),
            out: None,
            memory_budget: 128 << 20,
            write_log: false,
        }
    }
}

/// What a demo run did.
pub struct Outcome {
    /// Every accounting check held.
    pub ok: bool,
    /// The first dataset's run id.
    pub run_id: String,
    /// (dataset, run id) of every dataset run.
    pub runs: Vec<(String, String)>,
    pub report: PathBuf,
    /// Every object written through the functions' buckets, per function (empty unless [`Demo::write_log`]).
    pub writes: Vec<platform::Write>,
    /// The ledger API on loopback, still serving (stop it, or keep it for `--serve`).
    pub api: Loopback,
}

/// A generated (or reused) input CSV.
struct Generated {
    path: PathBuf,
    /// Wall time of the generation (0 when reused).
    secs: f64,
    rows: u64,
    note: String,
    /// The line printed when the dataset's turn comes.
    message: String,
}

/// Generates every dataset's input in the background, each once per (dataset, year, seed, rows), on
/// [`GENERATORS`] threads that take the datasets in order: the first input is written while the second is, and
/// later ones while earlier datasets are ingested and processed, so only the first generation is on the demo's
/// critical path, and it does not leave a core idle. Inputs are handed over in `datasets` order; each has its
/// own counter of bytes written (the waiting bar shows it).
struct Inputs {
    pending: std::collections::VecDeque<Pending>,
}

/// Threads generating demo inputs at once: a 2-core machine's cores are otherwise idle but one while the first
/// input is written.
const GENERATORS: usize = 2;

struct Pending {
    rx: tokio::sync::oneshot::Receiver<anyhow::Result<Generated>>,
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl Inputs {
    fn start(d: &Demo, datasets: &[String]) -> Inputs {
        use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
        let mut pending = std::collections::VecDeque::new();
        let mut jobs = Vec::new();
        for dataset in datasets {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
            jobs.push(std::sync::Mutex::new(Some((
                dataset.clone(),
                tx,
                written.clone(),
            ))));
            pending.push_back(Pending { rx, written });
        }
        let jobs = Arc::new(jobs);
        let (next, failed) = (
            Arc::new(AtomicUsize::new(0)),
            Arc::new(AtomicBool::new(false)),
        );
        for _ in 0..GENERATORS.min(datasets.len()) {
            let (d, jobs, next, failed) = (d.clone(), jobs.clone(), next.clone(), failed.clone());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    // After a failure no later input is generated (its receiver reports the stop).
                    if i >= jobs.len() || failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let job = jobs[i].lock().expect("not poisoned").take();
                    let Some((dataset, tx, written)) = job else {
                        return;
                    };
                    let result = generate_input(&d, &dataset, &written);
                    if result.is_err() {
                        failed.store(true, Ordering::Relaxed);
                    }
                    let _ = tx.send(result);
                }
            });
        }
        Inputs { pending }
    }

    /// The next dataset's input, waiting (with a bar of the bytes written) while it is generated.
    async fn next(&mut self, dataset: &str, summary: &mut Summary) -> anyhow::Result<PathBuf> {
        use std::sync::atomic::Ordering;
        let Pending { mut rx, written } = self
            .pending
            .pop_front()
            .ok_or_else(|| anyhow::anyhow!("no input is being generated for {dataset}"))?;
        let pb = progress::bar(
            0,
            &format!("generate {dataset:<13} {{spinner}} [{{elapsed_precise}}] {{bytes}} written"),
        );
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(100));
        let generated = loop {
            tokio::select! {
                got = &mut rx => break got.ok(),
                _ = tick.tick() => pb.set_position(written.load(Ordering::Relaxed)),
            }
        };
        pb.finish_and_clear();
        let g = generated
            .ok_or_else(|| anyhow::anyhow!("the input generator stopped before {dataset}"))??;
        eprintln!("{}", g.message);
        summary.stage_took("generate", g.secs, None, Some(g.rows), None, &g.note);
        Ok(g.path)
    }
}

/// Generates the input CSV once per (year, seed, rows); written beside and renamed, so a file that exists is
/// whole. `written` is set to the bytes written so far.
fn generate_input(
    d: &Demo,
    dataset: &str,
    written: &std::sync::atomic::AtomicU64,
) -> anyhow::Result<Generated> {
    let generator: Dataset = dataset.parse().with_context(|| {
        format!("the demo generates its input, and there is no generator for {dataset}: pass --input FILE")
    })?;
    let dir = d.store.join("inputs");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(format!(
        "{}-{}-seed{}-{}.csv",
        dataset, d.year, d.seed, d.rows
    ));
    if path.is_file() {
        return Ok(Generated {
            message: format!("generate: reusing {}", path.display()),
            path,
            secs: 0.0,
            rows: d.rows,
            note: "reused".into(),
        });
    }
    let started = Instant::now();
    let tmp = path.with_extension("csv.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut out = Counting {
        inner: std::io::BufWriter::with_capacity(1 << 20, file),
        written,
    };
    written.store(0, std::sync::atomic::Ordering::Relaxed);
    let stats = generate_dataset(
        generator,
        &mut out,
        DatasetOptions::new(d.rows, d.seed, YearSpan::single(d.year)),
    )
    .with_context(|| format!("generating {}", tmp.display()))?;
    out.flush()
        .with_context(|| format!("writing {}", tmp.display()))?;
    drop(out);
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(Generated {
        message: format!(
            "generate: {} rows ({} malformed on purpose) into {}",
            stats.rows,
            stats.malformed,
            path.display()
        ),
        path,
        secs: started.elapsed().as_secs_f64(),
        rows: stats.rows,
        note: format!("{} malformed rows", stats.malformed),
    })
}

/// A writer that counts the bytes written into a shared counter (the generation's progress).
struct Counting<'a, W> {
    inner: W,
    written: &'a std::sync::atomic::AtomicU64,
}

impl<W: std::io::Write> std::io::Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.written
            .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The run id: a function of the input, so the same input is the same run.
fn run_id(d: &Demo, input: &str) -> String {
    if let Some(year) = d.socrata {
        return format!("demo-socrata-{year}");
    }
    match &d.input {
        None => format!("demo-{}-s{}-n{}", d.year, d.seed, d.rows),
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

/// Ingests through the `ingest` function on its local platform, which hands the run to the worklist queue; a
/// run already ingested is reused (returns false: nothing was handed off).
async fn ingest(
    d: &Demo,
    dataset: &str,
    topo: &Topology,
    input: &str,
    run: &str,
    summary: &mut Summary,
) -> anyhow::Result<(ingest_core::RunManifest, bool)> {
    let started = Instant::now();
    let data = topo
        .platform("ingest")?
        .bucket(::ingest::Locations::granted().raw.bucket())?;
    let runs = ::ingest::Locations::granted().runs;
    let key = contract::manifest::key(runs, dataset, run)?;
    if data.head(&key).await.is_ok() {
        let m = contract::manifest::read(data.as_ref(), runs, dataset, run).await?;
        eprintln!(
            "ingest {dataset}: run {run} already ingested ({} rows); reusing it",
            m.rows_read
        );
        ingest_stage(summary, started, &m, "reused");
        return Ok((m, false));
    }
    let options = ::ingest::Options {
        partitioner: Some(PartitionerConfig::for_process(d.memory_budget)),
        progress: Some(progress::ingest(&format!("{dataset:<13} ingest  "), false)),
        ..Default::default()
    };
    let source = d.socrata.is_none().then_some(input);
    let event = super::ingest::event(dataset, source, d.socrata, Some(run))?;
    driver::ingest(topo, event, options, None).await?;
    let m = contract::manifest::read(data.as_ref(), runs, dataset, run).await?;
    eprintln!(
        "ingest {dataset}: {} rows read, {} written into {} partitions, {} quarantined; run handed to the worklist",
        m.rows_read,
        m.rows_written,
        m.partitions.len(),
        m.rows_quarantined
    );
    let note = format!("{} partitions", m.partitions.len());
    ingest_stage(summary, started, &m, &note);
    Ok((m, true))
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

/// The data bucket and the worklist's manifest of `run`.
async fn run_manifest(
    d: &Demo,
    dataset: &str,
    run: &str,
) -> anyhow::Result<(
    Arc<dyn object_store::ObjectStore>,
    worklist::manifest::RunManifest,
)> {
    let data = store::open_bucket(&d.store, "data")?;
    let manifest = worklist::manifest::load(
        data.as_ref(),
        &process::Locations::granted().worklist(),
        dataset,
        run,
    )
    .await?;
    Ok((data, manifest))
}

/// Every layer through the `process` function with a bar per layer; the run's first message is sent here only
/// when the ingest function did not just hand it off (a reused run).
async fn process_layers(
    d: &Demo,
    dataset: &str,
    topo: &Topology,
    run: &str,
    handed_off: bool,
    summary: &mut Summary,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let (data, manifest) = run_manifest(d, dataset, run).await?;
    // The correlate layer pairs every analyzed dataset: the demo runs it once, as its own stage after the last
    // dataset (see `correlate_stage`); the deployed pipeline runs it after each dataset's analyze layer.
    let layers: Vec<String> = driver::chain(&manifest, None)
        .into_iter()
        .filter(|l| l != CORRELATE)
        .collect();
    let p = Process::new(topo, dataset, run, layers.clone())?;
    let work = &topo.worklist;
    let lanes = manifest.lanes.unwrap_or(work.lanes);
    eprintln!(
        "process {dataset}: {} job(s) per layer, layers {} ({lanes} lane(s), visibility {:?}, {}, batch size {}; from {}/{})",
        manifest.partitions.len(),
        layers.join(" -> "),
        work.visibility,
        match work.max_receives {
            Some(n) => format!("DLQ after {n} receives"),
            None => "no DLQ".to_string(),
        },
        work.batch_size,
        work.feature,
        work.queue
    );
    if !handed_off {
        let attempts = worklist::message::DEFAULT_MAX_ATTEMPTS;
        p.send_first(&layers[0], manifest.job_ids(), lanes, attempts)
            .await?;
    }
    let stop = Arc::new(tokio::sync::Notify::new());
    let watcher = tokio::spawn(progress::watch_layers(
        data.clone(),
        dataset.to_owned(),
        run.to_owned(),
        layers.clone(),
        manifest.partitions.len() as u64,
        stop.clone(),
    ));
    let driven = p.drive().await;
    stop.notify_one();
    let _ = watcher.await;
    let driven = driven?;
    if driven.dead_letters > 0 {
        anyhow::bail!(
            "{} message(s) dead-lettered; see `civic worklist status --run {run} --store {}`",
            driven.dead_letters,
            d.store.display()
        );
    }
    let note = format!(
        "{} invocation(s), {} record(s), {} redelivered",
        driver::invocations(&driven.summary),
        driven.summary.steps,
        driven.summary.errors
    );
    summary.stage("process", started, None, None, None, &note);
    Ok(layers)
}

/// The correlate layer's name in the processing chain.
const CORRELATE: &str = "correlate";

/// The correlate layer over the run of the last dataset, through the `process` function and the worklist like
/// every layer (one job per partition; the fan-in writes the association table and the events), timed as a
/// stage of its own.
async fn correlate_stage(
    d: &Demo,
    dataset: &str,
    topo: &Topology,
    run: &str,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (data, manifest) = run_manifest(d, dataset, run).await?;
    if worklist::report::read(
        data.as_ref(),
        prefixes::process::runs().into(),
        dataset,
        run,
        CORRELATE,
    )
    .await?
    .is_some()
    {
        summary.stage(
            CORRELATE,
            started,
            None,
            None,
            None,
            "already done for this run",
        );
        return Ok(());
    }
    let p = Process::new(topo, dataset, run, vec![CORRELATE.to_owned()])?;
    let lanes = manifest.lanes.unwrap_or(topo.worklist.lanes);
    p.send_first(
        CORRELATE,
        manifest.job_ids(),
        lanes,
        worklist::message::DEFAULT_MAX_ATTEMPTS,
    )
    .await?;
    let driven = p.drive().await?;
    if driven.dead_letters > 0 {
        anyhow::bail!(
            "{} correlate message(s) dead-lettered; see `civic worklist status --run {run} --store {}`",
            driven.dead_letters,
            d.store.display()
        );
    }
    summary.stage(
        CORRELATE,
        started,
        None,
        None,
        None,
        &format!(
            "{} invocation(s) across datasets",
            driver::invocations(&driven.summary)
        ),
    );
    Ok(())
}

/// Run the whole demo; prints the stages and a summary table per dataset. The ledger API keeps serving in the
/// outcome.
pub async fn run(d: &Demo) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    anyhow::ensure!(!d.datasets.is_empty(), "no dataset to run (--datasets)");
    anyhow::ensure!(
        d.datasets.len() == 1 || (d.input.is_none() && d.socrata.is_none()),
        "--input and --socrata read one dataset's source: pick it with --datasets ID"
    );
    for id in &d.datasets {
        datasets::Catalog::builtin().dataset(id)?;
    }
    if d.fresh {
        store::remove(&d.store)?;
        eprintln!("fresh: deleted {}", d.store.display());
    }
    let settings = super::Settings {
        write_log: d.write_log,
        ..super::ingest::settings(d.socrata_app_token.as_deref())
    };
    if d.datasets.is_empty() {
        anyhow::bail!("no datasets to run (--datasets names at least one)");
    }
    // One topology, and so one embedded worklist queue, per dataset: dataset k+1 is ingested while dataset k's
    // layers run, as two datasets' pipelines run side by side on AWS (a worklist job keeps one core busy, the
    // ingest function its CSV parser and Parquet encoder). All of them share the store.
    let topos = d
        .datasets
        .iter()
        .map(|_| Topology::load_with(&repo_root(), &d.store, &settings))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let data = store::open_bucket(&d.store, "data")?;
    let reports_dir = d
        .out
        .as_deref()
        .and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_owned)
        .unwrap_or_else(|| store::reports_dir(&d.store));
    let api = Loopback::start(&topos[0], reports_dir).await?;
    eprintln!("ledger-api: serving on {}", api.url());
    // Each dataset: its input, its run, its layers, then one report page over all of them.
    struct Ingested {
        dataset: String,
        run: String,
        manifest: ingest_core::RunManifest,
        handed_off: bool,
        summary: Summary,
        before: usize,
        topo: usize,
    }
    struct Ran {
        dataset: String,
        run: String,
        manifest: ingest_core::RunManifest,
        layers: Vec<String>,
        summary: Summary,
        before: usize,
    }
    let layers_of = |mut i: Ingested| {
        let topo = &topos[i.topo];
        async move {
            let layers =
                process_layers(d, &i.dataset, topo, &i.run, i.handed_off, &mut i.summary).await?;
            anyhow::Ok(Ran {
                dataset: i.dataset,
                run: i.run,
                manifest: i.manifest,
                layers,
                summary: i.summary,
                before: i.before,
            })
        }
    };
    let mut ran = Vec::new();
    // Generated inputs (none with --input or --socrata), ahead of their turn.
    let generated: &[String] = match (&d.input, d.socrata) {
        (None, None) => &d.datasets,
        _ => &[],
    };
    let mut inputs = Inputs::start(d, generated);
    let mut pending: Option<Ingested> = None;
    for (k, dataset) in d.datasets.iter().enumerate() {
        let inputs = &mut inputs;
        let (api, topo) = (&api, &topos[k]);
        let next = async move {
            let mut summary = Summary::default();
            let input = match (&d.input, d.socrata) {
                (Some(input), _) => input.clone(),
                (None, Some(year)) => format!("socrata:{year}"),
                (None, None) => inputs
                    .next(dataset, &mut summary)
                    .await?
                    .display()
                    .to_string(),
            };
            let run = run_id(d, &input);
            let before = api.events(dataset).await?.len();
            let (manifest, handed_off) =
                ingest(d, dataset, topo, &input, &run, &mut summary).await?;
            anyhow::Ok(Ingested {
                dataset: dataset.clone(),
                run,
                manifest,
                handed_off,
                summary,
                before,
                topo: k,
            })
        };
        let next = match pending.take() {
            Some(previous) => {
                let (next, previous) = tokio::join!(next, layers_of(previous));
                ran.push(previous?);
                next?
            }
            None => next.await?,
        };
        pending = Some(next);
    }
    if let Some(last) = pending.take() {
        ran.push(layers_of(last).await?);
    }
    if ran.len() >= 2
        && let Some(last) = ran.last_mut()
    {
        let topo = topos.last().expect("one topology per dataset");
        correlate_stage(d, &last.dataset, topo, &last.run, &mut last.summary).await?;
        last.layers.push(CORRELATE.to_owned());
    }
    let out = d.out.clone().unwrap_or_else(|| match ran.as_slice() {
        [one] => store::default_report(&d.store, &one.dataset, &one.run),
        _ => store::default_report(&d.store, "all", &ran[0].run),
    });
    let report_started = Instant::now();
    let runs: Vec<(String, String, Vec<String>)> = ran
        .iter()
        .map(|r| (r.dataset.clone(), r.run.clone(), r.layers.clone()))
        .collect();
    let shown = store::write_reports(&d.store, &runs, &out).await?;
    let shown_out = out.display().to_string();
    let mut ok = true;
    for (r, shown) in ran.iter_mut().zip(&shown) {
        r.summary
            .stage("report", report_started, None, None, None, &shown_out);
        let after = api.events(&r.dataset).await?;
        let new_events = after.len() - r.before.min(after.len());
        println!();
        println!("== {} (run {})", r.dataset, r.run);
        ok &= r
            .summary
            .print(&data, &r.manifest, &r.layers, &after, new_events, shown)
            .await?;
    }
    println!();
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
    let first = &ran[0];
    println!(
        "{}; report {}",
        ran.iter()
            .map(|r| format!("{} run {}", r.dataset, r.run))
            .collect::<Vec<_>>()
            .join(", "),
        out.display()
    );
    Ok(Outcome {
        ok,
        run_id: first.run.clone(),
        runs: ran
            .iter()
            .map(|r| (r.dataset.clone(), r.run.clone()))
            .collect(),
        report: out,
        writes: topos.iter().flat_map(Topology::writes).collect(),
        api,
    })
}
