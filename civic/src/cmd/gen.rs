//! `civic gen`: the arguments of writing a deterministic CSV of one dataset (see
//! `ingest_core::generate::generate_dataset`); [`crate::local::source::generate_dataset_to`] writes it.
use std::path::PathBuf;
use std::process::ExitCode;

use ingest_core::generate::{Dataset, DatasetOptions, YearSpan};

use crate::local;

/// Arguments of `civic gen`.
#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  civic gen --dataset la311 --rows 200000 --seed 1 --year 2023 --out la311-2023.csv
  civic gen --dataset lapd_crime --rows 100000 --year 2020-2023 --out crime.csv.gz
  civic gen --dataset ladbs_permits --rows 50000 --year 2016 --split-latlon --out permits.csv")]
pub struct Args {
    /// Dataset to generate: la311 (MyLA311 service requests, 33/34 columns by era), lapd_crime (LAPD
    /// Crime Data from 2020 to Present, 28 columns, mixed date formats, no council district) or
    /// ladbs_permits (LADBS Building and Safety Permit Information, 55 columns).
    #[arg(long, value_parser = parse_dataset)]
    pub dataset: Dataset,
    /// Number of data rows to write (header excluded).
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// Random seed: the same dataset, seed, rows, year(s) and options give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Data year, or a span FIRST-LAST the event dates are spread over (lapd_crime, ladbs_permits).
    /// For la311 one year, which picks the header era (2019 and later: 34 columns). Permits issued
    /// from 2022-12-12 get districts of the 2021 lines, earlier ones of the 2012 lines.
    #[arg(long, default_value = "2023", value_name = "YEAR[-LAST]", value_parser = parse_years)]
    pub year: YearSpan,
    /// Probability of a malformed row (a field too few, or for permits one too many).
    #[arg(long, default_value_t = 0.001, value_parser = parse_rate)]
    pub malformed_rate: f64,
    /// ladbs_permits only: write `Latitude` and `Longitude` columns instead of `Latitude/Longitude`,
    /// as some exports do.
    #[arg(long)]
    pub split_latlon: bool,
    /// Output file (gzip when it ends in .gz); stdout when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn parse_dataset(s: &str) -> Result<Dataset, String> {
    s.parse()
        .map_err(|e: ingest_core::generate::dataset::UnknownDataset| e.to_string())
}

fn parse_years(s: &str) -> Result<YearSpan, String> {
    s.parse()
}

fn parse_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
        _ => Err(format!("'{s}' is not a probability between 0 and 1")),
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let opts = DatasetOptions {
        malformed_rate: args.malformed_rate,
        split_latlon: args.split_latlon,
        ..DatasetOptions::new(args.rows, args.seed, args.year)
    };
    let stats = local::source::generate_dataset_to(args.out.as_deref(), args.dataset, opts)?;
    eprintln!(
        "generated {} {} rows ({} malformed) for {} with seed {}{}",
        stats.rows,
        args.dataset,
        stats.malformed,
        args.year,
        args.seed,
        args.out
            .as_ref()
            .map(|p| format!(" into {}", p.display()))
            .unwrap_or_default()
    );
    Ok(ExitCode::SUCCESS)
}
