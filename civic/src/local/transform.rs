//! `civic transform` on the local runtime: the run's `transform` layer through the `process` function's own entry
//! point (its transform runner, the worklist queue, fan-in and the layer report it writes, exactly as in Lambda),
//! then the run's transform roll-up (`runs/<dataset>/run=<run>/transform-report.json`, summed from the layer
//! report's job summaries) and one line per partition.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use harmonize::{PartitionReport, RunReport};
use object_store::{ObjectStoreExt, PutPayload};

use super::driver::Process;
use super::{Topology, repo_root, store};

/// Which run's transform layer, and how.
#[derive(Debug, Clone)]
pub struct TransformRun {
    pub run: String,
    pub store: PathBuf,
    pub dataset: String,
    /// A canonical catalog instead of the built-in one (the function's runner, with this catalog).
    pub catalog: Option<PathBuf>,
    /// Only these partitions' jobs; every partition of the manifest when empty.
    pub partitions: Vec<String>,
}

/// Exit code of bad input: the run's header fits no era of the catalog.
pub const EXIT_BAD_INPUT: u8 = 2;

/// Drive the layer, write the roll-up, print it; exit 1 when a job failed or the layer did not complete, 2 (bad
/// input, before any job is sent) when no era of the catalog maps the run's header.
pub async fn run(args: TransformRun) -> anyhow::Result<ExitCode> {
    let data = store::open_bucket(&args.store, "data")?;
    let manifest = worklist::manifest::load(
        data.as_ref(),
        &process::Locations::granted().worklist(),
        &args.dataset,
        &args.run,
    )
    .await?;
    let catalog = match &args.catalog {
        Some(path) => harmonize::load(path)?,
        None => harmonize::builtin(&args.dataset)?,
    };
    if let Some(code) = no_era(&catalog, &args.run, &manifest) {
        return Ok(code);
    }
    let topology = Topology::load(&repo_root(), &args.store)?;
    let mut p = Process::new(
        &topology,
        &args.dataset,
        &args.run,
        vec!["transform".to_owned()],
    )?;
    if let Some(path) = &args.catalog {
        let datasets = if path.is_dir() {
            process::Datasets::from_catalog(&datasets::Catalog::from_dir(path)?)?
        } else {
            process::Datasets::builtin()?.with_canonical(harmonize::load(path)?)
        };
        let runner = process::runners::transform(
            p.data(),
            &process::Locations::granted(),
            std::sync::Arc::new(datasets),
        );
        p.function.consumer.runners.register("transform", runner);
    }
    let all = manifest.job_ids();
    let jobs = if args.partitions.is_empty() {
        all
    } else {
        if let Some(unknown) = args.partitions.iter().find(|p| !all.contains(p)) {
            bail!(
                "run {} has no partition {unknown} (partitions: {})",
                args.run,
                all.join(", ")
            );
        }
        args.partitions.clone()
    };
    let lanes = manifest.lanes.unwrap_or(p.topology.worklist.lanes);
    p.send_first(
        "transform",
        jobs,
        lanes,
        worklist::message::DEFAULT_MAX_ATTEMPTS,
    )
    .await?;
    let driven = p.drive().await?;
    let Some(layer) = worklist::report::read(
        data.as_ref(),
        p.runs(),
        &args.dataset,
        &args.run,
        "transform",
    )
    .await?
    else {
        p.print_reports(&driven).await?;
        bail!("the transform layer of run {} did not complete", args.run);
    };
    let mut partitions = Vec::new();
    let mut districts: Option<contract::DistrictAgreement> = None;
    for job in &layer.jobs {
        if let Some(summary) = &job.summary {
            let r: PartitionReport = serde_json::from_value(summary.clone())
                .with_context(|| format!("job {}: not a partition report", job.job))?;
            eprintln!(
                "cd={:<12} era {} year {:?}: {} in, {} out, {} quarantined {:?}",
                r.partition,
                r.era,
                r.year,
                r.rows_in,
                r.rows_out,
                r.rows_quarantined,
                r.quarantined_by_reason
            );
            if let Some(d) = &r.districts {
                districts.get_or_insert_with(Default::default).add(d);
            }
            partitions.push(r);
        }
    }
    if let Some(d) = districts {
        eprintln!(
            "districts from coordinates: {} located in a district, {} outside every district, {} unlocated{}",
            d.derived,
            d.outside,
            d.unlocated,
            match d.rate() {
                Some(rate) => format!(
                    "; the published district agrees on {} of {} ({:.2} %)",
                    d.agreed,
                    d.compared,
                    100.0 * rate
                ),
                None if d.filled > 0 => format!(
                    "; the source publishes no district: {} rows take the derived one",
                    d.filled
                ),
                None => String::new(),
            }
        );
    }
    let ok = p.print_reports(&driven).await?;
    let report = RunReport::from_partitions(&args.dataset, &args.run, partitions);
    // `civic transform`'s roll-up, written under the `process` function's grant on `runs`.
    let key = object_store::path::Path::from(
        prefixes::process::runs()
            .write_key(
                &prefixes::keys::RunsKey {
                    dataset: &args.dataset,
                    run_id: &args.run,
                },
                &prefixes::keys::runs::TransformReport,
            )?
            .into_string(),
    );
    data.put(&key, PutPayload::from(serde_json::to_vec_pretty(&report)?))
        .await
        .with_context(|| format!("writing {key}"))?;
    println!(
        "transform {}: {} rows in, {} out, {} quarantined; report {}",
        args.run,
        report.rows_in,
        report.rows_out,
        report.rows_quarantined,
        args.store.join("data").join(key.as_ref()).display()
    );
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// When no era of `catalog` maps the run's header: the report (the columns no era maps, what each era lacks) on
/// stderr and exit code [`EXIT_BAD_INPUT`], before any job is sent, so nothing is written under canonical/.
pub(super) fn no_era(
    catalog: &harmonize::Catalog,
    run: &str,
    manifest: &contract::RunManifest,
) -> Option<ExitCode> {
    let e = harmonize::partition::era_of_run(catalog, manifest).err()?;
    eprintln!("error: run {run} cannot be transformed: {e}");
    Some(ExitCode::from(EXIT_BAD_INPUT))
}
