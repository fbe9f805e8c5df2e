//! `civic schema-drift` (not built yet: its issue owns this module).
use std::process::ExitCode;

/// Arguments of `civic schema-drift`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`civic schema-drift` is not implemented yet")
}
