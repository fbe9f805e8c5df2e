//! Deterministic LADBS "Building and Safety Permit Information"-shaped CSV (`civic gen --dataset
//! ladbs_permits`): the export's 55 columns with its oddities, streamed row by row.
//!
//! Shapes copied from the real sample (`testdata/ladbs_permits/`):
//! - `Issue Date` and `License Expiration Date` are `MM/DD/YYYY`; `Status Date` is
//!   `MM/DD/YYYY hh:mm:ss AM` (midnight), equal to the issue date while the permit is `Issued`.
//! - `Valuation` is `$412000.00`, or in [`VALUATION_SEPARATED_SHARE`] of rows `$412,000.00 ` (with
//!   thousands separators and a trailing space, so the export quotes it).
//! - `Council District` is always filled. The coordinates are a real permit location of that
//!   district (under the lines in force on the issue date: 2012 lines before 2022-12-12, 2021 lines
//!   from then on) jittered by at most [`JITTER_DEG`], so they agree with the district except for a
//!   few rows near a boundary.
//! - `Latitude/Longitude` is `(lat, lon)`, empty in [`NO_COORD_SHARE`] of rows; with
//!   `split_latlon` the file has `Latitude` and `Longitude` columns instead (56 columns), as some
//!   exports do.
//! - Owner-builder permits leave the contractor columns empty, with `License Type` `NA` and
//!   `License #` `0`; `Work Description` is cut at 70 characters as the export does.
//! - A fraction `malformed_rate` of rows has an unquoted comma in `Work Description`: one field too
//!   many.

use std::io::Write;

use chrono::{Datelike, Duration};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::dataset::{DatasetOptions, DatasetStats};
use super::draw::{
    Mdy, PermitAnchor, Row, Trimmed, jitter, lines_2021_from, pick, thousands, weighted_index,
};
use super::tables::PERMIT_ANCHORS;

/// The export's header, in order (55 columns; the last is `Latitude/Longitude`).
pub const HEADER: [&str; 55] = [
    "Assessor Book",
    "Assessor Page",
    "Assessor Parcel",
    "Tract",
    "Block",
    "Lot",
    "Reference # (Old Permit #)",
    "PCIS Permit #",
    "Status",
    "Status Date",
    "Permit Type",
    "Permit Sub-Type",
    "Permit Category",
    "Project Number",
    "Event Code",
    "Initiating Office",
    "Issue Date",
    "Address Start",
    "Address Fraction Start",
    "Address End",
    "Address Fraction End",
    "Street Direction",
    "Street Name",
    "Street Suffix",
    "Suffix Direction",
    "Unit Range Start",
    "Unit Range End",
    "Zip Code",
    "Work Description",
    "Valuation",
    "Floor Area-L.A. Zoning Code Definition",
    "# of Residential Dwelling Units",
    "# of Stories",
    "Contractor's Business Name",
    "Contractor Address",
    "Contractor City",
    "Contractor State",
    "License Type",
    "License #",
    "Principal First Name",
    "Principal Middle Name",
    "Principal Last Name",
    "License Expiration Date",
    "Applicant First Name",
    "Applicant Last Name",
    "Applicant Business Name",
    "Applicant Address 1",
    "Applicant Address 2",
    "Applicant Address 3",
    "Zone",
    "Occupancy",
    "Floor Area-L.A. Building Code Definition",
    "Census Tract",
    "Council District",
    "Latitude/Longitude",
];

/// The header of a file: [`HEADER`], or with `Latitude` and `Longitude` for the combined column.
pub fn header(split_latlon: bool) -> Vec<&'static str> {
    let mut h = HEADER.to_vec();
    if split_latlon {
        h.pop();
        h.extend(["Latitude", "Longitude"]);
    }
    h
}

/// Share of rows without coordinates (sample: 10.7 %).
pub const NO_COORD_SHARE: f64 = 0.10;
/// Share of `Valuation` values written with thousands separators and a trailing space.
pub const VALUATION_SEPARATED_SHARE: f64 = 0.10;
/// Largest move of a location from its real anchor, in degrees (about 50 m).
pub const JITTER_DEG: f64 = 0.0005;

/// Rows per published council district 1..=15 in the sample.
const CD_WEIGHTS: [u32; 15] = [
    183, 586, 442, 769, 892, 397, 511, 239, 191, 243, 976, 482, 282, 229, 207,
];
const OFFICES: [(&str, &str); 5] = [
    ("VAN NUYS", "VN"),
    ("METRO", "LA"),
    ("WEST LA", "WL"),
    ("SOUTH LA", "SL"),
    ("SANPEDRO", "SP"),
];
const STATUSES: [(&str, u32); 5] = [
    ("Issued", 80),
    ("Permit Finaled", 12),
    ("CofO Issued", 4),
    ("Permit Expired", 3),
    ("Permit Closed", 1),
];
const SUB_TYPES: [(&str, u32); 3] = [
    ("1 or 2 Family Dwelling", 5972),
    ("Commercial", 382),
    ("Apartment", 275),
];
const PCIS_MIDDLES: [(&str, u32); 6] = [
    ("20000", 3173),
    ("10000", 1670),
    ("30000", 953),
    ("70000", 348),
    ("20001", 116),
    ("40000", 104),
];
const WORK: [&str; 12] = [
    "NEW 20' X 20' DETACHED 2-CAR GARAGE PER ENGINEERING",
    "(N) 2-STORY SFD W/ ATTACHED 2-CAR GARAGE (NFPA-13D FIRE SPRINKLERS THROUGHOUT)",
    "ADDITION OF 350 SQ FT TO (E) SFD, NEW MASTER BEDROOM AND BATHROOM",
    "Major remodel & addition  & attach (e) detached garage to s.f.d. (Remodel of kitchen)",
    "SUPPLEMENTAL PERMIT TO EXPAND BATHROOM (IRR 11'-6\" X 8'-0\")",
    "REMODEL AND IRR. SHAPED 22'-5\"x59'-8\" TWO BEDROOM, ONE BATHROOM AND FAMILY ROOM ADDITION",
    "NEW 3-STORY TYPE V-A APARTMENT BUILDING, 7 UNITS OVER PODIUM PARKING",
    "NEW ACCESSORY DWELLING UNIT (ADU) ABOVE (E) DETACHED GARAGE",
    "(N) 1-STORY COMMERCIAL BUILDING FOR RETAIL USE",
    "ADD 2ND STORY TO (E) 1-STORY SFD",
    "NEW COVERED PATIO ATTACHED TO (E) SFD",
    "Fully sprinklered 47' x 21' irreg. shaped 2 story SFD with attached 2 car garage",
];
const CONTRACTORS: [(&str, &str, &str, &str); 6] = [
    ("K N CONSULTING INC", "P O BOX 410", "ENCINO", "CA"),
    (
        "PACIFIC CREST BUILDERS INC",
        "5171 CALIFORNIA AVENUE",
        "IRVINE",
        "CA",
    ),
    (
        "VALLEY HOME CONSTRUCTION",
        "17941 VENTURA BLVD. #205",
        "ENCINO",
        "CA",
    ),
    (
        "WESTSIDE REMODELING CO",
        "1200 WILSHIRE BLVD",
        "LOS ANGELES",
        "CA",
    ),
    (
        "SUMMIT RESIDENTIAL LLC",
        "250 GIBRALTAR RD",
        "HORSHAM",
        "PA",
    ),
    (
        "HARBOR GENERAL CONTRACTORS",
        "400 W 6TH ST",
        "SAN PEDRO",
        "CA",
    ),
];
const FIRST_NAMES: [&str; 10] = [
    "ROBERT", "MICHAEL", "DAVID", "MARIA", "JOSE", "SARAH", "KEN", "DANIEL", "LINDA", "JAMES",
];
const LAST_NAMES: [&str; 10] = [
    "GARCIA", "SMITH", "LEE", "MARTINEZ", "NGUYEN", "JOHNSON", "LOPEZ", "KIM", "BROWN", "DAVIS",
];
const ZONES: [(&str, u32); 8] = [
    ("R1-1", 2069),
    ("RA-1", 315),
    ("RE15-1-H", 286),
    ("RS-1", 281),
    ("R2-1", 277),
    ("RD1.5-1", 150),
    ("C2-1VL", 120),
    ("[Q]C2-1VL", 40),
];
const APPLICANT_CITIES: [(&str, u32); 4] = [
    ("LOS ANGELES, CA", 606),
    ("LA, CA", 174),
    ("CALABASAS, CA", 168),
    ("LA CA", 144),
];

/// The office of a district's region (the sample's most frequent pairs).
fn office_of(cd: usize) -> usize {
    match cd {
        2..=4 | 6 | 7 | 12 => 0,
        5 | 11 => 2,
        8..=10 => 3,
        15 => 4,
        _ => 1,
    }
}

fn name(rng: &mut StdRng, names: &[&'static str]) -> &'static str {
    names[rng.random_range(0..names.len())]
}

/// A valuation in cents-free dollars: log-uniform from $500 to $5M, rounded like filed estimates.
fn valuation(rng: &mut StdRng) -> u64 {
    let v = (rng.random_range(500f64.ln()..5_000_000f64.ln())).exp() as u64;
    match v {
        v if v < 10_000 => v / 100 * 100,
        v if rng.random_bool(0.8) => v / 1000 * 1000,
        v => v,
    }
}

/// Write `opts.rows` data rows (plus the header) to `out`. Same options, same bytes.
pub fn generate(out: impl Write, opts: DatasetOptions) -> std::io::Result<DatasetStats> {
    let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x1adb_5000);
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let header = header(opts.split_latlon);
    w.write_record(&header)?;
    // Anchors per district 1..=15, under the 2012 lines and under the 2021 lines.
    let per_cd = |cd_of: fn(&PermitAnchor) -> u8| -> Vec<Vec<&'static PermitAnchor>> {
        (1..=15)
            .map(|cd| PERMIT_ANCHORS.iter().filter(|a| cd_of(a) == cd).collect())
            .collect()
    };
    let lines_2012 = per_cd(|a| a.cd2012);
    let lines_2021 = per_cd(|a| a.cd2021);
    let mut stats = DatasetStats::default();
    let mut seq = rng.random_range(100..2000u64);
    let mut rec = Row::default();
    // Well-formed rows per district 1..=15.
    let mut rows_of_cd = [0u64; 16];
    for _ in 0..opts.rows {
        rec.clear();
        seq += 1;
        let issued = opts.years.draw_day(&mut rng);
        let cd = weighted_index(&mut rng, CD_WEIGHTS.iter().copied()) + 1;
        let lines = if issued < lines_2021_from() {
            &lines_2012
        } else {
            &lines_2021
        };
        let anchor = lines[cd - 1][rng.random_range(0..lines[cd - 1].len())];
        let status = pick(&mut rng, &STATUSES);
        let status_day = if status == "Issued" {
            issued
        } else {
            issued + Duration::days(rng.random_range(30..900))
        };
        let office = if rng.random_bool(0.87) {
            OFFICES[office_of(cd)]
        } else {
            OFFICES[rng.random_range(0..OFFICES.len())]
        };
        let new_building = rng.random_bool(0.41);

        rec.push_fmt(format_args!("{}", rng.random_range(2004..7600u32)));
        rec.push_fmt(format_args!("{:03}", rng.random_range(1..60u32)));
        rec.push_fmt(format_args!("{:03}", rng.random_range(1..130u32)));
        match rng.random_range(0..100) {
            0..2 => rec.push("EX MISSION DE SAN FERNANDO"),
            2 => rec.push(""),
            3..8 => rec.push_fmt(format_args!("P M {}", rng.random_range(1000..9000u32))),
            _ => rec.push_fmt(format_args!("TR {}", rng.random_range(1000..75000u32))),
        }
        if rng.random_bool(0.19) {
            rec.push_fmt(format_args!("{}", rng.random_range(1..30u32)));
        } else {
            rec.push("");
        }
        rec.push_fmt(format_args!("{}", rng.random_range(1..300u32)));
        let yy = issued.year() % 100;
        rec.push_fmt(format_args!(
            "{yy:02}{}{:05}",
            office.1,
            rng.random_range(10_000..99_999u32)
        ));
        let applied_yy = (issued.year()
            - [0, 1, 2, 3][weighted_index(&mut rng, [59, 32, 5, 4].into_iter())])
            % 100;
        rec.push_fmt(format_args!(
            "{applied_yy:02}{}-{}-{seq:05}",
            if new_building { "010" } else { "014" },
            pick(&mut rng, &PCIS_MIDDLES)
        ));
        rec.push(status);
        rec.push_fmt(format_args!("{} 12:00:00 AM", Mdy(status_day)));
        rec.push(if new_building {
            "Bldg-New"
        } else {
            "Bldg-Addition"
        });
        rec.push(pick(&mut rng, &SUB_TYPES));
        rec.push(if rng.random_bool(0.999) {
            "Plan Check"
        } else {
            "No Plan Check"
        });
        rec.extend(["", ""]); // Project Number, Event Code
        rec.push(office.0);
        rec.push_fmt(format_args!("{}", Mdy(issued)));
        let house = anchor.house;
        rec.push_fmt(format_args!("{house}"));
        rec.push(if rng.random_bool(0.006) { "1/2" } else { "" });
        let house_to = if rng.random_bool(0.96) {
            house
        } else {
            house + rng.random_range(1..10) * 2
        };
        rec.push_fmt(format_args!("{house_to}"));
        rec.push(if rng.random_bool(0.02) { "1/2" } else { "" });
        rec.extend([anchor.dir, anchor.street, anchor.suffix, ""]);
        rec.extend(["", ""]); // Unit Range Start / End
        rec.push(anchor.zip);
        let work = WORK[rng.random_range(0..WORK.len())];
        rec.push(work.get(..70).unwrap_or(work));
        let value = valuation(&mut rng);
        if rng.random_bool(VALUATION_SEPARATED_SHARE) {
            rec.push_fmt(format_args!("${}.00 ", thousands(value)));
        } else {
            rec.push_fmt(format_args!("${value}.00"));
        }
        match rng.random_range(0..100) {
            0..7 => rec.push("0"),
            7 => rec.push(""),
            _ => rec.push_fmt(format_args!("{}", rng.random_range(100..4000u32))),
        }
        match rng.random_range(0..100) {
            0..44 => rec.push(""),
            44..72 => rec.push("0"),
            72..93 => rec.push("1"),
            _ => rec.push_fmt(format_args!("{}", rng.random_range(2..12u32))),
        }
        rec.push_fmt(format_args!("{}", rng.random_range(0..4u32)));
        if rng.random_bool(0.51) {
            rec.extend(["OWNER-BUILDER", "", "", "", "NA", "0", "", "", ""]);
        } else {
            let (business, address, city, state) =
                CONTRACTORS[rng.random_range(0..CONTRACTORS.len())];
            rec.extend([business, address, city, state, "B"]);
            rec.push_fmt(format_args!("{}", rng.random_range(300_000..1_050_000u32)));
            rec.push(name(&mut rng, &FIRST_NAMES));
            rec.push("");
            rec.push(name(&mut rng, &LAST_NAMES));
        }
        match rng.random_range(0..100) {
            0..35 => rec.push(""),
            35..47 => rec.push("01/01/2000"),
            _ => rec.push_fmt(format_args!(
                "{}",
                Mdy(issued + Duration::days(rng.random_range(30..730)))
            )),
        }
        rec.push(name(&mut rng, &FIRST_NAMES));
        rec.push(if rng.random_bool(0.17) {
            ""
        } else {
            name(&mut rng, &LAST_NAMES)
        });
        rec.push(if rng.random_bool(0.04) {
            "OWNER-BUILDER"
        } else {
            ""
        });
        let elsewhere = &PERMIT_ANCHORS[rng.random_range(0..PERMIT_ANCHORS.len())];
        rec.push_fmt(format_args!(
            "{} {} {}",
            rng.random_range(100..30000u32),
            elsewhere.street,
            elsewhere.suffix
        ));
        rec.push("");
        rec.push(pick(&mut rng, &APPLICANT_CITIES));
        rec.push(pick(&mut rng, &ZONES));
        rec.push(if rng.random_bool(0.01) {
            "R3 Occ. Group"
        } else {
            ""
        });
        rec.push_fmt(format_args!("{}", rng.random_range(0..4000u32)));
        rec.push(anchor.tract);
        rec.push_fmt(format_args!("{cd}"));
        let located = !rng.random_bool(NO_COORD_SHARE);
        let (lat, lon) = jitter(&mut rng, anchor.lat, anchor.lon, JITTER_DEG);
        let (lat, lon) = (Trimmed(lat, 5), Trimmed(lon, 5));
        match (located, opts.split_latlon) {
            (true, false) => rec.push_fmt(format_args!("({lat}, {lon})")),
            (false, false) => rec.push(""),
            (true, true) => {
                rec.push_fmt(format_args!("{lat}"));
                rec.push_fmt(format_args!("{lon}"));
            }
            (false, true) => rec.extend(["", ""]),
        }
        debug_assert_eq!(rec.len(), header.len());

        if rng.random_bool(opts.malformed_rate) {
            // An unquoted comma in Work Description: one field too many.
            rec.insert(29, "ETC");
            stats.malformed += 1;
        } else {
            rows_of_cd[cd] += 1;
            stats.no_coordinates += u64::from(!located);
        }
        rec.write(&mut w)?;
        stats.rows += 1;
    }
    for (cd, n) in rows_of_cd.into_iter().enumerate().filter(|(_, n)| *n > 0) {
        stats.per_key.insert(cd.to_string(), n);
    }
    w.flush()?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::YearSpan;

    /// Share of located rows whose nearest anchor has the published district under the 2012 lines
    /// and under the 2021 lines (the jitter is smaller than the gap to most other anchors).
    fn agreement(years: &str) -> (f64, f64) {
        let mut out = Vec::new();
        let opts = DatasetOptions {
            malformed_rate: 0.0,
            ..DatasetOptions::new(4000, 6, years.parse::<YearSpan>().unwrap())
        };
        generate(&mut out, opts).unwrap();
        let mut r = csv::Reader::from_reader(&out[..]);
        let (mut n, mut by2012, mut by2021) = (0, 0, 0);
        for rec in r.records() {
            let rec = rec.unwrap();
            let Some(pair) = rec[54].strip_prefix('(').and_then(|s| s.strip_suffix(')')) else {
                continue;
            };
            let (lat, lon) = pair.split_once(", ").unwrap();
            let (lat, lon): (f64, f64) = (lat.parse().unwrap(), lon.parse().unwrap());
            let nearest = PERMIT_ANCHORS
                .iter()
                .min_by(|a, b| {
                    let d = |x: &PermitAnchor| (x.lat - lat).powi(2) + (x.lon - lon).powi(2);
                    d(a).total_cmp(&d(b))
                })
                .unwrap();
            let cd: u8 = rec[53].parse().unwrap();
            n += 1;
            by2012 += usize::from(nearest.cd2012 == cd);
            by2021 += usize::from(nearest.cd2021 == cd);
        }
        (by2012 as f64 / n as f64, by2021 as f64 / n as f64)
    }

    #[test]
    fn council_district_follows_the_lines_in_force_on_the_issue_date() {
        let (a2012, a2021) = agreement("2016");
        assert!(a2012 > 0.99 && a2021 < 0.97, "2016: {a2012} {a2021}");
        let (a2012, a2021) = agreement("2023-2024");
        assert!(a2021 > 0.99 && a2012 < 0.97, "2023-2024: {a2012} {a2021}");
    }
}
