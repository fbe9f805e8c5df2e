//! A built `civic` needs no source tree: copied away from the checkout and run from a directory with no
//! manifests around it, it uses the dataset catalog and the deployment manifests compiled into it.

use std::process::Command;

#[test]
fn a_copied_binary_runs_every_dataset_far_from_the_checkout() {
    let tmp = tempfile::tempdir().unwrap();
    let bin = tmp.path().join("civic");
    std::fs::copy(env!("CARGO_BIN_EXE_civic"), &bin).unwrap();
    // No prefixes.yaml in the working directory or above it (the test's temp dir is outside the checkout).
    assert!(
        tmp.path()
            .ancestors()
            .all(|d| !d.join("prefixes.yaml").is_file()),
        "the temp dir must not sit inside a checkout"
    );
    let out = Command::new(&bin)
        .args(["demo", "--rows", "3000", "--store", "store"])
        .current_dir(tmp.path())
        .env_remove("CARGO_MANIFEST_DIR")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.matches("accounting: every layer adds up").count(),
        3,
        "{stdout}"
    );
    for dataset in ["la311", "ladbs_permits", "lapd_crime"] {
        assert!(
            tmp.path()
                .join(format!(
                    "store/data/runs/{dataset}/run=demo-2023-s1-n3000/manifest.json"
                ))
                .is_file(),
            "{dataset}"
        );
    }
}
