//! `civic worklist` (not built yet: its issue owns this module).
use std::process::ExitCode;

/// Arguments of `civic worklist`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`civic worklist` is not implemented yet")
}
