//! Lookups per second on the real sample coordinates (one core):
//! `cargo run --release -p districts --example lookup_bench`.
//! Prints load time, the grid's boundary-cell share, and lookups/s with the grid, with the
//! date rule (`Boundaries::lookup`) and with the exact test alone.

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use chrono::NaiveDate;
use districts::{Boundaries, BoundarySet};

fn gz_rows(rel: &str) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut r = csv::Reader::from_reader(flate2::read::GzDecoder::new(file));
    let h = r.headers().unwrap().clone();
    (h, r.records().map(|x| x.unwrap()).collect())
}

fn col(h: &csv::StringRecord, name: &str) -> usize {
    h.iter().position(|c| c == name).unwrap()
}

/// A sample's rows as (date, lat, lon).
type Points = Vec<(NaiveDate, f64, f64)>;

fn points() -> Vec<(&'static str, Points)> {
    let (h, rows) = gz_rows("lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz");
    let (d, la, lo) = (col(&h, "DATE OCC"), col(&h, "LAT"), col(&h, "LON"));
    let date = |s: &str| NaiveDate::parse_from_str(&s[..10], "%m/%d/%Y").unwrap();
    let crime = rows
        .iter()
        .map(|r| (date(&r[d]), r[la].parse().unwrap(), r[lo].parse().unwrap()))
        .collect();
    let (h, rows) = gz_rows("ladbs_permits/ladbs_permits_2016_bldg_new_export.csv.gz");
    let (d, ll) = (col(&h, "Issue Date"), col(&h, "Latitude/Longitude"));
    let permits = rows
        .iter()
        .filter_map(|r| {
            let s = r[ll].trim().strip_prefix('(')?.strip_suffix(')')?;
            let (a, b) = s.split_once(',')?;
            Some((date(&r[d]), a.trim().parse().ok()?, b.trim().parse().ok()?))
        })
        .collect();
    vec![("crime (10,000)", crime), ("permits (5,917)", permits)]
}

/// Lookups per second of `f` over `pts`, repeated to at least `min` lookups; best of 3.
fn rate(pts: &[(NaiveDate, f64, f64)], min: usize, f: impl Fn(NaiveDate, f64, f64) -> u32) -> f64 {
    let reps = min.div_ceil(pts.len());
    let mut best = 0f64;
    for _ in 0..3 {
        let t = Instant::now();
        let mut acc = 0u32;
        for _ in 0..reps {
            for &(d, lat, lon) in pts {
                acc = acc.wrapping_add(f(black_box(d), black_box(lat), black_box(lon)));
            }
        }
        black_box(acc);
        best = best.max((reps * pts.len()) as f64 / t.elapsed().as_secs_f64());
    }
    best
}

fn code(d: Option<u8>) -> u32 {
    d.map_or(0, u32::from)
}

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/geo/council_districts");
    let t = Instant::now();
    let b = Boundaries::load_dir(&dir).unwrap();
    println!(
        "load both sets (parse + index): {:.0} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    for s in b.sets() {
        println!(
            "set {}: boundary cells {:.2} %",
            s.name,
            100.0 * s.boundary_cell_share()
        );
    }
    let n = 20_000_000;
    for (what, pts) in points() {
        for s in b.sets() {
            let set: &BoundarySet = s;
            let exact = pts
                .iter()
                .filter(|p| set.in_boundary_cell(p.1, p.2))
                .count();
            println!(
                "{what}, set {}: {:.1} % of points in boundary cells",
                s.name,
                100.0 * exact as f64 / pts.len() as f64
            );
            let g = rate(&pts, n, |_, la, lo| code(set.district(la, lo)));
            let e = rate(&pts, n / 20, |_, la, lo| code(set.district_exact(la, lo)));
            println!(
                "{what}, set {}: grid {:.2} M/s, exact only {:.2} M/s",
                s.name,
                g / 1e6,
                e / 1e6
            );
        }
        let l = rate(&pts, n, |d, la, lo| {
            b.lookup(d, la, lo).district().map_or(0, u32::from)
        });
        println!("{what}, Boundaries::lookup by date: {:.2} M/s", l / 1e6);
    }
}
