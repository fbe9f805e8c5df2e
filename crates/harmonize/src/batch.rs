//! Column-at-a-time transform of one raw batch: each canonical column typed in one pass over its raw
//! Arrow array (compiled timestamp formats, the per-hour offset cache, no allocation per value), then one
//! pass over the rows for the coordinates and the derived district.
//!
//! [`Plan::transform_row`] stays the definition of the transform. A row this path cannot type cleanly (any
//! value that would be a problem, un-swapped coordinates, anything unusual) is handed to `transform_row`
//! whole, which then decides: quarantine with its problems, or a canonical row. So the quarantine records
//! (column, value, reason) are exactly the row path's, and the output is the row path's output, in raw
//! row order.

// Row indices address several parallel arrays at once (raw columns, `slow`, builders).
#![allow(clippy::needless_range_loop)]

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanBuilder, Float64Array, Int16Array, Int16Builder, StringArray,
    StringBuilder, TimestampMicrosecondBuilder, UInt64Array, UInt64Builder, new_null_array,
};
use arrow::compute::{filter_record_batch, interleave_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use crate::canonical::BatchBuilder;
use crate::catalog::{ColumnType, Lineage};
use crate::local_time::{Formats, Zone};
use crate::location;
use crate::plan::{ColumnPlan, Plan, Source};
use crate::row::{Problem, parse_integer, parse_number};

/// What one raw batch became.
#[derive(Debug)]
pub struct BatchResult {
    /// The canonical rows, in raw order (the canonical schema).
    pub batch: RecordBatch,
    /// Quarantined rows: index in the raw batch and the row path's problems (at least one).
    pub quarantined: Vec<(usize, Vec<Problem>)>,
    /// Rows whose coordinates were un-swapped.
    pub swapped: u64,
    /// How the written rows' derived districts compare with the published ones (when the plan derives one).
    pub districts: Option<contract::DistrictAgreement>,
}

/// The per-worker state of the column path: the plan's compiled formats and the zone's offset cache.
#[derive(Debug, Clone)]
pub struct BatchTransform {
    zone: Zone,
    formats: Vec<Option<Formats>>,
    relaxed: SchemaRef,
}

impl BatchTransform {
    pub fn new(plan: &Plan, schema: &SchemaRef) -> Self {
        let relaxed = Arc::new(Schema::new(
            schema
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), f.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        BatchTransform {
            zone: Zone::new(plan.tz),
            formats: plan
                .columns
                .iter()
                .map(|c| (c.ty == ColumnType::Timestamp).then(|| Formats::new(&c.formats)))
                .collect(),
            relaxed,
        }
    }

    /// Transform raw columns `cols` (with `rows`, their `_source_row`s) into canonical rows of `schema`.
    pub fn run(
        &mut self,
        plan: &Plan,
        schema: &SchemaRef,
        cols: &[StringArray],
        rows: &[u64],
    ) -> Result<BatchResult, ArrowError> {
        let n = rows.len();
        let mut slow = vec![false; n];
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(plan.columns.len());
        for (ci, col) in plan.columns.iter().enumerate() {
            if ci == plan.lat || ci == plan.lon {
                // Typed here, checked as a pair below.
                arrays.push(Arc::new(self.float_column(col, cols, n, &mut slow)));
                continue;
            }
            let a = self.column(plan, ci, col, cols, rows, &mut slow)?;
            arrays.push(a);
        }
        self.coordinates(plan, cols, &mut arrays, &mut slow);
        let districts = self.districts(plan, &mut arrays, &slow);

        // Rows the column path did not type go through the row path, which decides.
        let mut quarantined = Vec::new();
        let mut slow_rows = BatchBuilder::new(schema.clone());
        let mut picks: Vec<(usize, usize)> = Vec::new();
        let mut any_slow_ok = false;
        let mut swapped = 0;
        let mut agreement = districts;
        for r in (0..n).filter(|&r| slow[r]) {
            match plan.transform_row(|i| cols[i].value(r), rows[r]) {
                Ok(row) => {
                    if row.swapped_coordinates {
                        swapped += 1;
                    }
                    if let Some(a) = agreement.as_mut() {
                        plan.district_outcome(&row.values, a);
                    }
                    slow_rows.push(&row.values);
                    any_slow_ok = true;
                }
                Err(problems) => quarantined.push((r, problems)),
            }
        }
        let fast = RecordBatch::try_new(self.relaxed.clone(), arrays)?;
        let out = if !slow.contains(&true) {
            fast
        } else if !any_slow_ok {
            let keep = arrow::array::BooleanArray::from_iter(slow.iter().map(|s| Some(!s)));
            filter_record_batch(&fast, &keep)?
        } else {
            let extra = slow_rows.finish()?;
            let extra = RecordBatch::try_new(self.relaxed.clone(), extra.columns().to_vec())?;
            let mut k = 0;
            let quarantined_rows: std::collections::HashSet<usize> =
                quarantined.iter().map(|(r, _)| *r).collect();
            for r in 0..n {
                if !slow[r] {
                    picks.push((0, r));
                } else if !quarantined_rows.contains(&r) {
                    picks.push((1, k));
                    k += 1;
                }
            }
            interleave_record_batch(&[&fast, &extra], &picks)?
        };
        Ok(BatchResult {
            batch: RecordBatch::try_new(schema.clone(), out.columns().to_vec())?,
            quarantined,
            swapped,
            districts: agreement,
        })
    }

    /// One canonical column (not latitude/longitude) over all rows; `slow` marks rows it cannot type.
    fn column(
        &mut self,
        plan: &Plan,
        ci: usize,
        col: &ColumnPlan,
        cols: &[StringArray],
        rows: &[u64],
        slow: &mut [bool],
    ) -> Result<ArrayRef, ArrowError> {
        let n = rows.len();
        if let Source::Lineage(l) = &col.source {
            return Ok(match l {
                Lineage::Year => Arc::new(Int16Array::from_value(plan.lineage.year, n)),
                Lineage::Dataset => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                    plan.lineage.dataset.as_str(),
                    n,
                ))),
                Lineage::Run => Arc::new(StringArray::from_iter_values(std::iter::repeat_n(
                    plan.lineage.run.as_str(),
                    n,
                ))),
                Lineage::Row => Arc::new(UInt64Array::from(rows.to_vec())),
            });
        }
        let dt = crate::canonical::arrow_type(col.ty);
        if matches!(col.source, Source::Null) && col.key.is_none() {
            if col.required {
                slow.iter_mut().for_each(|s| *s = true);
            }
            return Ok(new_null_array(&dt, n));
        }
        if let (Source::Column(j), ColumnType::String, None) = (&col.source, col.ty, &col.table)
            && let Some(a) = untouched(&cols[*j], col.required)
        {
            return Ok(a);
        }
        let text = |r: usize| -> &str {
            match &col.source {
                Source::Column(j) => cols[*j].value(r).trim(),
                Source::Default(d) => d.as_str(),
                _ => "",
            }
        };
        let key = |r: usize| -> Option<&str> {
            col.key
                .map(|k| cols[k].value(r).trim())
                .filter(|k| !k.is_empty())
        };
        // Empty text (and no key): null, or a problem when required.
        macro_rules! empty_or {
            ($r:expr, $b:expr, $body:expr) => {{
                let t = text($r);
                if t.is_empty() && key($r).is_none() {
                    if col.required {
                        slow[$r] = true;
                    }
                    $b.append_null();
                } else {
                    $body(t)
                }
            }};
        }
        Ok(match col.ty {
            ColumnType::String => {
                let mut b = StringBuilder::with_capacity(n, n * 8);
                for r in 0..n {
                    empty_or!(r, b, |t: &str| match &col.table {
                        None => b.append_value(t),
                        Some(table) =>
                            match key(r).and_then(|k| table.get(k)).or_else(|| table.get(t)) {
                                Some(canon) => b.append_value(canon),
                                None if table.strict => {
                                    slow[r] = true;
                                    b.append_null();
                                }
                                None if t.is_empty() => b.append_null(),
                                None => b.append_value(table.clean(t)),
                            },
                    });
                }
                Arc::new(b.finish())
            }
            ColumnType::Timestamp => {
                let formats = self.formats[ci].as_ref().expect("compiled for timestamps");
                let zone = &mut self.zone;
                let mut b = TimestampMicrosecondBuilder::with_capacity(n).with_timezone("UTC");
                // The previous text and its instant: dates of a day in a row (service dates) parse once.
                let mut last: Option<(usize, Option<i64>)> = None;
                for r in 0..n {
                    empty_or!(r, b, |t: &str| {
                        let v = match (last, col.time_of_day) {
                            (Some((prev, v)), None) if text(prev) == t => v,
                            _ => {
                                let v = formats
                                    .parse(zone, t)
                                    .and_then(|t| match col.time_of_day {
                                        None => Some(t),
                                        Some(i) => crate::datetime::with_time_of_day(
                                            zone.tz(),
                                            t,
                                            cols[i].value(r).trim(),
                                        ),
                                    })
                                    .map(|t| t.timestamp_micros());
                                last = Some((r, v));
                                v
                            }
                        };
                        match v {
                            Some(t) => b.append_value(t),
                            None => {
                                slow[r] = true;
                                b.append_null();
                            }
                        }
                    });
                }
                Arc::new(b.finish())
            }
            ColumnType::Int16 => {
                let mut b = Int16Builder::with_capacity(n);
                for r in 0..n {
                    empty_or!(r, b, |t: &str| {
                        let v = parse_integer(t)
                            .filter(|n| col.range.is_none_or(|[lo, hi]| (lo..=hi).contains(n)))
                            .and_then(|n| i16::try_from(n).ok());
                        match v {
                            Some(v) => b.append_value(v),
                            None => {
                                slow[r] = true;
                                b.append_null();
                            }
                        }
                    });
                }
                Arc::new(b.finish())
            }
            ColumnType::Uint64 => {
                let mut b = UInt64Builder::with_capacity(n);
                for r in 0..n {
                    empty_or!(r, b, |t: &str| match t.parse::<u64>() {
                        Ok(v) => b.append_value(v),
                        Err(_) => {
                            slow[r] = true;
                            b.append_null();
                        }
                    });
                }
                Arc::new(b.finish())
            }
            ColumnType::Float64 => {
                let mut b = arrow::array::Float64Builder::with_capacity(n);
                for r in 0..n {
                    empty_or!(r, b, |t: &str| match parse_number(t) {
                        Some(v) => b.append_value(v),
                        None => {
                            slow[r] = true;
                            b.append_null();
                        }
                    });
                }
                Arc::new(b.finish())
            }
            ColumnType::Bool => {
                let mut b = BooleanBuilder::with_capacity(n);
                let is = |vals: &[String], t: &str| {
                    if t.is_ascii() {
                        vals.iter().any(|v| v.eq_ignore_ascii_case(t))
                    } else {
                        vals.contains(&t.to_lowercase())
                    }
                };
                for r in 0..n {
                    empty_or!(r, b, |t: &str| {
                        if is(&col.true_values, t) {
                            b.append_value(true)
                        } else if is(&col.false_values, t) {
                            b.append_value(false)
                        } else {
                            slow[r] = true;
                            b.append_null();
                        }
                    });
                }
                Arc::new(b.finish())
            }
        })
    }

    /// Latitude or longitude, as numbers (the pair is checked in [`BatchTransform::coordinates`]).
    fn float_column(
        &self,
        col: &ColumnPlan,
        cols: &[StringArray],
        n: usize,
        slow: &mut [bool],
    ) -> Float64Array {
        let mut b = arrow::array::Float64Builder::with_capacity(n);
        for (r, s) in slow.iter_mut().enumerate().take(n) {
            let t = match &col.source {
                Source::Column(j) => cols[*j].value(r).trim(),
                Source::Default(d) => d.as_str(),
                _ => "",
            };
            if t.is_empty() {
                if col.required {
                    *s = true;
                }
                b.append_null();
            } else {
                match parse_number(t) {
                    Some(v) => b.append_value(v),
                    None => {
                        *s = true;
                        b.append_null();
                    }
                }
            }
        }
        b.finish()
    }

    /// The row path's coordinate rules on the typed pair: 0/0 is none, inside the box is kept, none is filled
    /// from the point column; anything else (un-swapping, outside the box, one of two) goes the row path.
    fn coordinates(
        &self,
        plan: &Plan,
        cols: &[StringArray],
        arrays: &mut [ArrayRef],
        slow: &mut [bool],
    ) {
        let lat_in = arrays[plan.lat]
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("f64");
        let lon_in = arrays[plan.lon]
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("f64");
        let n = lat_in.len();
        let mut lat = arrow::array::Float64Builder::with_capacity(n);
        let mut lon = arrow::array::Float64Builder::with_capacity(n);
        for r in 0..n {
            let pair = (
                lat_in.is_valid(r).then(|| lat_in.value(r)),
                lon_in.is_valid(r).then(|| lon_in.value(r)),
            );
            let got = match pair {
                _ if slow[r] => None,
                (Some(a), Some(b)) if a == 0.0 && b == 0.0 => self.location_pair(plan, cols, r),
                (Some(a), Some(b)) => match plan.bbox.check(a, b) {
                    Ok(p) if !p.swapped => Some(Some((p.lat, p.lon))),
                    _ => None,
                },
                (None, None) => self.location_pair(plan, cols, r),
                _ => None,
            };
            match got {
                Some(Some((a, b))) => {
                    lat.append_value(a);
                    lon.append_value(b);
                }
                Some(None) => {
                    lat.append_null();
                    lon.append_null();
                }
                None => {
                    slow[r] = true;
                    lat.append_null();
                    lon.append_null();
                }
            }
        }
        arrays[plan.lat] = Arc::new(lat.finish());
        arrays[plan.lon] = Arc::new(lon.finish());
    }

    /// No coordinates: the point column's, when it has one inside the box (`Some(None)`: none at all;
    /// `None`: the row path decides).
    fn location_pair(
        &self,
        plan: &Plan,
        cols: &[StringArray],
        r: usize,
    ) -> Option<Option<(f64, f64)>> {
        let Some(i) = plan.location else {
            return Some(None);
        };
        let text = cols[i].value(r).trim();
        if text.is_empty() {
            return Some(None);
        }
        match location::parse_location(text, &plan.bbox) {
            Ok(p) if !p.swapped => Some(Some((p.lat, p.lon))),
            _ => None,
        }
    }

    /// The derived district (and the published one, when the era has none) of every typed row, and how the
    /// typed rows' districts agree.
    fn districts(
        &self,
        plan: &Plan,
        arrays: &mut [ArrayRef],
        slow: &[bool],
    ) -> Option<contract::DistrictAgreement> {
        let d = plan.districts.as_ref()?;
        let lat = arrays[plan.lat]
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("f64");
        let lon = arrays[plan.lon]
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("f64");
        let date = arrays[d.date]
            .as_any()
            .downcast_ref::<arrow::array::TimestampMicrosecondArray>()
            .expect("timestamp");
        let n = lat.len();
        let mut agreement = contract::DistrictAgreement::default();
        let mut derived = Int16Builder::with_capacity(n);
        for r in 0..n {
            let v = if lat.is_valid(r) && lon.is_valid(r) && date.is_valid(r) {
                chrono::DateTime::from_timestamp_micros(date.value(r))
                    .map(|t| t.with_timezone(&plan.tz).date_naive())
                    .and_then(
                        |day| match d.boundaries.lookup(day, lat.value(r), lon.value(r)) {
                            districts::Lookup::District(n) => Some(i16::from(n)),
                            _ => None,
                        },
                    )
            } else {
                None
            };
            derived.append_option(v);
            if slow[r] {
                continue;
            }
            match (v, lat.is_valid(r) && lon.is_valid(r)) {
                (Some(_), _) => agreement.derived += 1,
                (None, true) => agreement.outside += 1,
                (None, false) => agreement.unlocated += 1,
            }
        }
        let derived = derived.finish();
        if d.fill_published {
            agreement.filled += (0..n).filter(|&r| !slow[r]).count() as u64;
            arrays[d.published] = Arc::new(derived.clone());
        } else {
            let published = arrays[d.published]
                .as_any()
                .downcast_ref::<Int16Array>()
                .expect("int16");
            for r in (0..n).filter(|&r| !slow[r]) {
                if derived.is_valid(r) && published.is_valid(r) {
                    agreement.compared += 1;
                    if derived.value(r) == published.value(r) {
                        agreement.agreed += 1;
                    }
                }
            }
        }
        arrays[d.into] = Arc::new(derived);
        Some(agreement)
    }
}

/// A raw text column the canonical string column takes unchanged (no value to trim, no empty non-null
/// value; an empty required one is a problem): the same array, no copy.
fn untouched(a: &StringArray, required: bool) -> Option<ArrayRef> {
    if required && a.null_count() > 0 {
        return None;
    }
    let clean = (0..a.len()).all(|r| {
        if a.is_null(r) {
            return true;
        }
        let v = a.value(r);
        !v.is_empty() && !v.starts_with(char::is_whitespace) && !v.ends_with(char::is_whitespace)
    });
    (clean && a.data_type() == &DataType::Utf8).then(|| Arc::new(a.clone()) as ArrayRef)
}
