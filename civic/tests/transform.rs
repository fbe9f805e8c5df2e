//! `civic ingest` -> `civic transform` on a real sample, and `civic schema-drift` exit codes, through the binary.

use std::path::PathBuf;
use std::process::Command;

/// A real MyLA311 sample committed gzip'd under `testdata/la311/` (see testdata/README.md), as the `.gz`
/// path: `civic ingest` and `civic schema-drift` read gzip as it is. Panics when it is missing.
fn sample(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/la311")
        .join(format!("{name}.gz"));
    assert!(
        p.is_file(),
        "{} is missing: the real samples are committed under testdata/",
        p.display()
    );
    p
}

fn civic(args: &[&str]) -> std::process::Output {
    let datasets = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_civic"));
    cmd.args(args);
    if args[0] == "ingest" {
        cmd.arg("--datasets").arg(datasets);
    }
    cmd.output().unwrap()
}

#[test]
fn transform_writes_canonical_parquet_and_a_balanced_report_beside_the_manifest() {
    let csv = sample("myla311_2017_sample.csv");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let out = civic(&[
        "ingest",
        "--input",
        csv.to_str().unwrap(),
        "--store",
        store,
        "--run-id",
        "t17",
    ]);
    assert!(
        out.status.success(),
        "ingest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = civic(&["transform", "--run", "t17", "--store", store]);
    assert!(
        out.status.success(),
        "transform: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let report_path = dir
        .path()
        .join("data/runs/la311/run=t17/transform-report.json");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(report_path).unwrap()).unwrap();
    assert_eq!(report["rows_in"], 9999);
    assert_eq!(report["rows_out"], 9999);
    assert_eq!(report["rows_quarantined"], 0);
    let parts = report["partitions"].as_array().unwrap();
    assert_eq!(parts.len(), 16);
    let cd13 = parts.iter().find(|p| p["partition"] == "13").unwrap();
    assert_eq!(
        (
            cd13["rows_in"].as_u64(),
            cd13["year"].as_i64(),
            cd13["era"].as_str()
        ),
        (Some(1031), Some(2017), Some("A"))
    );
    assert!(
        dir.path()
            .join("data/canonical/la311/year=2017/cd=13/part-00000.parquet")
            .exists()
    );
    assert!(
        dir.path()
            .join("data/canonical/la311/year=2017/cd=__missing__/part-00000.parquet")
            .exists()
    );
}

#[test]
fn transform_of_an_unknown_run_fails_naming_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let out = civic(&[
        "transform",
        "--run",
        "nope",
        "--store",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    // Without --dataset the store is searched for the run, and the error says where it looked.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no dataset in") && err.contains("run=nope/"),
        "{err}"
    );
    let named = civic(&[
        "transform",
        "--run",
        "nope",
        "--dataset",
        "la311",
        "--store",
        dir.path().to_str().unwrap(),
    ]);
    assert!(!named.status.success());
    assert!(String::from_utf8_lossy(&named.stderr).contains("runs/la311/run=nope/manifest.json"));
}

#[test]
fn transform_of_a_run_no_era_maps_exits_2_naming_the_columns_and_writes_nothing_canonical() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // LAPD crime columns under a CD header: ingestion partitions it, no la311 era maps it.
    let csv = dir.path().join("lapd.csv");
    std::fs::write(
        &csv,
        "DR_NO,DATE OCC,CD,Crm Cd Desc\r\n190326475,03/01/2020 12:00:00 AM,7,VEHICLE - STOLEN\r\n",
    )
    .unwrap();
    let store = store.to_str().unwrap();
    let out = civic(&[
        "ingest",
        "--input",
        csv.to_str().unwrap(),
        "--store",
        store,
        "--run-id",
        "lapd",
    ]);
    assert!(
        out.status.success(),
        "ingest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = civic(&["transform", "--run", "lapd", "--store", store]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("columns no era maps: DR_NO, DATE OCC, Crm Cd Desc"),
        "{stderr}"
    );
    assert!(
        stderr.contains("era A lacks SRNumber (sr_number)"),
        "{stderr}"
    );
    assert!(!dir.path().join("store/data/canonical").exists());
    // `civic process` stops the same way before its transform layer.
    let out = civic(&["process", "--run", "lapd", "--store", store]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("columns no era maps: DR_NO"), "{stderr}");
    assert!(!dir.path().join("store/data/canonical").exists());
}

#[test]
fn schema_drift_exits_1_when_the_mapping_does_not_cover_the_source() {
    let csv = sample("myla311_2020_api_fieldnames_sample.csv");
    let csv = csv.to_str().unwrap();
    let covered = civic(&["schema-drift", "--dataset", "la311", "--input", csv]);
    assert_eq!(
        covered.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&covered.stdout)
    );
    let old = civic(&[
        "schema-drift",
        "--dataset",
        "la311",
        "--input",
        csv,
        "--era",
        "A",
        "--json",
    ]);
    assert_eq!(old.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&old.stdout).unwrap();
    assert!(
        report["new_columns"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "createdbyuserorganization")
    );
    assert!(
        report["renamed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["source"] == "srnumber" && r["kind"] == "case")
    );
}

#[test]
fn transform_states_how_the_published_district_agrees_with_the_coordinates() {
    let csv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/ladbs_permits/ladbs_permits_2016_bldg_new_export.csv.gz");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().to_str().unwrap();
    let ingested = civic(&[
        "ingest",
        "--dataset",
        "ladbs_permits",
        "--input",
        csv.to_str().unwrap(),
        "--store",
        store,
        "--run-id",
        "permits",
    ]);
    assert!(ingested.status.success(), "{ingested:?}");
    let out = civic(&["transform", "--run", "permits", "--store", store]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    // The reference: 99.92 % of the 5,917 located permits (testdata/README.md).
    assert!(
        err.contains("5917 located in a district, 0 outside every district, 712 unlocated; the published district agrees on 5912 of 5917 (99.92 %)"),
        "{err}"
    );
}
