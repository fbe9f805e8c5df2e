//! A run that outgrows one invocation: each invocation stops at its deadline, writes the checkpoint
//! and invokes the function again with the same event and run id; the invocation that completes the
//! run writes the manifest and sends the one hand-off message.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use object_store::memory::InMemory;
use worklist::{EmbeddedQueue, Queue};

/// Records the events it is asked to continue with, as Lambda's asynchronous invocation would queue them.
#[derive(Default)]
struct Recorder(Mutex<Vec<ingest::IngestEvent>>);

impl ingest::Continuer for Recorder {
    fn continue_run<'a>(
        &'a self,
        event: &'a ingest::IngestEvent,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        self.0.lock().unwrap().push(event.clone());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn each_invocation_continues_the_run_until_one_completes_it_and_hands_off_once() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    let out = std::fs::File::create(&csv).unwrap();
    ingest_core::generate::generate(out, ingest_core::generate::GenOptions::new(4_000, 8, 2023))
        .unwrap();
    let data: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
    let queue = EmbeddedQueue::new("worklist");
    let recorder = Recorder::default();
    // The scheduled event names no run id: the first invocation picks one and passes it on.
    let mut event: ingest::IngestEvent = serde_json::from_value(serde_json::json!({
        "dataset": "la311", "source": csv.to_string_lossy()
    }))
    .unwrap();
    let mut invocations = 0;
    let summary = loop {
        invocations += 1;
        assert!(invocations < 100, "the run does not end");
        // A deadline already past: every invocation reads one deadline check's worth of rows.
        let summary = ingest::handle_segment(
            event.clone(),
            data.clone(),
            &queue,
            None,
            std::time::Instant::now(),
            &recorder,
        )
        .await
        .unwrap();
        if summary["continued"] == true {
            assert_eq!(summary["handed_off"], false);
            assert_eq!(
                queue.counts().await.unwrap().visible,
                0,
                "no hand-off before the end"
            );
            let next = recorder
                .0
                .lock()
                .unwrap()
                .pop()
                .expect("the next invocation was asked for");
            assert_eq!(next.source, event.source);
            assert!(next.run_id.is_some());
            if let Some(id) = &event.run_id {
                assert_eq!(
                    next.run_id.as_ref(),
                    Some(id),
                    "every segment keeps the run id"
                );
            }
            event = next;
        } else {
            break summary;
        }
    };
    assert!(invocations >= 4, "{invocations} invocations");
    assert_eq!(summary["handed_off"], true);
    assert_eq!(summary["rows_read"], 4_000);
    assert_eq!(
        queue.counts().await.unwrap().visible,
        1,
        "exactly one hand-off message"
    );
    let run_id = event.run_id.unwrap();
    let manifest = ingest_core::manifest::read(&data, prefixes::process::runs(), "la311", &run_id)
        .await
        .unwrap();
    assert_eq!(
        manifest.rows_read,
        manifest.rows_written + manifest.rows_quarantined
    );
    assert!(
        ingest_core::Checkpoint::load(&data, &grants(), "la311", &run_id)
            .await
            .unwrap()
            .is_none(),
        "the checkpoint is gone once the run is complete"
    );
    // The continuation payload is the event as the function parses it.
    let json = serde_json::to_value(ingest::IngestEvent {
        run_id: Some(run_id.clone()),
        ..serde_json::from_value(serde_json::json!({"dataset": "la311", "year": 2024})).unwrap()
    })
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"dataset": "la311", "year": 2024, "run_id": run_id})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chain_of_invocations_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("in.csv");
    let out = std::fs::File::create(&csv).unwrap();
    ingest_core::generate::generate(out, ingest_core::generate::GenOptions::new(5_000, 9, 2023))
        .unwrap();
    let data: Arc<dyn object_store::ObjectStore> = Arc::new(InMemory::new());
    let queue = EmbeddedQueue::new("worklist");
    let recorder = Recorder::default();
    let event: ingest::IngestEvent = serde_json::from_value(serde_json::json!({
        "dataset": "la311", "source": csv.to_string_lossy(), "run_id": "long"
    }))
    .unwrap();
    let now = std::time::Instant::now;
    let first = ingest::handle_segment(event.clone(), data.clone(), &queue, None, now(), &recorder)
        .await
        .unwrap();
    assert_eq!(first["segment"], 1);
    // Pretend the run has already used all but one of its invocations.
    let mut cp = ingest_core::Checkpoint::load(&data, &grants(), "la311", "long")
        .await
        .unwrap()
        .unwrap();
    cp.segments = ingest::continuation::MAX_SEGMENTS - 1;
    cp.write(&data, &grants()).await.unwrap();
    let err = ingest::handle_segment(event, data.clone(), &queue, None, now(), &recorder)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("run long stopped after 96 segments"), "{err}");
    assert!(err.contains("invoke it again with this run_id"), "{err}");
    assert_eq!(
        recorder.0.lock().unwrap().len(),
        1,
        "no further invocation was asked for"
    );
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
