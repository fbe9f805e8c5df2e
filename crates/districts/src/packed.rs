//! The packed boundary file: the features of a GeoJSON FeatureCollection of (Multi)Polygons, each with its
//! properties as compact JSON text and its rings as integer coordinates in units of 1e-7 degrees (about
//! 1 cm in Los Angeles), delta-encoded from the previous vertex as zigzag LEB128 varints.
//!
//! The built-in catalog embeds its GeoJSON this way (crates/datasets/build.rs includes this file with
//! `#[path]`, so the encoder and the decoder are one piece of code): a vertex costs 2-4 bytes instead of
//! the 20-40 of GeoJSON text, which makes each Lambda package that embeds the 2012 and 2021 lines about
//! 128 kB smaller zipped (measured). [`crate::Boundaries`] reads both forms; the manifest's sha256 is that of the
//! repository's GeoJSON the packed bytes were made from (`BoundaryFile::sha256`).
//!
//! Layout: [`MAGIC`], then varint feature count; per feature: varint length + UTF-8 JSON text of its
//! properties (`null` when it has none), varint polygon count; per polygon varint ring count (exterior
//! first); per ring varint vertex count, then each vertex as (Δx, Δy) zigzag varints. The delta runs
//! across rings, polygons and features from (0, 0). Only std: the build script compiles it too.

/// The first bytes of a packed boundary file (GeoJSON text starts with `{` or whitespace).
pub const MAGIC: &[u8] = b"civic-boundaries/1\n";

/// Integer units per degree.
pub const SCALE: f64 = 1e7;

/// One feature: its properties (JSON text) and polygons, each a list of rings of `[x, y]` (longitude,
/// latitude) in units of `1 / SCALE` degrees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feature {
    pub properties: String,
    pub polygons: Vec<Vec<Vec<[i64; 2]>>>,
}

/// A coordinate in degrees as integer units (rounded to the nearest).
pub fn to_units(degrees: f64) -> i64 {
    (degrees * SCALE).round() as i64
}

/// Integer units as degrees.
pub fn to_degrees(units: i64) -> f64 {
    units as f64 / SCALE
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// The packed bytes of `features`.
pub fn encode(features: &[Feature]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    put(&mut out, features.len() as u64);
    let mut last = [0i64; 2];
    for f in features {
        put(&mut out, f.properties.len() as u64);
        out.extend_from_slice(f.properties.as_bytes());
        put(&mut out, f.polygons.len() as u64);
        for polygon in &f.polygons {
            put(&mut out, polygon.len() as u64);
            for ring in polygon {
                put(&mut out, ring.len() as u64);
                for p in ring {
                    put_signed(&mut out, p[0] - last[0]);
                    put_signed(&mut out, p[1] - last[1]);
                    last = *p;
                }
            }
        }
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn varint(&mut self, what: &str) -> Result<u64, String> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.bytes.get(self.at) else {
                return Err(format!("truncated at byte {} (reading {what})", self.at));
            };
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(format!("varint over 64 bits at byte {} ({what})", self.at))
    }

    fn signed(&mut self, what: &str) -> Result<i64, String> {
        let v = self.varint(what)?;
        Ok(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// A count, bounded by the bytes left (every counted item takes at least one byte), so a corrupt
    /// count cannot ask for a huge allocation.
    fn count(&mut self, what: &str) -> Result<usize, String> {
        let n = self.varint(what)?;
        let left = (self.bytes.len() - self.at) as u64;
        if n > left {
            return Err(format!(
                "{what} {n} at byte {} exceeds the {left} bytes left",
                self.at
            ));
        }
        Ok(n as usize)
    }
}

/// The features of packed bytes (which start with [`MAGIC`]); an error names the byte offset.
pub fn decode(bytes: &[u8]) -> Result<Vec<Feature>, String> {
    let Some(body) = bytes.strip_prefix(MAGIC) else {
        return Err("not a packed boundary file (no magic)".into());
    };
    let mut r = Reader { bytes: body, at: 0 };
    let mut last = [0i64; 2];
    let n = r.count("feature count")?;
    let mut features = Vec::with_capacity(n);
    for _ in 0..n {
        let len = r.count("properties length")?;
        let text = &r.bytes[r.at..r.at + len];
        r.at += len;
        let properties = String::from_utf8(text.to_vec())
            .map_err(|e| format!("properties before byte {} are not UTF-8: {e}", r.at))?;
        let polygons_n = r.count("polygon count")?;
        let mut polygons = Vec::with_capacity(polygons_n);
        for _ in 0..polygons_n {
            let rings_n = r.count("ring count")?;
            let mut rings = Vec::with_capacity(rings_n);
            for _ in 0..rings_n {
                let points_n = r.count("vertex count")?;
                let mut ring = Vec::with_capacity(points_n);
                for _ in 0..points_n {
                    let dx = r.signed("vertex")?;
                    let dy = r.signed("vertex")?;
                    last = [last[0].wrapping_add(dx), last[1].wrapping_add(dy)];
                    ring.push(last);
                }
                rings.push(ring);
            }
            polygons.push(rings);
        }
        features.push(Feature {
            properties,
            polygons,
        });
    }
    if r.at != r.bytes.len() {
        return Err(format!(
            "{} bytes after the last feature",
            r.bytes.len() - r.at
        ));
    }
    Ok(features)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Feature> {
        vec![
            Feature {
                properties: r#"{"District":1}"#.into(),
                polygons: vec![vec![
                    vec![
                        [-1_182_000_000, 340_000_000],
                        [-1_181_999_999, 340_000_123],
                        [-1_182_000_000, 340_000_000],
                    ],
                    vec![[0, 0], [i64::from(i32::MAX), i64::from(i32::MIN)]],
                ]],
            },
            Feature {
                properties: "null".into(),
                polygons: vec![],
            },
        ]
    }

    #[test]
    fn round_trips_and_is_small() {
        let f = sample();
        let bytes = encode(&f);
        assert_eq!(decode(&bytes).unwrap(), f);
        // A neighbouring vertex (Δ of 1 and 123 units) costs 3 bytes.
        let one = encode(&[Feature {
            properties: String::new(),
            polygons: vec![vec![vec![[5, 5], [6, 128]]]],
        }]);
        assert_eq!(one.len(), MAGIC.len() + 5 + 2 + 3);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode(&sample());
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            decode(&extra).unwrap_err(),
            "1 bytes after the last feature"
        );
        let mut huge = MAGIC.to_vec();
        huge.extend_from_slice(&[0xff, 0xff, 0xff, 0x0f]);
        assert!(decode(&huge).unwrap_err().contains("exceeds"), "{huge:?}");
    }

    #[test]
    fn units_round_to_the_nearest() {
        assert_eq!(to_units(-118.24280004), -1_182_428_000);
        assert_eq!(to_units(34.05370006), 340_537_001);
        assert!((to_degrees(340_537_001) - 34.0537001).abs() < 1e-12);
    }
}
