//! The `geo` partition rule: a row's partition is the council district its coordinates fall in, by the
//! boundary lines in force on its date (`districts::Boundaries`). Rows without usable coordinates (empty,
//! unparsable, or 0/0) go to `partition.missing`, located rows inside no district to `partition.outside`.
//! A row whose date cannot be read is quarantined: without it the lines in force are unknown.

use std::sync::Arc;

use chrono::NaiveDate;

use crate::catalog::{DatasetSpec, GeoPartition};

/// The rule resolved against one header.
pub struct GeoRouter {
    lat: Option<usize>,
    lon: Option<usize>,
    location: Option<usize>,
    date: usize,
    date_name: String,
    boundaries: Arc<districts::Boundaries>,
    missing: String,
    outside: String,
    /// Partition names of district numbers (index = number).
    names: Vec<String>,
}

/// Where a row goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeoRouted<'a> {
    /// The partition name (a district number, `missing` or `outside`).
    Partition(&'a str),
    /// The row is quarantined with this reason.
    Invalid(String),
}

impl GeoRouter {
    /// Find the rule's columns in `header` (case-insensitive); an error names what is missing.
    pub fn new(
        spec: &DatasetSpec,
        geo: &GeoPartition,
        header: &[String],
        boundaries: Arc<districts::Boundaries>,
    ) -> Result<Self, String> {
        let find = |name: &str| {
            header
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
        };
        let lat = geo.latitude.as_deref().and_then(find);
        let lon = geo.longitude.as_deref().and_then(find);
        let location = geo.location.as_deref().and_then(find);
        if (lat.is_none() || lon.is_none()) && location.is_none() {
            let wanted: Vec<&str> = [&geo.latitude, &geo.longitude, &geo.location]
                .into_iter()
                .flatten()
                .map(String::as_str)
                .collect();
            return Err(format!(
                "the geo partition needs the coordinate columns {} and none of them (or only one of \
                 latitude/longitude) is among {} columns: {}",
                wanted.join(", "),
                header.len(),
                header.join(",")
            ));
        }
        let Some(date) = find(&geo.date) else {
            return Err(format!(
                "the geo partition needs the date column {:?} (it picks the district lines in force), \
                 not found among {} columns: {}",
                geo.date,
                header.len(),
                header.join(",")
            ));
        };
        Ok(GeoRouter {
            lat: lat.filter(|_| lon.is_some()),
            lon: lon.filter(|_| lat.is_some()),
            location,
            date,
            date_name: header[date].clone(),
            boundaries,
            missing: spec.partition.missing.clone(),
            outside: spec.partition.outside.clone().unwrap_or_default(),
            names: (0..=u8::MAX).map(|n| n.to_string()).collect(),
        })
    }

    /// The partition of one row (fields in header order).
    pub fn route(&self, rec: &csv::StringRecord) -> GeoRouted<'_> {
        let field = |i: usize| rec.get(i).unwrap_or("");
        let point = match (self.lat, self.lon) {
            (Some(a), Some(b)) => coordinates(field(a), field(b)),
            _ => None,
        }
        .or_else(|| self.location.and_then(|i| parse_point(field(i))));
        let Some((lat, lon)) = point else {
            return GeoRouted::Partition(&self.missing);
        };
        let text = field(self.date);
        let Some(date) = leading_date(text) else {
            return GeoRouted::Invalid(format!(
                "unparsable date {:?} in {} (expected MM/DD/YYYY, M/D/YY or YYYY-MM-DD first): the \
                 district lines in force cannot be chosen",
                text.trim(),
                self.date_name
            ));
        };
        match self.boundaries.lookup(date, lat, lon) {
            districts::Lookup::District(n) => GeoRouted::Partition(&self.names[n as usize]),
            districts::Lookup::Outside => GeoRouted::Partition(&self.outside),
            districts::Lookup::Missing => GeoRouted::Partition(&self.missing),
        }
    }
}

/// Latitude and longitude fields as numbers; None when empty, unparsable or 0/0. A pair given in the other
/// order (|lat| > 90) is exchanged.
fn coordinates(lat: &str, lon: &str) -> Option<(f64, f64)> {
    let lat: f64 = lat.trim().parse().ok()?;
    let lon: f64 = lon.trim().parse().ok()?;
    usable(lat, lon)
}

fn usable(lat: f64, lon: f64) -> Option<(f64, f64)> {
    if !lat.is_finite() || !lon.is_finite() || (lat == 0.0 && lon == 0.0) {
        return None;
    }
    if lat.abs() > 90.0 && lon.abs() <= 90.0 {
        return Some((lon, lat));
    }
    Some((lat, lon))
}

/// `(lat, lon)` or WKT `POINT (lon lat)`.
fn parse_point(text: &str) -> Option<(f64, f64)> {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("POINT").or_else(|| t.strip_prefix("point")) {
        let inner = rest.trim().strip_prefix('(')?.strip_suffix(')')?;
        let mut it = inner.split_whitespace();
        let lon: f64 = it.next()?.parse().ok()?;
        let lat: f64 = it.next()?.parse().ok()?;
        return usable(lat, lon);
    }
    let inner = t.strip_prefix('(')?.strip_suffix(')')?;
    let (a, b) = inner.split_once(',')?;
    coordinates(a, b)
}

/// The date at the start of `text`: `MM/DD/YYYY`, `M/D/YYYY`, `M/D/YY` (20YY) or `YYYY-MM-DD`, followed by
/// nothing, a space or `T`.
pub fn leading_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let head = t.split([' ', 'T']).next()?;
    if let Some((m, rest)) = head.split_once('/') {
        let (d, y) = rest.split_once('/')?;
        let (m, d): (u32, u32) = (m.parse().ok()?, d.parse().ok()?);
        let year: i32 = match y.len() {
            4 => y.parse().ok()?,
            2 => 2000 + y.parse::<i32>().ok()?,
            _ => return None,
        };
        return NaiveDate::from_ymd_opt(year, m, d);
    }
    let mut it = head.splitn(3, '-');
    let (y, m, d) = (it.next()?, it.next()?, it.next()?);
    if y.len() != 4 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_every_export_shape() {
        let d = |y, m, dd| NaiveDate::from_ymd_opt(y, m, dd);
        assert_eq!(leading_date("01/08/2020 12:00:00 AM"), d(2020, 1, 8));
        assert_eq!(leading_date("01/08/2020 00:00"), d(2020, 1, 8));
        assert_eq!(leading_date("1/8/2020 0:00"), d(2020, 1, 8));
        assert_eq!(leading_date("1/3/18 9:05"), d(2018, 1, 3));
        assert_eq!(leading_date("12/11/2022"), d(2022, 12, 11));
        assert_eq!(leading_date("2022-12-12T00:00:00.000"), d(2022, 12, 12));
        assert_eq!(leading_date("2022-12-12 08:00:00"), d(2022, 12, 12));
        for bad in [
            "",
            "13/01/2020",
            "2020/01/01",
            "01/08/202",
            "yesterday",
            "02/30/2020",
        ] {
            assert_eq!(leading_date(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn coordinates_and_points() {
        assert_eq!(
            coordinates("34.0141", "-118.2978"),
            Some((34.0141, -118.2978))
        );
        assert_eq!(
            coordinates("-118.2978", "34.0141"),
            Some((34.0141, -118.2978))
        );
        assert_eq!(coordinates("0", "0"), None);
        assert_eq!(coordinates("", "-118.2"), None);
        assert_eq!(
            parse_point("(34.29593, -118.46261)"),
            Some((34.29593, -118.46261))
        );
        assert_eq!(
            parse_point("POINT (-118.294017712 34.0676390557)"),
            Some((34.0676390557, -118.294017712))
        );
        assert_eq!(parse_point("(0, 0)"), None);
        assert_eq!(parse_point("34.1 -118.2"), None);
    }
}
