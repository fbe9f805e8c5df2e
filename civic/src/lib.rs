//! `civic`, the operator CLI, as a library: the subcommands ([`cmd`], one clap `Args` and `run` each) on top of
//! one local runtime ([`local`]: the deployed topology on this machine and the drivers of the functions' own entry
//! points), so tests can run the pipeline in process.

pub mod cmd;
pub mod local;
