//! The demo pipeline in process with the local platform's write log: every object a function wrote is recorded
//! with the function and the bucket's physical name, and the log matches what is on disk.

use std::collections::BTreeSet;

#[test]
fn the_demo_in_process_records_every_write_per_function() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let mut demo = civic::local::demo::Demo::new(&store, 20_000);
    demo.write_log = true;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let outcome = rt.block_on(async {
        let outcome = civic::local::demo::run(&demo).await.unwrap();
        let writes = outcome.writes.clone();
        outcome.api.stop().await;
        (outcome.ok, outcome.run_id, writes)
    });
    let (ok, run, writes) = outcome;
    assert!(ok, "the demo's accounting adds up");
    let data = "civic-local-data-000000000000-local";
    let ledger = "civic-local-ledger-000000000000-local";
    let functions: BTreeSet<&str> = writes.iter().map(|w| w.function.as_str()).collect();
    assert_eq!(
        functions,
        BTreeSet::from(["ingest", "process"]),
        "the ledger API served reads only"
    );
    let by = |function: &str, bucket: &str, prefix: &str| {
        writes
            .iter()
            .filter(|w| w.function == function && w.bucket == bucket && w.key.starts_with(prefix))
            .count()
    };
    assert!(by("ingest", data, &format!("raw/la311/run={run}/")) >= 15);
    assert_eq!(
        by(
            "ingest",
            data,
            &format!("runs/la311/run={run}/manifest.json")
        ),
        1
    );
    assert!(by("process", data, "canonical/la311/") >= 15);
    assert!(by("process", data, "processed/la311/") >= 15);
    assert!(by("process", ledger, "stakeholders/la311/") >= 1);
    // Findings: every event file in the ledger bucket was written by the process function.
    let events: BTreeSet<String> = walk(&store.join("ledger/events"))
        .into_iter()
        .map(|p| format!("events/{p}"))
        .collect();
    assert!(!events.is_empty(), "the demo appended findings");
    let logged: BTreeSet<String> = writes
        .iter()
        .filter(|w| w.function == "process" && w.bucket == ledger && w.key.starts_with("events/"))
        .map(|w| w.key.clone())
        .collect();
    assert_eq!(logged, events);
    assert_eq!(by("ingest", ledger, ""), 0, "ingest has no ledger bucket");
    assert_eq!(by("process", data, "raw/"), 0, "process only reads raw");
    // Every recorded key of the data bucket is an object on disk (temporary files of the local store aside).
    for w in writes.iter().filter(|w| w.bucket == data) {
        let path = store.join("data").join(&w.key);
        let gone_on_purpose = w.key.ends_with("checkpoint.json");
        assert!(
            path.is_file() || gone_on_purpose,
            "{} was written but is not in the store",
            w.key
        );
    }
    // Without the log, nothing is recorded.
    let mut quiet = civic::local::demo::Demo::new(tmp.path().join("quiet"), 1_000);
    quiet.write_log = false;
    let writes = rt.block_on(async {
        let outcome = civic::local::demo::run(&quiet).await.unwrap();
        outcome.api.stop().await;
        outcome.writes
    });
    assert!(writes.is_empty());
}

/// Relative paths of the files under `dir`.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    out
}
