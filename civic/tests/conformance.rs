//! Conformance of a full local run to prefixes.yaml: after `civic demo` (ingest, transform, analyze,
//! ledger, report), every object in the store is one of the objects prefixes.yaml declares under a prefix
//! of its bucket, and that prefix has writers. The rename check (`scripts/rename-check.sh`, in `make test`)
//! runs this same test in a copy of the project whose `raw` and `canonical` templates are renamed.

use std::path::Path;
use std::process::Command;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("civic/ is in the repository")
}

#[test]
fn every_object_of_a_demo_run_is_a_declared_object_of_a_writable_prefix() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let out = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["demo", "--rows", "20000", "--seed", "3", "--store"])
        .arg(&store)
        .current_dir(repo_root())
        .output()
        .expect("civic runs");
    assert!(
        out.status.success(),
        "civic demo failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let m = infra_gen::manifest::load(repo_root())
        .unwrap_or_else(|d| panic!("the manifests load: {d}"));
    let report = infra_gen::conform::check_store(&m, &store).unwrap();
    assert!(
        report.misplaced.is_empty(),
        "objects outside prefixes.yaml:\n{}",
        report.misplaced.join("\n")
    );
    // The run exercised every stage: each of these declared objects was written at least once.
    let template_of = |prefix: &str| {
        m.prefixes()
            .find(|p| p.name == prefix)
            .map(|p| p.doc.key.value.clone())
            .unwrap()
    };
    for object in [
        "data/raw/part",
        "data/runs/manifest",
        "data/runs/layer-report",
        "data/worklist/job-record",
        "data/worklist/lane-done",
        "data/worklist/layer-complete",
        "data/canonical/part",
        "data/processed/part",
        "ledger/events/event",
        "ledger/stakeholders/derived",
    ] {
        assert!(
            report.by_object.get(object).is_some_and(|n| *n > 0),
            "no {object} written (raw is {}, canonical is {}); saw {:#?}",
            template_of("raw"),
            template_of("canonical"),
            report.by_object
        );
    }
    println!(
        "conformance: {} objects, all declared: {:?}",
        report.objects, report.by_object
    );
}
