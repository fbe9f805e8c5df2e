//! One module per `civic` subcommand; each owns its `Args` and `run`.
pub mod demo;
mod demo_process;
mod demo_summary;
pub mod gen_la311;
pub mod ingest;
mod loopback;
pub mod process;
pub mod report;
pub mod schema_drift;
pub mod serve;
pub mod topology;
pub mod transform;
pub mod worklist;
