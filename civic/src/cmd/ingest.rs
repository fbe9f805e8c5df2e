//! `civic ingest`: the arguments of one ingestion; [`crate::local::ingest`] runs the `ingest` function's own
//! entry point with them.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::local;

/// Arguments of `civic ingest`: the `ingest` function's handler (as deployed, with these settings as its options)
/// streams the source into the store's raw layer; the last stdout line is the path of the run manifest. The
/// function's hand-off goes to the in-process worklist queue and ends with the command: `civic process --run RUN`
/// sends the run's first message again and processes it.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Dataset id in the catalog (`datasets/<id>/dataset.yaml`).
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Local CSV path (plain or gzip), `file:PATH`, or an http(s) URL.
    #[arg(long, required_unless_present = "socrata")]
    pub input: Option<String>,
    /// Read this catalogued year from Socrata (SODA resource endpoint, paged by :id).
    #[arg(long, conflicts_with = "input")]
    pub socrata: Option<i32>,
    /// Socrata base URL (default: https://<socrata_domain from the catalog>).
    #[arg(long)]
    pub socrata_base_url: Option<String>,
    /// Rows per Socrata page ($limit).
    #[arg(long, default_value_t = 10_000)]
    pub page_rows: usize,
    /// Socrata app token, given to the function as the value of its SSM parameter (which does not exist locally
    /// otherwise: requests go without a token).
    #[arg(long, env = "SOCRATA_APP_TOKEN", hide_env_values = true)]
    pub socrata_app_token: Option<String>,
    /// Local store root; the data bucket is <store>/data.
    #[arg(long, default_value = "./.civic")]
    pub store: PathBuf,
    /// Run id (default: UTC timestamp plus random suffix).
    #[arg(long)]
    pub run_id: Option<String>,
    /// Memory target of the whole ingestion (peak RSS), e.g. 128MiB, 64MB, 1GiB or plain bytes. The
    /// partitioner's buffers get this minus 32 MiB for the runtime, the reader and allocator slack.
    #[arg(long, default_value = "128MiB", value_parser = local::parse_size)]
    pub memory_budget: usize,
    /// zstd compression level of the Parquet files (1 = fastest).
    #[arg(long, default_value_t = 1)]
    pub zstd_level: i32,
    /// Threads that encode a row group's columns into Parquet (default: the cores available, at most 4).
    /// More threads need no more memory; 1 encodes on the partitioner's encoder thread alone.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub encode_threads: Option<u16>,
    /// Dataset catalog directory: folders like the repository's datasets/ (<id>/dataset.yaml, ...), to try a
    /// dataset without rebuilding (default: the catalog built into the function).
    #[arg(long, value_name = "DIR", alias = "datasets")]
    pub catalog: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // Before any thread starts: what the arenas keep is memory the budget cannot see (ingest_core::malloc).
    ingest_core::malloc::one_arena();
    local::init_logs();
    local::block_on(local::ingest::run(local::ingest::IngestRun {
        dataset: args.dataset,
        input: args.input,
        socrata: args.socrata,
        socrata_base_url: args.socrata_base_url,
        page_rows: args.page_rows,
        socrata_app_token: args.socrata_app_token,
        store: args.store,
        run_id: args.run_id,
        memory_budget: args.memory_budget,
        zstd_level: args.zstd_level,
        encode_threads: args.encode_threads.map(usize::from),
        datasets: args.catalog,
    }))
}
