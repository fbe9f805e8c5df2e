//! Harmonizer: raw MyLA311 rows of any era -> the canonical, typed, cross-year schema.
//!
//! The catalog (`datasets/<dataset>/canonical.yaml`) declares the canonical columns, the normalization
//! tables and one mapping per source era; nothing about eras is hard-coded here. Flow of one partition:
//! manifest -> [`plan::choose_era`] -> [`plan::Plan`] -> [`batch`] per raw batch (column at a time; a row it
//! cannot type goes through [`row`], the definition) -> canonical Parquet + quarantine JSON lines ->
//! [`report::PartitionReport`].

pub mod batch;
pub mod canonical;
pub mod catalog;
pub mod datetime;
pub mod drift;
pub mod load;
pub mod local_time;
pub mod location;
pub mod locations;
pub mod manifest;
pub mod partition;
mod parts;
pub mod plan;
pub mod report;
pub mod row;
pub mod shape;

pub use catalog::Catalog;
pub use load::{CatalogError, builtin, from_catalog, load};
pub use locations::Locations;
pub use partition::{
    TransformError, TransformOptions, transform_partition, transform_partition_opts,
    transform_partition_with,
};
pub use report::{PartitionReport, RunReport};
