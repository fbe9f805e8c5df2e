//! One raw row -> one canonical row, or the reasons it cannot be one (for quarantine).

use serde::Serialize;

use crate::catalog::{ColumnType, Lineage};
use crate::datetime;
use crate::location::{self, GeoError};
use crate::plan::{Plan, Source};

/// A typed canonical value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    /// Microseconds since the Unix epoch, UTC.
    Ts(i64),
    I16(i16),
    F64(f64),
    Bool(bool),
    U64(u64),
}

/// Stable reason codes for quarantined values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A required column is empty.
    MissingRequired,
    /// Text that matches none of the era's accepted date formats.
    UnparsableDate,
    /// Not an integer (e.g. a council member's name in `CD` after a column shift).
    NotAnInteger,
    /// An integer outside the column's range (district outside 1..15).
    OutOfRange,
    /// Not a number (coordinates).
    NotANumber,
    /// Not one of the column's true/false spellings.
    NotAFlag,
    /// A value outside a strict normalization table (e.g. a status that is not a status).
    UnknownValue,
    /// Point text that is neither `(lat, lon)` nor `POINT (lon lat)`.
    UnparsableLocation,
    /// Coordinates outside the LA bounding box in either order.
    OutsideLaBbox,
    /// Only one of latitude/longitude is present.
    IncompleteCoordinates,
}

impl Reason {
    /// The snake_case code used in reports.
    pub fn code(self) -> &'static str {
        match self {
            Reason::MissingRequired => "missing_required",
            Reason::UnparsableDate => "unparsable_date",
            Reason::NotAnInteger => "not_an_integer",
            Reason::OutOfRange => "out_of_range",
            Reason::NotANumber => "not_a_number",
            Reason::NotAFlag => "not_a_flag",
            Reason::UnknownValue => "unknown_value",
            Reason::UnparsableLocation => "unparsable_location",
            Reason::OutsideLaBbox => "outside_la_bbox",
            Reason::IncompleteCoordinates => "incomplete_coordinates",
        }
    }
}

/// One problem with one value of a row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// Canonical column.
    pub column: String,
    /// Raw column the value came from, when there is one.
    pub source_column: Option<String>,
    /// The offending raw text.
    pub value: String,
    pub reason: Reason,
    /// Human-readable detail (accepted formats, range, ...).
    pub detail: String,
}

/// A successfully transformed row.
#[derive(Debug, Clone, PartialEq)]
pub struct CanonicalRow {
    pub values: Vec<Value>,
    /// The coordinates were given in the other order and were un-swapped.
    pub swapped_coordinates: bool,
}

impl Plan {
    /// Transform one raw row. `raw(i)` is the text of raw column `i`.
    pub fn transform_row<'a>(
        &self,
        raw: impl Fn(usize) -> &'a str,
        source_row: u64,
    ) -> Result<CanonicalRow, Vec<Problem>> {
        let mut values = Vec::with_capacity(self.columns.len());
        let mut problems = Vec::new();
        for col in &self.columns {
            let text: &str = match &col.source {
                Source::Column(i) => raw(*i).trim(),
                Source::Default(d) => d.as_str(),
                Source::Null => "",
                Source::Lineage(l) => {
                    values.push(match l {
                        Lineage::Year => Value::I16(self.lineage.year),
                        Lineage::Dataset => Value::Str(self.lineage.dataset.clone()),
                        Lineage::Run => Value::Str(self.lineage.run.clone()),
                        Lineage::Row => Value::U64(source_row),
                    });
                    continue;
                }
            };
            let mut problem = |reason: Reason, detail: String| {
                problems.push(Problem {
                    column: col.name.clone(),
                    source_column: col.source_name.clone(),
                    value: text.to_string(),
                    reason,
                    detail,
                });
                Value::Null
            };
            let key_text = col.key.map(|k| raw(k).trim()).filter(|k| !k.is_empty());
            if text.is_empty() && key_text.is_none() {
                values.push(if col.required {
                    problem(Reason::MissingRequired, "required value is empty".into())
                } else {
                    Value::Null
                });
                continue;
            }
            let v = match col.ty {
                ColumnType::String => match &col.table {
                    None => Value::Str(text.to_string()),
                    Some(t) => match key_text.and_then(|k| t.get(k)).or_else(|| t.get(text)) {
                        Some(canon) => Value::Str(canon.to_string()),
                        None if t.strict => {
                            problem(Reason::UnknownValue, format!("not in table '{}'", t.name))
                        }
                        None if text.is_empty() => Value::Null,
                        None => Value::Str(t.clean(text)),
                    },
                },
                ColumnType::Timestamp => match datetime::parse_any(self.tz, &col.formats, text) {
                    Some(t) => match col.time_of_day {
                        None => Value::Ts(t.timestamp_micros()),
                        Some(i) => {
                            let hhmm = raw(i).trim();
                            match datetime::with_time_of_day(self.tz, t, hhmm) {
                                Some(t) => Value::Ts(t.timestamp_micros()),
                                None => problem(
                                    Reason::UnparsableDate,
                                    format!(
                                        "time of day {hhmm:?} in {} is not HHMM (0000..2359)",
                                        self.header[i]
                                    ),
                                ),
                            }
                        }
                    },
                    None => problem(
                        Reason::UnparsableDate,
                        format!("accepted formats: {}", col.formats.join(" | ")),
                    ),
                },
                ColumnType::Int16 => match parse_integer(text) {
                    None => problem(Reason::NotAnInteger, "expected an integer".into()),
                    Some(n) => match col.range {
                        Some([lo, hi]) if n < lo || n > hi => {
                            problem(Reason::OutOfRange, format!("expected {lo}..={hi}"))
                        }
                        _ => match i16::try_from(n) {
                            Ok(n) => Value::I16(n),
                            Err(_) => {
                                problem(Reason::OutOfRange, "expected a 16-bit integer".into())
                            }
                        },
                    },
                },
                ColumnType::Uint64 => match text.parse::<u64>() {
                    Ok(n) => Value::U64(n),
                    Err(_) => problem(
                        Reason::NotAnInteger,
                        "expected a non-negative integer".into(),
                    ),
                },
                ColumnType::Float64 => match parse_number(text) {
                    Some(x) => Value::F64(x),
                    None => problem(Reason::NotANumber, "expected a number".into()),
                },
                ColumnType::Bool => {
                    let l = text.to_lowercase();
                    if col.true_values.contains(&l) {
                        Value::Bool(true)
                    } else if col.false_values.contains(&l) {
                        Value::Bool(false)
                    } else {
                        problem(
                            Reason::NotAFlag,
                            format!(
                                "expected one of {:?} / {:?}",
                                col.true_values, col.false_values
                            ),
                        )
                    }
                }
            };
            values.push(v);
        }
        let swapped = self.resolve_coordinates(&raw, &mut values, &mut problems);
        if problems.is_empty() {
            self.derive_district(&mut values);
        }
        if problems.is_empty() {
            Ok(CanonicalRow {
                values,
                swapped_coordinates: swapped,
            })
        } else {
            Err(problems)
        }
    }

    /// Check (or fill from the point column) latitude/longitude; returns whether they were un-swapped.
    fn resolve_coordinates<'a>(
        &self,
        raw: &impl Fn(usize) -> &'a str,
        values: &mut [Value],
        problems: &mut Vec<Problem>,
    ) -> bool {
        if problems.iter().any(|p| {
            p.column == self.columns[self.lat].name || p.column == self.columns[self.lon].name
        }) {
            return false;
        }
        let geo_problem = |reason: Reason,
                           value: String,
                           detail: String,
                           source_column: Option<String>| Problem {
            column: format!(
                "{}/{}",
                self.columns[self.lat].name, self.columns[self.lon].name
            ),
            source_column,
            value,
            reason,
            detail,
        };
        let bbox = format!(
            "LA box lat {}..{}, lon {}..{}",
            self.bbox.min_lat, self.bbox.max_lat, self.bbox.min_lon, self.bbox.max_lon
        );
        // 0/0 ("null island") is how exports write unknown coordinates: no coordinates.
        if let (Value::F64(lat), Value::F64(lon)) = (&values[self.lat], &values[self.lon])
            && *lat == 0.0
            && *lon == 0.0
        {
            values[self.lat] = Value::Null;
            values[self.lon] = Value::Null;
        }
        let checked = match (&values[self.lat], &values[self.lon]) {
            (Value::F64(lat), Value::F64(lon)) => {
                let shown = format!("{lat}, {lon}");
                self.bbox
                    .check(*lat, *lon)
                    .map_err(|_| geo_problem(Reason::OutsideLaBbox, shown, bbox.clone(), None))
            }
            (Value::Null, Value::Null) => {
                let Some(i) = self.location else { return false };
                let text = raw(i).trim();
                if text.is_empty() {
                    return false;
                }
                location::parse_location(text, &self.bbox).map_err(|e| {
                    let (reason, detail) = match e {
                        GeoError::Unparsable => (
                            Reason::UnparsableLocation,
                            "expected (lat, lon) or POINT (lon lat)".to_string(),
                        ),
                        GeoError::OutsideBox => (Reason::OutsideLaBbox, bbox.clone()),
                    };
                    geo_problem(
                        reason,
                        text.to_string(),
                        detail,
                        Some(self.header[i].clone()),
                    )
                })
            }
            (a, b) => Err(geo_problem(
                Reason::IncompleteCoordinates,
                format!("{}, {}", show(a), show(b)),
                "latitude and longitude must both be present or both be empty".into(),
                None,
            )),
        };
        match checked {
            Ok(p) => {
                values[self.lat] = Value::F64(p.lat);
                values[self.lon] = Value::F64(p.lon);
                p.swapped
            }
            Err(p) => {
                problems.push(p);
                false
            }
        }
    }
}

impl Plan {
    /// Fill the derived district from the coordinates and the date (see [`crate::plan::DistrictPlan`]).
    fn derive_district(&self, values: &mut [Value]) {
        let Some(d) = &self.districts else { return };
        let derived = match (&values[self.lat], &values[self.lon], &values[d.date]) {
            (Value::F64(lat), Value::F64(lon), Value::Ts(us)) => {
                let date = chrono::DateTime::from_timestamp_micros(*us)
                    .map(|t| t.with_timezone(&self.tz).date_naive());
                match date.map(|date| d.boundaries.lookup(date, *lat, *lon)) {
                    Some(districts::Lookup::District(n)) => Value::I16(n.into()),
                    _ => Value::Null,
                }
            }
            _ => Value::Null,
        };
        if d.fill_published {
            values[d.published] = derived.clone();
        }
        values[d.into] = derived;
    }

    /// How a written row's derived district compares with its published one.
    pub fn district_outcome(&self, values: &[Value], agreement: &mut contract::DistrictAgreement) {
        let Some(d) = &self.districts else { return };
        let located = matches!(
            (&values[self.lat], &values[self.lon]),
            (Value::F64(_), Value::F64(_))
        );
        match (&values[d.into], located) {
            (Value::I16(_), _) => agreement.derived += 1,
            (_, true) => agreement.outside += 1,
            (_, false) => agreement.unlocated += 1,
        }
        if d.fill_published {
            agreement.filled += 1;
        } else if let (Value::I16(a), Value::I16(b)) = (&values[d.into], &values[d.published]) {
            agreement.compared += 1;
            if a == b {
                agreement.agreed += 1;
            }
        }
    }
}

/// A number as exports write it: `412000.00`, `$412,000.00`, ` 7 `; None for anything else or non-finite.
pub fn parse_number(text: &str) -> Option<f64> {
    if let Ok(x) = text.parse::<f64>() {
        return x.is_finite().then_some(x);
    }
    let t = text.trim();
    let (neg, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, t),
    };
    let t = t.strip_prefix('$').unwrap_or(t).trim_start();
    // Thousands separators only between digit groups of three.
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.contains(',') {
        let groups: Vec<&str> = int.split(',').collect();
        let ok = groups[0].len() <= 3
            && !groups[0].is_empty()
            && groups[1..].iter().all(|g| g.len() == 3);
        if !ok {
            return None;
        }
    }
    let cleaned: String = int.chars().filter(|&c| c != ',').collect();
    if cleaned.is_empty() || !cleaned.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let x: f64 = format!("{cleaned}.{frac}0").parse().ok()?;
    Some(if neg { -x } else { x })
}

/// An integer as sources write it: `13`, `+13`, or a spreadsheet's `13.0` (the ingestion's partition values
/// read the same way); any other fraction is not an integer.
pub(crate) fn parse_integer(text: &str) -> Option<i64> {
    if let Ok(n) = text.parse::<i64>() {
        return Some(n);
    }
    let (int, frac) = text.split_once('.')?;
    if frac.is_empty() || !frac.bytes().all(|b| b == b'0') {
        return None;
    }
    int.parse::<i64>().ok()
}

/// A coordinate value as text for quarantine records ("" for null).
fn show(v: &Value) -> String {
    match v {
        Value::F64(x) => x.to_string(),
        _ => String::new(),
    }
}
