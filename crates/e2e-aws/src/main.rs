//! `e2e-aws` (run by `make e2e-aws`): deploy to a local moto_server, run the real function binaries under a
//! Lambda Runtime API emulator and drive one run through them; the last line is the summary. Exit 1 on any
//! mismatch, naming it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// The deployed stacks on a local AWS endpoint with the real function binaries: one run driven the way AWS
/// would drive it (schedule event, SQS events, function URL requests).
#[derive(Debug, Parser)]
#[command(name = "e2e-aws", version, about)]
struct Args {
    /// Repository root (prefixes.yaml, features/).
    #[arg(long, default_value = ".", value_name = "DIR")]
    root: PathBuf,
    /// Folder of the host binaries: the functions, infra-gen and civic (`cargo build --workspace`).
    #[arg(long, default_value = "target/debug", value_name = "DIR")]
    bin_dir: PathBuf,
    /// Scratch folder: packages, unpacked bootstraps, one log per function (emptied first).
    #[arg(long, default_value = "target/e2e-aws", value_name = "DIR")]
    work: PathBuf,
    /// Stage to deploy (declared in prefixes.yaml).
    #[arg(long, default_value = "ci")]
    stage: String,
    /// Dataset whose schedule fires.
    #[arg(long, default_value = "la311")]
    dataset: String,
    /// Rows of the generated source file.
    #[arg(long, default_value_t = 20_000)]
    rows: u64,
    /// Seconds left in the first ingestion invocation (its continuation margin by default: it checkpoints at
    /// the first deadline check and continues in a new invocation).
    #[arg(long)]
    first_deadline_s: Option<u64>,
    /// Seconds allowed for draining the queue.
    #[arg(long, default_value_t = 240)]
    limit_s: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    let a = Args::parse();
    let root = std::path::absolute(&a.root).unwrap_or(a.root);
    let abs = |p: PathBuf| if p.is_absolute() { p } else { root.join(p) };
    let options = e2e_aws::Options {
        bin_dir: abs(a.bin_dir),
        work: abs(a.work),
        root: root.clone(),
        stage: a.stage,
        dataset: a.dataset,
        rows: a.rows,
        first_deadline: a
            .first_deadline_s
            .map_or(ingest::continuation::MARGIN, Duration::from_secs),
        limit: Duration::from_secs(a.limit_s),
    };
    match e2e_aws::run(&options).await {
        Ok(summary) => {
            eprintln!(
                "e2e-aws: {} rows, {} jobs, layers {}, {} continuation(s), {:.1} s",
                summary.rows_read,
                summary.jobs,
                summary.layers.join(" -> "),
                summary.continued,
                summary.seconds
            );
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("e2e-aws: FAILED: {e:#}");
            ExitCode::FAILURE
        }
    }
}
