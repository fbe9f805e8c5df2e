//! `civic gen-la311` (not built yet: its issue owns this module).
use std::process::ExitCode;

/// Arguments of `civic gen-la311`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`civic gen-la311` is not implemented yet")
}
