//! One module per `civic` subcommand; each owns its clap `Args` and a `run` that parses nothing more and calls
//! into [`crate::local`]. No subcommand module uses another.
pub mod correlate;
pub mod demo;
pub mod r#gen;
pub mod gen_la311;
pub mod ingest;
pub mod process;
pub mod report;
pub mod schema_drift;
pub mod serve;
pub mod transform;
pub mod worklist;
