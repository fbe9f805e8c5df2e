//! `civic process`: drive every declared layer of an ingested run through the `process` function's own entry
//! point on the local topology (its template's variables, the store's bucket folders, the embedded worklist queue
//! and DLQ as `features/processing/feature.yaml` declares them), and print the layer reports.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use object_store::ObjectStore;
use worklist::local::{DrainOptions, deliver, persist_dead_letters};
use worklist::EmbeddedQueue;

use super::topology;
use super::worklist::Target;

/// Arguments of `civic process`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub target: Target,
    /// Independent chains per layer; used when the run manifest declares no `lanes` (default: the worklist
    /// queue's `lanes` in the manifests).
    #[arg(long)]
    pub lanes: Option<u32>,
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
    let t = &args.target;
    let store = open_store(&t.store)?;
    let loc = process::Locations::granted().worklist();
    let manifest = worklist::manifest::load(store.as_ref(), &loc, &t.dataset, &t.run).await?;
    let layers = t.chain(&manifest);
    let local = Local::new(&t.store, &t.dataset, &t.run, layers.clone())?;
    let lanes = manifest
        .lanes
        .or(args.lanes)
        .unwrap_or(local.topology.worklist.lanes);
    let start = worklist::LayerStart::new(&t.dataset, &t.run, &layers[0], manifest.job_ids())
        .lanes(lanes)
        .max_attempts(args.max_attempts);
    worklist::start_layer(
        start,
        store.as_ref(),
        loc.worklist.into(),
        local.queue.as_ref(),
        local.function.consumer.config.max_body_bytes,
    )
    .await?;
    eprintln!(
        "process {}: {} job(s), layers {}, {lanes} lane(s)",
        t.run,
        manifest.partitions.len(),
        layers.join(" -> ")
    );
    local.drive_and_report().await
}

/// Open `<root>/data` as the data bucket.
pub(crate) fn open_store(root: &Path) -> anyhow::Result<Arc<dyn ObjectStore>> {
    super::report::open_bucket(root, "data")
}

/// The `process` function on the local topology, with the worklist queue and DLQ it consumes and sends to.
pub(crate) struct Local {
    pub topology: topology::Local,
    pub function: process::Function,
    pub queue: Arc<EmbeddedQueue>,
    pub dlq: Arc<EmbeddedQueue>,
    pub dataset: String,
    pub run_id: String,
}

impl Local {
    /// Wire the function from the manifests over the store at `root`; refuses a chain with a layer that has no
    /// runner. `layers` is the chain for runs whose manifest declares none.
    pub(crate) fn new(
        root: &Path,
        dataset: &str,
        run_id: &str,
        layers: Vec<String>,
    ) -> anyhow::Result<Local> {
        if layers.is_empty() {
            bail!("no layers to run (the manifest or --layers must name at least one)");
        }
        let topology = topology::Local::load(&topology::repo_root(), root)?;
        let mut function =
            process::Function::new(&topology.platform(&topology.worklist.function)?)?;
        let runners = &function.consumer.runners;
        let missing = runners.missing(&layers);
        if !missing.is_empty() {
            bail!(
                "no job runner registered for layer(s) {} of dataset {dataset} (registered: {}); \
                 pass --layers with registered layers only, e.g. --layers {}",
                missing.join(", "),
                runners.layers().join(", "),
                runners.layers().first().copied().unwrap_or("<none>")
            );
        }
        function.consumer.config.layers = layers;
        let (queue, dlq) = topology.worklist_queues();
        Ok(Local {
            topology,
            function,
            queue,
            dlq,
            dataset: dataset.to_owned(),
            run_id: run_id.to_owned(),
        })
    }

    /// Feed the queue to the function until it is empty, keep dead letters in the store, print each layer's
    /// report; exit 1 on any failure.
    pub(crate) async fn drive_and_report(&self) -> anyhow::Result<ExitCode> {
        let store = self.function.consumer.store.as_ref();
        let opts = DrainOptions {
            visibility: self.topology.worklist.visibility,
            ..DrainOptions::default()
        };
        let function = &self.function;
        let summary = deliver(
            self.queue.as_ref(),
            &opts,
            self.topology.worklist.batch_size,
            |event| async move { function.handle(event).await },
        )
        .await?;
        let dead =
            persist_dead_letters(
                store,
                &self.function.consumer.locations,
                self.dlq.as_ref(),
                &self.dataset,
                &self.run_id,
            )
            .await?;
        let mut ok = dead == 0;
        for layer in &self.function.consumer.config.layers {
            let runs = self.function.consumer.locations.runs.into();
            match worklist::report::read(store, runs, &self.dataset, &self.run_id, layer).await? {
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
        println!(
            "{} invocation(s) of the process function, {} record(s) acknowledged, {} redelivered",
            summary.outcomes.get("invocations").copied().unwrap_or(0),
            summary.steps,
            summary.errors
        );
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
