//! `ingest_core`: streaming ingestion of CSV sources (local file, https, Socrata SODA) into the raw
//! Parquet layer, partitioned by the dataset's partition column under a global memory budget.
//!
//! Pipeline: [`source`] yields CSV records ([`header`] names every column uniquely) -> [`run`] validates each row and routes it
//! ([`partition_value`], [`quarantine`]) -> [`partitioner`] buffers per partition and writes
//! zstd Parquet through [`sink`] (object store multipart) -> [`manifest`] is written last.
//! Every object key comes from the grants in [`locations::Locations`]; the dataset catalog is [`catalog`].

pub mod catalog;
pub mod checkpoint;
pub mod error;
pub mod generate;
pub mod geo_route;
pub mod header;
pub mod locations;
pub mod malloc;
pub mod manifest;
pub mod parallel_writer;
pub mod partition_value;
pub mod partitioner;
pub mod quarantine;
pub mod run;
pub mod sink;
pub mod source;
pub mod spill;

pub use catalog::{Catalog, DatasetSpec};
pub use checkpoint::Checkpoint;
pub use error::{Error, Result};
pub use locations::Locations;
pub use manifest::{RunManifest, job_ids};
pub use run::{
    IngestOptions, IngestReport, LogProgress, Progress, Segment, ingest, ingest_segment,
};
pub use source::SourceSpec;
