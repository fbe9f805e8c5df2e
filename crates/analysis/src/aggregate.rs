//! Weekly aggregation of canonical rows per council district and request type: requests created, time to
//! close (median, p90) of the week's requests, and the open backlog at the end of each week.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{
    DataType, Int16Type, Int32Type, Int64Type, TimeUnit, TimestampMicrosecondType, UInt8Type,
};
use chrono::{DateTime, Utc};

use crate::stats::quantile;

/// Microseconds in a week.
pub const WEEK_US: i64 = 7 * 24 * 3600 * 1_000_000;
/// 1970-01-05T00:00Z, the first Monday after the epoch: weeks are ISO weeks in UTC.
const MONDAY_US: i64 = 4 * 24 * 3600 * 1_000_000;
const DAY_US: i64 = 24 * 3600 * 1_000_000;
const HOUR_US: f64 = 3600.0 * 1_000_000.0;

/// Week index of an instant (microseconds since the epoch).
pub fn week_of(us: i64) -> i64 {
    (us - MONDAY_US).div_euclid(WEEK_US)
}

/// Start (Monday 00:00 UTC) of week `week`.
pub fn week_start(week: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(MONDAY_US + week * WEEK_US).expect("week in range")
}

/// Request type used when the canonical value is null.
pub const UNKNOWN_TYPE: &str = "(unknown)";

/// Errors reading canonical batches.
#[derive(Debug, thiserror::Error)]
pub enum AggregateError {
    /// A needed column is absent.
    #[error("canonical batch has no column {0:?}")]
    MissingColumn(&'static str),
    /// The column `analysis.yaml` names for a role is absent.
    #[error("canonical batch has no column {column:?} (analysis.yaml names it as the {role})")]
    MissingRoleColumn {
        /// The role (`columns.time`, ...).
        role: &'static str,
        /// The configured column.
        column: String,
    },
    /// Assembling the renamed batch failed.
    #[error("renaming the analysis columns: {0}")]
    Arrow(String),
    /// A column has a type the analysis cannot read.
    #[error("canonical column {column:?} has type {found}, expected {expected}")]
    ColumnType {
        /// The column.
        column: &'static str,
        /// Its type.
        found: DataType,
        /// What is accepted.
        expected: &'static str,
    },
}

/// One row of the processed weekly table.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyRow {
    /// Council district.
    pub council_district: i16,
    /// Request type.
    pub request_type: String,
    /// Week index (see [`week_of`]).
    pub week: i64,
    /// Requests created in the week.
    pub requests: u64,
    /// Of those, requests closed (by the end of the data).
    pub closed: u64,
    /// Median hours from creation to close of the week's closed requests.
    pub median_hours_to_close: Option<f64>,
    /// 90th percentile of the same.
    pub p90_hours_to_close: Option<f64>,
    /// Requests (of any week) still open at the end of the week.
    pub open_backlog: u64,
}

/// Row accounting of an aggregation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RowCounts {
    /// Rows read.
    pub rows: u64,
    /// Rows counted (the others are skipped below).
    pub used: u64,
    /// Skipped: no council district.
    pub without_district: u64,
    /// Skipped: no creation time.
    pub without_created: u64,
    /// Counted, but their close time precedes creation, so they add no time to close.
    pub closed_before_created: u64,
}

#[derive(Debug, Default)]
struct WeekAcc {
    requests: u64,
    hours: Vec<f64>,
    open_delta: i64,
}

/// Accumulates canonical record batches (any districts, any order).
#[derive(Debug, Default)]
pub struct Aggregator {
    groups: BTreeMap<(i16, String), BTreeMap<i64, WeekAcc>>,
    min_created: Option<i64>,
    max_created: Option<i64>,
    counts: RowCounts,
}

/// One (district, week) over every category: what the feature table needs (a median over all types cannot be
/// recomputed from the per-type medians).
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyTotal {
    /// Council district.
    pub council_district: i16,
    /// Week index (see [`week_of`]).
    pub week: i64,
    /// Rows created in the week, every category.
    pub requests: u64,
    /// Of those, rows closed.
    pub closed: u64,
    /// Median hours to close of the week's closed rows.
    pub median_hours_to_close: Option<f64>,
}

/// The weekly table plus what findings need.
#[derive(Debug, Clone, Default)]
pub struct WeeklyTable {
    /// Rows by (district, request type, week); every week from the first to the last week of the data.
    pub rows: Vec<WeeklyRow>,
    /// Rows by (district, week) over every type; every week from the first to the last week of the data.
    pub totals: Vec<WeeklyTotal>,
    /// Sorted hours to close per (district, request type), over all weeks.
    pub hours: BTreeMap<(i16, String), Vec<f64>>,
    /// Weeks fully covered by the data (partial first/last weeks are excluded from comparisons).
    pub complete_weeks: Option<(i64, i64)>,
    /// Row accounting.
    pub counts: RowCounts,
}

impl Aggregator {
    /// Adds one canonical batch (columns `council_district`, `request_type`, `created_at`, `closed_at`).
    pub fn add_batch(&mut self, batch: &RecordBatch) -> Result<(), AggregateError> {
        let column = |name: &'static str| {
            batch
                .column_by_name(name)
                .ok_or(AggregateError::MissingColumn(name))
        };
        let district = districts(column("council_district")?)?;
        let types = column("request_type")?;
        let types = types
            .as_string_opt::<i32>()
            .ok_or_else(|| AggregateError::ColumnType {
                column: "request_type",
                found: types.data_type().clone(),
                expected: "Utf8",
            })?;
        let created = timestamps("created_at", column("created_at")?)?;
        let closed = timestamps("closed_at", column("closed_at")?)?;
        for i in 0..batch.num_rows() {
            self.counts.rows += 1;
            let Some(cd) = district[i] else {
                self.counts.without_district += 1;
                continue;
            };
            let Some(created_us) = created[i] else {
                self.counts.without_created += 1;
                continue;
            };
            self.counts.used += 1;
            self.min_created = Some(self.min_created.map_or(created_us, |m| m.min(created_us)));
            self.max_created = Some(self.max_created.map_or(created_us, |m| m.max(created_us)));
            let request_type = if types.is_null(i) {
                UNKNOWN_TYPE
            } else {
                types.value(i)
            };
            let weeks = match self.groups.get_mut(&(cd, request_type.to_owned())) {
                Some(w) => w,
                None => self
                    .groups
                    .entry((cd, request_type.to_owned()))
                    .or_default(),
            };
            let wc = week_of(created_us);
            let acc = weeks.entry(wc).or_default();
            acc.requests += 1;
            acc.open_delta += 1;
            if let Some(closed_us) = closed[i] {
                if closed_us >= created_us {
                    acc.hours.push((closed_us - created_us) as f64 / HOUR_US);
                } else {
                    self.counts.closed_before_created += 1;
                }
                // Open at the end of weeks wc .. week_of(closed)-1.
                let wclose = week_of(closed_us).max(wc);
                weeks.entry(wclose).or_default().open_delta -= 1;
            }
        }
        Ok(())
    }

    /// The weekly table.
    pub fn finish(self) -> WeeklyTable {
        let (Some(min), Some(max)) = (self.min_created, self.max_created) else {
            return WeeklyTable {
                counts: self.counts,
                ..Default::default()
            };
        };
        let (first, last) = (week_of(min), week_of(max));
        let first_complete = if min <= week_start(first).timestamp_micros() + DAY_US {
            first
        } else {
            first + 1
        };
        let last_complete = if max >= week_start(last + 1).timestamp_micros() - DAY_US {
            last
        } else {
            last - 1
        };
        let complete_weeks =
            (first_complete <= last_complete).then_some((first_complete, last_complete));
        let mut rows = Vec::new();
        let mut hours = BTreeMap::new();
        let mut totals: BTreeMap<(i16, i64), (u64, Vec<f64>)> = BTreeMap::new();
        for ((cd, request_type), weeks) in self.groups {
            let mut open: i64 = 0;
            let mut all_hours = Vec::new();
            for week in first..=last {
                let (requests, mut week_hours, delta) = match weeks.get(&week) {
                    Some(a) => (a.requests, a.hours.clone(), a.open_delta),
                    None => (0, Vec::new(), 0),
                };
                open += delta;
                week_hours.sort_by(f64::total_cmp);
                let total = totals.entry((cd, week)).or_default();
                total.0 += requests;
                total.1.extend_from_slice(&week_hours);
                rows.push(WeeklyRow {
                    council_district: cd,
                    request_type: request_type.clone(),
                    week,
                    requests,
                    closed: week_hours.len() as u64,
                    median_hours_to_close: quantile(&week_hours, 0.5),
                    p90_hours_to_close: quantile(&week_hours, 0.9),
                    open_backlog: open.max(0) as u64,
                });
                all_hours.extend(week_hours);
            }
            all_hours.sort_by(f64::total_cmp);
            hours.insert((cd, request_type), all_hours);
        }
        let totals = totals
            .into_iter()
            .map(|((council_district, week), (requests, mut hours))| {
                hours.sort_by(f64::total_cmp);
                WeeklyTotal {
                    council_district,
                    week,
                    requests,
                    closed: hours.len() as u64,
                    median_hours_to_close: quantile(&hours, 0.5),
                }
            })
            .collect();
        WeeklyTable {
            rows,
            totals,
            hours,
            complete_weeks,
            counts: self.counts,
        }
    }
}

/// Council districts as i16 from Int16, UInt8, Int32 or Int64 columns.
fn districts(col: &dyn Array) -> Result<Vec<Option<i16>>, AggregateError> {
    let out = match col.data_type() {
        DataType::Int16 => col.as_primitive::<Int16Type>().iter().collect(),
        DataType::UInt8 => col
            .as_primitive::<UInt8Type>()
            .iter()
            .map(|v| v.map(i16::from))
            .collect(),
        DataType::Int32 => col
            .as_primitive::<Int32Type>()
            .iter()
            .map(|v| v.and_then(|v| i16::try_from(v).ok()))
            .collect(),
        DataType::Int64 => col
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| v.and_then(|v| i16::try_from(v).ok()))
            .collect(),
        other => {
            return Err(AggregateError::ColumnType {
                column: "council_district",
                found: other.clone(),
                expected: "Int16, UInt8, Int32 or Int64",
            });
        }
    };
    Ok(out)
}

fn timestamps(name: &'static str, col: &dyn Array) -> Result<Vec<Option<i64>>, AggregateError> {
    match col.data_type() {
        DataType::Timestamp(TimeUnit::Microsecond, _) => Ok(col
            .as_primitive::<TimestampMicrosecondType>()
            .iter()
            .collect()),
        other => Err(AggregateError::ColumnType {
            column: name,
            found: other.clone(),
            expected: "Timestamp(Microsecond, UTC)",
        }),
    }
}
