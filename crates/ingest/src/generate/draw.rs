//! Random draws shared by the `lapd_crime` and `ladbs_permits` generators: weighted choice, real
//! locations (anchors) with a small jitter, export-shaped number and date text, and the year span.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand::rngs::StdRng;

/// A real crime location of the sample: coordinates, LAPD area and reporting district, and its
/// block address split as the export pads it (`1100 W  39TH                         PL`).
#[derive(Debug, Clone, Copy)]
pub(super) struct CrimeAnchor {
    pub lat: f64,
    pub lon: f64,
    pub area: u8,
    pub rpt_dist: u16,
    pub block: u32,
    pub dir: &'static str,
    pub street: &'static str,
    pub suffix: &'static str,
}

impl CrimeAnchor {
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        lat: f64,
        lon: f64,
        area: u8,
        rpt_dist: u16,
        block: u32,
        dir: &'static str,
        street: &'static str,
        suffix: &'static str,
    ) -> Self {
        CrimeAnchor {
            lat,
            lon,
            area,
            rpt_dist,
            block,
            dir,
            street,
            suffix,
        }
    }
}

/// A real permit location of the sample: coordinates, its council district under the 2012 lines
/// (equal to the published one) and under the 2021 lines (0 when none contains it), and its address.
#[derive(Debug, Clone, Copy)]
pub(super) struct PermitAnchor {
    pub lat: f64,
    pub lon: f64,
    pub cd2012: u8,
    pub cd2021: u8,
    pub house: u32,
    pub dir: &'static str,
    pub street: &'static str,
    pub suffix: &'static str,
    pub zip: &'static str,
    pub tract: &'static str,
}

impl PermitAnchor {
    #[allow(clippy::too_many_arguments)]
    pub const fn new(
        lat: f64,
        lon: f64,
        cd2012: u8,
        cd2021: u8,
        house: u32,
        dir: &'static str,
        street: &'static str,
        suffix: &'static str,
        zip: &'static str,
        tract: &'static str,
    ) -> Self {
        PermitAnchor {
            lat,
            lon,
            cd2012,
            cd2021,
            house,
            dir,
            street,
            suffix,
            zip,
            tract,
        }
    }
}

/// First day the 2021 council district lines are in force (the council seated on 2022-12-12).
pub(super) fn lines_2021_from() -> NaiveDate {
    NaiveDate::from_ymd_opt(2022, 12, 12).expect("valid date")
}

/// Index of a draw from `weights` (all non-negative, not all zero).
pub(super) fn weighted_index(
    rng: &mut StdRng,
    weights: impl Iterator<Item = u32> + Clone,
) -> usize {
    let total: u32 = weights.clone().sum();
    let mut x = rng.random_range(0..total);
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
    }
    0
}

/// A draw from `(value, weight)` pairs.
pub(super) fn pick<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    items[weighted_index(rng, items.iter().map(|(_, w)| *w))].0
}

/// `(lat, lon)` moved by up to `max_deg` in each direction.
pub(super) fn jitter(rng: &mut StdRng, lat: f64, lon: f64, max_deg: f64) -> (f64, f64) {
    (
        lat + rng.random_range(-max_deg..=max_deg),
        lon + rng.random_range(-max_deg..=max_deg),
    )
}

/// One CSV record being built: its fields are written into one reused buffer (no `String` per field), then the
/// record goes through the `csv` writer, which quotes as it always has. `remove` drops a field when the record is
/// written, `insert` adds one (the generators' malformed rows).
#[derive(Debug, Default)]
pub(super) struct Row {
    buf: String,
    ends: Vec<usize>,
    shift: Option<Shift>,
}

#[derive(Debug, Clone, Copy)]
enum Shift {
    /// Field `i` is left out.
    Remove(usize),
    /// This field is written before field `i`.
    Insert(usize, &'static str),
}

impl Row {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ends.clear();
        self.shift = None;
    }

    pub fn push(&mut self, field: impl AsRef<str>) {
        self.buf.push_str(field.as_ref());
        self.ends.push(self.buf.len());
    }

    /// A field written with `format_args!` straight into the buffer.
    pub fn push_fmt(&mut self, args: std::fmt::Arguments<'_>) {
        use std::fmt::Write;
        self.buf.write_fmt(args).expect("a String takes any text");
        self.ends.push(self.buf.len());
    }

    /// `parts` joined by `sep` as one field.
    pub fn push_joined(&mut self, parts: &[&str], sep: &str) {
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                self.buf.push_str(sep);
            }
            self.buf.push_str(p);
        }
        self.ends.push(self.buf.len());
    }

    pub fn extend<S: AsRef<str>>(&mut self, fields: impl IntoIterator<Item = S>) {
        for f in fields {
            self.push(f);
        }
    }

    /// Fields, the removed one included.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Leave field `i` out when the record is written (later fields shift one to the left). One shift
    /// per record.
    pub fn remove(&mut self, i: usize) {
        debug_assert!(self.shift.is_none());
        self.shift = Some(Shift::Remove(i));
    }

    /// Write `field` before field `i` (later fields shift one to the right). One shift per record.
    pub fn insert(&mut self, i: usize, field: &'static str) {
        debug_assert!(self.shift.is_none());
        self.shift = Some(Shift::Insert(i, field));
    }

    pub fn write<W: std::io::Write>(&self, w: &mut csv::Writer<W>) -> csv::Result<()> {
        let field = |i: usize| {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            &self.buf.as_bytes()[start..self.ends[i]]
        };
        for i in 0..self.ends.len() {
            match self.shift {
                Some(Shift::Remove(r)) if r == i => continue,
                Some(Shift::Insert(at, extra)) if at == i => w.write_field(extra)?,
                _ => {}
            }
            w.write_field(field(i))?;
        }
        if let Some(Shift::Insert(at, extra)) = self.shift
            && at == self.ends.len()
        {
            w.write_field(extra)?;
        }
        w.write_record(None::<&[u8]>)
    }
}

/// `x` with `decimals` decimals and no trailing zeros, the way the exports write coordinates
/// (`Trimmed(x, 4)`: `34.048`, `-118.2915`), as a `Display` that writes into a [`Row`] without a `String` of
/// its own. Rounded to the nearest multiple of `10^-decimals` in integers (`{:.N}` formatting takes the exact,
/// slow path for most coordinates), `decimals` at most 9.
pub(super) struct Trimmed(pub f64, pub usize);

impl std::fmt::Display for Trimmed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Trimmed(x, decimals) = *self;
        let scale = 10i64.pow(decimals as u32);
        let units = (x * scale as f64).round() as i64;
        let (whole, mut frac) = (units.abs() / scale, units.abs() % scale);
        let sign = if units < 0 { "-" } else { "" };
        if frac == 0 {
            return write!(f, "{sign}{whole}");
        }
        let mut width = decimals;
        while frac % 10 == 0 {
            frac /= 10;
            width -= 1;
        }
        write!(f, "{sign}{whole}.{frac:0width$}")
    }
}

/// `MM/DD/YYYY`, as chrono's `%m/%d/%Y` writes it (the exports' date text); by hand, since chrono parses its
/// format string on every call (about 5 % of a generator's time, measured; same bytes).
pub(super) struct Mdy(pub NaiveDate);

impl std::fmt::Display for Mdy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let d = self.0;
        write!(f, "{:02}/{:02}/{:04}", d.month(), d.day(), d.year())
    }
}

/// `MM/DD/YYYY hh:mm:ss AM`, as chrono's `%m/%d/%Y %I:%M:%S %p` writes it.
pub(super) struct Mdy12(pub chrono::NaiveDateTime);

impl std::fmt::Display for Mdy12 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use chrono::Timelike;
        let t = self.0;
        let (pm, hour) = t.hour12();
        write!(
            f,
            "{} {hour:02}:{:02}:{:02} {}",
            Mdy(t.date()),
            t.minute(),
            t.second(),
            if pm { "PM" } else { "AM" }
        )
    }
}

/// `12345678` -> `12,345,678`.
pub(super) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The inclusive span of data years a file covers (`--year 2020` or `--year 2020-2022`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YearSpan {
    pub first: i32,
    pub last: i32,
}

impl YearSpan {
    pub fn single(year: i32) -> Self {
        YearSpan {
            first: year,
            last: year,
        }
    }

    fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.first, 1, 1).expect("valid year")
    }

    /// Number of days in the span.
    pub fn days(self) -> i64 {
        let end = NaiveDate::from_ymd_opt(self.last + 1, 1, 1).expect("valid year");
        (end - self.start()).num_days()
    }

    /// A day drawn uniformly from the span.
    pub(super) fn draw_day(self, rng: &mut StdRng) -> NaiveDate {
        self.start() + chrono::Duration::days(rng.random_range(0..self.days()))
    }

    /// Whether `d` falls in the span.
    pub fn contains(self, d: NaiveDate) -> bool {
        (self.first..=self.last).contains(&d.year())
    }
}

impl std::fmt::Display for YearSpan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

impl std::str::FromStr for YearSpan {
    type Err = String;

    /// `2020` or `2020-2022`, each year within 2000..=2100.
    fn from_str(s: &str) -> Result<Self, String> {
        let year = |t: &str| -> Result<i32, String> {
            let y: i32 = t
                .trim()
                .parse()
                .map_err(|_| format!("'{t}' is not a year (expected YEAR or FIRST-LAST)"))?;
            if (2000..=2100).contains(&y) {
                Ok(y)
            } else {
                Err(format!("{y} is not a plausible year (2000..=2100)"))
            }
        };
        let span = match s.split_once('-') {
            Some((a, b)) => YearSpan {
                first: year(a)?,
                last: year(b)?,
            },
            None => YearSpan::single(year(s)?),
        };
        if span.first > span.last {
            return Err(format!("{s}: the first year is after the last"));
        }
        Ok(span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mdy_hms_12_str(t: chrono::NaiveDateTime) -> String {
        Mdy12(t).to_string()
    }

    #[test]
    fn export_number_shapes() {
        assert_eq!(Trimmed(34.0480, 4).to_string(), "34.048");
        assert_eq!(Trimmed(-118.29150, 4).to_string(), "-118.2915");
        assert_eq!(Trimmed(34.0, 4).to_string(), "34");
        assert_eq!(Trimmed(-0.00001, 4).to_string(), "0");
        assert_eq!(Trimmed(34.00501, 5).to_string(), "34.00501");
        assert_eq!(Trimmed(-118.000049, 4).to_string(), "-118");
        assert_eq!(Trimmed(-118.00005, 5).to_string(), "-118.00005");
        assert_eq!(
            mdy_hms_12_str(
                NaiveDate::from_ymd_opt(2023, 1, 9)
                    .unwrap()
                    .and_hms_opt(0, 5, 7)
                    .unwrap()
            ),
            "01/09/2023 12:05:07 AM"
        );
        for (h, want) in [
            (12, "12:00:00 PM"),
            (13, "01:00:00 PM"),
            (11, "11:00:00 AM"),
        ] {
            let t = NaiveDate::from_ymd_opt(2020, 12, 31)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap();
            assert_eq!(mdy_hms_12_str(t), format!("12/31/2020 {want}"));
            assert_eq!(
                mdy_hms_12_str(t),
                t.format("%m/%d/%Y %I:%M:%S %p").to_string()
            );
        }
        assert_eq!(thousands(412000), "412,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    #[test]
    fn a_row_writes_as_the_csv_writer_quotes_and_shifts_once() {
        let write = |build: &dyn Fn(&mut Row)| {
            let mut row = Row::default();
            build(&mut row);
            let mut w = csv::WriterBuilder::new()
                .flexible(true)
                .from_writer(Vec::new());
            row.write(&mut w).unwrap();
            row.clear();
            row.push("again");
            row.write(&mut w).unwrap();
            String::from_utf8(w.into_inner().unwrap()).unwrap()
        };
        let fields = |r: &mut Row| {
            r.push("a");
            r.push_fmt(format_args!("{}, {}", 1, Trimmed(-118.29150, 4)));
            r.push_joined(&["x", "y"], " ");
            r.extend(["", "say \"hi\""]);
        };
        assert_eq!(
            write(&|r| fields(r)),
            "a,\"1, -118.2915\",x y,,\"say \"\"hi\"\"\"\nagain\n"
        );
        assert_eq!(
            write(&|r| {
                fields(r);
                r.remove(1);
            }),
            "a,x y,,\"say \"\"hi\"\"\"\nagain\n"
        );
        assert_eq!(
            write(&|r| {
                fields(r);
                r.insert(2, "ETC");
            }),
            "a,\"1, -118.2915\",ETC,x y,,\"say \"\"hi\"\"\"\nagain\n"
        );
        assert_eq!(
            write(&|r| {
                fields(r);
                r.insert(5, "END");
            }),
            "a,\"1, -118.2915\",x y,,\"say \"\"hi\"\"\",END\nagain\n"
        );
    }

    #[test]
    fn year_spans_parse_and_reject() {
        assert_eq!("2020".parse(), Ok(YearSpan::single(2020)));
        let s: YearSpan = "2020-2022".parse().unwrap();
        assert_eq!((s.first, s.last, s.days()), (2020, 2022, 366 + 365 + 365));
        assert!("2022-2020".parse::<YearSpan>().is_err());
        assert!("1850".parse::<YearSpan>().is_err());
        assert!("20x0".parse::<YearSpan>().is_err());
    }

    use super::super::tables::{CRIME_CODES, CRIME_INSIDE, CRIME_OUTSIDE, PERMIT_ANCHORS};

    const LAT: std::ops::RangeInclusive<f64> = 33.70..=34.34;
    const LON: std::ops::RangeInclusive<f64> = -118.67..=-118.15;

    #[test]
    fn every_area_and_district_has_real_anchors_inside_la() {
        for area in 1..=21u8 {
            let n = CRIME_INSIDE.iter().filter(|a| a.area == area).count();
            assert_eq!(n, 24, "LAPD area {area}");
        }
        assert!(!CRIME_OUTSIDE.is_empty());
        for cd in 1..=15u8 {
            let by2012 = PERMIT_ANCHORS.iter().filter(|a| a.cd2012 == cd).count();
            let by2021 = PERMIT_ANCHORS.iter().filter(|a| a.cd2021 == cd).count();
            assert!(
                by2012 >= 24 && by2021 >= 16,
                "district {cd}: {by2012} {by2021}"
            );
        }
        let crime = CRIME_INSIDE
            .iter()
            .chain(CRIME_OUTSIDE)
            .map(|a| (a.lat, a.lon, a.rpt_dist / 100 == u16::from(a.area)));
        let permits = PERMIT_ANCHORS
            .iter()
            .map(|a| (a.lat, a.lon, !a.zip.is_empty()));
        for (lat, lon, consistent) in crime.chain(permits) {
            assert!(
                LAT.contains(&lat) && LON.contains(&lon) && consistent,
                "({lat}, {lon})"
            );
        }
        assert_eq!(
            CRIME_CODES.iter().map(|c| c.1).sum::<u32>(),
            10_000,
            "every sample row"
        );
    }
}
