//! The run manifest the transform reads: the one contract type, [`contract::RunManifest`].

pub use contract::manifest::{ManifestPartition, ManifestSource, RunManifest};
