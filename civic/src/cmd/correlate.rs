//! `civic correlate`: the arguments of the correlate layer over a local store; the work is
//! [`crate::local::correlate`].

use std::path::PathBuf;
use std::process::ExitCode;

use crate::local;

/// Arguments of `civic correlate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Local store root (the data bucket is <STORE>/data, the ledger <STORE>/ledger).
    #[arg(long, default_value = "./.civic")]
    pub store: PathBuf,
    /// Datasets to pair, comma-separated (default: every analyzed dataset of the catalog).
    #[arg(long, value_delimiter = ',', value_name = "ID,...")]
    pub datasets: Vec<String>,
    /// Dataset catalog directory (folders like the repository's datasets/) instead of the catalog compiled in.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
    /// Run id to file the association table under (default: `correlate-<UTC time>`).
    #[arg(long)]
    pub run: Option<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    local::init_logs();
    let req = local::correlate::Request {
        store: args.store,
        datasets: args.datasets,
        catalog: args.catalog,
        run: args.run,
    };
    // Bad input (an unknown dataset, nothing analyzed in the store) is exit 2 with the reason.
    if let Err(e) = local::correlate::candidates(&req) {
        eprintln!("error: {e:#}");
        return Ok(ExitCode::from(2));
    }
    local::block_on(async move {
        match local::correlate::run(&req).await {
            Ok(o) => {
                local::correlate::print(&o);
                Ok(ExitCode::SUCCESS)
            }
            Err(e) if e.to_string().starts_with("no analyzed dataset") => {
                eprintln!("error: {e:#}");
                Ok(ExitCode::from(2))
            }
            Err(e) => Err(e),
        }
    })
}
