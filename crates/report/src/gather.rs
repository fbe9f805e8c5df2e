//! Reads what the report shows from the two buckets: the run manifest and ingest quarantine (ingest), the
//! layer reports (worklist; the transform one carries each partition's `PartitionReport`), the processed
//! weekly tables (analyze), the ledger's events and the merged stakeholders.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int16Type, TimestampMicrosecondType, UInt64Type};
use bytes::Bytes;
use ingest_core::quarantine::QuarantinedRow;
use ledger::Ledger;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use prefixes::Prefix;
use prefixes::access::Read;
use prefixes::keys::{Processed, Runs};

use crate::model::{
    DataQuality, LayerSummary, ReportData, StageQuality, WeeklyInput, fold_weekly, reason_class,
};

/// Errors gathering the report's inputs; each names the object it was reading.
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    /// The run manifest is missing: the run was never ingested (or the store is another one).
    #[error("no run manifest at {key}: was run {run_id} ingested into this store?")]
    NoManifest {
        /// The key looked up.
        key: String,
        /// The run.
        run_id: String,
    },
    /// The object store failed.
    #[error("object store error at {key}: {source}")]
    Store {
        /// The key.
        key: String,
        /// The error.
        #[source]
        source: object_store::Error,
    },
    /// A JSON document is not what its writer writes.
    #[error("{key} is not valid: {message}")]
    Invalid {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// A processed weekly table could not be read.
    #[error("weekly table {key}: {message}")]
    Weekly {
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The ledger failed.
    #[error("ledger: {0}")]
    Ledger(String),
}

async fn get(store: &dyn ObjectStore, key: &Path) -> Result<Option<Bytes>, GatherError> {
    let store_err = |source| GatherError::Store {
        key: key.to_string(),
        source,
    };
    match store.get(key).await {
        Ok(r) => Ok(Some(r.bytes().await.map_err(store_err)?)),
        Err(object_store::Error::NotFound { .. }) => Ok(None),
        Err(e) => Err(store_err(e)),
    }
}

/// What the report reads: run manifests and layer reports, the processed tables, and the ledger.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    pub runs: Prefix<Runs, Read>,
    pub processed: Prefix<Processed, Read>,
    pub ledger: ledger::Locations,
}

/// Gathers everything the report of `run_id` shows. `layers` are the worklist layers to summarize.
pub async fn gather(
    data: &Arc<dyn ObjectStore>,
    ledger_store: &Arc<dyn ObjectStore>,
    loc: &Locations,
    dataset: &str,
    run_id: &str,
    layers: &[String],
) -> Result<ReportData, GatherError> {
    let manifest = match contract::manifest::read(data.as_ref(), loc.runs, dataset, run_id).await {
        Ok(m) => m,
        Err(contract::ManifestError::Missing { key }) => {
            return Err(GatherError::NoManifest {
                key,
                run_id: run_id.to_owned(),
            });
        }
        Err(e) => {
            return Err(GatherError::Invalid {
                key: format!("run manifest of {dataset}/{run_id}"),
                message: e.to_string(),
            });
        }
    };
    let mut quality = DataQuality::default();
    quality
        .stages
        .push(ingest_quality(data.as_ref(), &manifest).await?);
    if let Some((t, districts)) =
        transform_quality(data.as_ref(), loc.runs, dataset, run_id).await?
    {
        quality.stages.push(t);
        quality.districts = districts;
    }
    for layer in layers {
        let report = worklist::report::read(data.as_ref(), loc.runs, dataset, run_id, layer)
            .await
            .map_err(|e| GatherError::Invalid {
                key: format!("{layer}-report.json of run {run_id}"),
                message: e.to_string(),
            })?;
        quality.layers.push(match report {
            Some(r) => LayerSummary {
                layer: layer.clone(),
                jobs_total: Some(r.jobs_total),
                jobs_done: r.jobs_done,
                jobs_failed: r.jobs_failed,
            },
            None => LayerSummary {
                layer: layer.clone(),
                ..Default::default()
            },
        });
    }
    let mut weekly = Vec::new();
    for p in &manifest.partitions {
        let key = analysis::locations::weekly_table_key(loc.processed, dataset, &p.value).map_err(
            |e| GatherError::Invalid {
                key: format!("(weekly table of partition {})", p.value),
                message: e.to_string(),
            },
        )?;
        if let Some(bytes) = get(data.as_ref(), &key).await? {
            read_weekly(&key, bytes, &mut weekly)?;
        }
    }
    let ledger = Ledger::new(ledger_store.clone(), loc.ledger);
    let mut findings = ledger
        .all(Some(dataset))
        .await
        .map_err(|e| GatherError::Ledger(e.to_string()))?;
    findings.sort_by(|a, b| {
        (
            b.severity,
            a.dimensions.council_district,
            a.window_start,
            &a.event_id,
        )
            .cmp(&(
                a.severity,
                b.dimensions.council_district,
                b.window_start,
                &b.event_id,
            ))
    });
    // Council members belong to districts, not datasets: a dataset whose rows name none (crimes, permits) shows
    // those of the first dataset of the catalog that maintains a stakeholder file.
    let mut sources = vec![dataset.to_owned()];
    sources.extend(
        datasets::Catalog::builtin()
            .datasets()
            .filter(|d| d.id() != dataset && d.file("stakeholders.yaml").is_some())
            .map(|d| d.id().to_owned()),
    );
    let mut stakeholders = BTreeMap::new();
    for source in &sources {
        let derived = ledger::stakeholders::load_derived(&ledger, source)
            .await
            .map_err(|e| GatherError::Ledger(e.to_string()))?;
        let mut file = ledger::stakeholders::load_stored_file(&ledger, source)
            .await
            .map_err(|e| GatherError::Ledger(e.to_string()))?;
        // No file stored in the ledger bucket (a local run): the catalog's own, so members are dated by its terms.
        if file.is_none()
            && let Some(f) = datasets::Catalog::builtin()
                .dataset(source)
                .ok()
                .and_then(|d| d.file("stakeholders.yaml"))
        {
            file = Some(
                ledger::stakeholders::StakeholderFile::parse(f.path, f.text)
                    .map_err(|e| GatherError::Ledger(e.to_string()))?,
            );
        }
        if derived.is_empty() && file.is_none() {
            continue;
        }
        stakeholders = ledger::stakeholders::merge(&derived, file.as_ref())
            .into_iter()
            .map(|s| (s.council_district, s))
            .collect();
        break;
    }
    Ok(ReportData {
        dataset: dataset.to_owned(),
        run_id: run_id.to_owned(),
        source: format!("{} {}", manifest.source.kind, manifest.source.uri),
        generated_at: chrono::Utc::now(),
        districts: fold_weekly(weekly),
        findings,
        stakeholders,
        quality,
    })
}

/// Ingest accounting from the manifest, reasons from the quarantine JSON lines it lists.
async fn ingest_quality(
    data: &dyn ObjectStore,
    manifest: &contract::RunManifest,
) -> Result<StageQuality, GatherError> {
    let mut by_reason = BTreeMap::new();
    for key in &manifest.quarantine_keys {
        let key = Path::from(key.as_str());
        let Some(bytes) = get(data, &key).await? else {
            continue;
        };
        for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let row: QuarantinedRow =
                serde_json::from_slice(line).map_err(|e| GatherError::Invalid {
                    key: format!("{key}:{}", i + 1),
                    message: e.to_string(),
                })?;
            *by_reason.entry(reason_class(&row.reason)).or_default() += 1;
        }
    }
    Ok(StageQuality {
        stage: "ingest".into(),
        rows_in: manifest.rows_read,
        rows_out: manifest.rows_written,
        rows_quarantined: manifest.rows_quarantined,
        by_reason,
    })
}

/// Transform accounting: the worklist's transform layer report, whose job summaries are the partitions'
/// `PartitionReport`s (`civic process`), else the run report `civic transform` writes.
async fn transform_quality(
    data: &dyn ObjectStore,
    runs: Prefix<Runs, Read>,
    dataset: &str,
    run_id: &str,
) -> Result<Option<(StageQuality, Option<contract::DistrictAgreement>)>, GatherError> {
    let layer = worklist::report::read(data, runs, dataset, run_id, "transform")
        .await
        .map_err(|e| GatherError::Invalid {
            key: format!("transform layer report of run {run_id}"),
            message: e.to_string(),
        })?;
    let partitions: Vec<contract::TransformSummary> = match layer {
        Some(layer) => layer
            .transform_summaries()
            .map_err(|e| GatherError::Invalid {
                key: format!("transform layer report of run {run_id}"),
                message: e.to_string(),
            })?,
        None => {
            let key = Path::from(
                runs.read_key(
                    &prefixes::keys::RunsKey { dataset, run_id },
                    &prefixes::keys::runs::TransformReport,
                )
                .map_err(|e| GatherError::Invalid {
                    key: format!("(transform report of {dataset}/{run_id})"),
                    message: e.to_string(),
                })?
                .into_string(),
            );
            let Some(bytes) = get(data, &key).await? else {
                return Ok(None);
            };
            serde_json::from_slice::<harmonize::RunReport>(&bytes)
                .map_err(|e| GatherError::Invalid {
                    key: key.to_string(),
                    message: e.to_string(),
                })?
                .partitions
        }
    };
    let mut districts: Option<contract::DistrictAgreement> = None;
    for p in &partitions {
        if let Some(d) = &p.districts {
            districts.get_or_insert_with(Default::default).add(d);
        }
    }
    let run = harmonize::RunReport::from_partitions(dataset, run_id, partitions);
    Ok(Some((
        StageQuality {
            stage: "transform".into(),
            rows_in: run.rows_in,
            rows_out: run.rows_out,
            rows_quarantined: run.rows_quarantined,
            by_reason: run.quarantined_by_reason,
        },
        districts,
    )))
}

fn read_weekly(key: &Path, bytes: Bytes, out: &mut Vec<WeeklyInput>) -> Result<(), GatherError> {
    let bad = |message: String| GatherError::Weekly {
        key: key.to_string(),
        message,
    };
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .and_then(|b| b.build())
        .map_err(|e| bad(e.to_string()))?;
    for batch in reader {
        let batch = batch.map_err(|e| bad(e.to_string()))?;
        weekly_rows(&batch, out).map_err(bad)?;
    }
    Ok(())
}

/// Appends the rows of one batch of the weekly table (schema `analysis::output::weekly_schema`).
pub fn weekly_rows(batch: &RecordBatch, out: &mut Vec<WeeklyInput>) -> Result<(), String> {
    let col = |name: &str| {
        batch
            .column_by_name(name)
            .ok_or_else(|| format!("no column {name:?}"))
    };
    let wrong = |name: &str| format!("column {name:?} does not have the weekly table's type");
    let cd = col("council_district")?
        .as_primitive_opt::<Int16Type>()
        .ok_or_else(|| wrong("council_district"))?;
    let week = col("week_start")?
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| wrong("week_start"))?;
    let requests = col("requests")?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| wrong("requests"))?;
    let closed = col("closed")?
        .as_primitive_opt::<UInt64Type>()
        .ok_or_else(|| wrong("closed"))?;
    let median = col("median_hours_to_close")?
        .as_primitive_opt::<Float64Type>()
        .ok_or_else(|| wrong("median_hours_to_close"))?;
    for i in 0..batch.num_rows() {
        out.push(WeeklyInput {
            council_district: cd.value(i),
            week_start_us: week.value(i),
            requests: requests.value(i),
            closed: closed.value(i),
            median_hours_to_close: (!median.is_null(i)).then(|| median.value(i)),
        });
    }
    Ok(())
}
