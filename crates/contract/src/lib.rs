//! The hand-offs between the pipeline's stages, as one set of types: the run manifest ingestion writes and
//! every later stage reads ([`manifest`]), the layer report the worklist writes when a layer fans in
//! ([`layer`]), and the job summaries the layer runners record ([`summary`]).
//!
//! Writers and readers use these same types; nothing reads a hand-off through a looser view or by JSON
//! path. The one way to load a run manifest is [`manifest::read`] (the worklist learns a run's jobs from it).

pub mod layer;
pub mod manifest;
pub mod summary;

pub use layer::{JobReport, JobStatus, LayerReport, REPORT_VERSION};
pub use manifest::{
    MANIFEST_VERSION, ManifestError, ManifestPartition, ManifestSource, RunManifest,
};
pub use summary::{AnalyzeRows, AnalyzeSummary, DistrictAgreement, SummaryError, TransformSummary};
