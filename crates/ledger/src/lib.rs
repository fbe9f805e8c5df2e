//! `ledger`: the event ledger. Versioned finding events with deterministic ids, idempotent storage on the
//! ledger bucket, Parquet compaction, stakeholders derived from the data, and the HTTP API (axum).

pub mod api;
pub mod compact;
pub mod event;
pub mod locations;
pub mod query;
pub mod schema;
pub mod stakeholders;
pub mod store;
pub mod validate;

pub use event::{Dimensions, Event, EventInput, SCHEMA_VERSION, Severity, event_id};
pub use locations::Locations;
pub use query::{Cursor, EventFilter, Page};
pub use store::{Appended, Ledger, LedgerError};
