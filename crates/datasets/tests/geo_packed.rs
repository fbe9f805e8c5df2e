//! The built-in catalog embeds its boundary GeoJSON packed at build time (coordinates kept to 7 decimals as
//! varint deltas, crates/districts/src/packed.rs, crates/datasets/build.rs). These tests hold the packed sets
//! to the repository's files:
//! the same sets, districts and rings, every vertex within half a unit of the 7th decimal, and the same
//! district for every coordinate of the real samples and for a grid of points over the city.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use districts::Boundaries;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn both() -> (std::sync::Arc<Boundaries>, Boundaries) {
    let builtin = datasets::Catalog::builtin()
        .boundaries("council_districts")
        .expect("built-in boundary sets load (their sha256 matches boundaries.yaml)");
    let files = Boundaries::load_dir(&repo().join("datasets/geo/council_districts"))
        .expect("the repository's boundary files load");
    (builtin, files)
}

fn rings(p: &geo::Polygon<f64>) -> Vec<geo::LineString<f64>> {
    std::iter::once(p.exterior().clone())
        .chain(p.interiors().iter().cloned())
        .collect()
}

#[test]
fn packed_sets_keep_every_vertex_to_seven_decimals() {
    let (builtin, files) = both();
    assert_eq!(builtin.sets().len(), files.sets().len());
    let mut vertices = 0usize;
    for (b, f) in builtin.sets().iter().zip(files.sets()) {
        assert_eq!(b.name, f.name);
        assert_eq!(b.district_numbers(), f.district_numbers(), "set {}", f.name);
        for n in f.district_numbers() {
            let (bs, fs) = (b.shape(n).unwrap(), f.shape(n).unwrap());
            assert_eq!(
                bs.0.len(),
                fs.0.len(),
                "set {} district {n}: polygons",
                f.name
            );
            for (bp, fp) in bs.0.iter().zip(&fs.0) {
                let (br, fr) = (rings(bp), rings(fp));
                assert_eq!(br.len(), fr.len(), "set {} district {n}: rings", f.name);
                for (bl, fl) in br.iter().zip(&fr) {
                    assert_eq!(bl.0.len(), fl.0.len(), "set {} district {n}: ring", f.name);
                    for (bc, fc) in bl.0.iter().zip(&fl.0) {
                        let close = (bc.x - fc.x).abs() <= 0.5e-7 + 1e-12
                            && (bc.y - fc.y).abs() <= 0.5e-7 + 1e-12;
                        assert!(close, "set {} district {n}: {fc:?} became {bc:?}", f.name);
                        vertices += 1;
                    }
                }
            }
        }
    }
    assert!(vertices > 30_000, "only {vertices} vertices compared");
    println!("{vertices} vertices within 0.5e-7 degrees of the repository's files");
}

/// (lat, lon) of every row of a gzip'd sample CSV with usable coordinates in the columns `lat` and `lon`.
fn coordinates(sample: &str, lat: &str, lon: &str) -> Vec<(f64, f64)> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(repo().join(sample)).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let header = rows.headers().unwrap().clone();
    let at = |name: &str| header.iter().position(|h| h == name).unwrap();
    let (la, lo) = (at(lat), at(lon));
    rows.records()
        .filter_map(|r| {
            let r = r.unwrap();
            Some((r[la].parse().ok()?, r[lo].parse().ok()?))
        })
        .filter(|&(la, lo): &(f64, f64)| la != 0.0 && lo != 0.0)
        .collect()
}

#[test]
fn packed_sets_give_the_same_district_for_real_and_grid_coordinates() {
    let (builtin, files) = both();
    let mut points = coordinates(
        "testdata/lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz",
        "LAT",
        "LON",
    );
    points.extend(coordinates(
        "testdata/la311/myla311_2018_sample.csv.gz",
        "Latitude",
        "Longitude",
    ));
    let real = points.len();
    assert!(real > 10_000, "only {real} real coordinates");
    // A 300 x 300 grid over the city's bounding box (about 200 m apart).
    for i in 0..300 {
        for j in 0..300 {
            let lat = 33.70 + 0.63 * f64::from(i) / 300.0;
            let lon = -118.67 + 0.52 * f64::from(j) / 300.0;
            points.push((lat, lon));
        }
    }
    let mut inside = 0usize;
    for (b, f) in builtin.sets().iter().zip(files.sets()) {
        for &(lat, lon) in &points {
            let want = f.district_exact(lat, lon);
            let at = format!("set {} at ({lat}, {lon})", f.name);
            assert_eq!(b.district_exact(lat, lon), want, "{at}");
            assert_eq!(b.district(lat, lon), f.district(lat, lon), "{at}");
            inside += usize::from(want.is_some());
        }
    }
    assert!(inside > real, "only {inside} points fell inside a district");
    println!(
        "{} points ({real} real coordinates, 90,000 grid points) x {} sets: the same district; {inside} inside one",
        points.len(),
        builtin.sets().len()
    );
}
