//! `ledger`: the event ledger. Versioned finding events with deterministic ids, idempotent storage on the
//! ledger bucket, Parquet compaction and stakeholders derived from the data. No HTTP: the API is the
//! `ledger-http` crate, so the `process` function links no web stack. The `openapi` feature (enabled by
//! `ledger-http` only) derives `utoipa::ToSchema` on the wire types.

pub mod compact;
pub mod event;
pub mod locations;
pub mod query;
pub mod schema;
pub mod stakeholders;
pub mod store;
pub mod validate;
#[cfg(feature = "openapi")]
pub mod wire;

pub use event::{
    Dimensions, Event, EventInput, Pair, SCHEMA_VERSION, Severity, event_id, iso_week,
};
pub use locations::Locations;
pub use query::{Cursor, EventFilter, Page};
pub use store::{Appended, Ledger, LedgerError};
