//! `civic demo`: the arguments of the whole pipeline on one machine; the pipeline itself is
//! [`crate::local::demo`] (the functions' own entry points on the local topology).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::local;

/// Arguments of `civic demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Rows to generate per dataset (1.5 million in all for the three datasets by default).
    #[arg(long, default_value_t = 500_000)]
    pub rows: u64,
    /// Local store root (buckets <STORE>/data and <STORE>/ledger; the report goes to <STORE>/reports).
    #[arg(long, value_name = "DIR", default_value = "./.civic")]
    pub store: PathBuf,
    /// Generator seed: the same seed, rows and year give the same rows and the same run id.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Year of the generated data.
    #[arg(long, default_value_t = 2023)]
    pub year: i32,
    /// Delete the store first and start over.
    #[arg(long)]
    pub fresh: bool,
    /// Use this CSV (path, `file:PATH` or http(s) URL) instead of generating rows (one dataset: --datasets ID).
    #[arg(long, value_name = "PATH_OR_URL")]
    pub input: Option<String>,
    /// Read this catalogued year of the one dataset of --datasets from the Socrata portal instead of generating
    /// rows (needs network).
    #[arg(long, value_name = "YEAR", conflicts_with = "input")]
    pub socrata: Option<i32>,
    /// Socrata app token, given to the ingest function as the value of its SSM parameter (which does not exist
    /// locally otherwise).
    #[arg(long, env = "SOCRATA_APP_TOKEN", hide_env_values = true)]
    pub socrata_app_token: Option<String>,
    /// The datasets to run, comma-separated (default: every dataset of the catalog: la311, ladbs_permits,
    /// lapd_crime). Each gets its own generated input, run and report section.
    #[arg(long, alias = "dataset", value_delimiter = ',', value_name = "ID,...")]
    pub datasets: Vec<String>,
    /// Report file (default: <STORE>/reports/<DATASET>-<RUN>.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Memory target of the ingest stage (see `civic ingest --memory-budget`), e.g. 128MiB.
    #[arg(long, default_value = "128MiB", value_parser = local::parse_size)]
    pub memory_budget: usize,
    /// After the run, keep serving the ledger API and the report on loopback until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    local::init_logs();
    let demo = local::demo::Demo {
        rows: args.rows,
        store: args.store,
        seed: args.seed,
        year: args.year,
        fresh: args.fresh,
        input: args.input,
        socrata: args.socrata,
        socrata_app_token: args.socrata_app_token,
        datasets: if args.datasets.is_empty() {
            datasets::Catalog::builtin()
                .ids()
                .map(str::to_owned)
                .collect()
        } else {
            args.datasets
        },
        out: args.out,
        memory_budget: args.memory_budget,
        write_log: false,
    };
    let serve = args.serve;
    local::block_on(async move {
        let outcome = local::demo::run(&demo).await?;
        if serve {
            use std::io::Write as _;
            println!(
                "serving until Ctrl-C: report {url}/report ({url}/reports/{file}), ledger API {url}/events, \
                 OpenAPI {url}/openapi.json",
                url = outcome.api.url(),
                file = outcome
                    .report
                    .file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
            );
            std::io::stdout().flush()?;
            outcome.api.serve_until_ctrl_c().await?;
        } else {
            outcome.api.stop().await;
        }
        Ok(if outcome.ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    })
}
