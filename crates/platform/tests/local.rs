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

#[tokio::test]
async fn parameters_are_not_set_unless_provided() {
    let tmp = tempfile::tempdir().unwrap();
    let mut p = platform(tmp.path(), Arc::new(EmbeddedQueue::new("worklist")));
    let name = "/civic/local/ingestion/socrata-app-token";
    assert_eq!(p.parameter(name).await.unwrap(), None, "no SSM locally");
    p.set_parameter(name, "tok");
    assert_eq!(p.parameter(name).await.unwrap().as_deref(), Some("tok"));
    assert!(
        !format!("{p:?}").contains("tok\""),
        "Debug shows parameter names, never values: {p:?}"
    );
    let param = prefixes::ingest::parameters::SOCRATA_APP_TOKEN;
    assert_eq!(p.parameter_name(&param), None, "its variable is not set");
    let with = p.with_env([(param.env.to_owned(), name.to_owned())]);
    assert_eq!(with.parameter_name(&param).as_deref(), Some(name));
}

#[tokio::test]
async fn self_invocations_wait_for_their_function_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    let shared = platform(tmp.path(), Arc::new(EmbeddedQueue::new("worklist")));
    let ingest = shared.for_function("ingest", shared.env().clone());
    let other = shared.for_function("process", shared.env().clone());
    ingest
        .invoke_self(&serde_json::json!({"n": 1}))
        .await
        .unwrap();
    ingest
        .invoke_self(&serde_json::json!({"n": 2}))
        .await
        .unwrap();
    assert_eq!(
        other.next_invocation(),
        None,
        "another function's invocations"
    );
    assert_eq!(ingest.next_invocation(), Some(serde_json::json!({"n": 1})));
    assert_eq!(ingest.next_invocation(), Some(serde_json::json!({"n": 2})));
    assert_eq!(ingest.next_invocation(), None);
    let err = shared
        .invoke_self(&serde_json::json!({}))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("serves no function"), "{err}");
}

#[tokio::test]
async fn the_write_log_records_puts_multipart_uploads_and_copies_per_function() {
    use object_store::{ObjectStore, WriteMultipart};
    let tmp = tempfile::tempdir().unwrap();
    let mut shared = platform(tmp.path(), Arc::new(EmbeddedQueue::new("worklist")));
    let before = shared.for_function("early", shared.env().clone());
    shared.with_write_log();
    let f = shared.for_function("ingest", shared.env().clone());
    let store = f.bucket(DATA).unwrap();
    store
        .put(&"a.json".into(), PutPayload::from_static(b"{}"))
        .await
        .unwrap();
    let mut upload = WriteMultipart::new(store.put_multipart(&"b.bin".into()).await.unwrap());
    upload.write(b"bytes");
    upload.finish().await.unwrap();
    store
        .copy(&"a.json".into(), &"c.json".into())
        .await
        .unwrap();
    store.get(&"a.json".into()).await.unwrap();
    let _ = store.list(None);
    before
        .bucket(DATA)
        .unwrap()
        .put(&"unlogged".into(), PutPayload::from_static(b"x"))
        .await
        .unwrap();
    let keys: Vec<(String, String, String)> = shared
        .writes()
        .into_iter()
        .map(|w| (w.function, w.bucket, w.key))
        .collect();
    let phys = "civic-local-data-000000000000-local".to_owned();
    assert_eq!(
        keys,
        [
            ("ingest".into(), phys.clone(), "a.json".into()),
            ("ingest".into(), phys.clone(), "b.bin".into()),
            ("ingest".into(), phys, "c.json".into()),
        ]
    );
    assert!(
        tmp.path().join("data/c.json").is_file(),
        "the writes happened"
    );
}
