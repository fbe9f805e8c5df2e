//! The association table as Arrow: its schema, and rows to a record batch and back.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Float64Array, Int16Array, Int32Array, StringArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::Association;

/// Reading an association table that is not one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("association table: no column `{column}` (expected columns: {expected})")]
    MissingColumn {
        column: &'static str,
        expected: String,
    },
    #[error("association table: column `{column}` is {found}, expected {expected}")]
    WrongType {
        column: &'static str,
        expected: DataType,
        found: DataType,
    },
    #[error("association table: row {row}: `{column}` is null (the column is required)")]
    Null { column: &'static str, row: usize },
    #[error(
        "association table: row {row}: council_district {value} is not a district number (0..=255)"
    )]
    District { row: usize, value: i16 },
}

const COLUMNS: [(&str, DataType); 10] = [
    ("dataset_a", DataType::Utf8),
    ("metric_a", DataType::Utf8),
    ("dataset_b", DataType::Utf8),
    ("metric_b", DataType::Utf8),
    ("council_district", DataType::Int16),
    ("lag_weeks", DataType::Int32),
    ("correlation", DataType::Float64),
    ("p_value", DataType::Float64),
    ("q_value", DataType::Float64),
    ("weeks", DataType::UInt32),
];

/// The association table: columns dataset_a, metric_a, dataset_b, metric_b (Utf8), council_district
/// (Int16), lag_weeks (Int32), correlation, p_value, q_value (Float64), weeks (UInt32); none nullable
/// (a q-value not yet adjusted is NaN, not null).
pub fn schema() -> SchemaRef {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|(name, ty)| Field::new(*name, ty.clone(), false))
            .collect::<Vec<_>>(),
    ))
}

/// The rows as one batch of [`schema`].
pub fn to_batch(rows: &[Association]) -> RecordBatch {
    let text = |f: fn(&Association) -> &str| -> ArrayRef {
        Arc::new(rows.iter().map(|r| Some(f(r))).collect::<StringArray>())
    };
    let float = |f: fn(&Association) -> f64| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<Float64Array>())
    };
    let columns: Vec<ArrayRef> = vec![
        text(|r| &r.dataset_a),
        text(|r| &r.metric_a),
        text(|r| &r.dataset_b),
        text(|r| &r.metric_b),
        Arc::new(
            rows.iter()
                .map(|r| i16::from(r.council_district))
                .collect::<Int16Array>(),
        ),
        Arc::new(rows.iter().map(|r| r.lag_weeks).collect::<Int32Array>()),
        float(|r| r.correlation),
        float(|r| r.p_value),
        float(|r| r.q_value),
        Arc::new(rows.iter().map(|r| r.weeks).collect::<UInt32Array>()),
    ];
    RecordBatch::try_new(schema(), columns).expect("the columns are built to the schema")
}

/// The rows of a batch of [`schema`] (columns found by name, extra columns ignored), for the report and
/// the fan-in hook that reads per-district partial tables.
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<Association>, Error> {
    let dataset_a = column::<StringArray>(batch, 0)?;
    let metric_a = column::<StringArray>(batch, 1)?;
    let dataset_b = column::<StringArray>(batch, 2)?;
    let metric_b = column::<StringArray>(batch, 3)?;
    let district = column::<Int16Array>(batch, 4)?;
    let lag = column::<Int32Array>(batch, 5)?;
    let correlation = column::<Float64Array>(batch, 6)?;
    let p_value = column::<Float64Array>(batch, 7)?;
    let q_value = column::<Float64Array>(batch, 8)?;
    let weeks = column::<UInt32Array>(batch, 9)?;
    (0..batch.num_rows())
        .map(|row| {
            let value = district.value(row);
            Ok(Association {
                dataset_a: dataset_a.value(row).to_owned(),
                metric_a: metric_a.value(row).to_owned(),
                dataset_b: dataset_b.value(row).to_owned(),
                metric_b: metric_b.value(row).to_owned(),
                council_district: u8::try_from(value)
                    .map_err(|_| Error::District { row, value })?,
                lag_weeks: lag.value(row),
                correlation: correlation.value(row),
                p_value: p_value.value(row),
                q_value: q_value.value(row),
                weeks: weeks.value(row),
            })
        })
        .collect()
}

/// Column `COLUMNS[index]` of `batch` as its array type, without nulls.
fn column<T: Array + 'static>(batch: &RecordBatch, index: usize) -> Result<&T, Error> {
    let (name, expected) = &COLUMNS[index];
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| Error::MissingColumn {
            column: name,
            expected: COLUMNS.map(|(n, _)| n).join(", "),
        })?;
    let typed = array
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| Error::WrongType {
            column: name,
            expected: expected.clone(),
            found: array.data_type().clone(),
        })?;
    if let Some(nulls) = array.nulls()
        && let Some(row) = (0..array.len()).find(|&i| nulls.is_null(i))
    {
        return Err(Error::Null { column: name, row });
    }
    Ok(typed)
}
