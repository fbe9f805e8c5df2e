//! The handler ingests a source and hands exactly one worklist message, listing every partition, to the queue.

use std::sync::Arc;

use object_store::memory::InMemory;
use worklist::{EmbeddedQueue, Queue};

#[tokio::test(flavor = "multi_thread")]
async fn ingests_then_sends_one_message_listing_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    let out = std::fs::File::create(&csv).unwrap();
    ingest_core::generate::generate(out, ingest_core::generate::GenOptions::new(3_000, 3, 2019))
        .unwrap();
    let data: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
    let queue = EmbeddedQueue::new("worklist");
    let event: ingest::IngestEvent = serde_json::from_value(serde_json::json!({
        "dataset": "la311", "source": csv.to_string_lossy(), "run_id": "r1"
    }))
    .unwrap();
    let summary = ingest::handle(event, data.clone(), &queue, None)
        .await
        .unwrap();
    assert_eq!(
        summary["rows_read"].as_u64(),
        Some(
            summary["rows_written"].as_u64().unwrap()
                + summary["rows_quarantined"].as_u64().unwrap()
        )
    );
    let counts = queue.counts().await.unwrap();
    assert_eq!(counts.visible, 1, "exactly one hand-off message");
    let msg = queue
        .receive(
            1,
            std::time::Duration::from_secs(30),
            std::time::Duration::ZERO,
        )
        .await
        .unwrap()
        .pop()
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&msg.body).unwrap();
    let text = body.to_string();
    assert!(text.contains("\"transform\""), "{text}");
    // Every partition of the manifest is a job in the message.
    let manifest = ingest_core::manifest::read(&data, prefixes::process::runs(), "la311", "r1")
        .await
        .unwrap();
    let jobs = ingest_core::job_ids(&manifest);
    // The schema-drift report of the source is stored in the manifest; generated 2019 data matches its era.
    let drift = manifest
        .drift
        .as_ref()
        .expect("drift report in the manifest");
    assert_eq!(drift["dataset"], "la311", "{drift}");
    assert!(
        drift["new_columns"]
            .as_array()
            .is_some_and(|a| a.is_empty()),
        "{drift}"
    );
    assert!(jobs.len() >= 15, "{jobs:?}");
    assert_eq!(summary["jobs"].as_u64().unwrap() as usize, jobs.len());
    for j in &jobs {
        assert!(
            text.contains(&format!("\"{j}\"")),
            "job {j} missing from {text}"
        );
    }
}


/// The `ingest` function's grants, which these tests act as.
#[allow(dead_code)]
fn grants() -> ingest_core::Locations {
    ingest_core::Locations {
        raw: prefixes::ingest::raw(),
        quarantine: prefixes::ingest::quarantine(),
        runs: prefixes::ingest::runs(),
    }
}
