//! The `lapd_crime` and `ladbs_permits` generators against the real samples in `testdata/`: same
//! options give the same bytes, the header is the sample's byte for byte, only the declared malformed
//! rows differ in field count, and the date, code, valuation and coordinate shapes come in the
//! proportions the generators declare.

use std::io::{BufRead, BufReader};

use chrono::{NaiveDate, NaiveDateTime};
use ingest_core::generate::{
    Dataset, DatasetOptions, DatasetStats, YearSpan, crime, generate_dataset, permits,
};

/// Rough bounding box of the city of Los Angeles (San Pedro to Sylmar, Chatsworth to Eagle Rock).
const LA_LAT: (f64, f64) = (33.70, 34.34);
const LA_LON: (f64, f64) = (-118.67, -118.15);

fn sample_header(path: &str) -> Vec<u8> {
    let file = std::fs::File::open(format!(
        "{}/../../testdata/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut line = Vec::new();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .read_until(b'\n', &mut line)
        .unwrap();
    line
}

fn gen_bytes(dataset: Dataset, opts: DatasetOptions) -> (Vec<u8>, DatasetStats) {
    let mut out = Vec::new();
    let stats = generate_dataset(dataset, &mut out, opts).unwrap();
    (out, stats)
}

fn opts(rows: u64, seed: u64, years: &str) -> DatasetOptions {
    DatasetOptions::new(rows, seed, years.parse().unwrap())
}

/// Header and every record (flexible: malformed rows included).
fn records(bytes: &[u8]) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header = r.headers().unwrap().clone();
    (header, r.records().map(Result::unwrap).collect())
}

fn share(n: usize, of: usize) -> f64 {
    n as f64 / of as f64
}

fn in_la(lat: f64, lon: f64) -> bool {
    (LA_LAT.0..=LA_LAT.1).contains(&lat) && (LA_LON.0..=LA_LON.1).contains(&lon)
}

#[test]
fn same_options_same_bytes_and_a_seed_changes_them() {
    for dataset in [Dataset::LapdCrime, Dataset::LadbsPermits] {
        for years in ["2020", "2021-2023"] {
            let (a, sa) = gen_bytes(dataset, opts(2000, 7, years));
            let (b, sb) = gen_bytes(dataset, opts(2000, 7, years));
            assert!(a == b && sa == sb, "{dataset} {years}: two runs differ");
            let (c, _) = gen_bytes(dataset, opts(2000, 8, years));
            assert_ne!(a, c, "{dataset} {years}: seed 8 gives seed 7's bytes");
            assert_eq!(sa.rows, 2000);
            assert_eq!(sa.per_key.values().sum::<u64>() + sa.malformed, 2000);
        }
    }
    let split = DatasetOptions {
        split_latlon: true,
        ..opts(500, 3, "2016")
    };
    assert_eq!(
        gen_bytes(Dataset::LadbsPermits, split).0,
        gen_bytes(Dataset::LadbsPermits, split).0
    );
}

#[test]
fn headers_are_the_real_exports_byte_for_byte() {
    let crime = sample_header("lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz");
    let permits = sample_header("ladbs_permits/ladbs_permits_2016_bldg_new_export.csv.gz");
    for (dataset, real) in [
        (Dataset::LapdCrime, crime),
        (Dataset::LadbsPermits, permits),
    ] {
        let (out, _) = gen_bytes(dataset, opts(3, 1, "2020"));
        assert_eq!(
            String::from_utf8_lossy(&out[..real.len()]),
            String::from_utf8_lossy(&real),
            "{dataset}"
        );
    }
    assert_eq!(crime::HEADER.len(), 28);
    assert_eq!(permits::HEADER.len(), 55);
}

#[test]
fn only_the_declared_malformed_rows_differ_in_field_count() {
    let cases = [
        (Dataset::LapdCrime, false, 27),
        (Dataset::LadbsPermits, false, 56),
        (Dataset::LadbsPermits, true, 57),
    ];
    for (dataset, split_latlon, malformed_len) in cases {
        let o = DatasetOptions {
            malformed_rate: 0.01,
            split_latlon,
            ..opts(5000, 11, "2020")
        };
        let (out, stats) = gen_bytes(dataset, o);
        let (header, rows) = records(&out);
        let odd: Vec<usize> = rows
            .iter()
            .map(|r| r.len())
            .filter(|n| *n != header.len())
            .collect();
        assert!(
            stats.malformed > 10,
            "{dataset}: {} malformed",
            stats.malformed
        );
        assert_eq!(odd.len() as u64, stats.malformed, "{dataset}");
        assert!(
            odd.iter().all(|n| *n == malformed_len),
            "{dataset}: {odd:?}"
        );
        let none = DatasetOptions {
            malformed_rate: 0.0,
            ..o
        };
        let (out, stats) = gen_bytes(dataset, none);
        assert_eq!(stats.malformed, 0);
        assert!(records(&out).1.iter().all(|r| r.len() == header.len()));
    }
}

fn is_ampm(s: &str) -> bool {
    s.len() == 22 && NaiveDateTime::parse_from_str(s, "%m/%d/%Y %I:%M:%S %p").is_ok()
}

fn is_hhmm(s: &str) -> bool {
    s.len() == 16 && NaiveDateTime::parse_from_str(s, "%m/%d/%Y %H:%M").is_ok()
}

#[test]
fn crime_dates_mix_two_formats_in_the_declared_proportions() {
    let (out, _) = gen_bytes(
        Dataset::LapdCrime,
        DatasetOptions {
            malformed_rate: 0.0,
            ..opts(10_000, 5, "2021-2022")
        },
    );
    let (_, rows) = records(&out);
    let span: YearSpan = "2021-2022".parse().unwrap();
    let (mut occ_ampm, mut rptd_ampm) = (0, 0);
    for r in &rows {
        for (col, count) in [(1, &mut rptd_ampm), (2, &mut occ_ampm)] {
            let v = &r[col];
            assert!(is_ampm(v) || is_hhmm(v), "{v:?}");
            *count += usize::from(is_ampm(v));
        }
        let occ = NaiveDate::parse_from_str(&r[2][..10], "%m/%d/%Y").unwrap();
        let rptd = NaiveDate::parse_from_str(&r[1][..10], "%m/%d/%Y").unwrap();
        assert!(span.contains(occ) && rptd >= occ, "{r:?}");
    }
    let occ = share(occ_ampm, rows.len());
    let rptd = share(rptd_ampm, rows.len());
    let want_rptd = crime::AMPM_SHARE * crime::SAME_FORMAT_SHARE
        + (1.0 - crime::AMPM_SHARE) * (1.0 - crime::SAME_FORMAT_SHARE);
    assert!(
        (occ - crime::AMPM_SHARE).abs() < 0.02,
        "DATE OCC AM/PM {occ}"
    );
    assert!((rptd - want_rptd).abs() < 0.02, "Date Rptd AM/PM {rptd}");
    // Both years are covered, evenly.
    let in_2021 = rows.iter().filter(|r| &r[2][6..10] == "2021").count();
    assert!((share(in_2021, rows.len()) - 0.5).abs() < 0.03);
}

#[test]
fn crime_codes_keep_leading_zeros_and_locations_are_padded() {
    let (out, stats) = gen_bytes(Dataset::LapdCrime, opts(5000, 9, "2020"));
    let (_, rows) = records(&out);
    let rows: Vec<_> = rows.iter().filter(|r| r.len() == 28).collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    for r in &rows {
        assert!(
            digits(&r[0], 9) && digits(&r[3], 4) && digits(&r[4], 2),
            "{r:?}"
        );
        assert!(digits(&r[6], 4) && r[6].starts_with(&r[4]), "{r:?}");
        assert_eq!(&r[0][2..4], &r[4], "DR_NO carries the AREA: {r:?}");
        assert_eq!(&r[8], &r[20], "Crm Cd 1 is Crm Cd: {r:?}");
    }
    assert!(rows.iter().any(|r| r[4].starts_with('0')));
    assert!(rows.iter().any(|r| r[3].starts_with('0')));
    let padded = rows.iter().filter(|r| r[24].contains("   ")).count();
    assert!(share(padded, rows.len()) > 0.6, "padded LOCATION {padded}");
    let cross = rows.iter().filter(|r| !r[25].is_empty()).count();
    assert!(
        (0.15..0.25).contains(&share(cross, rows.len())),
        "Cross Street {cross}"
    );
    assert_eq!(
        stats.per_key.len(),
        21,
        "every LAPD area: {:?}",
        stats.per_key
    );
}

#[test]
fn crime_coordinates_are_in_la_but_a_few_are_zero_or_outside() {
    let (out, stats) = gen_bytes(
        Dataset::LapdCrime,
        DatasetOptions {
            malformed_rate: 0.0,
            ..opts(20_000, 2, "2020")
        },
    );
    let (_, rows) = records(&out);
    let zero = rows
        .iter()
        .filter(|r| &r[26] == "0" && &r[27] == "0")
        .count();
    let inside = rows
        .iter()
        .filter(|r| in_la(r[26].parse().unwrap(), r[27].parse().unwrap()))
        .count();
    assert_eq!(zero as u64, stats.no_coordinates);
    assert!((5..=60).contains(&zero), "zero coordinates in {zero} rows");
    assert!(
        share(inside, rows.len()) > 0.98,
        "inside the bbox: {inside}"
    );
    assert!(
        (40..=160).contains(&stats.outside_city),
        "outside: {}",
        stats.outside_city
    );
}

#[test]
fn permit_dates_valuations_and_coordinates_have_the_export_shapes() {
    let (out, stats) = gen_bytes(
        Dataset::LadbsPermits,
        DatasetOptions {
            malformed_rate: 0.0,
            ..opts(10_000, 4, "2016")
        },
    );
    let (header, rows) = records(&out);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (issue, status_date, valuation, cd, latlon) = (
        col("Issue Date"),
        col("Status Date"),
        col("Valuation"),
        col("Council District"),
        col("Latitude/Longitude"),
    );
    let (mut separated, mut located, mut inside) = (0, 0, 0);
    for r in &rows {
        assert!(NaiveDate::parse_from_str(&r[issue], "%m/%d/%Y").is_ok() && r[issue].len() == 10);
        assert!(is_ampm(&r[status_date]), "{:?}", &r[status_date]);
        // `$412000.00`, or `$412,000.00 ` (separators and a trailing space).
        let v = &r[valuation];
        let dollars = v
            .strip_prefix('$')
            .and_then(|v| v.trim_end_matches(' ').strip_suffix(".00"));
        let dollars = dollars.unwrap_or_else(|| panic!("Valuation {v:?}"));
        if v.ends_with(' ') {
            separated += 1;
            let groups: Vec<&str> = dollars.split(',').collect();
            assert!(groups[1..].iter().all(|g| g.len() == 3), "{v:?}");
            assert!(groups.concat().parse::<u64>().is_ok(), "{v:?}");
        } else {
            assert!(dollars.parse::<u64>().is_ok(), "{v:?}");
        }
        assert!((1..=15).contains(&r[cd].parse::<u8>().unwrap()));
        if let Some(pair) = r[latlon]
            .strip_prefix('(')
            .and_then(|s| s.strip_suffix(')'))
        {
            let (lat, lon) = pair.split_once(", ").unwrap();
            located += 1;
            inside += usize::from(in_la(lat.parse().unwrap(), lon.parse().unwrap()));
        } else {
            assert_eq!(&r[latlon], "");
        }
    }
    let n = rows.len();
    assert!((share(separated, n) - permits::VALUATION_SEPARATED_SHARE).abs() < 0.02);
    assert!((share(n - located, n) - permits::NO_COORD_SHARE).abs() < 0.02);
    assert_eq!((n - located) as u64, stats.no_coordinates);
    assert_eq!(inside, located, "every permit location is in the bbox");
    assert_eq!(stats.per_key.len(), 15);
    assert!(
        out.windows(3).any(|w| w == b",\"$"),
        "a quoted \"$412,000.00 \" valuation"
    );
}

#[test]
fn split_latlon_writes_two_number_columns() {
    let o = DatasetOptions {
        split_latlon: true,
        malformed_rate: 0.0,
        ..opts(2000, 4, "2016")
    };
    let (out, _) = gen_bytes(Dataset::LadbsPermits, o);
    let (header, rows) = records(&out);
    assert_eq!(header.len(), 56);
    assert_eq!((&header[54], &header[55]), ("Latitude", "Longitude"));
    let located = rows.iter().filter(|r| !r[54].is_empty()).count();
    assert!(share(located, rows.len()) > 0.85);
    for r in rows.iter().filter(|r| !r[54].is_empty()) {
        assert!(
            in_la(r[54].parse().unwrap(), r[55].parse().unwrap()),
            "{r:?}"
        );
    }
}
