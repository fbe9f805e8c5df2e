//! `civic process` and `civic worklist` on the local runtime: every layer of an ingested run through the `process`
//! function's own entry point (see [`super::driver::Process`]), a run's worklist status, and redriving its dead
//! letters and failed jobs through the same function.

use std::process::ExitCode;

use anyhow::bail;
use worklist::Queue;
use worklist::manifest::RunManifest;
use worklist::redrive::{redrive_dead_letters, redrive_failed};
use worklist::status::run_status;

use super::driver::{self, Process};
use super::{RunTarget, Topology, repo_root, store};

async fn chain(t: &RunTarget) -> anyhow::Result<(RunManifest, Vec<String>)> {
    let data = store::open_bucket(&t.store, "data")?;
    let manifest = worklist::manifest::load(
        data.as_ref(),
        &process::Locations::granted().worklist(),
        &t.dataset,
        &t.run,
    )
    .await?;
    let layers = driver::chain(&manifest, t.layers.as_deref());
    Ok((manifest, layers))
}

fn topology(t: &RunTarget) -> anyhow::Result<Topology> {
    Topology::load(&repo_root(), &t.store)
}

/// Send the first message of the first layer not completed yet (every partition; `lanes` when the manifest
/// declares none, else the queue's) and drive the function until the queue is empty; print each layer's report.
/// Exit 1 on any failure; 2 (bad input, nothing sent) when the transform layer is next and no era of the dataset's
/// catalog maps the run's header.
pub async fn process(
    t: &RunTarget,
    lanes: Option<u32>,
    max_attempts: u32,
) -> anyhow::Result<ExitCode> {
    let t = &t.resolved()?;
    let (manifest, layers) = chain(t).await?;
    let topology = topology(t)?;
    let p = Process::with_catalog(&topology, &t.dataset, &t.run, layers, t.catalog.as_deref())?;
    let lanes = manifest
        .lanes
        .or(lanes)
        .unwrap_or(p.topology.worklist.lanes);
    let start = p.first_incomplete().await?;
    // A run no era maps is bad input (exit 2) before its transform layer starts: nothing is sent.
    if start.as_deref() == Some("transform")
        && let Ok(catalog) = match &t.catalog {
            Some(dir) => datasets::Catalog::from_dir(dir)
                .map_err(|e| anyhow::anyhow!("{e}"))
                .and_then(|files| Ok(harmonize::from_catalog(&files, &t.dataset)?)),
            None => Ok(harmonize::builtin(&t.dataset)?),
        }
        && let Some(code) = super::transform::no_era(&catalog, &t.run, &manifest)
    {
        return Ok(code);
    }
    if let Some(layer) = &start {
        p.send_first(layer, manifest.job_ids(), lanes, max_attempts)
            .await?;
    }
    eprintln!(
        "process {}: {} job(s), layers {}, {lanes} lane(s); {}",
        t.run,
        manifest.partitions.len(),
        p.layers().join(" -> "),
        match &start {
            Some(layer) => format!("starting at {layer}"),
            None => "every layer completed already".to_owned(),
        }
    );
    let driven = p.drive().await?;
    Ok(exit(p.print_reports(&driven).await?))
}

fn exit(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Per layer: jobs expected, done, failed, remaining, dead-lettered; then each dead letter.
pub async fn status(t: &RunTarget) -> anyhow::Result<ExitCode> {
    let t = &t.resolved()?;
    let data = store::open_bucket(&t.store, "data")?;
    let (_, layers) = chain(t).await?;
    let grants = process::Locations::granted().worklist();
    let s = run_status(data.as_ref(), &grants, &t.dataset, &t.run, &layers).await?;
    println!(
        "{:<12} {:>8} {:>6} {:>6} {:>9} {:>6}  complete",
        "layer", "expected", "done", "failed", "remaining", "in DLQ"
    );
    let show = |n: Option<usize>| n.map_or("?".to_owned(), |n| n.to_string());
    for l in &s.layers {
        println!(
            "{:<12} {:>8} {:>6} {:>6} {:>9} {:>6}  {}",
            l.layer,
            show(l.expected),
            l.done,
            l.failed,
            show(l.remaining),
            l.dead_lettered,
            if l.complete { "yes" } else { "no" }
        );
    }
    for d in &s.dead_letters {
        println!(
            "dead letter {} ({}): {}",
            d.key,
            d.layer.as_deref().unwrap_or("not a worklist message"),
            d.letter.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Re-send the run's dead letters and, with `failed`, that layer's failed jobs; then drive them through the
/// function. Fails when there is nothing to redrive.
pub async fn redrive(
    t: &RunTarget,
    failed: Option<&str>,
    max_attempts: u32,
) -> anyhow::Result<ExitCode> {
    let t = &t.resolved()?;
    let (_, layers) = chain(t).await?;
    let topology = topology(t)?;
    let p = Process::with_catalog(
        &topology,
        &t.dataset,
        &t.run,
        layers.clone(),
        t.catalog.as_deref(),
    )?;
    let data = p.data().clone();
    let letters = redrive_dead_letters(
        data.as_ref(),
        p.grants(),
        p.queue.as_ref(),
        &t.dataset,
        &t.run,
    )
    .await?;
    let mut jobs = Vec::new();
    if let Some(layer) = failed {
        jobs = redrive_failed(
            data.as_ref(),
            p.grants(),
            p.queue.as_ref(),
            &t.dataset,
            &t.run,
            &layers,
            layer,
            max_attempts,
        )
        .await?;
    }
    eprintln!(
        "redrive {}: {letters} dead letter(s), {} failed job(s) {jobs:?}",
        t.run,
        jobs.len()
    );
    if p.queue.counts().await?.total() == 0 {
        bail!("nothing to redrive for run {}", t.run);
    }
    let driven = p.drive().await?;
    Ok(exit(p.print_reports(&driven).await?))
}
