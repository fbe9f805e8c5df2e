//! The district-week feature table for ML: one row per (council district, ISO week) over every week any
//! analyzed dataset covers, built from the processed tables the analyze layer wrote (never from the ledger),
//! so it is rebuilt whole and idempotently, one file per district.
//!
//! Columns: `council_district` (Int16), `week_start` (Monday 00:00 UTC), `iso_week` (`2023-W07`), then for each
//! dataset `d` (in id order):
//! - `d__total`: rows created in the week (UInt64);
//! - `d__complete_week`: whether the dataset's data covers the whole week (its first and last weeks are
//!   usually partial: leave them out of models);
//! - `d__cat__<slug>`: rows of each of the dataset's [`TOP_CATEGORIES`] most frequent categories, city-wide
//!   over all its weeks (the slug and the category are in the Parquet file's key-value metadata);
//! - `d__median_hours_to_close` (Float64) where the dataset has a close time;
//! - `d__findings_info`, `d__findings_warning`, `d__findings_critical`: the analyze layer's weekly findings.
//!
//! Zeros and nulls: within the weeks a dataset covers (its first to its last week), a week without rows is an
//! explicit 0 in every count; outside them every column of that dataset is null (no data, not zero rows). A
//! median is null where no row of the week was closed.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, Int16Builder, RecordBatch,
    StringBuilder, TimestampMicrosecondBuilder, UInt64Builder,
};
use arrow::datatypes::{
    DataType, Field, Float64Type, Int16Type, Schema, SchemaRef, TimeUnit, TimestampMicrosecondType,
    UInt64Type,
};
use chrono::Datelike;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
#[allow(deprecated)]
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};

use crate::aggregate::{WEEK_US, week_of, week_start};
use crate::job::JobError;
use crate::locations::{
    CITYWIDE, CITYWIDE_TABLE, FINDINGS_TABLE, Locations, TOTALS_TABLE, WEEKLY_TABLE,
};

/// Categories per dataset that get their own count column.
pub const TOP_CATEGORIES: usize = 5;

/// Council districts of the feature table.
pub const DISTRICTS: std::ops::RangeInclusive<u8> = 1..=15;

/// What the city-wide pass of one dataset's latest analysis says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Dataset id.
    pub dataset: String,
    /// First and last week with rows (week indices).
    pub weeks: (i64, i64),
    /// Weeks the data covers whole.
    pub complete: Vec<i64>,
    /// Categories by city-wide rows, most first (ties by name), all of them.
    pub categories: Vec<(String, u64)>,
    /// Whether the dataset has a close time (a median column).
    pub has_close: bool,
}

impl Profile {
    /// The [`TOP_CATEGORIES`] most frequent categories.
    pub fn top(&self, n: usize) -> impl Iterator<Item = &str> {
        self.categories.iter().take(n).map(|(c, _)| c.as_str())
    }
}

/// Reads every batch of the Parquet file at `key`; `None` when there is no such file.
#[allow(deprecated)]
pub async fn read_table(
    data: &Arc<dyn ObjectStore>,
    key: &Path,
) -> Result<Option<Vec<RecordBatch>>, JobError> {
    let pq = |source| JobError::Parquet {
        key: key.to_string(),
        source,
    };
    match data.head(key).await {
        Ok(_) => {}
        Err(object_store::Error::NotFound { .. }) => return Ok(None),
        Err(source) => {
            return Err(JobError::Store {
                key: key.to_string(),
                source,
            });
        }
    }
    let reader = ParquetObjectReader::new(data.clone(), key.clone());
    let stream = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(pq)?
        .build()
        .map_err(pq)?;
    Ok(Some(stream.try_collect().await.map_err(pq)?))
}

fn column<'a>(
    batch: &'a RecordBatch,
    key: &Path,
    name: &'static str,
) -> Result<&'a ArrayRef, JobError> {
    batch.column_by_name(name).ok_or_else(|| JobError::Table {
        key: key.to_string(),
        reason: format!("no column {name:?}"),
    })
}

fn weeks_of(col: &ArrayRef, key: &Path) -> Result<Vec<i64>, JobError> {
    let ts = col
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| JobError::Table {
            key: key.to_string(),
            reason: "week_start is not a microsecond timestamp".into(),
        })?;
    Ok(ts.values().iter().map(|&us| week_of(us)).collect())
}

fn u64s<'a>(col: &'a ArrayRef, key: &Path, name: &str) -> Result<&'a [u64], JobError> {
    col.as_primitive_opt::<UInt64Type>()
        .map(|a| a.values().as_ref())
        .ok_or_else(|| JobError::Table {
            key: key.to_string(),
            reason: format!("{name} is not UInt64"),
        })
}

/// The profile of `dataset` from its city-wide table; `None` when it was never analyzed (or had no rows).
pub async fn profile(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    dataset: &str,
    has_close: bool,
) -> Result<Option<Profile>, JobError> {
    let key = loc.table(dataset, CITYWIDE_TABLE, CITYWIDE)?;
    let Some(batches) = read_table(data, &key).await? else {
        return Ok(None);
    };
    let mut categories: BTreeMap<String, u64> = BTreeMap::new();
    let mut weeks: Option<(i64, i64)> = None;
    let mut complete = std::collections::BTreeSet::new();
    for b in &batches {
        let cat = column(b, &key, "category")?.as_string::<i32>();
        let week = weeks_of(column(b, &key, "week_start")?, &key)?;
        let requests = u64s(column(b, &key, "requests")?, &key, "requests")?;
        let whole = column(b, &key, "complete")?.as_boolean();
        for i in 0..b.num_rows() {
            *categories.entry(cat.value(i).to_owned()).or_default() += requests[i];
            let w = week[i];
            weeks = Some(weeks.map_or((w, w), |(a, z)| (a.min(w), z.max(w))));
            if whole.value(i) {
                complete.insert(w);
            }
        }
    }
    let Some(weeks) = weeks else {
        return Ok(None);
    };
    let mut categories: Vec<(String, u64)> = categories.into_iter().collect();
    categories.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(Some(Profile {
        dataset: dataset.to_owned(),
        weeks,
        complete: complete.into_iter().collect(),
        categories,
        has_close,
    }))
}

/// A column name fragment for a category: lower-case ASCII letters and digits, `_` between words.
pub fn slug(category: &str) -> String {
    let mut out = String::new();
    for c in category.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("other");
    }
    out
}

/// The feature columns of one dataset: names and what they hold.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetColumns {
    /// The dataset.
    pub dataset: String,
    /// `(column name, category)` of each top category, slugs made unique.
    pub categories: Vec<(String, String)>,
    /// Whether it has a median column.
    pub has_close: bool,
}

impl DatasetColumns {
    /// The columns of `profile`'s dataset.
    pub fn of(profile: &Profile) -> Self {
        let mut seen = std::collections::BTreeSet::new();
        let categories = profile
            .top(TOP_CATEGORIES)
            .map(|c| {
                let base = format!("{}__cat__{}", profile.dataset, slug(c));
                let mut name = base.clone();
                let mut n = 2;
                while !seen.insert(name.clone()) {
                    name = format!("{base}_{n}");
                    n += 1;
                }
                (name, c.to_owned())
            })
            .collect();
        DatasetColumns {
            dataset: profile.dataset.clone(),
            categories,
            has_close: profile.has_close,
        }
    }

    /// `d__total`.
    pub fn total(&self) -> String {
        format!("{}__total", self.dataset)
    }
}

/// The feature table's schema for these datasets (in the given order), with each category column's category
/// in the field metadata (`category`) and the file metadata.
pub fn schema(columns: &[DatasetColumns]) -> SchemaRef {
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let mut fields = vec![
        Field::new("council_district", DataType::Int16, false),
        Field::new("week_start", ts, false),
        Field::new("iso_week", DataType::Utf8, false),
    ];
    for d in columns {
        fields.push(Field::new(d.total(), DataType::UInt64, true));
        fields.push(Field::new(
            format!("{}__complete_week", d.dataset),
            DataType::Boolean,
            true,
        ));
        for (name, category) in &d.categories {
            fields.push(Field::new(name, DataType::UInt64, true).with_metadata(
                std::collections::HashMap::from([
                    ("category".to_string(), category.clone()),
                    ("dataset".to_string(), d.dataset.clone()),
                ]),
            ));
        }
        if d.has_close {
            fields.push(Field::new(
                format!("{}__median_hours_to_close", d.dataset),
                DataType::Float64,
                true,
            ));
        }
        for s in ["info", "warning", "critical"] {
            fields.push(Field::new(
                format!("{}__findings_{s}", d.dataset),
                DataType::UInt64,
                true,
            ));
        }
    }
    let meta: std::collections::HashMap<String, String> = [(
        "civic.feature_table".to_string(),
        "one row per council district and ISO week; counts are 0 for a week a dataset covers without rows and null for weeks outside its data".to_string(),
    )]
    .into();
    Arc::new(Schema::new_with_metadata(fields, meta))
}

/// One dataset's weekly values in one district.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DistrictSeries {
    /// Rows per week.
    pub total: BTreeMap<i64, u64>,
    /// Rows per (category, week), top categories only.
    pub categories: BTreeMap<String, BTreeMap<i64, u64>>,
    /// Median hours to close per week.
    pub median: BTreeMap<i64, f64>,
    /// Findings per (severity, week).
    pub findings: BTreeMap<String, BTreeMap<i64, u64>>,
}

/// Reads one dataset's processed tables of `district` (partition name as the runs write it).
pub async fn district_series(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    columns: &DatasetColumns,
    partition: &str,
) -> Result<DistrictSeries, JobError> {
    let ds = columns.dataset.as_str();
    let mut out = DistrictSeries::default();
    let key = loc.table(ds, TOTALS_TABLE, partition)?;
    for b in read_table(data, &key).await?.unwrap_or_default() {
        let week = weeks_of(column(&b, &key, "week_start")?, &key)?;
        let requests = u64s(column(&b, &key, "requests")?, &key, "requests")?;
        let median = column(&b, &key, "median_hours_to_close")?
            .as_primitive_opt::<Float64Type>()
            .ok_or_else(|| JobError::Table {
                key: key.to_string(),
                reason: "median_hours_to_close is not Float64".into(),
            })?;
        for i in 0..b.num_rows() {
            *out.total.entry(week[i]).or_default() += requests[i];
            if median.is_valid(i) {
                out.median.insert(week[i], median.value(i));
            }
        }
    }
    let wanted: BTreeMap<&str, ()> = columns
        .categories
        .iter()
        .map(|(_, c)| (c.as_str(), ()))
        .collect();
    let key = loc.table(ds, WEEKLY_TABLE, partition)?;
    for b in read_table(data, &key).await?.unwrap_or_default() {
        let cat = column(&b, &key, "request_type")?.as_string::<i32>();
        let week = weeks_of(column(&b, &key, "week_start")?, &key)?;
        let requests = u64s(column(&b, &key, "requests")?, &key, "requests")?;
        for i in 0..b.num_rows() {
            let c = cat.value(i);
            if wanted.contains_key(c) {
                *out.categories
                    .entry(c.to_owned())
                    .or_default()
                    .entry(week[i])
                    .or_default() += requests[i];
            }
        }
    }
    let key = loc.table(ds, FINDINGS_TABLE, partition)?;
    for b in read_table(data, &key).await?.unwrap_or_default() {
        let severity = column(&b, &key, "severity")?.as_string::<i32>();
        let week = weeks_of(column(&b, &key, "week_start")?, &key)?;
        for (i, w) in week.iter().enumerate() {
            *out.findings
                .entry(severity.value(i).to_owned())
                .or_default()
                .entry(*w)
                .or_default() += 1;
        }
    }
    Ok(out)
}

/// ISO 8601 week label of week index `week`.
pub fn iso_week_label(week: i64) -> String {
    let w = week_start(week).iso_week();
    format!("{:04}-W{:02}", w.year(), w.week())
}

/// The rows of one district over `weeks` (inclusive), one per week, as a batch of [`schema`].
pub fn district_batch(
    district: u8,
    weeks: (i64, i64),
    profiles: &[Profile],
    columns: &[DatasetColumns],
    series: &[DistrictSeries],
) -> RecordBatch {
    let schema = schema(columns);
    let n = (weeks.1 - weeks.0 + 1).max(0) as usize;
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    let mut cd = Int16Builder::with_capacity(n);
    let mut start = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut label = StringBuilder::new();
    for w in weeks.0..=weeks.1 {
        cd.append_value(i16::from(district));
        start.append_value(week_start(w).timestamp_micros());
        label.append_value(iso_week_label(w));
    }
    cols.push(Arc::new(cd.finish()));
    cols.push(Arc::new(start.finish()));
    cols.push(Arc::new(label.finish()));
    for ((p, c), s) in profiles.iter().zip(columns).zip(series) {
        let covers = |w: i64| (p.weeks.0..=p.weeks.1).contains(&w);
        let counts = |m: Option<&BTreeMap<i64, u64>>| -> ArrayRef {
            let mut b = UInt64Builder::with_capacity(n);
            for w in weeks.0..=weeks.1 {
                if covers(w) {
                    b.append_value(m.and_then(|m| m.get(&w)).copied().unwrap_or(0));
                } else {
                    b.append_null();
                }
            }
            Arc::new(b.finish())
        };
        cols.push(counts(Some(&s.total)));
        let mut whole = BooleanBuilder::with_capacity(n);
        for w in weeks.0..=weeks.1 {
            if covers(w) {
                whole.append_value(p.complete.binary_search(&w).is_ok());
            } else {
                whole.append_null();
            }
        }
        cols.push(Arc::new(whole.finish()));
        for (_, category) in &c.categories {
            cols.push(counts(s.categories.get(category)));
        }
        if c.has_close {
            let mut b = Float64Builder::with_capacity(n);
            for w in weeks.0..=weeks.1 {
                b.append_option(covers(w).then(|| s.median.get(&w).copied()).flatten());
            }
            cols.push(Arc::new(b.finish()));
        }
        for sev in ["info", "warning", "critical"] {
            cols.push(counts(s.findings.get(sev)));
        }
    }
    RecordBatch::try_new(schema, cols).expect("columns follow the feature schema")
}

/// The weekly values of `name` (a column of a feature batch) as f64, nulls as NaN.
pub fn column_values(batch: &RecordBatch, name: &str) -> Option<Vec<f64>> {
    let col = batch.column_by_name(name)?;
    Some(match col.data_type() {
        DataType::UInt64 => {
            let a = col.as_primitive::<UInt64Type>();
            (0..a.len())
                .map(|i| {
                    if a.is_valid(i) {
                        a.value(i) as f64
                    } else {
                        f64::NAN
                    }
                })
                .collect()
        }
        DataType::Float64 => {
            let a = col.as_primitive::<Float64Type>();
            (0..a.len())
                .map(|i| if a.is_valid(i) { a.value(i) } else { f64::NAN })
                .collect()
        }
        DataType::Int16 => col
            .as_primitive::<Int16Type>()
            .values()
            .iter()
            .map(|&v| f64::from(v))
            .collect(),
        _ => return None,
    })
}

/// The week index of the first row of a feature batch.
pub fn first_week(batch: &RecordBatch) -> Option<i64> {
    let col = batch.column_by_name("week_start")?;
    let ts = col.as_primitive_opt::<TimestampMicrosecondType>()?;
    (!ts.is_empty()).then(|| week_of(ts.value(0)))
}

/// Weeks between two week-start instants.
pub fn weeks_between(a_us: i64, b_us: i64) -> i64 {
    (b_us - a_us) / WEEK_US
}
