//! `civic transform`: run the transform step over every partition of an ingested run, one after another.
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use harmonize::{RunReport, partition};
use prefixes::keys::{RunsKey, runs};
use object_store::local::LocalFileSystem;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

/// Arguments of `civic transform`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Run id of an ingested run (runs/{dataset}/run={RUN}/manifest.json must exist).
    #[arg(long)]
    pub run: String,
    /// Local store root; the data bucket is <STORE>/data.
    #[arg(long, default_value = ".civic")]
    pub store: PathBuf,
    /// Dataset id.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Canonical catalog to use instead of the built-in datasets/<dataset>/canonical.yaml.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// Only these partitions (repeatable); default: every partition of the manifest.
    #[arg(long = "partition")]
    pub partitions: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run_async(args))
}

async fn run_async(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = match &args.catalog {
        Some(p) => harmonize::load(p)?,
        None => harmonize::builtin(&args.dataset)?,
    };
    let root = args.store.join("data");
    std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    let store: Arc<dyn ObjectStore> = Arc::new(LocalFileSystem::new_with_prefix(&root)?);
    // `civic transform` runs the transform as the `process` function would, under its grants.
    let grants = process::Locations::granted();
    let locations = grants.harmonize();
    let manifest =
        partition::read_manifest(store.as_ref(), &locations, &args.dataset, &args.run).await?;
    let wanted: Vec<String> = if args.partitions.is_empty() {
        manifest
            .partitions
            .iter()
            .map(|p| p.value.clone())
            .collect()
    } else {
        args.partitions.clone()
    };
    let mut reports = Vec::with_capacity(wanted.len());
    for p in &wanted {
        let r = partition::transform_partition_with(store.clone(), locations, &catalog, &manifest, p)
            .await
            .with_context(|| format!("partition {p}"))?;
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
        reports.push(r);
    }
    let report = RunReport::from_partitions(&args.dataset, &args.run, reports);
    let key = object_store::path::Path::from(
        grants
            .runs
            .write_key(
                &RunsKey {
                    dataset: &args.dataset,
                    run_id: &args.run,
                },
                &runs::TransformReport,
            )?
            .into_string(),
    );
    store
        .put(&key, PutPayload::from(serde_json::to_vec_pretty(&report)?))
        .await
        .with_context(|| format!("writing {key}"))?;
    println!(
        "transform {}: {} rows in, {} out, {} quarantined; report {}",
        args.run,
        report.rows_in,
        report.rows_out,
        report.rows_quarantined,
        root.join(key.as_ref()).display()
    );
    Ok(ExitCode::SUCCESS)
}
