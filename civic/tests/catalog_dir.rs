//! `--catalog DIR`: a dataset folder outside the repository is ingested, transformed and analyzed without
//! rebuilding; without the option the same dataset id is unknown (exit 2, naming the known ones).

use std::path::Path;
use std::process::Command;

fn civic(args: &[&str], cwd: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(args)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn a_new_dataset_folder_runs_through_every_layer_without_rebuilding() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../datasets/ladbs_permits");
    let mine = tmp.path().join("catalog/my_permits");
    std::fs::create_dir_all(&mine).unwrap();
    for f in ["dataset.yaml", "canonical.yaml", "analysis.yaml"] {
        let text = std::fs::read_to_string(repo.join(f))
            .unwrap()
            .replace("id: ladbs_permits", "id: my_permits")
            .replace("dataset: ladbs_permits", "dataset: my_permits");
        std::fs::write(mine.join(f), text).unwrap();
    }
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/ladbs_permits/ladbs_permits_2016_bldg_new_export.csv.gz");
    let sample = sample.to_str().unwrap();

    let unknown = civic(
        &[
            "ingest",
            "--dataset",
            "my_permits",
            "--input",
            sample,
            "--store",
            "st",
        ],
        tmp.path(),
    );
    assert_eq!(unknown.status.code(), Some(2), "{unknown:?}");
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        err.contains("my_permits") && err.contains("ladbs_permits"),
        "{err}"
    );

    let ingested = civic(
        &[
            "ingest",
            "--dataset",
            "my_permits",
            "--catalog",
            "catalog",
            "--input",
            sample,
            "--store",
            "st",
        ],
        tmp.path(),
    );
    assert!(ingested.status.success(), "{ingested:?}");
    let manifest = String::from_utf8_lossy(&ingested.stdout)
        .lines()
        .last()
        .unwrap()
        .to_owned();
    let run = manifest
        .split("run=")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .to_owned();
    // The dataset is found from the store; the runners read the same catalog directory.
    let processed = civic(
        &[
            "process",
            "--run",
            &run,
            "--catalog",
            "catalog",
            "--store",
            "st",
        ],
        tmp.path(),
    );
    assert!(processed.status.success(), "{processed:?}");
    let out = String::from_utf8_lossy(&processed.stdout);
    assert!(out.contains("transform: 15 done, 0 failed of 15"), "{out}");
    assert!(out.contains("analyze: 15 done, 0 failed of 15"), "{out}");
    assert!(tmp.path().join("st/data/canonical/my_permits").is_dir());
}
