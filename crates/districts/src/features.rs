//! Reading one boundary file: a GeoJSON FeatureCollection of (Multi)Polygon features, each
//! carrying its district number in a named property, or the same features packed ([`crate::packed`]).

use geo::{Coord, LineString, MultiPolygon, Polygon};
use serde_json::{Map, Value};

use crate::packed;

/// A feature as read: its properties and its shape, `None` when the geometry is not a (Multi)Polygon.
type Read = (Option<Map<String, Value>>, Option<MultiPolygon<f64>>);

fn from_geojson(bytes: &[u8]) -> Result<Vec<Read>, String> {
    let collection: geojson::FeatureCollection = serde_json::from_slice(bytes)
        .map_err(|e| format!("not a GeoJSON FeatureCollection: {e}"))?;
    Ok(collection
        .features
        .into_iter()
        .map(|feature| {
            let shape = match feature.geometry.map(geo::Geometry::<f64>::try_from) {
                Some(Ok(geo::Geometry::MultiPolygon(mp))) => Some(mp),
                Some(Ok(geo::Geometry::Polygon(p))) => Some(MultiPolygon(vec![p])),
                _ => None,
            };
            (feature.properties, shape)
        })
        .collect())
}

fn from_packed(bytes: &[u8]) -> Result<Vec<Read>, String> {
    let features = packed::decode(bytes).map_err(|e| format!("packed boundary file: {e}"))?;
    let ring = |points: Vec<[i64; 2]>| -> LineString<f64> {
        points
            .into_iter()
            .map(|[x, y]| Coord {
                x: packed::to_degrees(x),
                y: packed::to_degrees(y),
            })
            .collect()
    };
    features
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let properties: Option<Map<String, Value>> = serde_json::from_str(&f.properties)
                .map_err(|e| format!("packed boundary file: feature {}: properties: {e}", i + 1))?;
            let polygons = f
                .polygons
                .into_iter()
                .filter_map(|rings| {
                    let mut rings = rings.into_iter().map(ring);
                    let exterior = rings.next()?;
                    Some(Polygon::new(exterior, rings.collect()))
                })
                .collect::<Vec<_>>();
            let shape = (!polygons.is_empty()).then_some(MultiPolygon(polygons));
            Ok((properties, shape))
        })
        .collect()
}

/// The districts of one file, in file order, or every problem found (as messages).
pub(crate) fn districts(
    bytes: &[u8],
    property: &str,
) -> Result<Vec<(u8, MultiPolygon<f64>)>, Vec<String>> {
    let read = if bytes.starts_with(packed::MAGIC) {
        from_packed(bytes)
    } else {
        from_geojson(bytes)
    };
    let features = read.map_err(|e| vec![e])?;
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, (properties, shape)) in features.into_iter().enumerate() {
        let n = i + 1;
        let value = properties.as_ref().and_then(|p| p.get(property));
        let number = match value.map(number_of) {
            Some(Some(d)) => Some(d),
            Some(None) => {
                problems.push(format!(
                    "feature {n}: property {property:?} = {} is not a district number in 1..=254",
                    value.unwrap_or(&Value::Null)
                ));
                None
            }
            None => {
                problems.push(format!(
                    "feature {n} has no property {property:?} (the district number)"
                ));
                None
            }
        };
        if shape.is_none() {
            problems.push(format!(
                "feature {n}: geometry is not a Polygon or MultiPolygon"
            ));
        }
        if let (Some(d), Some(shape)) = (number, shape) {
            if out.iter().any(|(o, _)| *o == d) {
                problems.push(format!(
                    "feature {n}: district {d} appears twice; numbers must be unique in a set"
                ));
            } else {
                out.push((d, shape));
            }
        }
    }
    if out.is_empty() && problems.is_empty() {
        problems.push("no features".into());
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems)
    }
}

/// A district number: a JSON integer or a string holding one, in `1..=254`.
fn number_of(v: &Value) -> Option<u8> {
    let n = match v {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.trim().parse::<u64>().ok()?,
        _ => return None,
    };
    u8::try_from(n).ok().filter(|d| (1..=254).contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQUARE: &str = r#"{"type":"FeatureCollection","features":[
        {"type":"Feature","properties":{"d":"3"},"geometry":{"type":"Polygon","coordinates":
            [[[-118.3,34.0],[-118.2,34.0],[-118.2,34.1],[-118.3,34.1],[-118.3,34.0]]]}},
        {"type":"Feature","properties":{"x":1},"geometry":{"type":"Polygon","coordinates":
            [[[-118.1,34.0],[-118.0,34.0],[-118.0,34.1],[-118.1,34.0]]]}}]}"#;

    /// SQUARE packed, feature 2's properties `second`.
    fn packed_square(second: &str) -> Vec<u8> {
        let ring = |pts: &[[f64; 2]]| {
            pts.iter()
                .map(|p| [packed::to_units(p[0]), packed::to_units(p[1])])
                .collect::<Vec<_>>()
        };
        packed::encode(&[
            packed::Feature {
                properties: r#"{"d":"3"}"#.into(),
                polygons: vec![vec![ring(&[
                    [-118.3, 34.0],
                    [-118.2, 34.0],
                    [-118.2, 34.1],
                    [-118.3, 34.1],
                    [-118.3, 34.0],
                ])]],
            },
            packed::Feature {
                properties: second.into(),
                polygons: vec![vec![ring(&[
                    [-118.1, 34.0],
                    [-118.0, 34.0],
                    [-118.0, 34.1],
                    [-118.1, 34.0],
                ])]],
            },
        ])
    }

    #[test]
    fn packed_and_geojson_read_alike() {
        let json = districts(SQUARE.as_bytes(), "x").unwrap_err();
        let packed = districts(&packed_square(r#"{"x":1}"#), "x").unwrap_err();
        assert_eq!(json, packed);
        assert_eq!(
            json,
            ["feature 1 has no property \"x\" (the district number)"]
        );
        let (a, b) = (
            districts(SQUARE.replace(r#""x":1"#, r#""d":4"#).as_bytes(), "d").unwrap(),
            districts(&packed_square(r#"{"d":4}"#), "d").unwrap(),
        );
        assert_eq!(a.len(), 2);
        assert_eq!(
            a.iter().map(|(d, _)| *d).collect::<Vec<_>>(),
            b.iter().map(|(d, _)| *d).collect::<Vec<_>>()
        );
        for ((_, sa), (_, sb)) in a.iter().zip(&b) {
            for (ca, cb) in sa.0[0].exterior().0.iter().zip(&sb.0[0].exterior().0) {
                assert!((ca.x - cb.x).abs() < 1e-9 && (ca.y - cb.y).abs() < 1e-9);
            }
        }
    }

    #[test]
    fn a_corrupt_packed_file_is_one_problem() {
        let mut bytes = packed_square("null");
        bytes.truncate(bytes.len() - 3);
        let e = districts(&bytes, "d").unwrap_err();
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("packed boundary file: truncated at byte"),
            "{e:?}"
        );
    }
}
