//! Shared by the integration tests: the repository's boundary sets and its real samples.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use chrono::NaiveDate;
use districts::Boundaries;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `datasets/geo/council_districts`, loaded once per test binary.
pub fn boundaries() -> &'static Boundaries {
    static B: OnceLock<Boundaries> = OnceLock::new();
    B.get_or_init(|| {
        Boundaries::load_dir(&repo().join("datasets/geo/council_districts"))
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Header and records of a gzip CSV under `testdata/` (fails, never skips, when absent).
pub fn gz_csv(rel: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let path = repo().join("testdata").join(rel);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = csv::Reader::from_reader(flate2::read::GzDecoder::new(file));
    let header = reader.headers().unwrap().clone();
    let rows = reader.records().map(|r| r.unwrap()).collect();
    (header, rows)
}

pub fn column(header: &csv::StringRecord, name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("no column {name:?} in {header:?}"))
}

/// `MM/DD/YYYY` with an optional time after a space.
pub fn us_date(s: &str) -> NaiveDate {
    let d = s.split_whitespace().next().unwrap_or("");
    NaiveDate::parse_from_str(d, "%m/%d/%Y").unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// The crime sample's (date occurred, lat, lon) rows.
pub fn crime_points() -> Vec<(NaiveDate, f64, f64)> {
    let (h, rows) = gz_csv("lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz");
    let (d, lat, lon) = (column(&h, "DATE OCC"), column(&h, "LAT"), column(&h, "LON"));
    rows.iter()
        .map(|r| {
            (
                us_date(&r[d]),
                r[lat].trim().parse().unwrap(),
                r[lon].trim().parse().unwrap(),
            )
        })
        .collect()
}

/// One permit row: issue date, published district, and its `(lat, lon)` when present.
pub struct Permit {
    pub issued: NaiveDate,
    pub published: u8,
    pub at: Option<(f64, f64)>,
}

pub fn permits() -> Vec<Permit> {
    let (h, rows) = gz_csv("ladbs_permits/ladbs_permits_2016_bldg_new_export.csv.gz");
    let (d, cd, ll) = (
        column(&h, "Issue Date"),
        column(&h, "Council District"),
        column(&h, "Latitude/Longitude"),
    );
    rows.iter()
        .map(|r| Permit {
            issued: us_date(&r[d]),
            published: r[cd].trim().parse().unwrap(),
            at: parse_lat_lon(&r[ll]),
        })
        .collect()
}

/// `"(34.05, -118.24)"` → `(34.05, -118.24)`; empty → `None`.
pub fn parse_lat_lon(s: &str) -> Option<(f64, f64)> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let inner = s.strip_prefix('(')?.strip_suffix(')')?;
    let (a, b) = inner.split_once(',')?;
    Some((a.trim().parse().ok()?, b.trim().parse().ok()?))
}
