//! The analyze-layer jobs over the object store: one per council-district partition (weekly table, weekly
//! findings, stakeholders derived from the partition's rows), and one city-wide pass (time to close against the city-wide median). Findings go to the ledger.

use std::sync::Arc;

use futures::TryStreamExt;
use ledger::{Appended, Ledger, LedgerError};
use object_store::ObjectStore;
use object_store::buffered::BufWriter;
use object_store::path::Path;
// ParquetObjectReader is deprecated in parquet 60 (arrow-rs#10308); used as in `harmonize` until the workspace
// moves to a hand-written `AsyncFileReader`.
#[allow(deprecated)]
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};
use parquet::arrow::{AsyncArrowWriter, ProjectionMask};

use crate::aggregate::{AggregateError, Aggregator, RowCounts, WeeklyTable};
use crate::config::{AnalysisConfig, Columns};
use crate::findings::{Finding, slow_close_findings, to_events, weekly_findings};
use crate::locations::{CITYWIDE, CITYWIDE_TABLE, FINDINGS_TABLE, Locations, TOTALS_TABLE};
use crate::output::{
    citywide_batch, citywide_schema, citywide_weeks, findings_batch, findings_schema, totals_batch,
    totals_schema, weekly_batch, weekly_schema,
};
use crate::stakeholders;
use ledger::stakeholders::Derivation;

/// The columns the aggregation works on, under these names: `analysis.yaml`'s `columns:` maps each
/// dataset's canonical columns onto them (the event time onto `created_at`, the category onto
/// `request_type`, the close time onto `closed_at`, all-null when the dataset has none).
pub const COLUMNS: [&str; 4] = [
    "council_district",
    "request_type",
    "created_at",
    "closed_at",
];

/// Errors of an analyze job.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    /// Object store failure.
    #[error("object store error at {key}: {source}")]
    Store {
        /// The key.
        key: String,
        /// The error.
        #[source]
        source: object_store::Error,
    },
    /// Parquet read or write failure.
    #[error("parquet error at {key}: {source}")]
    Parquet {
        /// The key.
        key: String,
        /// The error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A canonical file does not have the expected columns.
    #[error("{key}: {source}")]
    Canonical {
        /// The key.
        key: String,
        /// The error.
        #[source]
        source: AggregateError,
    },
    /// A processed or association table does not have the expected shape.
    #[error("{key}: {reason}")]
    Table {
        /// The key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// Storing the derived stakeholders failed.
    #[error("storing derived stakeholders: {0}")]
    Stakeholders(String),
    /// A value cannot be part of a key.
    #[error("key: {0}")]
    Key(#[from] prefixes::KeyError),
    /// The ledger failed (other than a conflict, which is counted).
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

/// What a job did.
#[derive(Debug, Clone, Default)]
pub struct JobReport {
    /// Canonical keys read.
    pub canonical_keys: Vec<String>,
    /// Row accounting.
    pub rows: RowCounts,
    /// Processed table key written (partition jobs).
    pub table_key: Option<String>,
    /// Weekly rows written.
    pub weekly_rows: usize,
    /// Findings.
    pub findings: Vec<Finding>,
    /// Events newly appended.
    pub events_created: usize,
    /// Events already in the ledger with the same finding.
    pub events_duplicate: usize,
    /// Events whose id holds a different finding (e.g. after a data correction); left unchanged.
    pub events_conflicting: usize,
}

/// Aggregates the canonical files `keys` (their columns named by `columns`), and observes their
/// stakeholder columns when present.
#[allow(deprecated)]
pub async fn aggregate(
    data: &Arc<dyn ObjectStore>,
    keys: &[Path],
    columns: &Columns,
) -> Result<(WeeklyTable, Derivation), JobError> {
    let mut agg = Aggregator::default();
    let mut derivation = Derivation::default();
    for key in keys {
        let pq = |source| JobError::Parquet {
            key: key.to_string(),
            source,
        };
        let reader = ParquetObjectReader::new(data.clone(), key.clone());
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(pq)?;
        let sources = columns.sources();
        let wanted = sources
            .iter()
            .filter_map(|s| s.as_deref())
            .chain(stakeholders::COLUMNS.iter().copied());
        let mask = ProjectionMask::columns(builder.parquet_schema(), wanted);
        let mut stream = builder.with_projection(mask).build().map_err(pq)?;
        while let Some(batch) = stream.try_next().await.map_err(pq)? {
            let canonical = |source| JobError::Canonical {
                key: key.to_string(),
                source,
            };
            let batch = columns.rename(&batch).map_err(canonical)?;
            agg.add_batch(&batch).map_err(canonical)?;
            stakeholders::observe_batch(&mut derivation, &batch);
        }
    }
    Ok((agg.finish(), derivation))
}

/// Canonical keys of `dataset`, of one partition or all, sorted.
pub async fn canonical_keys(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    dataset: &str,
    partition: Option<&str>,
) -> Result<Vec<Path>, JobError> {
    let prefix = loc.canonical_of(dataset)?;
    let metas: Vec<_> = data
        .list(Some(&prefix))
        .try_collect()
        .await
        .map_err(|source| JobError::Store {
            key: prefix.to_string(),
            source,
        })?;
    let mut keys: Vec<Path> = metas
        .into_iter()
        .map(|m| m.location)
        .filter(|k| loc.is_canonical_part(k, dataset, partition))
        .collect();
    keys.sort();
    Ok(keys)
}

async fn emit(
    ledger: &Ledger,
    findings: &[Finding],
    dataset: &str,
    run_id: &str,
    partition: Option<&str>,
    report: &mut JobReport,
) -> Result<(), JobError> {
    let now = chrono::Utc::now();
    for input in to_events(findings, dataset, run_id, partition, &report.canonical_keys) {
        match ledger.append(input.into_event(now)).await {
            Ok(Appended::Created(_)) => report.events_created += 1,
            Ok(Appended::Duplicate(_)) => report.events_duplicate += 1,
            Err(LedgerError::Conflict { .. }) => report.events_conflicting += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The partition job: weekly table to `processed/`, weekly findings to the ledger. Idempotent.
pub async fn analyze_partition(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    ledger: &Ledger,
    config: &AnalysisConfig,
    dataset: &str,
    run_id: &str,
    partition: &str,
) -> Result<JobReport, JobError> {
    let keys = canonical_keys(data, loc, dataset, Some(partition)).await?;
    let (table, derivation) = aggregate(data, &keys, &config.columns).await?;
    if derivation.rows > 0 {
        let derived = derivation.finish();
        ledger::stakeholders::save_derived(ledger, dataset, partition, &derived)
            .await
            .map_err(|e| JobError::Stakeholders(e.to_string()))?;
    }
    let key = loc.weekly_table(dataset, partition)?;
    write_table(data, &key, weekly_schema(), &weekly_batch(&table.rows)).await?;
    let totals = loc.table(dataset, TOTALS_TABLE, partition)?;
    write_table(data, &totals, totals_schema(), &totals_batch(&table.totals)).await?;
    let findings = weekly_findings(&table, config);
    let findings_key = loc.table(dataset, FINDINGS_TABLE, partition)?;
    write_table(
        data,
        &findings_key,
        findings_schema(),
        &findings_batch(&findings),
    )
    .await?;
    let mut report = JobReport {
        canonical_keys: keys.iter().map(|k| k.to_string()).collect(),
        rows: table.counts,
        table_key: Some(key.to_string()),
        weekly_rows: table.rows.len(),
        findings,
        ..Default::default()
    };
    let findings = report.findings.clone();
    emit(
        ledger,
        &findings,
        dataset,
        run_id,
        Some(partition),
        &mut report,
    )
    .await?;
    Ok(report)
}

/// Writes `batch` as the one Parquet file at `key` (replacing it: a re-run rewrites the same rows).
pub async fn write_table(
    data: &Arc<dyn ObjectStore>,
    key: &Path,
    schema: arrow::datatypes::SchemaRef,
    batch: &arrow::record_batch::RecordBatch,
) -> Result<(), JobError> {
    let pq = |source| JobError::Parquet {
        key: key.to_string(),
        source,
    };
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut writer = AsyncArrowWriter::try_new(
        BufWriter::new(data.clone(), key.clone()),
        schema,
        Some(props),
    )
    .map_err(pq)?;
    writer.write(batch).await.map_err(pq)?;
    writer.close().await.map_err(pq)?;
    Ok(())
}

/// The city-wide job (after every partition): slow-to-close findings against the city-wide median.
pub async fn analyze_citywide(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    ledger: &Ledger,
    config: &AnalysisConfig,
    dataset: &str,
    run_id: &str,
) -> Result<JobReport, JobError> {
    let keys = canonical_keys(data, loc, dataset, None).await?;
    let (table, _) = aggregate(data, &keys, &config.columns).await?;
    let city = loc.table(dataset, CITYWIDE_TABLE, CITYWIDE)?;
    write_table(
        data,
        &city,
        citywide_schema(),
        &citywide_batch(&citywide_weeks(&table)),
    )
    .await?;
    let mut report = JobReport {
        canonical_keys: keys.iter().map(|k| k.to_string()).collect(),
        rows: table.counts,
        findings: slow_close_findings(&table, config),
        ..Default::default()
    };
    let findings = report.findings.clone();
    emit(ledger, &findings, dataset, run_id, None, &mut report).await?;
    Ok(report)
}
