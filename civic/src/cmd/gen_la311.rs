//! `civic gen-la311`: the arguments of writing deterministic MyLA311-shaped CSV (see `ingest_core::generate`);
//! [`crate::local::source::generate_to`] writes it.
use std::path::PathBuf;
use std::process::ExitCode;

use ingest_core::generate::GenOptions;

use crate::local;

/// Arguments of `civic gen-la311`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of data rows to write (header excluded).
    #[arg(long, default_value_t = 100_000)]
    pub rows: u64,
    /// Random seed: the same seed, rows and year give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Data year; 2019 and later use the 34-column era-B header.
    #[arg(long, default_value_t = 2023)]
    pub year: i32,
    /// Output file (gzip when it ends in .gz); stdout when absent.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        (2000..=2100).contains(&args.year),
        "--year {} is not a plausible year",
        args.year
    );
    let opts = GenOptions::new(args.rows, args.seed, args.year);
    let stats = local::source::generate_to(args.out.as_deref(), opts)?;
    eprintln!(
        "generated {} rows ({} malformed) for {} with seed {}{}",
        stats.rows,
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
