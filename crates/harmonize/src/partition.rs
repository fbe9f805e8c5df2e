//! The transform step of one partition: raw Parquet -> canonical Parquet + quarantine JSON lines + counts.
//!
//! Streams one record batch at a time (bounded memory); every raw row becomes exactly one canonical row or
//! one quarantine line. Output keys are deterministic, so a retried job overwrites its own output.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::datatypes::{DataType, Int32Type, Int64Type, UInt32Type, UInt64Type};
use arrow::error::ArrowError;
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

use crate::batch::{BatchResult, BatchTransform};
use crate::canonical;
use crate::catalog::Catalog;
use crate::datetime;
use crate::locations::Locations;
use crate::manifest::RunManifest;
use crate::parts::PartWriter;
pub use crate::parts::TransformOptions;
use crate::plan::{self, LineageValues, Plan, PlanError, Source};
use crate::report::PartitionReport;
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
    problems: &'a [crate::row::Problem],
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
#[derive(Debug)]
struct RawColumns {
    header: Vec<String>,
    cols: Vec<StringArray>,
    rows: Vec<u64>,
}

/// Raw column texts of one batch, plus `_source_row`.
///
/// The raw contract is Utf8 text columns and an unsigned `_source_row` (what ingestion writes); raw files from
/// other writers may also carry LargeUtf8 / Utf8View / dictionary-encoded text and signed or 32-bit row
/// numbers, which are converted here. Anything else is a [`TransformError::RawContract`] naming the column.
/// (Explicit conversions, not arrow's generic `cast`: that links every cast kernel of every type pair into
/// the `process` Lambda package, about 2 MB of code.)
fn raw_columns(key: &str, batch: &RecordBatch) -> Result<RawColumns, TransformError> {
    let schema = batch.schema();
    let mut header = Vec::new();
    let mut cols = Vec::new();
    let mut rows = None;
    let contract = |message: String| TransformError::RawContract {
        key: key.into(),
        message,
    };
    for (field, array) in schema.fields().iter().zip(batch.columns()) {
        if field.name() == SOURCE_ROW {
            if array.null_count() > 0 {
                return Err(contract(format!("{SOURCE_ROW} has nulls")));
            }
            rows = Some(source_rows(array).ok_or_else(|| {
                contract(format!(
                    "{SOURCE_ROW} is {}, not an unsigned row number",
                    array.data_type()
                ))
            })?);
        } else {
            let text = raw_text(array).ok_or_else(|| {
                contract(format!(
                    "column {:?} is {}, not text (raw columns are Utf8)",
                    field.name(),
                    array.data_type()
                ))
            })?;
            header.push(field.name().clone());
            cols.push(text);
        }
    }
    let rows = rows.ok_or_else(|| contract(format!("no {SOURCE_ROW} column")))?;
    Ok(RawColumns { header, cols, rows })
}

/// `_source_row` as u64: UInt64 as is; UInt32, Int64 and Int32 when no value is negative. `None`: another type
/// or a negative row number.
fn source_rows(array: &ArrayRef) -> Option<Vec<u64>> {
    match array.data_type() {
        DataType::UInt64 => Some(array.as_primitive::<UInt64Type>().values().to_vec()),
        DataType::UInt32 => Some(
            array
                .as_primitive::<UInt32Type>()
                .values()
                .iter()
                .map(|&v| u64::from(v))
                .collect(),
        ),
        DataType::Int64 => array
            .as_primitive::<Int64Type>()
            .values()
            .iter()
            .map(|&v| u64::try_from(v).ok())
            .collect(),
        DataType::Int32 => array
            .as_primitive::<Int32Type>()
            .values()
            .iter()
            .map(|&v| u64::try_from(v).ok())
            .collect(),
        _ => None,
    }
}

/// A raw text column as Utf8 (`None`: not text). Utf8 is shared, not copied.
fn raw_text(array: &ArrayRef) -> Option<StringArray> {
    Some(match array.data_type() {
        DataType::Utf8 => array.as_string::<i32>().clone(),
        DataType::LargeUtf8 => array.as_string::<i64>().iter().collect(),
        DataType::Utf8View => array.as_string_view().iter().collect(),
        DataType::Dictionary(_, value) if value.as_ref() == &DataType::Utf8 => {
            let dict = array.as_any_dictionary();
            let values = dict.values().as_string::<i32>();
            let keys = dict.normalized_keys();
            (0..array.len())
                .map(|i| array.is_valid(i).then(|| values.value(keys[i])))
                .collect()
        }
        _ => return None,
    })
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

/// Where a partition's transformed batches go: canonical parts, quarantine lines and the report.
struct Sink<'a> {
    store: Arc<dyn ObjectStore>,
    dataset: &'a str,
    run_id: &'a str,
    partition: &'a str,
    qkey: Path,
    /// Opened at the first quarantined row, so clean partitions leave no empty quarantine object.
    quarantine: Option<BufWriter>,
    out: PartWriter,
    report: PartitionReport,
}

/// One raw batch after the column path: its raw texts (for quarantine lines) and what it became.
struct Transformed {
    plan: Arc<Plan>,
    header: Arc<Vec<String>>,
    cols: Vec<StringArray>,
    rows: Vec<u64>,
    result: BatchResult,
}

impl Sink<'_> {
    /// Count, quarantine and write one transformed batch (the canonical rows are encoded here).
    async fn write(&mut self, t: Transformed) -> Result<(), TransformError> {
        let Transformed {
            plan,
            header,
            cols,
            rows,
            result,
        } = t;
        let report = &mut self.report;
        report.rows_in += rows.len() as u64;
        report.rows_out += result.batch.num_rows() as u64;
        if result.swapped > 0 {
            *report
                .corrections
                .entry("coordinates_unswapped".into())
                .or_default() += result.swapped;
        }
        if let Some(d) = &result.districts
            && result.batch.num_rows() > 0
        {
            report.districts.get_or_insert_with(Default::default).add(d);
        }
        for (r, problems) in &result.quarantined {
            let (r, source_row) = (*r, rows[*r]);
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
                dataset: self.dataset,
                run_id: self.run_id,
                stage: "transform",
                partition: self.partition,
                era: &plan.era,
                source_row,
                column: &first.column,
                source_column: first.source_column.as_deref(),
                value: &first.value,
                reason: first.reason.code(),
                detail: &first.detail,
                problems,
                raw: header
                    .iter()
                    .map(String::as_str)
                    .zip(cols.iter().map(|c| c.value(r)))
                    .collect(),
            };
            let mut text = serde_json::to_vec(&line).expect("quarantine line serializes");
            text.push(b'\n');
            let (store, qkey) = (&self.store, &self.qkey);
            self.quarantine
                .get_or_insert_with(|| BufWriter::new(store.clone(), qkey.clone()))
                .write_all(&text)
                .await
                .map_err(|source| TransformError::Io {
                    key: qkey.to_string(),
                    source,
                })?;
        }
        if result.batch.num_rows() > 0 {
            self.out.write(&result.batch).await?;
        }
        Ok(())
    }
}

/// The raw batches of one part file, decoded on their own task (one batch ahead of the transform).
#[allow(deprecated)] // ParquetObjectReader, see the import
fn decode_ahead(
    key: &str,
    mut stream: parquet::arrow::async_reader::ParquetRecordBatchStream<ParquetObjectReader>,
) -> tokio::sync::mpsc::Receiver<Result<RecordBatch, TransformError>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let key = key.to_owned();
    tokio::spawn(async move {
        loop {
            let next = stream
                .try_next()
                .await
                .map_err(|source| TransformError::Parquet {
                    key: key.clone(),
                    source,
                });
            let stop = !matches!(next, Ok(Some(_)));
            let sent = match next {
                Ok(Some(b)) => tx.send(Ok(b)).await,
                Ok(None) => Ok(()),
                Err(e) => tx.send(Err(e)).await,
            };
            if stop || sent.is_err() {
                break;
            }
        }
    });
    rx
}

/// Transform one partition of `manifest`'s run with `catalog` and explicit sizes.
///
/// Three stages overlap, so both cores work: the next raw batch decodes on its own task, the current one is
/// typed column by column on a blocking thread ([`BatchTransform`]), and the previous one is encoded to
/// Parquet (and its quarantine lines written) here. At most three batches are in flight.
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
    let qkey = locations.transform_quarantine(dataset, run_id, partition)?;
    let mut sink = Sink {
        store: store.clone(),
        dataset,
        run_id,
        partition,
        qkey,
        quarantine: None,
        out: PartWriter {
            opts,
            store: store.clone(),
            locations,
            schema: schema.clone(),
            dataset: dataset.into(),
            year,
            partition: partition.into(),
            current: None,
            keys: Vec::new(),
        },
        report: PartitionReport {
            dataset: dataset.into(),
            run_id: run_id.into(),
            partition: partition.into(),
            year,
            year_inferred,
            quarantine_key: None,
            ..Default::default()
        },
    };
    let mut plan: Option<(Arc<Plan>, Arc<Vec<String>>)> = None;
    // The column path's state (compiled formats, offset cache) of the current plan; away while a batch runs.
    let mut transformer: Option<BatchTransform> = None;
    // The batch being typed on the blocking thread.
    let mut running: Option<
        tokio::task::JoinHandle<(BatchTransform, Result<Transformed, ArrowError>)>,
    > = None;
    let joined = |key: &str, e: tokio::task::JoinError| TransformError::Io {
        key: key.to_owned(),
        source: std::io::Error::other(e),
    };
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
        let stream = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .and_then(|b| b.with_batch_size(opts.batch_rows).build())
            .map_err(|source| TransformError::Parquet {
                key: key.clone(),
                source,
            })?;
        let mut batches = decode_ahead(key, stream);
        while let Some(batch) = batches.recv().await {
            let RawColumns { header, cols, rows } = raw_columns(key, &batch?)?;
            if plan.as_ref().is_none_or(|(_, h)| **h != header) {
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
                sink.report.era = p.era.clone();
                sink.report.missing_columns = p.missing.clone();
                transformer = Some(BatchTransform::new(&p, &schema));
                plan = Some((Arc::new(p), Arc::new(header)));
            }
            let (p, header) = plan.as_mut().expect("set above");
            if year.is_none() {
                // Rows whose year column does not parse are quarantined, so every output row comes after this.
                year = infer_year(p, &catalog.year_column.value, &cols);
                if let Some(y) = year {
                    Arc::make_mut(p).lineage.year = y as i16;
                    sink.out.year = Some(y);
                    sink.report.year = Some(y);
                }
            }
            // The previous batch's transformer comes back before this one starts.
            let mut previous = None;
            if let Some(h) = running.take() {
                let (t, done) = h.await.map_err(|e| joined(key, e))?;
                transformer.get_or_insert(t);
                previous = Some(done.map_err(|source| TransformError::Arrow {
                    key: key.clone(),
                    source,
                })?);
            }
            let mut t = transformer.take().expect("a transformer per plan");
            let (p, header, schema) = (p.clone(), header.clone(), schema.clone());
            running = Some(tokio::task::spawn_blocking(move || {
                let done = t.run(&p, &schema, &cols, &rows).map(|result| Transformed {
                    plan: p,
                    header,
                    cols,
                    rows,
                    result,
                });
                (t, done)
            }));
            if let Some(done) = previous {
                sink.write(done).await?;
            }
        }
    }
    if let Some(h) = running.take() {
        let last = part.keys.last().map(String::as_str).unwrap_or_default();
        let (_, done) = h.await.map_err(|e| joined(last, e))?;
        let done = done.map_err(|source| TransformError::Arrow {
            key: last.to_owned(),
            source,
        })?;
        sink.write(done).await?;
    }
    let Sink {
        quarantine,
        qkey,
        out,
        mut report,
        ..
    } = sink;
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        DictionaryArray, Int32Array, Int64Array, LargeStringArray, StringViewArray, UInt32Array,
        UInt64Array,
    };
    use arrow::datatypes::{Field, Schema};

    fn batch(text: ArrayRef, rows: ArrayRef) -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("Status", text.data_type().clone(), true),
            Field::new(SOURCE_ROW, rows.data_type().clone(), false),
        ]);
        RecordBatch::try_new(Arc::new(schema), vec![text, rows]).unwrap()
    }

    fn texts(c: &RawColumns) -> Vec<Option<&str>> {
        c.cols[0].iter().collect()
    }

    #[test]
    fn raw_text_and_row_numbers_of_every_accepted_type() {
        let want = vec![Some("Open"), None, Some("Closed")];
        let rows: ArrayRef = Arc::new(UInt64Array::from(vec![2, 3, 5]));
        let text: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(want.clone())),
            Arc::new(LargeStringArray::from(want.clone())),
            Arc::new(StringViewArray::from(want.clone())),
            Arc::new(want.iter().copied().collect::<DictionaryArray<Int32Type>>()),
        ];
        for t in text {
            let ty = t.data_type().clone();
            let c = raw_columns("k", &batch(t, rows.clone())).unwrap();
            assert_eq!(c.header, ["Status"], "{ty}");
            assert_eq!(texts(&c), want, "{ty}");
            assert_eq!(c.rows, [2, 3, 5], "{ty}");
        }
        let numbers: Vec<ArrayRef> = vec![
            Arc::new(UInt32Array::from(vec![2, 3, 5])),
            Arc::new(Int64Array::from(vec![2, 3, 5])),
            Arc::new(Int32Array::from(vec![2, 3, 5])),
        ];
        for n in numbers {
            let t: ArrayRef = Arc::new(StringArray::from(want.clone()));
            assert_eq!(raw_columns("k", &batch(t, n)).unwrap().rows, [2, 3, 5]);
        }
    }

    #[test]
    fn raw_contract_errors_name_the_column_and_type() {
        let text: ArrayRef = Arc::new(StringArray::from(vec!["a"]));
        let negative: ArrayRef = Arc::new(Int64Array::from(vec![-1]));
        let err = raw_columns("raw/k", &batch(text.clone(), negative))
            .unwrap_err()
            .to_string();
        assert!(err.contains("_source_row is Int64"), "{err}");
        assert!(err.contains("raw/k"), "{err}");
        let number: ArrayRef = Arc::new(Int32Array::from(vec![7]));
        let rows: ArrayRef = Arc::new(UInt64Array::from(vec![1]));
        let err = raw_columns("raw/k", &batch(number, rows))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("column \"Status\" is Int32, not text"),
            "{err}"
        );
        let schema = Schema::new(vec![Field::new("Status", DataType::Utf8, true)]);
        let no_rows = RecordBatch::try_new(Arc::new(schema), vec![text]).unwrap();
        let err = raw_columns("raw/k", &no_rows).unwrap_err().to_string();
        assert!(err.contains("no _source_row column"), "{err}");
    }
}
