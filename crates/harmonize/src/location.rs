//! Coordinates: parsing point text (`(lat, lon)` or WKT `POINT (lon lat)`) and the LA box check.
//!
//! The box check is what makes the order irrelevant: a pair that fits the box only with its two numbers
//! exchanged is un-swapped, and a pair that fits neither way is rejected.

use crate::catalog::BBox;

/// A checked coordinate pair (degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatLon {
    pub lat: f64,
    pub lon: f64,
    /// The input had the numbers in the other order than its syntax claimed.
    pub swapped: bool,
}

/// Why coordinates were rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GeoError {
    /// Text that is neither `(a, b)` nor `POINT (a b)` with two numbers.
    Unparsable,
    /// Two numbers that are not inside the box in either order.
    OutsideBox,
}

/// The two numbers of a point text, in the order the syntax claims: `(lat, lon)` or WKT `POINT (lon lat)`.
/// Returns `(lat, lon)` as claimed, without any range check.
pub fn parse_point(text: &str) -> Result<(f64, f64), GeoError> {
    let t = text.trim();
    let upper = t.to_ascii_uppercase();
    if let Some(rest) = upper.strip_prefix("POINT") {
        let inner = rest
            .trim()
            .strip_prefix('(')
            .and_then(|r| r.strip_suffix(')'))
            .ok_or(GeoError::Unparsable)?;
        let mut nums = inner.split_whitespace().map(str::parse::<f64>);
        let (Some(Ok(lon)), Some(Ok(lat)), None) = (nums.next(), nums.next(), nums.next()) else {
            return Err(GeoError::Unparsable);
        };
        return Ok((lat, lon));
    }
    let inner = t
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(t);
    let mut nums = inner.split(',').map(|s| s.trim().parse::<f64>());
    let (Some(Ok(lat)), Some(Ok(lon)), None) = (nums.next(), nums.next(), nums.next()) else {
        return Err(GeoError::Unparsable);
    };
    Ok((lat, lon))
}

impl BBox {
    /// Whether (lat, lon) lies inside the box.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.min_lat..=self.max_lat).contains(&lat) && (self.min_lon..=self.max_lon).contains(&lon)
    }

    /// Check a pair claimed to be (lat, lon): keep it, un-swap it, or reject it.
    pub fn check(&self, lat: f64, lon: f64) -> Result<LatLon, GeoError> {
        if self.contains(lat, lon) {
            Ok(LatLon {
                lat,
                lon,
                swapped: false,
            })
        } else if self.contains(lon, lat) {
            Ok(LatLon {
                lat: lon,
                lon: lat,
                swapped: true,
            })
        } else {
            Err(GeoError::OutsideBox)
        }
    }
}

/// Parse point text and check it against the box.
pub fn parse_location(text: &str, bbox: &BBox) -> Result<LatLon, GeoError> {
    let (lat, lon) = parse_point(text)?;
    bbox.check(lat, lon)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LA: BBox = BBox {
        min_lat: 33.65,
        max_lat: 34.40,
        min_lon: -118.72,
        max_lon: -118.10,
    };

    #[test]
    fn parses_both_syntaxes_of_the_samples() {
        let a = parse_location("(34.073216645, -118.266861909)", &LA).unwrap();
        assert_eq!(
            (a.lat, a.lon, a.swapped),
            (34.073216645, -118.266861909, false)
        );
        let b = parse_location("POINT (-118.294017712 34.0676390557)", &LA).unwrap();
        assert_eq!(
            (b.lat, b.lon, b.swapped),
            (34.0676390557, -118.294017712, false)
        );
    }

    #[test]
    fn swapped_pairs_are_detected_and_fixed() {
        let a = parse_location("(-118.266861909, 34.073216645)", &LA).unwrap();
        assert_eq!(
            (a.lat, a.lon, a.swapped),
            (34.073216645, -118.266861909, true)
        );
        let b = parse_location("POINT (34.0676390557 -118.294017712)", &LA).unwrap();
        assert!(b.swapped);
    }

    #[test]
    fn outside_and_garbage_are_rejected() {
        assert_eq!(parse_location("(0, 0)", &LA), Err(GeoError::OutsideBox));
        assert_eq!(
            parse_location("(40.7, -74.0)", &LA),
            Err(GeoError::OutsideBox)
        );
        assert_eq!(
            parse_location("POINT (x y)", &LA),
            Err(GeoError::Unparsable)
        );
        assert_eq!(
            parse_location("Monica Rodriguez", &LA),
            Err(GeoError::Unparsable)
        );
    }
}
