//! `civic process`: drive every declared layer of an ingested run through the embedded worklist queue, with the
//! same consumer step the `process` Lambda runs, and print the layer reports.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use worklist::local::{DrainOptions, drain, persist_dead_letters};
use worklist::manifest::RunManifest;
use worklist::queue::embedded::Redrive;
use worklist::{Config, Consumer, EmbeddedQueue, Queue, Registry, WorkMessage};

/// Arguments of `civic process`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id to process (as printed by `civic ingest`).
    #[arg(long)]
    pub run: String,
    /// Local store root; the data bucket is <STORE>/data.
    #[arg(long, default_value = "./.civic")]
    pub store: PathBuf,
    /// Dataset id.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Layer chain, in order; used when the run manifest declares none.
    #[arg(long, value_delimiter = ',', default_value = "transform,analyze")]
    pub layers: Vec<String>,
    /// Independent chains per layer; used when the run manifest declares no `lanes`.
    #[arg(long, default_value_t = 1)]
    pub lanes: u32,
    /// Attempts a job gets before it is recorded as failed.
    #[arg(long, default_value_t = worklist::message::DEFAULT_MAX_ATTEMPTS)]
    pub max_attempts: u32,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    init_logs();
    tokio::runtime::Runtime::new()?.block_on(run_async(args))
}

/// One log line per worklist step on stderr with `RUST_LOG=worklist=info` (warnings only by default).
pub(crate) fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let store = open_store(&args.store)?;
    let manifest = RunManifest::load(store.as_ref(), &args.dataset, &args.run).await?;
    let layers = manifest.layers.clone().unwrap_or(args.layers.clone());
    let lanes = manifest.lanes.unwrap_or(args.lanes);
    let ledger = open_ledger(&args.store)?;
    let local = Local::with_ledger(
        store.clone(),
        Some(ledger),
        &args.dataset,
        &args.run,
        layers.clone(),
    )
    .await?;
    let firsts = WorkMessage::first_of_layer_with(
        &args.dataset,
        &args.run,
        &layers[0],
        manifest.job_ids(),
        lanes,
        args.max_attempts,
    );
    for first in firsts {
        let body =
            worklist::codec::encode(&first, store.as_ref(), local.consumer.config.max_body_bytes)
                .await?;
        local.queue.send(&body, None).await?;
    }
    eprintln!(
        "process {}: {} job(s), layers {}, {lanes} lane(s)",
        args.run,
        manifest.partitions.len(),
        layers.join(" -> ")
    );
    local.drive_and_report().await
}

/// Open `<root>/data` as the data bucket.
pub(crate) fn open_store(root: &Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
    let data = root.join("data");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    let store = LocalFileSystem::new_with_prefix(&data)
        .with_context(|| format!("opening store {}", data.display()))?;
    Ok(Arc::new(store))
}

/// The job runners available locally: the same registry the `process` Lambda builds.
pub(crate) async fn registry(
    store: &Arc<dyn ObjectStore>,
    ledger: Option<&ledger::Ledger>,
    dataset: &str,
) -> anyhow::Result<Registry> {
    process::registry(store, ledger, dataset)
}

/// Open `<root>/ledger` as the ledger bucket.
pub(crate) fn open_ledger(root: &Path) -> anyhow::Result<ledger::Ledger> {
    let dir = root.join("ledger");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let store = LocalFileSystem::new_with_prefix(&dir)
        .with_context(|| format!("opening store {}", dir.display()))?;
    Ok(ledger::Ledger::new(Arc::new(store)))
}

pub(crate) use process::analysis_config;

/// The local topology: embedded work queue + DLQ (redrive after 5 receives) and a consumer on them.
pub(crate) struct Local {
    pub store: Arc<dyn ObjectStore>,
    /// Where the `analyze` layer appends findings (None: no analyze runner).
    pub ledger: Option<ledger::Ledger>,
    pub queue: Arc<EmbeddedQueue>,
    pub dlq: Arc<EmbeddedQueue>,
    pub consumer: Consumer,
    pub dataset: String,
    pub run_id: String,
}

impl Local {
    /// Check that every layer of `layers` has a runner, then build the queues and consumer.
    pub(crate) async fn new(
        store: Arc<dyn ObjectStore>,
        dataset: &str,
        run_id: &str,
        layers: Vec<String>,
    ) -> anyhow::Result<Local> {
        Self::with_ledger(store, None, dataset, run_id, layers).await
    }

    /// Like [`Local::new`], with the ledger the `analyze` layer writes findings to.
    pub(crate) async fn with_ledger(
        store: Arc<dyn ObjectStore>,
        ledger: Option<ledger::Ledger>,
        dataset: &str,
        run_id: &str,
        layers: Vec<String>,
    ) -> anyhow::Result<Local> {
        if layers.is_empty() {
            bail!("no layers to run (the manifest or --layers must name at least one)");
        }
        let runners = registry(&store, ledger.as_ref(), dataset).await?;
        let missing = runners.missing(&layers);
        if !missing.is_empty() {
            bail!(
                "no job runner registered for layer(s) {} of dataset {dataset} (registered: {}); \
                 pass --layers with registered layers only, e.g. --layers {}",
                missing.join(", "),
                if runners.layers().is_empty() {
                    "none".to_owned()
                } else {
                    runners.layers().join(", ")
                },
                runners.layers().first().copied().unwrap_or("<none>")
            );
        }
        let dlq = Arc::new(EmbeddedQueue::new("process-dlq"));
        let queue = Arc::new(EmbeddedQueue::with_clock(
            "process",
            Arc::new(worklist::clock::SystemClock),
            Some(Redrive {
                dlq: dlq.clone(),
                max_receives: 5,
            }),
        ));
        let mut config = Config::new(layers);
        config.retry_delay = Duration::from_millis(200);
        let consumer = Consumer::new(store.clone(), queue.clone(), dlq.clone(), runners, config);
        Ok(Local {
            store,
            ledger,
            queue,
            dlq,
            consumer,
            dataset: dataset.to_owned(),
            run_id: run_id.to_owned(),
        })
    }

    /// Drain the queue, keep dead letters in the store, print each layer's report; exit 1 on any failure.
    pub(crate) async fn drive_and_report(&self) -> anyhow::Result<ExitCode> {
        let summary = drain(
            &self.consumer,
            self.queue.as_ref(),
            &DrainOptions::default(),
        )
        .await?;
        let dead = persist_dead_letters(
            self.store.as_ref(),
            self.dlq.as_ref(),
            &self.dataset,
            &self.run_id,
        )
        .await?;
        let mut ok = dead == 0;
        let analyzed = self.consumer.config.layers.iter().any(|l| l == "analyze");
        if let (Some(ledger), true) = (&self.ledger, analyzed) {
            // City-wide findings need every partition; they run once the analyze layer has fanned in.
            if worklist::report::read(self.store.as_ref(), &self.dataset, &self.run_id, "analyze")
                .await?
                .is_some()
            {
                let r = analysis::analyze_citywide(
                    &self.store,
                    ledger,
                    &analysis_config()?,
                    &self.dataset,
                    &self.run_id,
                )
                .await
                .map_err(|e| anyhow::anyhow!("city-wide analysis: {e}"))?;
                println!(
                    "citywide: {} finding(s), {} new event(s), {} already in the ledger",
                    r.findings.len(),
                    r.events_created,
                    r.events_duplicate
                );
            }
        }
        for layer in &self.consumer.config.layers {
            match worklist::report::read(self.store.as_ref(), &self.dataset, &self.run_id, layer)
                .await?
            {
                Some(r) => {
                    println!(
                        "{layer}: {} done, {} failed of {} ({} ms of job time)",
                        r.jobs_done, r.jobs_failed, r.jobs_total, r.total_duration_ms
                    );
                    for j in r
                        .jobs
                        .iter()
                        .filter(|j| j.status == worklist::report::JobStatus::Failed)
                    {
                        println!(
                            "  failed {} after {} attempt(s): {}",
                            j.job,
                            j.attempts,
                            j.error.as_deref().unwrap_or("")
                        );
                    }
                    ok &= r.jobs_failed == 0;
                }
                None => {
                    println!("{layer}: not completed");
                    ok = false;
                }
            }
        }
        println!("{} step(s); outcomes {:?}", summary.steps, summary.outcomes);
        if dead > 0 {
            println!(
                "{dead} message(s) dead-lettered; see `civic worklist status --run {} --store ...`",
                self.run_id
            );
        }
        Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
