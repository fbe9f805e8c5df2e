//! The local platform: a function's generated names resolve to the folders and queues mapped for them, and what
//! is missing is named.

use std::sync::Arc;
use std::time::Duration;

use object_store::{ObjectStoreExt, PutPayload};
use platform::{Local, Platform};
use worklist::{EmbeddedQueue, Queue};

const DATA: prefixes::Bucket = prefixes::buckets::DATA;
const WORKLIST: prefixes::Queue = prefixes::queues::WORKLIST;

fn platform(dir: &std::path::Path, queue: Arc<EmbeddedQueue>) -> Local {
    let mut shared = Local::new();
    shared
        .map_bucket("civic-local-data-000000000000-local", dir.join("data"))
        .map_queue("https://sqs.local/civic-local-worklist", queue);
    shared.with_env([
        (
            DATA.env.to_owned(),
            "civic-local-data-000000000000-local".to_owned(),
        ),
        (
            WORKLIST.env.to_owned(),
            "https://sqs.local/civic-local-worklist".to_owned(),
        ),
    ])
}

#[tokio::test]
async fn generated_names_open_the_mapped_folder_and_queue() {
    let tmp = tempfile::tempdir().unwrap();
    let queue = Arc::new(EmbeddedQueue::new("worklist"));
    let p = platform(tmp.path(), queue.clone());
    let store = p.bucket(DATA).unwrap();
    store
        .put(&"runs/x.json".into(), PutPayload::from_static(b"{}"))
        .await
        .unwrap();
    assert_eq!(
        std::fs::read(tmp.path().join("data/runs/x.json")).unwrap(),
        b"{}"
    );
    p.queue(WORKLIST)
        .unwrap()
        .send("hello", None)
        .await
        .unwrap();
    let got = queue
        .receive(1, Duration::from_secs(1), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(got[0].body, "hello");
}

#[test]
fn missing_variables_buckets_and_queues_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let p = platform(tmp.path(), Arc::new(EmbeddedQueue::new("worklist")));
    let err = p
        .bucket(prefixes::buckets::LEDGER)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("CIVIC_BUCKET_LEDGER"), "{err}");
    let err = p.dlq_url(WORKLIST).unwrap_err().to_string();
    assert!(err.contains("CIVIC_QUEUE_WORKLIST_DLQ_URL"), "{err}");
    let err = p.open_bucket("elsewhere").err().unwrap().to_string();
    assert!(
        err.contains("elsewhere") && err.contains("civic-local-data-000000000000-local"),
        "{err}"
    );
    let other = p.with_env([(WORKLIST.env.to_owned(), "https://sqs.local/nope".to_owned())]);
    let err = other.queue(WORKLIST).err().unwrap().to_string();
    assert!(
        err.contains("https://sqs.local/nope") && err.contains("civic-local-worklist"),
        "{err}"
    );
    assert!(
        other.var(DATA.env).is_none(),
        "with_env replaces the variables"
    );
}
