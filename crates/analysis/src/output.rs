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

fn week_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        false,
    )
}

/// Schema of `processed/{dataset}/weekly_total/`: one row per (district, week) over every category.
pub fn totals_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("council_district", DataType::Int16, false),
        week_field("week_start"),
        Field::new("requests", DataType::UInt64, false),
        Field::new("closed", DataType::UInt64, false),
        Field::new("median_hours_to_close", DataType::Float64, true),
    ]))
}

/// The totals as one record batch of [`totals_schema`].
pub fn totals_batch(rows: &[crate::aggregate::WeeklyTotal]) -> RecordBatch {
    let mut cd = Int16Builder::new();
    let mut week = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let (mut requests, mut closed) = (UInt64Builder::new(), UInt64Builder::new());
    let mut median = Float64Builder::new();
    for r in rows {
        cd.append_value(r.council_district);
        week.append_value(week_start(r.week).timestamp_micros());
        requests.append_value(r.requests);
        closed.append_value(r.closed);
        median.append_option(r.median_hours_to_close);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(cd.finish()),
        Arc::new(week.finish()),
        Arc::new(requests.finish()),
        Arc::new(closed.finish()),
        Arc::new(median.finish()),
    ];
    RecordBatch::try_new(totals_schema(), columns).expect("columns follow the totals schema")
}

/// Schema of `processed/{dataset}/findings/`: the partition's weekly findings (those also sent to the ledger).
pub fn findings_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("council_district", DataType::Int16, false),
        Field::new("category", DataType::Utf8, false),
        week_field("week_start"),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("severity", DataType::Utf8, false),
        Field::new("value", DataType::Float64, false),
        Field::new("baseline", DataType::Float64, false),
        Field::new("score", DataType::Float64, false),
    ]))
}

/// The findings as one record batch of [`findings_schema`].
pub fn findings_batch(findings: &[crate::findings::Finding]) -> RecordBatch {
    let mut cd = Int16Builder::new();
    let (mut category, mut kind, mut severity) = (
        StringBuilder::new(),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut week = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let (mut value, mut baseline, mut score) = (
        Float64Builder::new(),
        Float64Builder::new(),
        Float64Builder::new(),
    );
    for f in findings {
        cd.append_value(f.council_district);
        category.append_value(&f.request_type);
        week.append_value(f.window_start.timestamp_micros());
        kind.append_value(f.kind.event_type());
        severity.append_value(f.severity.as_str());
        value.append_value(f.value);
        baseline.append_value(f.baseline);
        score.append_value(f.score);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(cd.finish()),
        Arc::new(category.finish()),
        Arc::new(week.finish()),
        Arc::new(kind.finish()),
        Arc::new(severity.finish()),
        Arc::new(value.finish()),
        Arc::new(baseline.finish()),
        Arc::new(score.finish()),
    ];
    RecordBatch::try_new(findings_schema(), columns).expect("columns follow the findings schema")
}

/// One (category, week) of the whole city: what the correlate layer needs to pick each dataset's top
/// categories and its weeks.
#[derive(Debug, Clone, PartialEq)]
pub struct CitywideWeek {
    /// Category.
    pub category: String,
    /// Week index.
    pub week: i64,
    /// Rows of the category created in the week, every district.
    pub requests: u64,
    /// Whether the data covers the whole week (the first and last week of a run usually are partial).
    pub complete: bool,
}

/// Schema of `processed/{dataset}/weekly_citywide/cd=all/`.
pub fn citywide_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("category", DataType::Utf8, false),
        week_field("week_start"),
        Field::new("requests", DataType::UInt64, false),
        Field::new("complete", DataType::Boolean, false),
    ]))
}

/// The city-wide weeks as one record batch of [`citywide_schema`].
pub fn citywide_batch(rows: &[CitywideWeek]) -> RecordBatch {
    let mut category = StringBuilder::new();
    let mut week = TimestampMicrosecondBuilder::new().with_timezone("UTC");
    let mut requests = UInt64Builder::new();
    let mut complete = arrow::array::BooleanBuilder::new();
    for r in rows {
        category.append_value(&r.category);
        week.append_value(week_start(r.week).timestamp_micros());
        requests.append_value(r.requests);
        complete.append_value(r.complete);
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(category.finish()),
        Arc::new(week.finish()),
        Arc::new(requests.finish()),
        Arc::new(complete.finish()),
    ];
    RecordBatch::try_new(citywide_schema(), columns).expect("columns follow the city-wide schema")
}

/// The city-wide weeks of a table over every district.
pub fn citywide_weeks(table: &crate::aggregate::WeeklyTable) -> Vec<CitywideWeek> {
    let mut by: std::collections::BTreeMap<(&str, i64), u64> = std::collections::BTreeMap::new();
    for r in &table.rows {
        *by.entry((&r.request_type, r.week)).or_default() += r.requests;
    }
    by.into_iter()
        .map(|((category, week), requests)| CitywideWeek {
            category: category.to_owned(),
            week,
            requests,
            complete: table
                .complete_weeks
                .is_some_and(|(a, b)| (a..=b).contains(&week)),
        })
        .collect()
}
