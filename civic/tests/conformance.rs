//! Conformance of a full local run to prefixes.yaml: every object a function writes during `civic demo`
//! (ingest, transform, analyze, ledger, report) is one of the objects prefixes.yaml declares under a prefix
//! of its bucket, and that prefix grants the writing function write access; after the run every object in
//! the store is such a declared object. The rename check (`scripts/rename-check.sh`, in `make test`)
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

#[test]
fn every_write_of_the_demo_is_granted_to_the_function_that_made_it() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut demo = civic::local::demo::Demo::new(&store, 20_000);
    demo.write_log = true;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let writes = rt.block_on(async {
        let outcome = civic::local::demo::run(&demo).await.unwrap();
        outcome.api.stop().await;
        assert!(outcome.ok, "the demo's accounting adds up");
        outcome.writes
    });
    let m = infra_gen::manifest::load(repo_root())
        .unwrap_or_else(|d| panic!("the manifests load: {d}"));
    let names = infra_gen::naming::Names::new(m.project(), "local");
    // The local topology names buckets as the templates do, with local stand-ins for account and region.
    let bucket_of = |physical: &str| {
        m.prefixes.buckets.iter().map(|(b, _)| b).find(|b| {
            names
                .bucket_sub(b)
                .replace("${AWS::AccountId}", "000000000000")
                .replace("${AWS::Region}", "local")
                == physical
        })
    };
    assert!(
        writes.len() > 100,
        "the demo wrote {} objects",
        writes.len()
    );
    let mut problems = Vec::new();
    for w in &writes {
        let Some(bucket) = bucket_of(&w.bucket) else {
            problems.push(format!(
                "{} wrote to {}, not a bucket of prefixes.yaml",
                w.function, w.bucket
            ));
            continue;
        };
        match infra_gen::conform::place(&m, bucket, &w.key) {
            Some(p) if p.writers.contains(&w.function.as_str()) => {}
            Some(p) => problems.push(format!(
                "{} wrote {bucket}/{} (object '{}' of prefix '{}'), but only {:?} may write there",
                w.function, w.key, p.object, p.prefix, p.writers
            )),
            None => problems.push(format!(
                "{} wrote {bucket}/{}, which is no declared object of prefixes.yaml",
                w.function, w.key
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
