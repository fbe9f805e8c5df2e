//! Timestamp parsing: source text in one of an era's accepted formats -> UTC instant.
//!
//! Formats are chrono `strftime` patterns from the catalog. A format with `%z`/`%:z` carries its own
//! offset; any other format is Los Angeles wall-clock time (the catalog's time zone). Wall times in the
//! repeated November hour take the earlier instant; wall times in the skipped March hour are read with
//! the offset in force just before the gap.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

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

/// Parse `text` with one format; `None` when it does not match.
pub fn parse_with(tz: Tz, format: &str, text: &str) -> Option<DateTime<Utc>> {
    if has_offset(format) {
        return DateTime::parse_from_str(text, format)
            .ok()
            .map(|t| t.with_timezone(&Utc));
    }
    if resolution(format) == Resolution::Day {
        let d = NaiveDate::parse_from_str(text, format).ok()?;
        return Some(local_to_utc(tz, d.and_time(NaiveTime::MIN)));
    }
    NaiveDateTime::parse_from_str(text, format)
        .ok()
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

    #[test]
    fn garbage_and_wrong_format_do_not_parse() {
        let formats = vec!["%m/%d/%Y %I:%M:%S %p".to_string()];
        assert_eq!(parse_any(LA, &formats, "Monica Rodriguez"), None);
        assert_eq!(parse_any(LA, &formats, "2020-01-01 00:05:00"), None);
        assert_eq!(parse_any(LA, &formats, "13/01/2020 01:00:00 AM"), None);
    }
}
