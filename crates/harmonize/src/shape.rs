//! Value shapes for schema drift: what a column's sampled values look like, and whether that fits a
//! canonical column type (used to tell a renamed column from an unrelated new one).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ColumnType};
use crate::datetime;
use crate::location;

/// How a column's sampled values look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    Empty,
    Integer,
    Number,
    Date,
    Point,
    Text,
}

/// Lower-cased ASCII letters and digits of a name (separators and case dropped).
pub fn alnum(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_lowercase()
}

/// The dominant shape of non-empty values (dates judged with every format the catalog accepts).
pub fn shape_of<'a>(
    values: impl Iterator<Item = &'a str>,
    catalog: &Catalog,
    all_formats: &[String],
) -> Shape {
    let tz = catalog.timezone.value.parse().expect("validated time zone");
    let mut counts: BTreeMap<u8, (Shape, usize)> = BTreeMap::new();
    for v in values.map(str::trim).filter(|v| !v.is_empty()) {
        let s = if v.parse::<i64>().is_ok() {
            Shape::Integer
        } else if v.parse::<f64>().is_ok() {
            Shape::Number
        } else if datetime::parse_any(tz, all_formats, v).is_some() {
            Shape::Date
        } else if location::parse_point(v).is_ok() {
            Shape::Point
        } else {
            Shape::Text
        };
        counts.entry(s as u8).or_insert((s, 0)).1 += 1;
    }
    counts
        .values()
        .max_by_key(|(_, n)| *n)
        .map(|(s, _)| *s)
        .unwrap_or(Shape::Empty)
}

/// Whether sampled values of `shape` fit a canonical column of type `ty` (None: the era's point column).
pub fn expected_shape_fits(ty: Option<ColumnType>, shape: Shape) -> bool {
    match (ty, shape) {
        (_, Shape::Empty) => true,
        (Some(ColumnType::Timestamp), s) => s == Shape::Date,
        (Some(ColumnType::Int16 | ColumnType::Uint64), s) => s == Shape::Integer,
        (Some(ColumnType::Float64), s) => matches!(s, Shape::Integer | Shape::Number),
        (None, s) => s == Shape::Point, // the era's location column
        _ => true,
    }
}
