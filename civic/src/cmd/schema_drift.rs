//! `civic schema-drift`: compare a source's header and sampled values with the dataset's era mapping (the sample
//! read by [`crate::local::source::sample`], the comparison by `harmonize::drift`).
use std::path::PathBuf;

use std::process::ExitCode;

use anyhow::Context;
use harmonize::drift;

use crate::local;

/// Arguments of `civic schema-drift`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset id.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Source CSV: a local path (plain or gzip), `file:PATH`, or an http(s) URL (only the sample is read).
    #[arg(long)]
    pub input: String,
    /// Dataset catalog directory (folders like the repository's datasets/), or a single canonical.yaml, instead
    /// of the catalog built into civic.
    #[arg(long, value_name = "DIR_OR_FILE")]
    pub catalog: Option<PathBuf>,
    /// Compare with the era of this source year (default: the era that best fits the header).
    #[arg(long)]
    pub year: Option<i32>,
    /// Compare with the era of this Socrata dataset id (takes precedence over --year).
    #[arg(long)]
    pub dataset_id: Option<String>,
    /// Compare with this era by name (takes precedence over --dataset-id and --year).
    #[arg(long)]
    pub era: Option<String>,
    /// Number of data rows to sample for value checks.
    #[arg(long, default_value_t = 5000)]
    pub sample_rows: usize,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Exit 0 when the mapping covers the source, 1 when it does not.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let catalog = match &args.catalog {
        Some(p) if p.is_dir() => {
            harmonize::from_catalog(&datasets::Catalog::from_dir(p)?, &args.dataset)?
        }
        Some(p) => harmonize::load(p)?,
        None => harmonize::builtin(&args.dataset)?,
    };
    let (header, rows) = local::source::sample(&args.input, args.sample_rows)
        .with_context(|| format!("reading {}", args.input))?;
    let era = match &args.era {
        Some(name) => catalog
            .era(name)
            .with_context(|| format!("no era '{name}' in the catalog"))?,
        None => drift::era_for(
            &catalog,
            &header.names,
            args.dataset_id.as_deref(),
            args.year,
        )
        .context("the catalog has no eras")?,
    };
    let report = drift::check_with_changes(&catalog, era, &header.names, &header.changes, &rows);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.render());
    }
    Ok(if report.covered {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
