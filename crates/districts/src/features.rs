//! Reading one boundary file: a GeoJSON FeatureCollection of (Multi)Polygon features, each
//! carrying its district number in a named property.

use geo::MultiPolygon;
use serde_json::Value;

/// The districts of one file, in file order, or every problem found (as messages).
pub(crate) fn districts(
    bytes: &[u8],
    property: &str,
) -> Result<Vec<(u8, MultiPolygon<f64>)>, Vec<String>> {
    let collection: geojson::FeatureCollection = match serde_json::from_slice(bytes) {
        Ok(c) => c,
        Err(e) => return Err(vec![format!("not a GeoJSON FeatureCollection: {e}")]),
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, feature) in collection.features.into_iter().enumerate() {
        let n = i + 1;
        let value = feature.properties.as_ref().and_then(|p| p.get(property));
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
        let shape = match feature.geometry.map(geo::Geometry::<f64>::try_from) {
            Some(Ok(geo::Geometry::MultiPolygon(mp))) => Some(mp),
            Some(Ok(geo::Geometry::Polygon(p))) => Some(MultiPolygon(vec![p])),
            _ => {
                problems.push(format!(
                    "feature {n}: geometry is not a Polygon or MultiPolygon"
                ));
                None
            }
        };
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
