//! The demo's process stage: every worklist layer of a run through an embedded queue configured from the
//! deployed manifests (see [`super::topology`]), with the same consumer step and job runners as `civic process`,
//! a progress bar per layer fed by the job records in the store, and the city-wide pass after fan-in.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use object_store::ObjectStore;
use worklist::local::{DrainOptions, drain, persist_dead_letters};
use worklist::queue::embedded::Redrive;
use worklist::{Config, Consumer, EmbeddedQueue, Queue, WorkMessage};

use super::demo::{Args, bar};
use super::demo_summary::Summary;
use super::{process, topology};

/// Counts the terminal job records of each layer into one bar per layer until `stop` is set.
async fn watch_layers(
    data: Arc<dyn ObjectStore>,
    dataset: String,
    run: String,
    layers: Vec<String>,
    jobs: u64,
    stop: Arc<tokio::sync::Notify>,
) {
    use futures::TryStreamExt;
    let keys = worklist::layout::RunKeys::new(&dataset, &run);
    let bars: Vec<_> = layers
        .iter()
        .map(|l| {
            let pb = bar(
                jobs,
                &format!(
                    "{l:<9} {{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} jobs"
                ),
            );
            (l, pb)
        })
        .collect();
    loop {
        for (layer, pb) in &bars {
            let n = data
                .list(Some(&keys.jobs_prefix(layer)))
                .try_collect::<Vec<_>>()
                .await
                .map_or(0, |v| v.len() as u64);
            pb.set_position(n);
        }
        tokio::select! {
            _ = stop.notified() => break,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
    for (_, pb) in bars {
        pb.finish_and_clear();
    }
}

/// Every layer through the embedded queue configured from the manifests, with the `civic process` runners.
pub(super) async fn process_layers(
    args: &Args,
    data: &Arc<dyn ObjectStore>,
    ledger: &ledger::Ledger,
    run: &str,
    summary: &mut Summary,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let topo = topology::worklist_queue(&topology::repo_root())?;
    let manifest = worklist::manifest::RunManifest::load(data.as_ref(), &args.dataset, run).await?;
    let layers = manifest
        .layers
        .clone()
        .unwrap_or_else(|| topo.layers.clone());
    let lanes = manifest.lanes.unwrap_or(topo.lanes);
    let runners = process::registry(data, Some(ledger), &args.dataset).await?;
    let missing = runners.missing(&layers);
    if !missing.is_empty() {
        bail!(
            "no job runner registered for layer(s) {}",
            missing.join(", ")
        );
    }
    let dlq = Arc::new(EmbeddedQueue::new(&format!("{}-dlq", topo.queue)));
    let redrive = topo.max_receives.map(|max_receives| Redrive {
        dlq: dlq.clone(),
        max_receives,
    });
    let queue = Arc::new(EmbeddedQueue::with_clock(
        &topo.queue,
        Arc::new(worklist::clock::SystemClock),
        redrive,
    ));
    let mut config = Config::new(layers.clone());
    config.retry_delay = Duration::from_millis(200);
    let max_body = config.max_body_bytes;
    let consumer = Consumer::new(data.clone(), queue.clone(), dlq.clone(), runners, config);
    eprintln!(
        "process: {} job(s) per layer, layers {} ({} lane(s), visibility {:?}, {}; from {}/{})",
        manifest.partitions.len(),
        layers.join(" -> "),
        lanes,
        topo.visibility,
        match topo.max_receives {
            Some(n) => format!("DLQ after {n} receives"),
            None => "no DLQ".to_string(),
        },
        topo.feature,
        topo.queue
    );
    for first in WorkMessage::first_of_layer_with(
        &args.dataset,
        run,
        &layers[0],
        manifest.job_ids(),
        lanes,
        worklist::message::DEFAULT_MAX_ATTEMPTS,
    ) {
        let body = worklist::codec::encode(&first, data.as_ref(), max_body).await?;
        queue.send(&body, None).await?;
    }
    let stop = Arc::new(tokio::sync::Notify::new());
    let watcher = tokio::spawn(watch_layers(
        data.clone(),
        args.dataset.clone(),
        run.to_owned(),
        layers.clone(),
        manifest.partitions.len() as u64,
        stop.clone(),
    ));
    let opts = DrainOptions {
        visibility: topo.visibility,
        ..DrainOptions::default()
    };
    let drained = drain(&consumer, queue.as_ref(), &opts).await;
    stop.notify_one();
    let _ = watcher.await;
    let drained = drained?;
    let dead = persist_dead_letters(data.as_ref(), dlq.as_ref(), &args.dataset, run).await?;
    if dead > 0 {
        bail!(
            "{dead} message(s) dead-lettered; see `civic worklist status --run {run} --store {}`",
            args.store.display()
        );
    }
    if layers.iter().any(|l| l == "analyze") {
        // City-wide findings compare every district; they run once the analyze layer has fanned in.
        let r = analysis::analyze_citywide(
            data,
            ledger,
            &process::analysis_config()?,
            &args.dataset,
            run,
        )
        .await
        .map_err(|e| anyhow::anyhow!("city-wide analysis: {e}"))?;
        eprintln!(
            "analyze: city-wide {} finding(s), {} new event(s)",
            r.findings.len(),
            r.events_created
        );
    }
    summary.stage(
        "process",
        started,
        None,
        None,
        None,
        &format!(
            "{} step(s), {} step error(s)",
            drained.steps, drained.errors
        ),
    );
    Ok(layers)
}
