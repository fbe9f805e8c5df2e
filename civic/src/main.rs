//! `civic`: the operator CLI. Runs the pipeline locally with the same library code the Lambdas use.
//!
//! Each subcommand lives in its own module under `cmd/` (in the `civic` library) with one clap `Args` struct and a
//! `run` function; this file only parses the command line and dispatches.

use civic::cmd;
use clap::{Parser, Subcommand};

/// Run the civic-data pipeline locally: ingest, transform, process, serve and report,
/// with the same code and the same key layout as the deployed Lambdas.
#[derive(Debug, Parser)]
#[command(name = "civic", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a deterministic CSV shaped like a real export: la311, lapd_crime or ladbs_permits (realistic
    /// columns, value shapes, skew, empties, a few malformed rows).
    Gen(cmd::r#gen::Args),
    /// Same as `civic gen --dataset la311` (kept for scripts).
    #[command(name = "gen-la311", hide = true)]
    GenLa311(cmd::gen_la311::Args),
    /// Stream a source (file, https or Socrata) into raw Parquet partitioned by council district.
    ///
    /// The deployed `ingest` function's handler runs on the local topology with these settings as its options
    /// (continuations run in this process). Its hand-off goes to the in-process worklist queue and ends with the
    /// command: `civic process --run RUN` sends the run's first message again and processes it.
    Ingest(cmd::ingest::Args),
    /// Transform an ingested run into the canonical, typed, cross-year schema: its `transform` layer through the
    /// `process` function.
    ///
    /// The deployed `process` function's handler runs on the local topology (its transform runner, the worklist
    /// queue, the fan-in), so the layer report under worklist/<dataset>/run=<RUN>/transform/ is the one the Lambda
    /// writes; the command then sums it into runs/<dataset>/run=<RUN>/transform-report.json and prints one line
    /// per partition. The layer is then complete for the run: `civic process` goes on with the next layer.
    /// Exit 1 when a job failed; 2 (bad input) when no era of the catalog maps the run's header, which the
    /// message names, and nothing is written under canonical/.
    Transform(cmd::transform::Args),
    /// Compare a source's header and values with the dataset's mapping; exit 1 when the mapping does not cover it.
    #[command(name = "schema-drift")]
    SchemaDrift(cmd::schema_drift::Args),
    /// Drive all declared layers of an ingested run through the embedded worklist queue.
    ///
    /// The deployed `process` function's handler is fed SQS events from the embedded queue (visibility and DLQ
    /// redrive as declared in features/processing/feature.yaml), starting at the first layer the run has not
    /// completed.
    Process(cmd::process::Args),
    /// Findings across datasets: the district-week feature table and lead/lag associations with q-values.
    ///
    /// Runs the `correlate` layer's code (what the `process` function runs after a dataset's analyze layer) over
    /// the store's analyzed datasets: each council district's rows of the feature table
    /// (<STORE>/data/features/district_week/cd=<D>/), the correlation of every pair of datasets' weekly series
    /// (total and top categories, detrended) at lags -4..+4 weeks with permutation p-values, Benjamini-Hochberg
    /// q-values across everything tested, and a `cross_dataset_association` ledger event for each q <= 0.05
    /// (deterministic ids: running it again appends nothing). The last line printed is the path of the
    /// association table. Exit 2 for an unknown dataset or a store with nothing analyzed.
    Correlate(cmd::correlate::Args),
    /// Inspect or redrive a run's worklist.
    Worklist(cmd::worklist::Args),
    /// Serve the ledger HTTP API (events, stakeholders, OpenAPI) over a local store on loopback.
    Serve(cmd::serve::Args),
    /// Write a run's findings report: one self-contained HTML page with charts per council district.
    Report(cmd::report::Args),
    /// The whole pipeline locally from the deployed manifests: generate, ingest, transform, analyze, ledger, report.
    Demo(cmd::demo::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Gen(args) => cmd::r#gen::run(args),
        Command::GenLa311(args) => cmd::gen_la311::run(args),
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Transform(args) => cmd::transform::run(args),
        Command::SchemaDrift(args) => cmd::schema_drift::run(args),
        Command::Process(args) => cmd::process::run(args),
        Command::Correlate(args) => cmd::correlate::run(args),
        Command::Worklist(args) => cmd::worklist::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Demo(args) => cmd::demo::run(args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            // Bad input (an unknown dataset, a malformed event or source, a bad catalog file) exits 2, as the
            // ingest function's `bad_input` errors and invalid catalogs do; anything else 1.
            let bad_input = err.chain().any(|e| {
                e.downcast_ref::<ingest::Error>()
                    .is_some_and(|e| e.category == ingest::Category::BadInput)
                    || e.downcast_ref::<datasets::Error>().is_some()
                    || e.downcast_ref::<harmonize::CatalogError>().is_some()
            });
            if bad_input {
                std::process::ExitCode::from(2)
            } else {
                std::process::ExitCode::FAILURE
            }
        }
    }
}
