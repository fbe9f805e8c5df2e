//! `boundaries.yaml` errors are located (`file:line:col`) and all reported at once; the
//! repository's own manifest loads.

mod common;

use std::collections::HashMap;

use districts::{Boundaries, Error};
use sha2::{Digest, Sha256};

const SQUARES: &str = r#"{"type":"FeatureCollection","features":[
{"type":"Feature","properties":{"n":"1"},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1],[0,0]]]}},
{"type":"Feature","properties":{"n":2},"geometry":{"type":"MultiPolygon","coordinates":[[[[1,0],[2,0],[2,1],[1,1],[1,0]]]]}}
]}"#;

fn sha(bytes: &str) -> String {
    hex::encode(Sha256::digest(bytes.as_bytes()))[..16].to_string()
}

/// Load `yaml` as `geo/boundaries.yaml` with `files` as the folder's content.
fn load(yaml: &str, files: &[(&str, &str)]) -> Result<Boundaries, Error> {
    let files: HashMap<String, Vec<u8>> = files
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect();
    Boundaries::from_yaml(yaml, "geo/boundaries.yaml", |f| {
        files
            .get(f)
            .cloned()
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"))
    })
}

fn check_err(yaml: &str, files: &[(&str, &str)], expect: &[&str]) {
    let err = load(yaml, files).expect_err("should fail");
    let got: Vec<String> = err.problems().iter().map(|p| p.to_string()).collect();
    assert_eq!(got.len(), expect.len(), "{got:#?}");
    for (g, e) in got.iter().zip(expect) {
        assert!(g.starts_with(e), "\n got: {g}\nwant: {e}...");
    }
}

fn two_sets(second_from: &str, extra: &str) -> String {
    let s = sha(SQUARES);
    format!(
        "sets:
  - name: old
    title: Old lines
    file: sq.geojson
    district_property: n
    until: 2022-12-12
    sha256: {s}
    source: {{repo: o/r, blob: abc}}
  - name: new
    title: New lines
    file: sq.geojson
    district_property: n
    from: {second_from}
    sha256: {s}
    source: {{repo: o/r, blob: abc}}
{extra}"
    )
}

#[test]
fn valid_manifest_loads_and_picks_sets_by_date() {
    let b = load(&two_sets("2022-12-12", ""), &[("sq.geojson", SQUARES)]).unwrap();
    assert_eq!(b.sets().len(), 2);
    let d = common::day(2022, 12, 12);
    assert_eq!(b.set_for(d).unwrap().name, "new");
    assert_eq!(b.set_for(d.pred_opt().unwrap()).unwrap().name, "old");
    // The shared edge x = 1 goes to the lower number.
    assert_eq!(b.sets()[0].district(0.5, 1.0), Some(1));
    assert_eq!(b.sets()[0].district(0.5, 1.5), Some(2));
    assert_eq!(b.sets()[0].district(0.5, 2.5), None);
}

#[test]
fn unknown_field_is_located() {
    let yaml = two_sets("2022-12-12", "").replace("    title: New lines", "    titel: New lines");
    check_err(
        &yaml,
        &[("sq.geojson", SQUARES)],
        &["geo/boundaries.yaml:10:5: unknown field `titel`"],
    );
}

#[test]
fn overlapping_dates_are_located_at_the_later_from() {
    check_err(
        &two_sets("2022-01-01", ""),
        &[("sq.geojson", SQUARES)],
        &["geo/boundaries.yaml:13:11: set \"new\" from 2022-01-01 overlaps set \"old\""],
    );
}

#[test]
fn gap_between_sets_is_located() {
    check_err(
        &two_sets("2023-01-01", ""),
        &[("sq.geojson", SQUARES)],
        &["geo/boundaries.yaml:13:11: gap: set \"old\" ends 2022-12-12"],
    );
}

#[test]
fn missing_file_is_located_at_its_name_and_every_problem_is_reported() {
    let yaml = two_sets("2022-01-01", "").replacen("file: sq.geojson", "file: gone.geojson", 1);
    check_err(
        &yaml,
        &[("sq.geojson", SQUARES)],
        &[
            "geo/boundaries.yaml:4:11: cannot read geo/gone.geojson: No such file",
            "geo/boundaries.yaml:13:11: set \"new\" from 2022-01-01 overlaps",
        ],
    );
}

#[test]
fn wrong_sha256_is_located() {
    let yaml = two_sets("2022-12-12", "").replacen(&sha(SQUARES), "0000000000000000", 1);
    check_err(
        &yaml,
        &[("sq.geojson", SQUARES)],
        &["geo/boundaries.yaml:7:13: geo/sq.geojson has sha256 "],
    );
}

#[test]
fn feature_without_district_number_and_duplicate_numbers_are_reported() {
    let bad =
        SQUARES
            .replace(r#"{"n":2}"#, r#"{"n":"1"}"#)
            .replacen(r#"{"n":"1"}"#, r#"{"m":1}"#, 1);
    let dup = SQUARES.replace(r#"{"n":2}"#, r#"{"n":"1"}"#);
    let yaml = two_sets("2022-12-12", "")
        .replace(&sha(SQUARES), "SHA")
        .replacen("file: sq.geojson", "file: bad.geojson", 1)
        .replacen("file: sq.geojson", "file: dup.geojson", 1)
        .replacen("SHA", &sha(&bad), 1)
        .replacen("SHA", &sha(&dup), 1);
    check_err(
        &yaml,
        &[("bad.geojson", &bad), ("dup.geojson", &dup)],
        &[
            "geo/boundaries.yaml:5:24: geo/bad.geojson: feature 1 has no property \"n\"",
            "geo/boundaries.yaml:12:24: geo/dup.geojson: feature 2: district 1 appears twice",
        ],
    );
}

#[test]
fn repository_manifest_loads_with_two_sets_of_fifteen_districts() {
    let b = common::boundaries();
    let names: Vec<_> = b.sets().iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["2012", "2021"]);
    for s in b.sets() {
        let mut d = s.district_numbers();
        d.sort();
        assert_eq!(d, (1..=15).collect::<Vec<u8>>(), "set {}", s.name);
    }
    assert_eq!(b.sets()[0].until, Some(common::day(2022, 12, 12)));
    assert_eq!(b.sets()[1].from, Some(common::day(2022, 12, 12)));
    assert_eq!(b.sets()[0].from, None);
    assert_eq!(b.sets()[1].until, None);
}

#[test]
fn load_dir_without_manifest_names_the_path() {
    let dir = common::repo().join("datasets/geo/no-such-folder");
    let err = Boundaries::load_dir(&dir).expect_err("no manifest there");
    let text = err.to_string();
    assert!(matches!(err, Error::Io { .. }), "{text}");
    assert!(text.contains("no-such-folder/boundaries.yaml"), "{text}");
}
