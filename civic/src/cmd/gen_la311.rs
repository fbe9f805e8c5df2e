//! `civic gen-la311`: write deterministic MyLA311-shaped CSV (see `ingest_core::generate`).
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use ingest_core::generate::{GenOptions, generate};

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
    let stats = match &args.out {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            let file = std::fs::File::create(path)
                .with_context(|| format!("creating {}", path.display()))?;
            let out = std::io::BufWriter::with_capacity(1 << 20, file);
            if path.extension().is_some_and(|e| e == "gz") {
                let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
                let s = generate(&mut gz, opts)?;
                gz.finish()?.flush()?;
                s
            } else {
                generate(out, opts)?
            }
        }
        None => generate(std::io::BufWriter::new(std::io::stdout().lock()), opts)?,
    };
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
