//! The fast path of [`crate::datetime`]: an era's formats compiled once, and Los Angeles wall-clock time
//! to UTC through an offset cached per local hour.
//!
//! [`Formats::parse`] gives exactly what [`crate::datetime::parse_any`] gives for the same formats and text:
//! the format strings are parsed into chrono `Item`s once (chrono's `parse_from_str` re-reads the format
//! string on every call), and each text is parsed with chrono's own parser without allocating. [`Zone`]
//! turns a local time into UTC: when both the first and the last instant of a local hour map to one
//! instant each with the same offset, that offset is cached for the hour; any other hour (the repeated
//! November hour, the skipped March hour) goes through [`crate::datetime::local_to_utc`] every time, so
//! the DST rules of the module doc hold unchanged.

use chrono::format::{Item, Parsed, StrftimeItems, parse};
use chrono::{
    DateTime, Datelike, LocalResult, NaiveDateTime, NaiveTime, Offset, TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;

use crate::datetime::{self, Resolution};

/// How one compiled format turns parsed fields into an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The text carries its own offset (`%z`).
    Offset,
    /// Date only: local midnight.
    Date,
    /// Local wall-clock date and time.
    DateTime,
}

#[derive(Debug, Clone)]
struct Compiled {
    kind: Kind,
    items: Vec<Item<'static>>,
    /// `%Y` in the format: a year below 1000 does not match (see [`crate::datetime`]).
    four_digit_year: bool,
}

/// One column's accepted formats, compiled (in the catalog's order: the first that matches wins).
#[derive(Debug, Clone)]
pub struct Formats {
    compiled: Vec<Compiled>,
}

impl Formats {
    /// Compile `formats`; a format chrono cannot read never matches (as with `parse_from_str`).
    pub fn new(formats: &[String]) -> Self {
        let compiled = formats
            .iter()
            .filter_map(|f| {
                let items = StrftimeItems::new(f).parse_to_owned().ok()?;
                let kind = if f.contains("%z") || f.contains("%:z") || f.contains("%#z") {
                    Kind::Offset
                } else if datetime::resolution(f) == Resolution::Day {
                    Kind::Date
                } else {
                    Kind::DateTime
                };
                Some(Compiled {
                    kind,
                    items,
                    four_digit_year: f.contains("%Y"),
                })
            })
            .collect();
        Formats { compiled }
    }

    /// `text` (trimmed) with the first matching format, as UTC; `None` when none matches.
    pub fn parse(&self, zone: &mut Zone, text: &str) -> Option<DateTime<Utc>> {
        let text = text.trim();
        self.compiled.iter().find_map(|c| c.parse(zone, text))
    }
}

impl Compiled {
    fn parse(&self, zone: &mut Zone, text: &str) -> Option<DateTime<Utc>> {
        let mut parsed = Parsed::new();
        parse(&mut parsed, text, self.items.iter()).ok()?;
        let plausible = |year: i32| !self.four_digit_year || year >= 1000;
        match self.kind {
            Kind::Offset => parsed
                .to_datetime()
                .ok()
                .filter(|t| plausible(t.year()))
                .map(|t| t.with_timezone(&Utc)),
            Kind::Date => {
                let d = parsed
                    .to_naive_date()
                    .ok()
                    .filter(|d| plausible(d.year()))?;
                Some(zone.local_to_utc(d.and_time(NaiveTime::MIN)))
            }
            Kind::DateTime => parsed
                .to_naive_datetime_with_offset(0)
                .ok()
                .filter(|t| plausible(t.year()))
                .map(|t| zone.local_to_utc(t)),
        }
    }
}

/// Slots of the direct-mapped hour cache (a partition's timestamps cluster in a few months).
const SLOTS: usize = 4096;

/// What the cache knows of one local hour.
#[derive(Debug, Clone, Copy)]
enum Hour {
    Unknown,
    /// Every instant of the hour maps to one UTC instant with this offset (seconds east of UTC).
    Fixed {
        hour: i64,
        offset: i32,
    },
    /// The hour holds a DST transition: the exact path every time.
    Transition {
        hour: i64,
    },
}

/// A time zone with its offset cached per local hour (one per worker; not shared).
#[derive(Debug, Clone)]
pub struct Zone {
    tz: Tz,
    slots: Vec<Hour>,
}

impl Zone {
    pub fn new(tz: Tz) -> Self {
        Zone {
            tz,
            slots: vec![Hour::Unknown; SLOTS],
        }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The same instant as [`datetime::local_to_utc`]`(tz, local)`.
    pub fn local_to_utc(&mut self, local: NaiveDateTime) -> DateTime<Utc> {
        let hour = local.and_utc().timestamp().div_euclid(3600);
        let slot = hour.rem_euclid(SLOTS as i64) as usize;
        let entry = match self.slots[slot] {
            Hour::Fixed { hour: h, .. } | Hour::Transition { hour: h } if h == hour => {
                self.slots[slot]
            }
            _ => {
                let e = self.classify(hour);
                self.slots[slot] = e;
                e
            }
        };
        match entry {
            Hour::Fixed { offset, .. } => DateTime::<Utc>::from_naive_utc_and_offset(
                local - TimeDelta::seconds(offset.into()),
                Utc,
            ),
            _ => datetime::local_to_utc(self.tz, local),
        }
    }

    /// Whether local hour `hour` (hours since the epoch, wall clock) has one offset throughout.
    fn classify(&self, hour: i64) -> Hour {
        let Some(start) = DateTime::from_timestamp(hour * 3600, 0).map(|t| t.naive_utc()) else {
            return Hour::Transition { hour };
        };
        let end = start + TimeDelta::seconds(3599) + TimeDelta::nanoseconds(999_999_999);
        match (
            self.tz.from_local_datetime(&start),
            self.tz.from_local_datetime(&end),
        ) {
            (LocalResult::Single(a), LocalResult::Single(b))
                if a.offset().fix() == b.offset().fix() =>
            {
                Hour::Fixed {
                    hour,
                    offset: a.offset().fix().local_minus_utc(),
                }
            }
            _ => Hour::Transition { hour },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LA: Tz = chrono_tz::America::Los_Angeles;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn cached_offsets_keep_the_dst_rules() {
        let f = Formats::new(&datetime::default_formats());
        let mut z = Zone::new(LA);
        // Twice each, so the second read comes from the cache.
        for _ in 0..2 {
            assert_eq!(
                f.parse(&mut z, "11/04/2018 01:30"),
                Some(utc("2018-11-04T08:30:00Z"))
            );
            assert_eq!(
                f.parse(&mut z, "3/11/2018 2:30"),
                Some(utc("2018-03-11T10:30:00Z"))
            );
            assert_eq!(
                f.parse(&mut z, "3/11/2018 3:00"),
                Some(utc("2018-03-11T10:00:00Z"))
            );
            assert_eq!(
                f.parse(&mut z, "3/11/2018 1:59"),
                Some(utc("2018-03-11T09:59:00Z"))
            );
            assert_eq!(
                f.parse(&mut z, "11/04/2018 02:00"),
                Some(utc("2018-11-04T10:00:00Z"))
            );
            assert_eq!(
                f.parse(&mut z, "12/31/2017 11:59:58 PM"),
                Some(utc("2018-01-01T07:59:58Z"))
            );
        }
    }

    /// A local time within a day of a DST transition of the years 2000..2030, or any time then.
    fn local_times() -> impl Strategy<Value = NaiveDateTime> {
        let base = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
            .unwrap()
            .and_time(NaiveTime::MIN);
        prop_oneof![
            // Anywhere in 2000..2030, to the second.
            (0i64..30 * 366 * 86_400).prop_map(move |s| base + TimeDelta::seconds(s)),
            // Around the second Sunday of March and the first Sunday of November, to the millisecond.
            (2000i32..2030, prop::bool::ANY, -86_400_000i64..86_400_000).prop_map(
                |(year, march, ms)| {
                    let (month, nth) = if march { (3, 2) } else { (11, 1) };
                    let sunday = chrono::NaiveDate::from_weekday_of_month_opt(
                        year,
                        month,
                        chrono::Weekday::Sun,
                        nth,
                    )
                    .unwrap();
                    sunday.and_hms_opt(2, 0, 0).unwrap() + TimeDelta::milliseconds(ms)
                }
            ),
        ]
    }

    proptest! {
        /// The cached path gives the uncached instant for every local time, whatever was cached before.
        #[test]
        fn cached_equals_uncached(times in prop::collection::vec(local_times(), 1..64)) {
            let mut z = Zone::new(LA);
            for _ in 0..2 {
                for &t in &times {
                    prop_assert_eq!(z.local_to_utc(t), datetime::local_to_utc(LA, t), "{}", t);
                }
            }
        }

        /// Compiled formats read every rendered default shape as `parse_any` does (and garbage alike).
        #[test]
        fn compiled_formats_equal_parse_any(t in local_times(), which in 0usize..12, junk in "[0-9/: APM-]{0,22}") {
            let formats = datetime::default_formats();
            let compiled = Formats::new(&formats);
            let mut z = Zone::new(LA);
            let text = t.format(datetime::DEFAULT_FORMATS[which]).to_string();
            prop_assert_eq!(compiled.parse(&mut z, &text), datetime::parse_any(LA, &formats, &text), "{}", text);
            prop_assert_eq!(compiled.parse(&mut z, &junk), datetime::parse_any(LA, &formats, &junk), "{}", junk);
        }
    }
}
