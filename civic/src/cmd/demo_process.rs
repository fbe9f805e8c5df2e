//! The demo's process stage: every worklist layer of a run through the `process` function's entry point on the
//! local topology (see [`super::topology`]), a progress bar per layer fed by the job records in the store. The
//! city-wide pass runs inside the function, as the `analyze` layer's fan-in hook.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::bail;
use object_store::ObjectStore;
use worklist::local::{DrainOptions, deliver, persist_dead_letters};

use super::demo::{Args, bar};
use super::demo_summary::Summary;
use super::topology;

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
    let loc = process::Locations::granted().worklist();
    let keys = loc.run(&dataset, &run);
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
            let n = match keys.jobs_prefix(layer) {
                Ok(prefix) => data
                    .list(Some(&prefix))
                    .try_collect::<Vec<_>>()
                    .await
                    .map_or(0, |v| v.len() as u64),
                Err(_) => 0,
            };
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

/// Every layer through the `process` function's own entry point: wired by [`process::Function::new`] from the
/// local platform (its template's variables, buckets as store folders, the embedded worklist queue and DLQ with the
/// declared visibility and redrive), fed SQS events as the event source mapping would. `handed_off` says whether
/// the ingest function already sent the run's first message (otherwise it is sent here, for a reused run).
pub(super) async fn process_layers(
    args: &Args,
    topo: &topology::Local,
    data: &Arc<dyn ObjectStore>,
    run: &str,
    handed_off: bool,
    summary: &mut Summary,
) -> anyhow::Result<Vec<String>> {
    let started = Instant::now();
    let function = process::Function::new(&topo.platform(&topo.worklist.function)?)?;
    let (queue, dlq) = topo.worklist_queues();
    let work = &topo.worklist;
    let manifest = worklist::manifest::load(data.as_ref(), &process::Locations::granted().worklist(), &args.dataset, run).await?;
    let layers = manifest
        .layers
        .clone()
        .unwrap_or_else(|| function.consumer.config.layers.clone());
    let missing = function.consumer.runners.missing(&layers);
    if !missing.is_empty() {
        bail!(
            "no job runner registered for layer(s) {}",
            missing.join(", ")
        );
    }
    eprintln!(
        "process: {} job(s) per layer, layers {} ({} lane(s), visibility {:?}, {}, batch size {}; from {}/{})",
        manifest.partitions.len(),
        layers.join(" -> "),
        manifest.lanes.unwrap_or(work.lanes),
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
        let start = worklist::LayerStart::new(&args.dataset, run, &layers[0], manifest.job_ids())
            .lanes(manifest.lanes.unwrap_or(work.lanes));
        worklist::start_layer(
            start,
            data.as_ref(),
            function.consumer.locations.worklist.into(),
            queue.as_ref(),
            function.consumer.config.max_body_bytes,
        )
        .await?;
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
        visibility: work.visibility,
        ..DrainOptions::default()
    };
    let function = &function;
    let drained = deliver(queue.as_ref(), &opts, work.batch_size, |event| async move {
        function.handle(event).await
    })
    .await;
    stop.notify_one();
    let _ = watcher.await;
    let drained = drained?;
    let dead = persist_dead_letters(
        data.as_ref(),
        &function.consumer.locations,
        dlq.as_ref(),
        &args.dataset,
        run,
    )
    .await?;
    if dead > 0 {
        bail!(
            "{dead} message(s) dead-lettered; see `civic worklist status --run {run} --store {}`",
            args.store.display()
        );
    }
    summary.stage(
        "process",
        started,
        None,
        None,
        None,
        &format!(
            "{} invocation(s), {} record(s), {} redelivered",
            drained.outcomes.get("invocations").copied().unwrap_or(0),
            drained.steps,
            drained.errors
        ),
    );
    Ok(layers)
}
