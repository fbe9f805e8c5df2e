//! Run status for operators, read from the store: per layer done / failed / remaining / dead-lettered.

use object_store::ObjectStore;
use serde::Serialize;

use crate::consumer::DeadLetter;
use crate::keys::{Locations, key_error};
use crate::manifest::ManifestError;

/// Why a run's status could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The run manifest is missing or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The store failed.
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
}
use crate::markers::{JobRecord, JobStatus, LayerMarker, exists, jobs_under, read_json};
use crate::message::WorkMessage;

/// One layer's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerStatus {
    /// Layer name.
    pub layer: String,
    /// Jobs the layer has (manifest partitions for the first layer, the previous layer's done jobs after it);
    /// `None` while that is not known yet.
    pub expected: Option<usize>,
    /// Jobs recorded done.
    pub done: usize,
    /// Jobs recorded failed.
    pub failed: usize,
    /// `expected - done - failed`, when `expected` is known.
    pub remaining: Option<usize>,
    /// Dead letters that belong to this layer.
    pub dead_lettered: usize,
    /// Whether the layer completion marker exists.
    pub complete: bool,
}

/// A persisted dead letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeadLetterEntry {
    /// Store key of the record.
    pub key: String,
    /// The letter.
    pub letter: DeadLetter,
    /// Layer of the refused message, when its body is a worklist message.
    pub layer: Option<String>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunStatus {
    /// Dataset.
    pub dataset: String,
    /// Run id.
    pub run_id: String,
    /// Per layer, in chain order.
    pub layers: Vec<LayerStatus>,
    /// Every persisted dead letter of the run.
    pub dead_letters: Vec<DeadLetterEntry>,
}

/// Read the status of `run_id` for the layer chain `layers`.
pub async fn run_status(
    store: &dyn ObjectStore,
    loc: &Locations,
    dataset: &str,
    run_id: &str,
    layers: &[String],
) -> Result<RunStatus, StatusError> {
    let keys = loc.run(dataset, run_id);
    let manifest = crate::manifest::load(store, loc, dataset, run_id).await?;
    let dead_letters = dead_letters(store, loc, dataset, run_id).await?;
    let k = |r: Result<object_store::path::Path, prefixes::KeyError>| r.map_err(key_error);
    let mut expected = Some(manifest.partitions.len());
    let mut out = Vec::with_capacity(layers.len());
    for layer in layers {
        let (mut done, mut failed) = (0, 0);
        for job in jobs_under(store, loc, &k(keys.jobs_prefix(layer))?).await? {
            let record: Option<JobRecord> =
                read_json(store, &k(keys.job_record(layer, &job))?).await?;
            match record.map(|r| r.status) {
                Some(JobStatus::Done) => done += 1,
                Some(JobStatus::Failed) => failed += 1,
                None => {}
            }
        }
        let marker: Option<LayerMarker> = read_json(store, &k(keys.layer_complete(layer))?).await?;
        out.push(LayerStatus {
            layer: layer.clone(),
            expected,
            done,
            failed,
            remaining: expected.map(|e| e.saturating_sub(done + failed)),
            dead_lettered: dead_letters
                .iter()
                .filter(|d| d.layer.as_deref() == Some(layer))
                .count(),
            complete: exists(store, &k(keys.layer_complete(layer))?).await?,
        });
        expected = marker.map(|m| m.done.len());
    }
    Ok(RunStatus {
        dataset: dataset.to_owned(),
        run_id: run_id.to_owned(),
        layers: out,
        dead_letters,
    })
}

/// The dead letters persisted under the run's `dlq/` prefix.
pub async fn dead_letters(
    store: &dyn ObjectStore,
    loc: &Locations,
    dataset: &str,
    run_id: &str,
) -> Result<Vec<DeadLetterEntry>, object_store::Error> {
    let keys = loc.run(dataset, run_id);
    let mut out = Vec::new();
    for id in jobs_under(store, loc, &keys.dlq_prefix().map_err(key_error)?).await? {
        let key = keys.dlq_record(&id).map_err(key_error)?;
        if let Some(letter) = read_json::<DeadLetter>(store, &key).await? {
            let layer = serde_json::from_str::<WorkMessage>(&letter.body)
                .ok()
                .map(|m| m.layer);
            out.push(DeadLetterEntry {
                key: key.to_string(),
                letter,
                layer,
            });
        }
    }
    Ok(out)
}
