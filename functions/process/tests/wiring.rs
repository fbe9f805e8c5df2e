//! `process::Function` wires itself from the platform's variables only: every generated name it reads must be
//! set, and each one reaches the resource mapped for it.

use std::sync::Arc;

use platform::Local;
use worklist::EmbeddedQueue;

fn names() -> Vec<(&'static str, String)> {
    use prefixes::{buckets, queues};
    vec![
        (buckets::DATA.env, "phys-data".into()),
        (buckets::LEDGER.env, "phys-ledger".into()),
        (queues::WORKLIST.env, "url-work".into()),
        (queues::WORKLIST.dlq_env.unwrap(), "url-dlq".into()),
    ]
}

fn local(dir: &std::path::Path) -> Local {
    let mut p = Local::new();
    p.map_bucket("phys-data", dir.join("data"))
        .map_bucket("phys-ledger", dir.join("ledger"))
        .map_queue("url-work", Arc::new(EmbeddedQueue::new("work")))
        .map_queue("url-dlq", Arc::new(EmbeddedQueue::new("dlq")));
    p
}

#[test]
fn every_variable_the_function_reads_is_one_the_template_sets() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = local(tmp.path());
    let all = names();
    for (missing, _) in &all {
        let env = all
            .iter()
            .filter(|(k, _)| k != missing)
            .map(|(k, v)| (k.to_string(), v.clone()));
        let err = process::Function::new(&shared.with_env(env))
            .err()
            .unwrap_or_else(|| panic!("wired without {missing}"))
            .to_string();
        assert!(err.contains(missing), "{err}");
        assert!(
            prefixes::process::ENV.contains(missing),
            "{missing} is not in the generated env list"
        );
    }
    let env = all.iter().map(|(k, v)| (k.to_string(), v.clone()));
    let f = process::Function::new(&shared.with_env(env)).unwrap();
    assert_eq!(
        f.consumer.config.layers,
        ["transform", "analyze", "correlate"]
    );
    assert!(
        f.consumer.runners.hook("analyze").is_some(),
        "city-wide pass at analyze fan-in"
    );
    assert!(
        f.consumer.runners.hook("correlate").is_some(),
        "q-values, association table and events at correlate fan-in"
    );
    assert!(tmp.path().join("data").is_dir() && tmp.path().join("ledger").is_dir());
}
