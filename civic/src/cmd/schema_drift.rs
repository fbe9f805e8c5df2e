//! `civic schema-drift`: compare a source's header and sampled values with the dataset's era mapping.
use std::path::PathBuf;

use ingest_core::SourceSpec;
use ingest_core::source::RecordSource;
use std::process::ExitCode;

use anyhow::Context;
use harmonize::drift;

/// Arguments of `civic schema-drift`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset id.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Source CSV: a local path (plain or gzip), `file:PATH`, or an http(s) URL (only the sample is read).
    #[arg(long)]
    pub input: String,
    /// Canonical catalog to use instead of the built-in datasets/<dataset>/canonical.yaml.
    #[arg(long)]
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
        Some(p) => harmonize::load(p)?,
        None => harmonize::builtin(&args.dataset)?,
    };
    let (header, rows) =
        sample(&args.input, args.sample_rows).with_context(|| format!("reading {}", args.input))?;
    let era = match &args.era {
        Some(name) => catalog
            .era(name)
            .with_context(|| format!("no era '{name}' in the catalog"))?,
        None => drift::era_for(&catalog, &header, args.dataset_id.as_deref(), args.year)
            .context("the catalog has no eras")?,
    };
    let report = drift::check(&catalog, era, &header, &rows);
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

/// Header and the first `max_rows` records of a source, read through ingestion's source readers
/// (the same decoding of files, gzip and URLs as `civic ingest`).
fn sample(input: &str, max_rows: usize) -> anyhow::Result<(Vec<String>, Vec<Vec<String>>)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    let spec = SourceSpec::from_input(input);
    rt.block_on(rt.spawn_blocking(move || -> anyhow::Result<_> {
        let mut src: Box<dyn RecordSource> = ingest_core::source::open(&spec, &handle)?;
        let text = |r: &csv::ByteRecord| {
            r.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
        };
        let header = text(src.header())
            .into_iter()
            .map(|h| h.trim_start_matches('\u{feff}').to_string())
            .collect();
        let mut rows = Vec::new();
        let mut rec = csv::ByteRecord::new();
        while rows.len() < max_rows && src.next_record(&mut rec)?.is_some() {
            rows.push(text(&rec));
        }
        Ok((header, rows))
    }))?
}
