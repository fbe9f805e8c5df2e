//! Deterministic MyLA311-shaped CSV generator (`civic gen-la311`): era A (33 columns, <= 2018) or
//! era B (34 columns, >= 2019), export value shapes, council-district skew, empty fields, and about
//! 0.1% malformed rows (one field dropped, shifting the rest left, like the real 2023 fixture).
//! The other datasets' generators are [`crime`] and [`permits`]; [`generate_dataset`] picks one by id.

pub mod crime;
pub mod dataset;
mod draw;
pub mod members;
pub mod permits;
mod tables;

pub use dataset::{Dataset, DatasetOptions, DatasetStats, GenError, YearSpan, generate_dataset};
pub use members::YearMembers;

use std::collections::BTreeMap;
use std::io::Write;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const ERA_A: &[&str] = &[
    "SRNumber",
    "CreatedDate",
    "UpdatedDate",
    "ActionTaken",
    "Owner",
    "RequestType",
    "Status",
    "RequestSource",
    "MobileOS",
    "Anonymous",
    "AssignTo",
    "ServiceDate",
    "ClosedDate",
    "AddressVerified",
    "ApproximateAddress",
    "Address",
    "HouseNumber",
    "Direction",
    "StreetName",
    "Suffix",
    "ZipCode",
    "Latitude",
    "Longitude",
    "Location",
    "TBMPage",
    "TBMColumn",
    "TBMRow",
    "APC",
    "CD",
    "CDMember",
    "NC",
    "NCName",
    "PolicePrecinct",
];

/// Relative weights of districts 1..=15 (shaped like the 2017 sample: 13 and 9 busiest).
const CD_WEIGHTS: [u32; 15] = [
    698, 548, 669, 495, 540, 584, 694, 598, 831, 721, 463, 673, 1031, 783, 667,
];
const REQUEST_TYPES: [(&str, u32); 12] = [
    ("Bulky Items", 40),
    ("Graffiti Removal", 22),
    ("Metal/Household Appliances", 8),
    ("Illegal Dumping Pickup", 9),
    ("Electronic Waste", 6),
    ("Dead Animal Removal", 3),
    ("Homeless Encampment", 5),
    ("Other", 2),
    ("Single Streetlight Issue", 2),
    ("Multiple Streetlight Issue", 1),
    ("Report Water Waste", 1),
    ("Feedback", 1),
];
const STATUSES: [(&str, u32); 5] = [
    ("Closed", 80),
    ("Open", 6),
    ("Pending", 3),
    ("Cancelled", 6),
    ("Referred Out", 5),
];
const SOURCES: [(&str, u32); 7] = [
    ("Call", 45),
    ("Self Service", 20),
    ("Mobile App", 25),
    ("Email", 4),
    ("Driver Self Report", 4),
    ("Council's Office", 1),
    ("Walk-in", 1),
];
const OWNERS: [&str; 6] = ["BOS", "OCB", "ITA", "BSL", "LADWP", "BSS"];
const ORGS: [&str; 6] = [
    "Self Service",
    "BOS",
    "OCB",
    "ITA",
    "Self Service_SAN",
    "Proactive Insert",
];
const STREETS: [&str; 12] = [
    "BELLEVUE",
    "SUNSET",
    "VERMONT",
    "FIGUEROA",
    "WESTERN",
    "SEPULVEDA",
    "VENTURA",
    "PICO",
    "OLYMPIC",
    "CRENSHAW",
    "SAN FERNANDO",
    "MAIN",
];
const SUFFIXES: [&str; 5] = ["AVE", "BLVD", "ST", "DR", "PL"];
const PRECINCTS: [&str; 10] = [
    "NEWTON",
    "RAMPART",
    "HOLLYWOOD",
    "VAN NUYS",
    "77TH STREET",
    "SOUTHEAST",
    "WILSHIRE",
    "NORTHEAST",
    "MISSION",
    "HARBOR",
];
const APCS: [&str; 7] = [
    "Central APC",
    "East Los Angeles APC",
    "Harbor APC",
    "North Valley APC",
    "South Los Angeles APC",
    "South Valley APC",
    "West Los Angeles APC",
];
const NCS: [&str; 8] = [
    "WILSHIRE CENTER - KOREATOWN NC",
    "VAN NUYS NC",
    "DOWNTOWN LOS ANGELES",
    "SILVER LAKE NC",
    "EMPOWERMENT CONGRESS CENTRAL AREA NDC",
    "HISTORIC HIGHLAND PARK NC",
    "NC VALLEY VILLAGE",
    "HOLLYWOOD UNITED NC",
];

/// Options of one generated file.
#[derive(Debug, Clone, Copy)]
pub struct GenOptions {
    pub rows: u64,
    pub seed: u64,
    pub year: i32,
    /// Probability of a malformed (field-dropped) row.
    pub malformed_rate: f64,
}

impl GenOptions {
    pub fn new(rows: u64, seed: u64, year: i32) -> Self {
        GenOptions {
            rows,
            seed,
            year,
            malformed_rate: 0.001,
        }
    }
}

/// What was generated (for tests and for the operator).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenStats {
    pub rows: u64,
    pub malformed: u64,
    /// Well-formed rows per CD value ("" for empty).
    pub per_cd: BTreeMap<String, u64>,
}

/// The header of the era used for `year`.
pub fn header(year: i32) -> Vec<&'static str> {
    let mut h = ERA_A.to_vec();
    if year >= 2019 {
        h.insert(8, "CreatedByUserOrganization");
    }
    h
}

fn pick<'a>(rng: &mut StdRng, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (v, w) in items {
        if x < *w {
            return v;
        }
        x -= w;
    }
    items[0].0
}

fn timestamp(year: i32, second_of_year: u64) -> draw::Mdy12 {
    let start = chrono::NaiveDate::from_ymd_opt(year, 1, 1)
        .expect("valid year")
        .and_hms_opt(0, 0, 0)
        .expect("midnight");
    draw::Mdy12(start + chrono::Duration::seconds(second_of_year as i64))
}

/// Write `opts.rows` data rows (plus the header) to `out`. Same options, same bytes. `CDMember` names the member in
/// office in the row's district on its creation day ([`YearMembers`]), empty for a vacant seat.
pub fn generate(out: impl Write, opts: GenOptions) -> std::io::Result<GenStats> {
    let members = YearMembers::builtin(opts.year).map_err(std::io::Error::other)?;
    let first_day = chrono::NaiveDate::from_ymd_opt(opts.year, 1, 1)
        .ok_or_else(|| std::io::Error::other(format!("year {} is out of range", opts.year)))?;
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let header = header(opts.year);
    w.write_record(&header)?;
    let era_b = opts.year >= 2019;
    let cd_items: Vec<(String, u32)> = (1..=15)
        .map(|d| (d.to_string(), CD_WEIGHTS[d - 1]))
        .collect();
    let cd_refs: Vec<(&str, u32)> = cd_items.iter().map(|(s, w)| (s.as_str(), *w)).collect();
    let year_secs = 365 * 86_400u64;
    let mut stats = GenStats::default();
    let mut sr = 1_000_000_000u64 + opts.seed % 1_000_000 * 1000;
    let mut rec = draw::Row::default();
    // Well-formed rows per district (0: none).
    let mut per_cd = [0u64; 16];
    for i in 0..opts.rows {
        sr += rng.random_range(1..40);
        rec.clear();
        let created = i * year_secs / opts.rows.max(1) + rng.random_range(0..60);
        let status = pick(&mut rng, &STATUSES);
        let source = pick(&mut rng, &SOURCES);
        let cd = if rng.random_bool(0.0007) {
            ""
        } else {
            pick(&mut rng, &cd_refs)
        };
        let cdn: usize = cd.parse().unwrap_or(0);
        let has_geo = !rng.random_bool(0.15);
        let lat = 33.75 + rng.random_range(0.0..0.55f64);
        let lon = -118.65 + rng.random_range(0.0..0.5f64);
        let house = rng.random_range(100..22_000u32);
        let dir = ["N", "S", "E", "W", ""][rng.random_range(0..5)];
        let street = STREETS[rng.random_range(0..STREETS.len())];
        let suffix = SUFFIXES[rng.random_range(0..SUFFIXES.len())];
        let zip = if rng.random_bool(0.001) {
            None
        } else {
            Some(rng.random_range(1..1000u32) + 1000)
        };
        let closed = status == "Closed" || status == "Cancelled" || status == "Referred Out";
        rec.push_fmt(format_args!("1-{sr}"));
        rec.push_fmt(format_args!("{}", timestamp(opts.year, created)));
        let updated = timestamp(opts.year, created + rng.random_range(60..400_000));
        rec.push_fmt(format_args!("{updated}"));
        rec.push(
            [
                "SR Created",
                "SR Created",
                "SR Created",
                "Transferred",
                "SR Updated",
            ][rng.random_range(0..5)],
        );
        rec.push(OWNERS[rng.random_range(0..OWNERS.len())]);
        rec.push(pick(&mut rng, &REQUEST_TYPES));
        rec.push(status);
        rec.push(source);
        if era_b {
            rec.push(if rng.random_bool(0.1) {
                ""
            } else {
                ORGS[rng.random_range(0..ORGS.len())]
            });
        }
        rec.push(if source == "Mobile App" {
            ["iOS", "Android"][rng.random_range(0..2)]
        } else {
            ""
        });
        rec.push(if rng.random_bool(0.1) { "Y" } else { "N" });
        rec.push(["WV", "EV", "NC", "SLA", "WLA", "HARBOR"][rng.random_range(0..6)]);
        if rng.random_bool(0.05) {
            rec.push("");
        } else {
            let day = timestamp(opts.year, created + 86_400).0.date();
            rec.push_fmt(format_args!("{} 12:00:00 AM", draw::Mdy(day)));
        }
        if closed {
            let closed = timestamp(opts.year, created + rng.random_range(3600..900_000));
            rec.push_fmt(format_args!("{closed}"));
        } else {
            rec.push("");
        }
        rec.push(if rng.random_bool(0.8) { "Y" } else { "N" });
        rec.push(["N", "Y", ""][rng.random_range(0..3)]);
        let sep = if dir.is_empty() { "" } else { " " };
        match zip {
            Some(z) => rec.push_fmt(format_args!("{house} {dir}{sep}{street} {suffix}, 9{z:04}")),
            None => rec.push_fmt(format_args!("{house} {dir}{sep}{street} {suffix}, ")),
        }
        rec.push_fmt(format_args!("{house}"));
        rec.push(dir);
        rec.push(street);
        rec.push(suffix);
        match zip {
            Some(z) => rec.push_fmt(format_args!("9{z:04}")),
            None => rec.push(""),
        }
        if has_geo {
            rec.push_fmt(format_args!("{lat:.10}"));
            rec.push_fmt(format_args!("{lon:.10}"));
            if opts.year <= 2017 {
                rec.push_fmt(format_args!("({lat:.10}, {lon:.10})"));
            } else {
                rec.push_fmt(format_args!("POINT ({lon:.10} {lat:.10})"));
            }
        } else {
            rec.extend(["", "", ""]);
        }
        rec.push_fmt(format_args!("{}", rng.random_range(500..700u32)));
        rec.push_fmt(format_args!(
            "{}",
            (b'A' + rng.random_range(0..10u8)) as char
        ));
        rec.push_fmt(format_args!("{}", rng.random_range(1..8u32)));
        rec.push(APCS[cdn % APCS.len()]);
        rec.push(cd);
        rec.push(if cdn == 0 || rng.random_bool(0.02) {
            ""
        } else {
            let day = first_day + chrono::Days::new(created / 86_400);
            members.on(cdn, day).unwrap_or_default()
        });
        rec.push_fmt(format_args!("{}", rng.random_range(4..130u32)));
        rec.push(NCS[rng.random_range(0..NCS.len())]);
        rec.push(PRECINCTS[rng.random_range(0..PRECINCTS.len())]);
        debug_assert_eq!(rec.len(), header.len());
        if rng.random_bool(opts.malformed_rate) {
            rec.remove(6); // Status missing: later values shift one column left.
            stats.malformed += 1;
        } else {
            per_cd[cdn] += 1;
        }
        rec.write(&mut w)?;
        stats.rows += 1;
    }
    w.flush()?;
    for (d, n) in per_cd.into_iter().enumerate().filter(|(_, n)| *n > 0) {
        let key = if d == 0 { String::new() } else { d.to_string() };
        stats.per_cd.insert(key, n);
    }
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (district, creation day, CDMember) of every well-formed row.
    fn members_of(year: i32, rows: u64) -> Vec<(usize, chrono::NaiveDate, String)> {
        let mut out = Vec::new();
        generate(&mut out, GenOptions::new(rows, 11, year)).unwrap();
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(&out[..]);
        let h = r.headers().unwrap().clone();
        let col = |n: &str| h.iter().position(|c| c == n).unwrap();
        let (created, cd, member) = (col("CreatedDate"), col("CD"), col("CDMember"));
        r.records()
            .map(Result::unwrap)
            .filter(|row| row.len() == h.len() && !row[cd].is_empty())
            .map(|row| {
                let day =
                    chrono::NaiveDateTime::parse_from_str(&row[created], "%m/%d/%Y %I:%M:%S %p")
                        .unwrap()
                        .date();
                (row[cd].parse().unwrap(), day, row[member].to_owned())
            })
            .collect()
    }

    /// Regression (issue 14): `civic demo` generated 2023 rows naming the council of 2016-2020.
    #[test]
    fn generated_2023_names_no_member_who_left_before_2023() {
        const LEFT_BEFORE_2023: [&str; 12] = [
            "Gilbert Cedillo",
            "David Ryu",
            "Paul Koretz",
            "Mike Bonin",
            "Mitchell Englander",
            "Mitch O'Farrell",
            "Jose Huizar",
            "Joe Buscaino",
            "Nury Martinez",
            "Herb J. Wesson Jr.",
            "Felipe Fuentes",
            "Greig Smith",
        ];
        let rows = members_of(2023, 20_000);
        let named: std::collections::BTreeSet<&str> = rows
            .iter()
            .map(|(_, _, m)| m.as_str())
            .filter(|m| !m.is_empty())
            .collect();
        for gone in LEFT_BEFORE_2023 {
            assert!(!named.contains(gone), "{gone} is named in 2023 data");
        }
        // Each district names its 2023 member; CD 6 is vacant until Imelda Padilla's 2023-07-05.
        let padilla = chrono::NaiveDate::from_ymd_opt(2023, 7, 5).unwrap();
        for (cd, day, member) in &rows {
            if *cd == 6 && *day < padilla {
                assert_eq!(member, "", "CD 6 on {day} was vacant");
            }
        }
        let of = |cd: usize| {
            rows.iter()
                .filter(|(c, d, m)| *c == cd && !m.is_empty() && (cd != 6 || *d >= padilla))
                .map(|(_, _, m)| m.as_str())
                .collect::<std::collections::BTreeSet<_>>()
        };
        assert_eq!(of(12), ["John Lee"].into());
        assert_eq!(of(1), ["Eunisses Hernandez"].into());
        assert_eq!(of(4), ["Nithya Raman"].into());
        assert_eq!(of(6), ["Imelda Padilla"].into());
        assert_eq!(of(10), ["Heather Hutt"].into());
        // About 2 % of rows leave the name empty (as the samples do), the vacancy aside.
        let empty = rows
            .iter()
            .filter(|(c, _, m)| *c != 6 && m.is_empty())
            .count();
        assert!(
            empty > 0 && empty * 100 < rows.len() * 4,
            "{empty} of {}",
            rows.len()
        );
    }

    #[test]
    fn a_2022_file_switches_members_on_2022_12_12() {
        let change = chrono::NaiveDate::from_ymd_opt(2022, 12, 12).unwrap();
        let rows = members_of(2022, 20_000);
        let cd5: Vec<_> = rows
            .iter()
            .filter(|(cd, _, m)| *cd == 5 && !m.is_empty())
            .collect();
        assert!(
            cd5.iter().any(|(_, d, _)| *d >= change),
            "rows after the change"
        );
        for (_, day, member) in cd5 {
            let want = if *day < change {
                "Paul Koretz"
            } else {
                "Katy Yaroslavsky"
            };
            assert_eq!(member, want, "CD 5 on {day}");
        }
    }

    #[test]
    fn same_seed_same_bytes_and_era_shapes() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        let sa = generate(&mut a, GenOptions::new(3000, 7, 2017)).unwrap();
        generate(&mut b, GenOptions::new(3000, 7, 2017)).unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        generate(&mut c, GenOptions::new(3000, 8, 2017)).unwrap();
        assert_ne!(a, c);
        assert_eq!(sa.rows, 3000);
        assert_eq!(sa.per_cd.values().sum::<u64>() + sa.malformed, 3000);
        assert_eq!(
            sa.per_cd.len(),
            15 + usize::from(sa.per_cd.contains_key(""))
        );

        let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(&a[..]);
        assert_eq!(r.headers().unwrap().len(), 33);
        let short = r
            .records()
            .filter(|x| x.as_ref().unwrap().len() == 32)
            .count() as u64;
        assert_eq!(short, sa.malformed);

        let mut d = Vec::new();
        generate(&mut d, GenOptions::new(10, 1, 2023)).unwrap();
        let mut r = csv::Reader::from_reader(&d[..]);
        assert_eq!(
            r.headers().unwrap().get(8),
            Some("CreatedByUserOrganization")
        );
        let row = r.records().next().unwrap().unwrap();
        assert!(row.get(1).unwrap().ends_with(" AM") || row.get(1).unwrap().ends_with(" PM"));
    }
}
