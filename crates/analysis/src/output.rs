//! The processed weekly table as Arrow/Parquet.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Float64Builder, Int16Builder, RecordBatch, StringBuilder,
    TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::aggregate::{WeeklyRow, week_start};

/// Schema of `processed/{dataset}/weekly_by_type/`.
pub fn weekly_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("council_district", DataType::Int16, false),
        Field::new("request_type", DataType::Utf8, false),
        Field::new(
            "week_start",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            false,
        ),
        Field::new("requests", DataType::UInt64, false),
        Field::new("closed", DataType::UInt64, false),
        Field::new("median_hours_to_close", DataType::Float64, true),
        Field::new("p90_hours_to_close", DataType::Float64, true),
        Field::new("open_backlog", DataType::UInt64, false),
    ]))
}

/// The rows as one record batch of [`weekly_schema`].
pub fn weekly_batch(rows: &[WeeklyRow]) -> RecordBatch {
    let mut cd = Int16Builder::new();
    let mut ty = StringBuilder::new();
    let mut week = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let (mut requests, mut closed, mut backlog) = (
        UInt64Builder::new(),
        UInt64Builder::new(),
        UInt64Builder::new(),
    );
    let (mut median, mut p90) = (Float64Builder::new(), Float64Builder::new());
    for r in rows {
        cd.append_value(r.council_district);
        ty.append_value(&r.request_type);
        week.append_value(week_start(r.week).timestamp_micros());
        requests.append_value(r.requests);
        closed.append_value(r.closed);
        median.append_option(r.median_hours_to_close);
        p90.append_option(r.p90_hours_to_close);
        backlog.append_value(r.open_backlog);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(cd.finish()),
        Arc::new(ty.finish()),
        Arc::new(week.finish()),
        Arc::new(requests.finish()),
        Arc::new(closed.finish()),
        Arc::new(median.finish()),
        Arc::new(p90.finish()),
        Arc::new(backlog.finish()),
    ];
    RecordBatch::try_new(weekly_schema(), columns).expect("columns follow the weekly schema")
}
