//! `civic ingest`: stream a source (file, URL or Socrata year) into the local store's raw layer;
//! the last stdout line is the path of the run manifest.
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use ingest_core::partitioner::PartitionerConfig;
use ingest_core::{Catalog, IngestOptions, Progress, SourceSpec, ingest};

/// Arguments of `civic ingest`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset id in the catalog (`datasets/<id>/dataset.yaml`).
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Local CSV path (plain or gzip), `file:PATH`, or an http(s) URL.
    #[arg(long, required_unless_present = "socrata")]
    pub input: Option<String>,
    /// Read this catalogued year from Socrata (SODA resource endpoint, paged by :id;
    /// app token from SOCRATA_APP_TOKEN).
    #[arg(long, conflicts_with = "input")]
    pub socrata: Option<i32>,
    /// Socrata base URL (default: https://<socrata_domain from the catalog>).
    #[arg(long)]
    pub socrata_base_url: Option<String>,
    /// Rows per Socrata page ($limit).
    #[arg(long, default_value_t = 10_000)]
    pub page_rows: usize,
    /// Local store root; the data bucket is <store>/data.
    #[arg(long, default_value = "./.civic")]
    pub store: PathBuf,
    /// Run id (default: UTC timestamp plus random suffix).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Memory target of the whole ingestion (peak RSS), e.g. 128MiB, 64MB, 1GiB or plain bytes. The
    /// partitioner's buffers get this minus 32 MiB for the runtime, the reader and allocator slack.
    #[arg(long, default_value = "128MiB", value_parser = parse_size)]
    pub memory_budget: usize,
    /// zstd compression level of the Parquet files (1 = fastest).
    #[arg(long, default_value_t = 1)]
    pub zstd_level: i32,
    /// Dataset catalog directory (default: ./datasets when present, else the repository's).
    #[arg(long)]
    pub datasets: Option<PathBuf>,
}

/// Parse `128MiB`, `64MB`, `512KiB`, `1GiB`, `1000` (bytes).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size like 128MiB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    let bytes = (n * mult) as usize;
    if bytes < 64 * 1024 {
        return Err(format!("{s:?}: a memory budget below 64KiB is not useful"));
    }
    Ok(bytes)
}

struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn start(&self, total_bytes: Option<u64>) {
        if let Some(t) = total_bytes {
            self.0.set_length(t);
            self.0.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {msg})",
                )
                .expect("valid template"),
            );
        } else {
            self.0.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bytes} read ({bytes_per_sec}, {msg})",
                )
                .expect("valid template"),
            );
        }
    }
    fn update(&self, rows: u64, bytes: u64) {
        self.0.set_position(bytes);
        self.0.set_message(format!("{rows} rows"));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let catalog = match &args.datasets {
        Some(d) => Catalog::new(d),
        None if std::path::Path::new("datasets").is_dir() => Catalog::new("datasets"),
        None => Catalog::in_repo(),
    };
    let spec = catalog.load(&args.dataset)?;
    let source = match (&args.input, args.socrata) {
        (_, Some(year)) => {
            let mut source =
                SourceSpec::socrata_year(&spec, year, args.socrata_base_url.as_deref())?;
            if let SourceSpec::Socrata(s) = &mut source {
                s.page_rows = args.page_rows;
            }
            source
        }
        (Some(input), None) => SourceSpec::from_input(input),
        (None, None) => anyhow::bail!("give --input PATH_OR_URL or --socrata YEAR"),
    };
    let data_dir = args.store.join("data");
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(
        object_store::local::LocalFileSystem::new_with_prefix(&data_dir)
            .with_context(|| format!("opening store {}", data_dir.display()))?,
    );
    let progress: Arc<dyn Progress> = if std::io::stderr().is_terminal() {
        Arc::new(Bar(indicatif::ProgressBar::new(0)))
    } else {
        Arc::new(ingest_core::LogProgress::new(1_000_000))
    };
    let opts = IngestOptions {
        run_id: args.run_id.clone(),
        partitioner: PartitionerConfig {
            zstd_level: args.zstd_level,
            ..PartitionerConfig::for_process(args.memory_budget)
        },
        progress: Some(progress),
        drift: harmonize::drift::ingest_check(&args.dataset),
        deadline: None,
    };
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    // `civic ingest` writes as the `ingest` function would, under its grants.
    let grants = ::ingest::Locations::granted().ingestion();
    let report = rt.block_on(ingest(store, grants, &spec, source, opts))?;
    let secs = started.elapsed().as_secs_f64();
    let m = &report.manifest;
    let bytes: u64 = m.partitions.iter().map(|p| p.bytes).sum();
    eprintln!(
        "run {}: read {} rows, wrote {} into {} partitions ({} bytes), quarantined {}; {:.1}s, {:.0} rows/s; partitioner peak {} of its {} bytes (process target {})",
        m.run_id,
        m.rows_read,
        m.rows_written,
        m.partitions.len(),
        bytes,
        m.rows_quarantined,
        secs,
        m.rows_read as f64 / secs.max(1e-9),
        report.budget.peak_buffered_bytes,
        PartitionerConfig::for_process(args.memory_budget).memory_budget,
        args.memory_budget
    );
    println!("{}", data_dir.join(&report.manifest_key).display());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("64MB"), Ok(64_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100000"), Ok(100_000));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1KiB").is_err());
    }
}
