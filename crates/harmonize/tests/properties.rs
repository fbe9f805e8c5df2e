//! Property tests: date formats round-trip to the same instant; location parsing is order-independent.

mod support;

use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use harmonize::datetime::{Resolution, parse_any, resolution};
use harmonize::location::parse_location;
use proptest::prelude::*;

/// Every (era, timestamp column, accepted format list) of the built-in catalog (its own formats or the
/// shared default list).
fn format_lists() -> Vec<(String, String, Vec<String>)> {
    let c = harmonize::builtin("la311").unwrap();
    let mut out = Vec::new();
    for era in &c.eras {
        for (col, m) in &era.columns {
            if c.column(&col.value).map(|c| c.ty) == Some(harmonize::catalog::ColumnType::Timestamp)
            {
                out.push((era.name.value.clone(), col.value.clone(), c.formats(m)));
            }
        }
    }
    assert!(!out.is_empty(), "the catalog maps timestamp columns");
    out
}

fn truncate(local: NaiveDateTime, r: Resolution) -> NaiveDateTime {
    match r {
        Resolution::Subsecond => local
            .with_nanosecond(local.nanosecond() / 1_000_000 * 1_000_000)
            .unwrap(),
        Resolution::Second => local.with_nanosecond(0).unwrap(),
        Resolution::Minute => local.with_nanosecond(0).unwrap().with_second(0).unwrap(),
        Resolution::Day => local.date().and_hms_opt(0, 0, 0).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Render an instant in LA local time with any accepted format (at that format's resolution) and
    /// parse it back with the column's whole format list: the same instant comes back. Wall times that
    /// are ambiguous or do not exist in LA are excluded here (their policy has its own unit test).
    #[test]
    fn any_accepted_format_parses_back_to_the_same_instant(
        secs in 1_262_304_000i64..1_893_456_000i64, // 2010..2030
        millis in 0u32..1000,
        pick in any::<prop::sample::Index>(),
        fmt_pick in any::<prop::sample::Index>(),
    ) {
        let tz: Tz = chrono_tz::America::Los_Angeles;
        let lists = format_lists();
        let (era, col, formats) = &lists[pick.index(lists.len())];
        let format = &formats[fmt_pick.index(formats.len())];
        let t = DateTime::<Utc>::from_timestamp(secs, millis * 1_000_000).unwrap();
        let local = truncate(t.with_timezone(&tz).naive_local(), resolution(format));
        let expected = match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(x) => x.with_timezone(&Utc),
            _ => return Ok(()),
        };
        let text = tz.from_local_datetime(&local).unwrap().format(format).to_string();
        let parsed = parse_any(tz, formats, &text);
        prop_assert_eq!(parsed, Some(expected), "era {} column {} format {:?} text {:?}", era, col, format, text);
    }
}

/// Real LA coordinates from the 2017 sample (lat, lon).
fn real_coordinates() -> Vec<(f64, f64)> {
    let path = support::sample("myla311_2017_sample.csv");
    let (header, rows) = support::read_csv(&path);
    let lat = header.iter().position(|h| h == "Latitude").unwrap();
    let lon = header.iter().position(|h| h == "Longitude").unwrap();
    let coords: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| !r[lat].is_empty())
        .map(|r| (r[lat].parse().unwrap(), r[lon].parse().unwrap()))
        .collect();
    // 9,999 rows, 1,753 without coordinates (testdata/README.md).
    assert_eq!(coords.len(), 9_999 - 1_753);
    coords
}

#[test]
fn location_parsing_is_order_independent_on_real_la_coordinates() {
    let coords = real_coordinates();
    let bbox = harmonize::builtin("la311").unwrap().geo.bbox;
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig::with_cases(3000));
    runner
        .run(&any::<prop::sample::Index>(), |i| {
            let (lat, lon) = coords[i.index(coords.len())];
            for text in [
                format!("({lat}, {lon})"),
                format!("({lon}, {lat})"),
                format!("POINT ({lon} {lat})"),
                format!("POINT ({lat} {lon})"),
                format!("  ( {lat} ,{lon} ) "),
            ] {
                let p = parse_location(&text, &bbox).unwrap();
                prop_assert_eq!((p.lat, p.lon), (lat, lon), "{}", text);
            }
            Ok(())
        })
        .unwrap();
}

#[test]
fn one_hour_before_and_after_dst_changes_round_trip() {
    // Deterministic neighbours of the excluded wall times, so the property's exclusion hides nothing else.
    let tz: Tz = chrono_tz::America::Los_Angeles;
    let formats = vec!["%Y-%m-%d %H:%M:%S".to_string()];
    let start = Utc.with_ymd_and_hms(2018, 11, 4, 7, 0, 0).unwrap();
    for m in (0..4 * 60).step_by(7) {
        let t = start + Duration::minutes(m);
        let text = t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string();
        let back = parse_any(tz, &formats, &text).unwrap();
        let ambiguous = matches!(
            tz.from_local_datetime(&t.with_timezone(&tz).naive_local()),
            chrono::LocalResult::Ambiguous(..)
        );
        if ambiguous {
            assert!(back == t || back == t - Duration::hours(1), "{text}");
        } else {
            assert_eq!(back, t, "{text}");
        }
    }
}
