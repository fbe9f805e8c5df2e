//! Driving the functions' own entry points on the local topology: the `ingest` function's `handle` (its
//! self-invocations run in process, one after another, as Lambda would start them) and the `process` function's
//! `handle`, fed SQS events from the embedded worklist queue through `worklist::local::deliver` until it is empty,
//! dead letters kept in the store.

use std::sync::Arc;

use anyhow::{Context, bail};
use object_store::ObjectStore;
use worklist::EmbeddedQueue;
use worklist::local::{DrainOptions, DrainSummary, deliver, persist_dead_letters};
use worklist::manifest::RunManifest;

use super::topology::Topology;

/// Invoke the `ingest` function with `event` and every continuation it asks for, until an invocation does not
/// continue; returns that invocation's answer. `segment` bounds each invocation (none: to the end of the source).
pub async fn ingest(
    topology: &Topology,
    event: serde_json::Value,
    options: ingest::Options,
    segment: Option<std::time::Duration>,
) -> anyhow::Result<serde_json::Value> {
    let platform = topology.platform("ingest")?;
    let function = ingest::Function::new(&platform)
        .await?
        .with_options(options);
    let mut event = event;
    loop {
        let deadline = segment.map(|d| std::time::Instant::now() + d);
        let answer = function.handle(event, deadline).await?;
        match platform.next_invocation() {
            Some(next) => event = next,
            None => return Ok(answer),
        }
    }
}

/// The `process` function on the local topology, with the worklist queue and DLQ it consumes and sends to.
pub struct Process<'t> {
    pub topology: &'t Topology,
    pub function: process::Function,
    pub queue: Arc<EmbeddedQueue>,
    pub dlq: Arc<EmbeddedQueue>,
    pub dataset: String,
    pub run_id: String,
}

/// What a drive did.
pub struct Driven {
    /// The event source's counts (invocations, acknowledged and redelivered records).
    pub summary: DrainSummary,
    /// Messages that ended in the DLQ (now kept in the store).
    pub dead_letters: usize,
}

impl<'t> Process<'t> {
    /// Wire the function from the topology; refuses a chain with a layer that has no runner. `layers` replaces
    /// the function's chain (the run manifest's, or the caller's).
    pub fn new(
        topology: &'t Topology,
        dataset: &str,
        run_id: &str,
        layers: Vec<String>,
    ) -> anyhow::Result<Process<'t>> {
        Self::with_catalog(topology, dataset, run_id, layers, None)
    }

    /// [`Process::new`] with the runners over the dataset catalog in `catalog` (a directory like the
    /// repository's datasets/) instead of the one compiled in.
    pub fn with_catalog(
        topology: &'t Topology,
        dataset: &str,
        run_id: &str,
        layers: Vec<String>,
        catalog: Option<&std::path::Path>,
    ) -> anyhow::Result<Process<'t>> {
        if layers.is_empty() {
            bail!("no layers to run (the manifest or --layers must name at least one)");
        }
        let platform = topology.platform(&topology.worklist.function)?;
        let mut function = match catalog {
            None => process::Function::new(&platform)?,
            Some(dir) => process::Function::with_datasets(
                &platform,
                Arc::new(process::Datasets::from_catalog(
                    &datasets::Catalog::from_dir(dir)?,
                )?),
            )?,
        };
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
        Ok(Process {
            topology,
            function,
            queue,
            dlq,
            dataset: dataset.to_owned(),
            run_id: run_id.to_owned(),
        })
    }

    /// The data bucket, as the function opened it.
    pub fn data(&self) -> &Arc<dyn ObjectStore> {
        &self.function.consumer.store
    }

    /// The layers this drive runs.
    pub fn layers(&self) -> &[String] {
        &self.function.consumer.config.layers
    }

    /// The `process` function's grant on `runs`, for reading layer reports.
    pub fn runs(&self) -> prefixes::Prefix<prefixes::keys::Runs, prefixes::access::Read> {
        self.function.consumer.locations.runs.into()
    }

    /// The worklist grants of the `process` function.
    pub fn grants(&self) -> &worklist::Locations {
        &self.function.consumer.locations
    }

    /// Send the first message(s) of `layer` listing `jobs`, as the `ingest` function's hand-off does for the
    /// first layer.
    pub async fn send_first(
        &self,
        layer: &str,
        jobs: Vec<String>,
        lanes: u32,
        max_attempts: u32,
    ) -> anyhow::Result<()> {
        let start = worklist::LayerStart::new(&self.dataset, &self.run_id, layer, jobs)
            .lanes(lanes)
            .max_attempts(max_attempts);
        worklist::start_layer(
            start,
            self.data().as_ref(),
            self.function.consumer.locations.worklist.into(),
            self.queue.as_ref(),
            self.function.consumer.config.max_body_bytes,
        )
        .await?;
        Ok(())
    }

    /// The first layer of the chain without a layer report (None: every layer completed). A layer completes once
    /// per run (create-only marker), so a run whose first layers completed earlier (`civic transform`, an
    /// interrupted run) goes on from there.
    pub async fn first_incomplete(&self) -> anyhow::Result<Option<String>> {
        for layer in self.layers() {
            let report = worklist::report::read(
                self.data().as_ref(),
                self.runs(),
                &self.dataset,
                &self.run_id,
                layer,
            )
            .await?;
            if report.is_none() {
                return Ok(Some(layer.clone()));
            }
        }
        Ok(None)
    }

    /// Feed the queue to the function as the event source mapping would, until it is empty; keep dead letters
    /// in the store.
    pub async fn drive(&self) -> anyhow::Result<Driven> {
        let work = &self.topology.worklist;
        let opts = DrainOptions {
            visibility: work.visibility,
            ..DrainOptions::default()
        };
        let function = &self.function;
        let summary = deliver(
            self.queue.as_ref(),
            &opts,
            work.batch_size,
            |event| async move { function.handle(event).await },
        )
        .await
        .context("delivering the worklist queue to the process function")?;
        let dead_letters = persist_dead_letters(
            self.data().as_ref(),
            &self.function.consumer.locations,
            self.dlq.as_ref(),
            &self.dataset,
            &self.run_id,
        )
        .await?;
        Ok(Driven {
            summary,
            dead_letters,
        })
    }

    /// Print each layer's report (failed jobs named) and the drive's counts; false on any failure.
    pub async fn print_reports(&self, driven: &Driven) -> anyhow::Result<bool> {
        let store = self.data().as_ref();
        let mut ok = driven.dead_letters == 0;
        for layer in self.layers() {
            match worklist::report::read(store, self.runs(), &self.dataset, &self.run_id, layer)
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
        println!(
            "{} invocation(s) of the process function, {} record(s) acknowledged, {} redelivered",
            invocations(&driven.summary),
            driven.summary.steps,
            driven.summary.errors
        );
        if driven.dead_letters > 0 {
            println!(
                "{} message(s) dead-lettered; see `civic worklist status --run {} --store ...`",
                driven.dead_letters, self.run_id
            );
        }
        Ok(ok)
    }
}

/// Invocations of the handler in a drive.
pub fn invocations(summary: &DrainSummary) -> u64 {
    summary.outcomes.get("invocations").copied().unwrap_or(0)
}

/// A run's layer chain: the manifest's, else `layers`, else the worklist queue's in the manifests.
pub fn chain(manifest: &RunManifest, layers: Option<&[String]>) -> Vec<String> {
    manifest.layers.clone().unwrap_or_else(|| match layers {
        Some(l) => l.to_vec(),
        None => prefixes::queues::WORKLIST
            .layers
            .iter()
            .map(|l| l.to_string())
            .collect(),
    })
}
