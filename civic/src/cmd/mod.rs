//! One module per `civic` subcommand; each owns its `Args` and `run`.
pub mod gen_la311;
pub mod ingest;
pub mod process;
pub mod schema_drift;
pub mod serve;
pub mod transform;
pub mod worklist;
