//! Timestamp parsing: source text in one of an era's accepted formats -> UTC instant.
//!
//! Formats are chrono `strftime` patterns from the catalog. A format with `%z`/`%:z` carries its own
//! offset; any other format is Los Angeles wall-clock time (the catalog's time zone). Wall times in the
//! repeated November hour take the earlier instant; wall times in the skipped March hour are read with
//! the offset in force just before the gap.
//!
//! [`DEFAULT_FORMATS`] is the list a catalog uses when it names none: every shape the city's exports and
//! their spreadsheet re-saves write, so one column may mix two of them. A `%Y` year below 1000 is taken as
//! a two-digit year read by the wrong pattern and does not match (the `%y` pattern then reads it).

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// The formats tried when a catalog lists none (chrono syntax, Los Angeles wall-clock time). Chrono reads
/// `%m`, `%d`, `%H` and `%I` with or without a leading zero, so `%m/%d/%Y %H:%M` also reads `1/8/2020 0:00`.
pub const DEFAULT_FORMATS: &[&str] = &[
    // CSV exports of the portal (MyLA311, LAPD, LADBS): 12/31/2017 11:59:58 PM.
    "%m/%d/%Y %I:%M:%S %p",
    // Spreadsheet re-saves and LAPD's second shape: 01/08/2020 00:00, 1/8/2020 0:00, 1/3/18 9:05.
    "%m/%d/%Y %H:%M",
    "%m/%d/%y %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%y %I:%M %p",
    // ISO: 2020-01-01 00:05:00, SODA floating time 2017-12-31T23:59:58.000 (fraction optional).
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    // Date only (LADBS Issue Date): local midnight.
    "%m/%d/%Y",
    "%Y-%m-%d",
];

/// [`DEFAULT_FORMATS`] as owned strings.
pub fn default_formats() -> Vec<String> {
    DEFAULT_FORMATS.iter().map(|f| f.to_string()).collect()
}

/// How finely a format records time (what survives a render/parse round trip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Resolution {
    Day,
    Minute,
    Second,
    Subsecond,
}

/// The resolution a chrono format pattern records.
pub fn resolution(format: &str) -> Resolution {
    if format.contains("%.f") || format.contains("%f") || format.contains("%.3f") {
        Resolution::Subsecond
    } else if format.contains("%S") || format.contains("%T") {
        Resolution::Second
    } else if format.contains("%M") || format.contains("%R") {
        Resolution::Minute
    } else {
        Resolution::Day
    }
}

fn has_offset(format: &str) -> bool {
    format.contains("%z") || format.contains("%:z") || format.contains("%#z")
}

/// A wall-clock time in `tz` as a UTC instant (see the module doc for DST gaps and overlaps).
pub fn local_to_utc(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
        chrono::LocalResult::Ambiguous(earlier, _) => earlier.with_timezone(&Utc),
        chrono::LocalResult::None => {
            // In the gap: use the offset in force one day earlier (standard time for LA's March gap).
            let before = local - chrono::Duration::days(1);
            let offset = match tz.from_local_datetime(&before) {
                chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
                    t.offset().fix()
                }
                chrono::LocalResult::None => chrono::FixedOffset::east_opt(0).expect("zero offset"),
            };
            DateTime::<Utc>::from_naive_utc_and_offset(local - offset, Utc)
        }
    }
}

/// Parse `text` with one format; `None` when it does not match (or `%Y` reads a year below 1000).
pub fn parse_with(tz: Tz, format: &str, text: &str) -> Option<DateTime<Utc>> {
    let plausible = |year: i32| !format.contains("%Y") || year >= 1000;
    if has_offset(format) {
        return DateTime::parse_from_str(text, format)
            .ok()
            .filter(|t| plausible(t.year()))
            .map(|t| t.with_timezone(&Utc));
    }
    if resolution(format) == Resolution::Day {
        let d = NaiveDate::parse_from_str(text, format)
            .ok()
            .filter(|d| plausible(d.year()))?;
        return Some(local_to_utc(tz, d.and_time(NaiveTime::MIN)));
    }
    NaiveDateTime::parse_from_str(text, format)
        .ok()
        .filter(|t| plausible(t.year()))
        .map(|t| local_to_utc(tz, t))
}

/// Parse `text` with the first matching format; `None` when none matches.
pub fn parse_any(tz: Tz, formats: &[String], text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    formats.iter().find_map(|f| parse_with(tz, f, text))
}

/// The local date of `t` in `tz` at the time of day `hhmm` (`0030`, `30`, `2359`; LAPD's `TIME OCC`), as UTC.
pub fn with_time_of_day(tz: Tz, t: DateTime<Utc>, hhmm: &str) -> Option<DateTime<Utc>> {
    if hhmm.is_empty() || hhmm.len() > 4 || !hhmm.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = hhmm.parse().ok()?;
    let time = NaiveTime::from_hms_opt(n / 100, n % 100, 0)?;
    let date = t.with_timezone(&tz).date_naive();
    Some(local_to_utc(tz, date.and_time(time)))
}

/// Render a UTC instant as `format` in `tz` (used by tests and the drift report's examples).
pub fn render(tz: Tz, format: &str, t: DateTime<Utc>) -> String {
    t.with_timezone(&tz).format(format).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LA: Tz = chrono_tz::America::Los_Angeles;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn export_format_is_pacific_time() {
        let f = "%m/%d/%Y %I:%M:%S %p";
        assert_eq!(
            parse_with(LA, f, "12/31/2017 11:59:58 PM"),
            Some(utc("2018-01-01T07:59:58Z"))
        );
        assert_eq!(
            parse_with(LA, f, "07/04/2018 12:00:00 AM"),
            Some(utc("2018-07-04T07:00:00Z"))
        );
    }

    #[test]
    fn spreadsheet_format_accepts_unpadded_fields() {
        assert_eq!(
            parse_with(LA, "%m/%d/%y %H:%M", "1/3/18 9:05"),
            Some(utc("2018-01-03T17:05:00Z"))
        );
    }

    #[test]
    fn soda_floating_timestamp() {
        let f = "%Y-%m-%dT%H:%M:%S%.f";
        assert_eq!(
            parse_with(LA, f, "2017-12-31T23:59:58.000"),
            Some(utc("2018-01-01T07:59:58Z"))
        );
    }

    #[test]
    fn repeated_hour_takes_earlier_instant_and_gap_uses_standard_offset() {
        let f = "%Y-%m-%d %H:%M:%S";
        // 2018-11-04 01:30 happens twice: 08:30Z (PDT) and 09:30Z (PST).
        assert_eq!(
            parse_with(LA, f, "2018-11-04 01:30:00"),
            Some(utc("2018-11-04T08:30:00Z"))
        );
        // 2018-03-11 02:30 does not exist; read as PST (-8).
        assert_eq!(
            parse_with(LA, f, "2018-03-11 02:30:00"),
            Some(utc("2018-03-11T10:30:00Z"))
        );
    }

    /// Every shape of issue #13 item 4 through the default list, as Los Angeles time.
    #[test]
    fn every_documented_shape_parses_with_the_default_formats() {
        let f = default_formats();
        for (text, want) in [
            ("01/08/2020 12:00:00 AM", "2020-01-08T08:00:00Z"),
            ("01/08/2020 01:30:00 PM", "2020-01-08T21:30:00Z"),
            ("01/08/2020 00:00", "2020-01-08T08:00:00Z"),
            ("07/04/2018 13:05", "2018-07-04T20:05:00Z"),
            ("1/8/2020 0:00", "2020-01-08T08:00:00Z"),
            ("7/4/2018 9:05", "2018-07-04T16:05:00Z"),
            ("1/3/18 9:05", "2018-01-03T17:05:00Z"),
            ("12/31/17 23:59", "2018-01-01T07:59:00Z"),
            ("2020-01-01 00:05:00", "2020-01-01T08:05:00Z"),
            ("2017-12-31T23:59:58", "2018-01-01T07:59:58Z"),
            ("2017-12-31T23:59:58.000", "2018-01-01T07:59:58Z"),
            ("2017-12-31T23:59:58.250", "2018-01-01T07:59:58.250Z"),
            ("03/15/2021", "2021-03-15T07:00:00Z"),
            ("2021-03-15", "2021-03-15T07:00:00Z"),
            (" 01/08/2020 00:00 ", "2020-01-08T08:00:00Z"),
        ] {
            assert_eq!(parse_any(LA, &f, text), Some(utc(want)), "{text}");
        }
    }

    #[test]
    fn a_two_digit_year_is_never_read_as_year_18() {
        // `%Y` alone would read 1/3/18 as the year 18; the default list reads it as 2018 whatever the order.
        assert_eq!(parse_with(LA, "%m/%d/%Y %H:%M", "1/3/18 9:05"), None);
        let reversed: Vec<String> = default_formats().into_iter().rev().collect();
        assert_eq!(
            parse_any(LA, &reversed, "1/3/18 9:05"),
            Some(utc("2018-01-03T17:05:00Z"))
        );
    }

    #[test]
    fn default_formats_keep_the_dst_rules() {
        let f = default_formats();
        // The repeated November hour takes the earlier instant; the skipped March hour reads as PST.
        assert_eq!(
            parse_any(LA, &f, "11/04/2018 01:30"),
            Some(utc("2018-11-04T08:30:00Z"))
        );
        assert_eq!(
            parse_any(LA, &f, "3/11/2018 2:30"),
            Some(utc("2018-03-11T10:30:00Z"))
        );
    }

    #[test]
    fn garbage_and_wrong_format_do_not_parse() {
        let formats = vec!["%m/%d/%Y %I:%M:%S %p".to_string()];
        assert_eq!(parse_any(LA, &formats, "Monica Rodriguez"), None);
        assert_eq!(parse_any(LA, &formats, "2020-01-01 00:05:00"), None);
        assert_eq!(parse_any(LA, &formats, "13/01/2020 01:00:00 AM"), None);
        let all = default_formats();
        for text in [
            "Monica Rodriguez",
            "31/12/2017 23:59",
            "2020-13-01",
            "12/31/2017 25:00",
            "",
        ] {
            assert_eq!(parse_any(LA, &all, text), None, "{text}");
        }
    }
}
