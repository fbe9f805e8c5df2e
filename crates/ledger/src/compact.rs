//! `compact`: rewrites a dataset's events into Parquet partitioned by dataset and month (of `window_start`),
//! so the ledger is also a data set for DuckDB, Athena and ML.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int32Builder, ListBuilder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, UInt8Builder, UInt32Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::event::Event;
use crate::locations::compacted_part;
use crate::query::sort_key;
use crate::store::{Ledger, LedgerError};
use prefixes::Prefix;
use prefixes::access::Write;
use prefixes::keys::Compacted;

/// What one compaction wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactReport {
    /// Parquet keys written, with their row counts, in key order.
    pub files: Vec<(String, usize)>,
    /// Events read (equals the sum of the rows written).
    pub events: usize,
}

/// Arrow schema of the compacted files.
pub fn compacted_schema() -> SchemaRef {
    let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let list = || DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)));
    Arc::new(Schema::new(vec![
        Field::new("event_id", DataType::Utf8, false),
        Field::new("schema_version", DataType::UInt32, false),
        Field::new("dataset", DataType::Utf8, false),
        Field::new("layer", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("window_start", ts(), false),
        Field::new("window_end", ts(), false),
        Field::new("council_district", DataType::UInt8, false),
        Field::new("nc_code", DataType::Utf8, true),
        Field::new("zip_code", DataType::Utf8, true),
        Field::new("request_type", DataType::Utf8, true),
        Field::new("agency", DataType::Utf8, true),
        Field::new("category", DataType::Utf8, true),
        Field::new("week", DataType::Utf8, true),
        Field::new("pair_dataset_b", DataType::Utf8, true),
        Field::new("pair_metric_a", DataType::Utf8, true),
        Field::new("pair_metric_b", DataType::Utf8, true),
        Field::new("pair_lag_weeks", DataType::Int32, true),
        Field::new("metric", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("baseline", DataType::Float64, true),
        Field::new("unit", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("score", DataType::Float64, true),
        Field::new("score_kind", DataType::Utf8, true),
        Field::new("partition", DataType::Utf8, true),
        Field::new("run_id", DataType::Utf8, false),
        Field::new("source", list(), false),
        Field::new("stakeholders", list(), false),
        Field::new("created_at", ts(), false),
    ]))
}

/// Converts events to one record batch of [`compacted_schema`].
pub fn to_record_batch(events: &[Event]) -> RecordBatch {
    let text = |f: &dyn Fn(&Event) -> Option<&str>| -> ArrayRef {
        let mut b = StringBuilder::new();
        events.iter().for_each(|e| b.append_option(f(e)));
        Arc::new(b.finish())
    };
    let time = |f: &dyn Fn(&Event) -> i64| -> ArrayRef {
        let mut b = TimestampMicrosecondBuilder::new().with_timezone("UTC");
        events.iter().for_each(|e| b.append_value(f(e)));
        Arc::new(b.finish())
    };
    let list = |f: &dyn Fn(&Event) -> &[String]| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for e in events {
            f(e).iter().for_each(|s| b.values().append_value(s));
            b.append(true);
        }
        Arc::new(b.finish())
    };
    let mut version = UInt32Builder::new();
    let mut district = UInt8Builder::new();
    let mut value = Float64Builder::new();
    let mut baseline = Float64Builder::new();
    let mut score = Float64Builder::new();
    let mut lag = Int32Builder::new();
    for e in events {
        version.append_value(e.schema_version);
        district.append_value(e.dimensions.council_district);
        value.append_value(e.value);
        baseline.append_option(e.baseline);
        score.append_option(e.score);
        lag.append_option(e.dimensions.pair.as_ref().map(|p| p.lag_weeks));
    }
    let pair = |f: &dyn Fn(&crate::event::Pair) -> &str| -> ArrayRef {
        let mut b = StringBuilder::new();
        events
            .iter()
            .for_each(|e| b.append_option(e.dimensions.pair.as_ref().map(f)));
        Arc::new(b.finish())
    };
    let columns: Vec<ArrayRef> = vec![
        text(&|e| Some(&e.event_id)),
        Arc::new(version.finish()),
        text(&|e| Some(&e.dataset)),
        text(&|e| Some(&e.layer)),
        text(&|e| Some(&e.event_type)),
        time(&|e| e.window_start.timestamp_micros()),
        time(&|e| e.window_end.timestamp_micros()),
        Arc::new(district.finish()),
        text(&|e| e.dimensions.nc_code.as_deref()),
        text(&|e| e.dimensions.zip_code.as_deref()),
        text(&|e| e.dimensions.request_type.as_deref()),
        text(&|e| e.dimensions.agency.as_deref()),
        text(&|e| e.dimensions.category.as_deref()),
        text(&|e| e.dimensions.week.as_deref()),
        pair(&|p| &p.dataset_b),
        pair(&|p| &p.metric_a),
        pair(&|p| &p.metric_b),
        Arc::new(lag.finish()),
        text(&|e| Some(&e.metric)),
        Arc::new(value.finish()),
        Arc::new(baseline.finish()),
        text(&|e| Some(&e.unit)),
        text(&|e| Some(e.severity.as_str())),
        Arc::new(score.finish()),
        text(&|e| e.score_kind.as_deref()),
        text(&|e| e.partition.as_deref()),
        text(&|e| Some(&e.run_id)),
        list(&|e| &e.source),
        list(&|e| &e.stakeholders),
        time(&|e| e.created_at.timestamp_micros()),
    ];
    RecordBatch::try_new(compacted_schema(), columns).expect("columns follow the compacted schema")
}

impl Ledger {
    /// Rewrites all events of `dataset` into one Parquet file per month of `window_start`, rows in the
    /// stable order. Deterministic: compacting twice writes the same rows.
    /// `compacted` is the compactor's grant (the `ledger-api` function's).
    pub async fn compact(
        &self,
        compacted: Prefix<Compacted, Write>,
        dataset: &str,
    ) -> Result<CompactReport, LedgerError> {
        let mut events = self.all(Some(dataset)).await?;
        events.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));
        let mut months: BTreeMap<String, Vec<Event>> = BTreeMap::new();
        for e in events.iter() {
            months
                .entry(e.window_start.format("%Y-%m").to_string())
                .or_default()
                .push(e.clone());
        }
        let mut files = Vec::new();
        for (month, rows) in months {
            let key = compacted_part(compacted, dataset, &month)?;
            let fail = |message: String| LedgerError::Compact {
                key: key.to_string(),
                message,
            };
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(
                    ZstdLevel::try_new(3).expect("valid zstd level"),
                ))
                .build();
            let sink = BufWriter::new(self.store().clone(), key.clone());
            let mut writer = AsyncArrowWriter::try_new(sink, compacted_schema(), Some(props))
                .map_err(|e| fail(e.to_string()))?;
            writer
                .write(&to_record_batch(&rows))
                .await
                .map_err(|e| fail(e.to_string()))?;
            writer.close().await.map_err(|e| fail(e.to_string()))?;
            files.push((key.to_string(), rows.len()));
        }
        Ok(CompactReport {
            files,
            events: events.len(),
        })
    }
}
