//! `civic gen-la311` + `civic ingest` end to end: the last stdout line is the manifest path, and
//! the manifest's counts add up against the generator's own report.

use std::process::Command;

#[test]
fn gen_then_ingest_prints_the_manifest_path_last() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    let civic = env!("CARGO_BIN_EXE_civic");
    let gen_out = Command::new(civic)
        .args([
            "gen-la311",
            "--rows",
            "3000",
            "--seed",
            "4",
            "--year",
            "2018",
            "--out",
        ])
        .arg(&csv)
        .output()
        .unwrap();
    assert!(
        gen_out.status.success(),
        "{}",
        String::from_utf8_lossy(&gen_out.stderr)
    );
    let stderr = String::from_utf8_lossy(&gen_out.stderr);
    let malformed: u64 = stderr
        .split("rows (")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no malformed count in {stderr:?}"));

    let store = dir.path().join("store");
    let out = Command::new(civic)
        .args([
            "ingest",
            "--dataset",
            "la311",
            "--run-id",
            "cli1",
            "--memory-budget",
            "48MiB",
            "--input",
        ])
        .arg(&csv)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let last = stdout.lines().last().unwrap();
    assert_eq!(
        std::path::Path::new(last),
        store.join("data/runs/la311/run=cli1/manifest.json")
    );
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(last).unwrap()).unwrap();
    assert_eq!(m["rows_read"], 3000);
    assert_eq!(m["rows_quarantined"], malformed);
    assert_eq!(m["rows_written"].as_u64().unwrap() + malformed, 3000);
    let first_key = m["partitions"][0]["keys"][0].as_str().unwrap();
    assert!(store.join("data").join(first_key).is_file());

    // A budget too small to encode one row group is refused with the minimum, before any write.
    let tiny = Command::new(civic)
        .args([
            "ingest",
            "--run-id",
            "tiny",
            "--memory-budget",
            "8MiB",
            "--input",
        ])
        .arg(&csv)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(!tiny.status.success());
    let err = String::from_utf8_lossy(&tiny.stderr);
    assert!(err.contains("raise --memory-budget"), "{err}");
    assert!(!store.join("data/runs/la311/run=tiny").exists());

    // A run id that is not a safe key segment is refused before anything is written.
    let bad = Command::new(civic)
        .args(["ingest", "--run-id", "a/b", "--input"])
        .arg(&csv)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("run id \"a/b\""));
}
