//! Deterministic LAPD "Crime Data from 2020 to Present"-shaped CSV (`civic gen --dataset lapd_crime`):
//! the export's 28 columns with its oddities, streamed row by row.
//!
//! Shapes copied from the real sample (`testdata/lapd_crime/`):
//! - `Date Rptd` and `DATE OCC` mix `MM/DD/YYYY hh:mm:ss AM` and `MM/DD/YYYY HH:MM` (always midnight):
//!   [`AMPM_SHARE`] of `DATE OCC` use the first, and `Date Rptd` keeps the row's format with
//!   probability [`SAME_FORMAT_SHARE`] (sample: 58.0 % and 59.1 % AM/PM).
//! - Codes keep their leading zeros: `DR_NO` (`YY` reported + `AREA` + sequence), `AREA` `01`,
//!   `Rpt Dist No` `0377`, `TIME OCC` `0030`.
//! - `LOCATION` is space-padded (`1100 W  39TH                         PL`); `Cross Street` is empty
//!   unless the location is an intersection (about 19 %).
//! - Coordinates are real locations of the sample jittered by at most [`JITTER_DEG`]; [`OUTSIDE_SHARE`]
//!   are real locations outside the city and [`ZERO_COORD_SHARE`] are `0`,`0`.
//! - `DATE OCC` is uniform over the requested years; `Date Rptd` follows by a lag of days (0 for
//!   about 45 %, more than a year for about 2 %), so it can run past the last year as in the export.
//! - Crime codes, premises, weapons, Mocodes and victim descent are drawn with the sample's weights.
//! - A fraction `malformed_rate` of rows lacks `Mocodes`, shifting the later values one column left.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::dataset::{DatasetOptions, DatasetStats};
use super::draw::{CrimeAnchor, Mdy, Row, Trimmed, jitter, pick, weighted_index};
use super::tables::{
    CRIME_CODES, CRIME_INSIDE, CRIME_OUTSIDE, DESCENTS, HOUR_WEIGHTS, MOCODES, PREMISES, WEAPONS,
};

/// The export's header, in order.
pub const HEADER: [&str; 28] = [
    "DR_NO",
    "Date Rptd",
    "DATE OCC",
    "TIME OCC",
    "AREA",
    "AREA NAME",
    "Rpt Dist No",
    "Part 1-2",
    "Crm Cd",
    "Crm Cd Desc",
    "Mocodes",
    "Vict Age",
    "Vict Sex",
    "Vict Descent",
    "Premis Cd",
    "Premis Desc",
    "Weapon Used Cd",
    "Weapon Desc",
    "Status",
    "Status Desc",
    "Crm Cd 1",
    "Crm Cd 2",
    "Crm Cd 3",
    "Crm Cd 4",
    "LOCATION",
    "Cross Street",
    "LAT",
    "LON",
];

/// Share of `DATE OCC` values written `MM/DD/YYYY hh:mm:ss AM` (the rest `MM/DD/YYYY HH:MM`).
pub const AMPM_SHARE: f64 = 0.58;
/// Probability that `Date Rptd` uses the same format as the row's `DATE OCC`.
pub const SAME_FORMAT_SHARE: f64 = 0.88;
/// Share of rows drawn at a real location outside the city; with the jitter crossing the city line
/// about 0.55 % of rows end up outside (sample: 0.53 %).
pub const OUTSIDE_SHARE: f64 = 0.003;
/// Share of rows with `LAT`/`LON` `0` (sample: 0.13 %).
pub const ZERO_COORD_SHARE: f64 = 0.0013;
/// Largest move of a location from its real anchor, in degrees (about 90 m).
pub const JITTER_DEG: f64 = 0.0008;
const CROSS_STREET_SHARE: f64 = 0.193;

/// `(AREA, AREA NAME, rows in the sample)`.
const AREAS: [(u8, &str, u32); 21] = [
    (1, "Central", 1342),
    (2, "Rampart", 961),
    (3, "Southwest", 1172),
    (4, "Hollenbeck", 854),
    (5, "Harbor", 1027),
    (6, "Hollywood", 501),
    (7, "Wilshire", 524),
    (8, "West LA", 560),
    (9, "Van Nuys", 457),
    (10, "West Valley", 436),
    (11, "Northeast", 503),
    (12, "77th Street", 157),
    (13, "Newton", 149),
    (14, "Pacific", 283),
    (15, "N Hollywood", 273),
    (16, "Foothill", 102),
    (17, "Devonshire", 173),
    (18, "Southeast", 119),
    (19, "Mission", 112),
    (20, "Olympic", 156),
    (21, "Topanga", 139),
];
const STATUSES: [((&str, &str), u32); 5] = [
    (("IC", "Invest Cont"), 8612),
    (("AO", "Adult Other"), 741),
    (("AA", "Adult Arrest"), 614),
    (("JA", "Juv Arrest"), 27),
    (("JO", "Juv Other"), 6),
];
const SECOND_CODES: [(&str, u32); 5] = [
    ("998", 486),
    ("480", 14),
    ("930", 12),
    ("860", 11),
    ("740", 8),
];
/// Mocodes per row, 1..=10 (sample counts).
const MOCODE_COUNTS: [u32; 10] = [1419, 2115, 1974, 1421, 955, 517, 293, 173, 116, 101];
const SEXES: [(&str, u32); 4] = [("M", 4808), ("F", 3461), ("X", 861), ("H", 3)];
const MINUTES: [(u32, u32); 5] = [(0, 45), (30, 19), (45, 5), (15, 4), (u32::MAX, 27)];

fn date(rec: &mut Row, d: NaiveDate, ampm: bool) {
    if ampm {
        rec.push_fmt(format_args!("{} 12:00:00 AM", Mdy(d)));
    } else {
        rec.push_fmt(format_args!("{} 00:00", Mdy(d)));
    }
}

/// Days between occurrence and report.
fn report_lag(rng: &mut StdRng) -> i64 {
    let x: f64 = rng.random();
    match x {
        x if x < 0.45 => 0,
        x if x < 0.70 => 1,
        x if x < 0.90 => rng.random_range(2..=30),
        x if x < 0.98 => rng.random_range(31..=365),
        _ => rng.random_range(366..=1100),
    }
}

/// `39TH                         PL` (street padded so the suffix starts at column 30) or `BROADWAY`.
struct Street<'a>(&'a CrimeAnchor);

impl std::fmt::Display for Street<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0;
        if a.suffix.is_empty() {
            f.write_str(a.street)
        } else {
            write!(f, "{:<28} {}", a.street, a.suffix)
        }
    }
}

/// `1100 W  39TH                         PL`.
struct BlockAddress<'a>(&'a CrimeAnchor);

impl std::fmt::Display for BlockAddress<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = self.0;
        let dir = if a.dir.is_empty() { " " } else { a.dir };
        write!(f, "{} {dir}  {}", a.block, Street(a))
    }
}

/// Write `opts.rows` data rows (plus the header) to `out`. Same options, same bytes.
pub fn generate(out: impl Write, opts: DatasetOptions) -> std::io::Result<DatasetStats> {
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x1a9d_c0de);
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(out);
    w.write_record(HEADER)?;
    let by_area: Vec<Vec<&CrimeAnchor>> = AREAS
        .iter()
        .map(|(code, _, _)| CRIME_INSIDE.iter().filter(|a| a.area == *code).collect())
        .collect();
    let mut next_seq: BTreeMap<(i32, u8), u64> = BTreeMap::new();
    let mut stats = DatasetStats::default();
    // Well-formed rows per LAPD area code (1..=21).
    let mut per_area = [0u64; 22];
    let mut codes: Vec<&str> = Vec::new();
    let mut rec = Row::default();
    for _ in 0..opts.rows {
        rec.clear();
        let occurred = opts.years.draw_day(&mut rng);
        let reported = occurred + chrono::Duration::days(report_lag(&mut rng));
        let occ_ampm = rng.random_bool(AMPM_SHARE);
        let rptd_ampm = occ_ampm == rng.random_bool(SAME_FORMAT_SHARE);
        let hour = weighted_index(&mut rng, HOUR_WEIGHTS.iter().copied());
        let minute = match pick(&mut rng, &MINUTES) {
            u32::MAX => rng.random_range(0..60),
            m => m,
        };

        let place: f64 = rng.random();
        let area_ix = weighted_index(&mut rng, AREAS.iter().map(|a| a.2));
        let in_area = &by_area[area_ix];
        let (anchor, outside) = if place < OUTSIDE_SHARE {
            (
                &CRIME_OUTSIDE[rng.random_range(0..CRIME_OUTSIDE.len())],
                true,
            )
        } else {
            (in_area[rng.random_range(0..in_area.len())], false)
        };
        let (area, area_name, _) = AREAS[usize::from(anchor.area) - 1];
        let zero = !outside && place < OUTSIDE_SHARE + ZERO_COORD_SHARE;

        let yy = reported.year().rem_euclid(100);
        let seq = next_seq
            .entry((reported.year(), area))
            .or_insert_with(|| rng.random_range(1..500));
        rec.push_fmt(format_args!("{yy:02}{area:02}{seq:05}"));
        *seq += 1;
        date(&mut rec, reported, rptd_ampm);
        date(&mut rec, occurred, occ_ampm);
        rec.push_fmt(format_args!("{hour:02}{minute:02}"));
        rec.push_fmt(format_args!("{area:02}"));
        rec.push(area_name);
        rec.push_fmt(format_args!("{:04}", anchor.rpt_dist));
        let (code, part, desc) = pick(&mut rng, CRIME_CODES);
        rec.push(part);
        rec.push(code);
        rec.push(desc);
        if rng.random_bool(0.09) {
            rec.push("");
        } else {
            let n = weighted_index(&mut rng, MOCODE_COUNTS.iter().copied()) + 1;
            codes.clear();
            for _ in 0..n * 2 {
                let c = pick(&mut rng, MOCODES);
                if codes.len() < n && !codes.contains(&c) {
                    codes.push(c);
                }
            }
            rec.push_joined(&codes, " ");
        }
        if code == "510" || rng.random_bool(0.02) {
            rec.extend(["0", "", ""]);
        } else {
            let sex = pick(&mut rng, &SEXES);
            let (age, descent) = if sex == "X" {
                (0, "X")
            } else if rng.random_bool(0.03) {
                (rng.random_range(10..18), pick(&mut rng, DESCENTS))
            } else {
                let age = 16 + rng.random_range(0..25) + rng.random_range(0..35);
                (age, pick(&mut rng, DESCENTS))
            };
            rec.push_fmt(format_args!("{age}"));
            rec.extend([sex, descent]);
        }
        let (premis_cd, premis) = pick(&mut rng, PREMISES);
        rec.extend([premis_cd, premis]);
        if rng.random_bool(0.237) {
            let (cd, desc) = pick(&mut rng, WEAPONS);
            rec.extend([cd, desc]);
        } else {
            rec.extend(["", ""]);
        }
        let (status, status_desc) = pick(&mut rng, &STATUSES);
        rec.extend([status, status_desc, code]);
        let cd2 = rng.random_bool(0.058);
        let cd3 = cd2 && rng.random_bool(0.014);
        let cd4 = cd3 && rng.random_bool(0.1);
        rec.push(if cd2 {
            pick(&mut rng, &SECOND_CODES)
        } else {
            ""
        });
        rec.push(if cd3 { "998" } else { "" });
        rec.push(if cd4 { "998" } else { "" });
        if rng.random_bool(CROSS_STREET_SHARE) {
            // Another street of the area (a few draws; the area's anchors hold several streets).
            let mut cross = in_area[rng.random_range(0..in_area.len())];
            for _ in 0..4 {
                if cross.street != anchor.street {
                    break;
                }
                cross = in_area[rng.random_range(0..in_area.len())];
            }
            if rng.random_bool(0.76) {
                rec.push_fmt(format_args!("{}", Street(anchor)));
            } else {
                rec.push_fmt(format_args!("{}", BlockAddress(anchor)));
            }
            rec.push_fmt(format_args!("{}", Street(cross)));
        } else {
            rec.push_fmt(format_args!("{}", BlockAddress(anchor)));
            rec.push("");
        }
        if zero {
            rec.extend(["0", "0"]);
        } else {
            let (lat, lon) = jitter(&mut rng, anchor.lat, anchor.lon, JITTER_DEG);
            rec.push_fmt(format_args!("{}", Trimmed(lat, 4)));
            rec.push_fmt(format_args!("{}", Trimmed(lon, 4)));
        }
        debug_assert_eq!(rec.len(), HEADER.len());

        if rng.random_bool(opts.malformed_rate) {
            rec.remove(10); // Mocodes missing: later values shift one column left.
            stats.malformed += 1;
        } else {
            per_area[usize::from(area)] += 1;
            stats.outside_city += u64::from(outside);
            stats.no_coordinates += u64::from(zero);
        }
        rec.write(&mut w)?;
        stats.rows += 1;
    }
    w.flush()?;
    for (area, n) in per_area.into_iter().enumerate().filter(|(_, n)| *n > 0) {
        stats.per_key.insert(format!("{area:02}"), n);
    }
    Ok(stats)
}
