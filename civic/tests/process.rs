//! `civic process` and `civic worklist status|redrive` through the binary, on a synthetic generated run.

use std::path::PathBuf;
use std::process::{Command, Output};

fn civic(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_civic"));
    cmd.args(args);
    if args[0] == "ingest" {
        cmd.arg("--datasets")
            .arg(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets"));
    }
    cmd.output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn process_runs_the_transform_layer_and_refuses_layers_without_a_runner() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let csv = dir.path().join("s.csv");
    let out = civic(&[
        "gen-la311",
        "--rows",
        "2000",
        "--year",
        "2017",
        "--out",
        csv.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "gen: {}", text(&out));
    let out = civic(&[
        "ingest",
        "--input",
        csv.to_str().unwrap(),
        "--store",
        store,
        "--run-id",
        "p1",
    ]);
    assert!(out.status.success(), "ingest: {}", text(&out));

    // No fake work: a declared layer without a runner stops the command before anything runs.
    let out = civic(&[
        "process",
        "--run",
        "p1",
        "--store",
        store,
        "--layers",
        "transform,publish",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no job runner registered for layer(s) publish"),
        "{}",
        text(&out)
    );
    assert!(
        !dir.path().join("store/data/worklist").exists(),
        "work started anyway"
    );

    let out = civic(&[
        "process",
        "--run",
        "p1",
        "--store",
        store,
        "--layers",
        "transform",
    ]);
    assert!(out.status.success(), "process: {}", text(&out));
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            dir.path()
                .join("store/data/runs/la311/run=p1/manifest.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let partitions = manifest["partitions"].as_array().unwrap().len();
    assert!(
        text(&out).contains(&format!(
            "transform: {partitions} done, 0 failed of {partitions}"
        )),
        "{}",
        text(&out)
    );

    let out = civic(&[
        "worklist",
        "status",
        "--run",
        "p1",
        "--store",
        store,
        "--layers",
        "transform",
    ]);
    assert!(out.status.success(), "status: {}", text(&out));
    let row = text(&out)
        .lines()
        .find(|l| l.starts_with("transform"))
        .unwrap()
        .split_whitespace()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    assert_eq!(
        row,
        [
            "transform",
            &partitions.to_string(),
            &partitions.to_string(),
            "0",
            "0",
            "0",
            "yes"
        ]
    );

    let out = civic(&[
        "worklist",
        "redrive",
        "--run",
        "p1",
        "--store",
        store,
        "--layers",
        "transform",
    ]);
    assert!(!out.status.success());
    assert!(text(&out).contains("nothing to redrive"), "{}", text(&out));
}

/// Regression: `civic transform` completes the run's transform layer through the process function, so a later
/// `civic process` of the same run must go on with `analyze` instead of re-sending a completed layer's message.
#[test]
fn process_after_transform_goes_on_with_the_next_layer() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let store = store.to_str().unwrap();
    let csv = dir.path().join("s.csv");
    let csv = csv.to_str().unwrap();
    let out = civic(&["gen-la311", "--rows", "1500", "--out", csv]);
    assert!(out.status.success(), "gen: {}", text(&out));
    let out = civic(&["ingest", "--input", csv, "--store", store, "--run-id", "tp"]);
    assert!(out.status.success(), "ingest: {}", text(&out));
    let out = civic(&["transform", "--run", "tp", "--store", store]);
    assert!(out.status.success(), "transform: {}", text(&out));
    assert!(
        text(&out).contains("invocation(s) of the process function"),
        "transform runs the process function: {}",
        text(&out)
    );
    let out = civic(&["process", "--run", "tp", "--store", store]);
    assert!(out.status.success(), "process: {}", text(&out));
    assert!(text(&out).contains("starting at analyze"), "{}", text(&out));
    let analyze = text(&out)
        .lines()
        .find(|l| l.starts_with("analyze: "))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(
        analyze.contains(" done, 0 failed of ") && !analyze.contains("not completed"),
        "{}",
        text(&out)
    );
}
