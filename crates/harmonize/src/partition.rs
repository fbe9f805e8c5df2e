//! The transform step of one partition: raw Parquet -> canonical Parquet + quarantine JSON lines + counts.
//!
//! Streams one record batch at a time (bounded memory); every raw row becomes exactly one canonical row or
//! one quarantine line. Output keys are deterministic, so a retried job overwrites its own output.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, UInt64Type};
use arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
// ParquetObjectReader is deprecated in parquet 60 (arrow-rs#10308) but is the reader the team brief
// prescribes; switch to a hand-written `AsyncFileReader` when the workspace moves off it.
#[allow(deprecated)]
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
use serde::Serialize;
use tokio::io::AsyncWriteExt;

use crate::canonical::{self, BatchBuilder};
use crate::catalog::Catalog;
use crate::datetime;
use crate::locations::Locations;
use crate::manifest::RunManifest;
use crate::parts::PartWriter;
pub use crate::parts::TransformOptions;
use crate::plan::{self, LineageValues, Plan, PlanError, Source};
use crate::report::PartitionReport;
use crate::row::Problem;
use chrono::Datelike;

/// Name of the raw layer's row-number column.
pub const SOURCE_ROW: &str = "_source_row";

/// A partition that could not be transformed at all (row-level problems are quarantined instead).
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error(transparent)]
    Manifest(contract::ManifestError),
    #[error("run {run_id} has no partition '{partition}' (known: {known})")]
    UnknownPartition {
        run_id: String,
        partition: String,
        known: String,
    },
    #[error("{key}: {source}")]
    Store {
        key: String,
        source: object_store::Error,
    },
    #[error("{key}: {source}")]
    Parquet {
        key: String,
        source: parquet::errors::ParquetError,
    },
    #[error("{key}: {source}")]
    Arrow {
        key: String,
        source: arrow::error::ArrowError,
    },
    #[error("{key}: {message}")]
    RawContract { key: String, message: String },
    #[error("{key}: {source}")]
    Plan { key: String, source: PlanError },
    #[error("{key}: {source}")]
    Io { key: String, source: std::io::Error },
    #[error("catalog: {0}")]
    Catalog(#[from] crate::load::CatalogError),
    #[error("key: {0}")]
    Key(#[from] prefixes::KeyError),
    #[error(
        "run manifest lists {key}, which is not a raw part of partition {partition} of this run"
    )]
    ForeignKey { key: String, partition: String },
    #[error(
        "partition {partition}: counts do not add up: {rows_in} in, {rows_out} out, {rows_quarantined} quarantined"
    )]
    Unbalanced {
        partition: String,
        rows_in: u64,
        rows_out: u64,
        rows_quarantined: u64,
    },
}

/// Transform one partition of a run with the dataset's built-in catalog (the worklist job entry point).
pub async fn transform_partition(
    store: Arc<dyn ObjectStore>,
    locations: Locations,
    dataset: &str,
    run_id: &str,
    partition: &str,
) -> Result<PartitionReport, TransformError> {
    let catalog = crate::load::builtin(dataset)?;
    let manifest = read_manifest(store.as_ref(), &locations, dataset, run_id).await?;
    transform_partition_with(store, locations, &catalog, &manifest, partition).await
}

/// Read the run manifest of `dataset` / `run_id`.
pub async fn read_manifest(
    store: &dyn ObjectStore,
    locations: &Locations,
    dataset: &str,
    run_id: &str,
) -> Result<RunManifest, TransformError> {
    contract::manifest::read(store, locations.runs, dataset, run_id)
        .await
        .map_err(TransformError::Manifest)
}

/// One quarantined raw row, as written to the quarantine JSON lines.
#[derive(Debug, Serialize)]
struct QuarantineLine<'a> {
    dataset: &'a str,
    run_id: &'a str,
    stage: &'static str,
    partition: &'a str,
    era: &'a str,
    source_row: u64,
    column: &'a str,
    source_column: Option<&'a str>,
    value: &'a str,
    reason: &'static str,
    detail: &'a str,
    problems: &'a [Problem],
    raw: BTreeMap<&'a str, &'a str>,
}

/// Year (when the manifest knows it) and dataset lineage of a run.
fn lineage(catalog: &Catalog, m: &RunManifest) -> (Option<i32>, String) {
    let by_id = m
        .source
        .dataset_id
        .as_deref()
        .and_then(|id| catalog.year_for_dataset_id(id));
    let year = m.source.year.or(by_id.map(|(y, _)| y));
    let dataset = m
        .source
        .dataset_id
        .clone()
        .or_else(|| {
            year.and_then(|y| catalog.era_for_year(y))
                .map(|(_, id)| id.to_string())
        })
        .unwrap_or_else(|| m.source.uri.clone());
    (year, dataset)
}

/// The era the transform applies to `manifest`'s run (by its source's dataset id or year, else its
/// header), or why none fits: `civic transform` checks this before it sends any job, so a run no era
/// maps writes nothing under canonical/.
pub fn era_of_run<'c>(
    catalog: &'c Catalog,
    manifest: &RunManifest,
) -> Result<&'c crate::catalog::Era, PlanError> {
    let (year, _) = lineage(catalog, manifest);
    plan::choose_era(
        catalog,
        manifest.source.dataset_id.as_deref(),
        year,
        &manifest.schema,
    )
}

/// The local year of the first value of `column` in `cols` that parses (see `Catalog::year_column`).
fn infer_year(plan: &Plan, column: &str, cols: &[StringArray]) -> Option<i32> {
    let c = plan.columns.iter().find(|c| c.name == column)?;
    let Source::Column(i) = c.source else {
        return None;
    };
    cols[i]
        .iter()
        .flatten()
        .find_map(|v| datetime::parse_any(plan.tz, &c.formats, v))
        .map(|t| t.with_timezone(&plan.tz).year())
}

/// One raw batch split per the raw contract: header names, their Utf8 columns, and `_source_row`.
struct RawColumns {
    header: Vec<String>,
    cols: Vec<StringArray>,
    rows: Vec<u64>,
}

/// Raw column texts of one batch, plus `_source_row`.
fn raw_columns(key: &str, batch: &RecordBatch) -> Result<RawColumns, TransformError> {
    let schema = batch.schema();
    let mut header = Vec::new();
    let mut cols = Vec::new();
    let mut rows = None;
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        if field.name() == SOURCE_ROW {
            let a = cast(array, &DataType::UInt64).map_err(|source| TransformError::Arrow {
                key: key.into(),
                source,
            })?;
            let a = a.as_primitive::<UInt64Type>();
            if a.null_count() > 0 {
                return Err(TransformError::RawContract {
                    key: key.into(),
                    message: format!("{SOURCE_ROW} has nulls"),
                });
            }
            rows = Some(a.values().to_vec());
        } else {
            let a = cast(array, &DataType::Utf8).map_err(|source| TransformError::Arrow {
                key: key.into(),
                source,
            })?;
            header.push(field.name().clone());
            cols.push(a.as_string::<i32>().clone());
        }
    }
    let rows = rows.ok_or_else(|| TransformError::RawContract {
        key: key.into(),
        message: format!("no {SOURCE_ROW} column"),
    })?;
    Ok(RawColumns { header, cols, rows })
}

/// Transform one partition of `manifest`'s run with `catalog` (default sizes).
pub async fn transform_partition_with(
    store: Arc<dyn ObjectStore>,
    locations: Locations,
    catalog: &Catalog,
    manifest: &RunManifest,
    partition: &str,
) -> Result<PartitionReport, TransformError> {
    transform_partition_opts(
        store,
        locations,
        catalog,
        manifest,
        partition,
        TransformOptions::default(),
    )
    .await
}

/// Transform one partition of `manifest`'s run with `catalog` and explicit sizes.
pub async fn transform_partition_opts(
    store: Arc<dyn ObjectStore>,
    locations: Locations,
    catalog: &Catalog,
    manifest: &RunManifest,
    partition: &str,
    opts: TransformOptions,
) -> Result<PartitionReport, TransformError> {
    let part = manifest
        .partition(partition)
        .ok_or_else(|| TransformError::UnknownPartition {
            run_id: manifest.run_id.clone(),
            partition: partition.into(),
            known: manifest
                .partitions
                .iter()
                .map(|p| p.value.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let dataset = manifest.dataset.as_str();
    let run_id = manifest.run_id.as_str();
    let (mut year, source_dataset) = lineage(catalog, manifest);
    let year_inferred = year.is_none();
    let schema = canonical::schema(catalog);
    let mut builder = BatchBuilder::new(schema.clone());
    let mut out = PartWriter {
        opts,
        store: store.clone(),
        locations,
        schema,
        dataset: dataset.into(),
        year,
        partition: partition.into(),
        current: None,
        keys: Vec::new(),
    };
    let qkey = locations.transform_quarantine(dataset, run_id, partition)?;
    // Opened at the first quarantined row, so clean partitions leave no empty quarantine object.
    let mut quarantine: Option<BufWriter> = None;
    let mut report = PartitionReport {
        dataset: dataset.into(),
        run_id: run_id.into(),
        partition: partition.into(),
        year,
        year_inferred,
        quarantine_key: None,
        ..Default::default()
    };
    let mut plan: Option<Plan> = None;
    for key in &part.keys {
        if !locations.is_raw_part_of(key, dataset, run_id, partition) {
            return Err(TransformError::ForeignKey {
                key: key.clone(),
                partition: partition.into(),
            });
        }
        let path = Path::from(key.as_str());
        let meta = store
            .head(&path)
            .await
            .map_err(|source| TransformError::Store {
                key: key.clone(),
                source,
            })?;
        #[allow(deprecated)]
        let reader = ParquetObjectReader::new(store.clone(), path).with_file_size(meta.size);
        let mut stream = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .and_then(|b| b.with_batch_size(opts.batch_rows).build())
            .map_err(|source| TransformError::Parquet {
                key: key.clone(),
                source,
            })?;
        while let Some(batch) =
            stream
                .try_next()
                .await
                .map_err(|source| TransformError::Parquet {
                    key: key.clone(),
                    source,
                })?
        {
            let RawColumns { header, cols, rows } = raw_columns(key, &batch)?;
            if plan.as_ref().is_none_or(|p| p.header != header) {
                let era = plan::choose_era(
                    catalog,
                    manifest.source.dataset_id.as_deref(),
                    year,
                    &header,
                )
                .map_err(|source| TransformError::Plan {
                    key: key.clone(),
                    source,
                })?;
                let lineage = LineageValues {
                    year: year.unwrap_or(0) as i16,
                    dataset: source_dataset.clone(),
                    run: run_id.into(),
                };
                let p = Plan::new(catalog, era, &header, lineage).map_err(|source| {
                    TransformError::Plan {
                        key: key.clone(),
                        source,
                    }
                })?;
                report.era = p.era.clone();
                report.missing_columns = p.missing.clone();
                plan = Some(p);
            }
            let plan = plan.as_mut().expect("set above");
            if year.is_none() {
                // Rows whose year column does not parse are quarantined, so every output row comes after this.
                year = infer_year(plan, &catalog.year_column.value, &cols);
                if let Some(y) = year {
                    plan.lineage.year = y as i16;
                    out.year = Some(y);
                    report.year = Some(y);
                }
            }
            let plan = &*plan;
            for (r, &source_row) in rows.iter().enumerate() {
                report.rows_in += 1;
                match plan.transform_row(|i| cols[i].value(r), source_row) {
                    Ok(row) => {
                        if row.swapped_coordinates {
                            *report
                                .corrections
                                .entry("coordinates_unswapped".into())
                                .or_default() += 1;
                        }
                        if plan.districts.is_some() {
                            plan.district_outcome(
                                &row.values,
                                report.districts.get_or_insert_with(Default::default),
                            );
                        }
                        builder.push(&row.values);
                        report.rows_out += 1;
                    }
                    Err(problems) => {
                        let first = &problems[0];
                        report.rows_quarantined += 1;
                        *report
                            .quarantined_by_reason
                            .entry(first.reason.code().into())
                            .or_default() += 1;
                        *report
                            .quarantined_by_column
                            .entry(first.column.clone())
                            .or_default() += 1;
                        let line = QuarantineLine {
                            dataset,
                            run_id,
                            stage: "transform",
                            partition,
                            era: &plan.era,
                            source_row,
                            column: &first.column,
                            source_column: first.source_column.as_deref(),
                            value: &first.value,
                            reason: first.reason.code(),
                            detail: &first.detail,
                            problems: &problems,
                            raw: header
                                .iter()
                                .map(String::as_str)
                                .zip(cols.iter().map(|c| c.value(r)))
                                .collect(),
                        };
                        let mut text =
                            serde_json::to_vec(&line).expect("quarantine line serializes");
                        text.push(b'\n');
                        quarantine
                            .get_or_insert_with(|| BufWriter::new(store.clone(), qkey.clone()))
                            .write_all(&text)
                            .await
                            .map_err(|source| TransformError::Io {
                                key: qkey.to_string(),
                                source,
                            })?;
                    }
                }
            }
            if !builder.is_empty() {
                let out_batch = builder.finish().map_err(|source| TransformError::Arrow {
                    key: key.clone(),
                    source,
                })?;
                out.write(&out_batch).await?;
            }
        }
    }
    match quarantine {
        Some(mut q) => {
            q.shutdown().await.map_err(|source| TransformError::Io {
                key: qkey.to_string(),
                source,
            })?;
            report.quarantine_key = Some(qkey.to_string());
        }
        // A retried job that now quarantines nothing must not leave an earlier attempt's lines behind.
        None => match store.delete(&qkey).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(source) => {
                return Err(TransformError::Store {
                    key: qkey.to_string(),
                    source,
                });
            }
        },
    }
    report.canonical_keys = out.finish().await?;
    if !report.balanced() {
        return Err(TransformError::Unbalanced {
            partition: partition.into(),
            rows_in: report.rows_in,
            rows_out: report.rows_out,
            rows_quarantined: report.rows_quarantined,
        });
    }
    Ok(report)
}
