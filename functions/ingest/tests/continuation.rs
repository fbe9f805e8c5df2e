//! A run that outgrows one invocation: each invocation stops at its deadline, writes the checkpoint
//! and invokes the function again (through the platform) with the same event and run id; the invocation that
//! completes the run writes the manifest and sends the one hand-off message.

mod common;

use worklist::Queue;

#[tokio::test(flavor = "multi_thread")]
async fn each_invocation_continues_the_run_until_one_completes_it_and_hands_off_once() {
    let dir = tempfile::tempdir().unwrap();
    let csv = common::generated_csv(dir.path(), 4_000, 8, 2023);
    let common::Setup {
        platform,
        queue,
        data,
    } = common::setup(dir.path(), &[]);
    let function = ingest::Function::new(&platform).await.unwrap();
    // The scheduled event names no run id: the first invocation picks one and passes it on.
    let mut event = serde_json::json!({"dataset": "la311", "source": csv.to_string_lossy()});
    let mut invocations = 0;
    let summary = loop {
        invocations += 1;
        assert!(invocations < 100, "the run does not end");
        // A deadline already past: every invocation reads one deadline check's worth of rows.
        let summary = function
            .handle(event.clone(), Some(std::time::Instant::now()))
            .await
            .unwrap();
        if summary["continued"] == true {
            assert_eq!(summary["handed_off"], false);
            assert_eq!(
                queue.counts().await.unwrap().visible,
                0,
                "no hand-off before the end"
            );
            let next = platform
                .next_invocation()
                .expect("the next invocation was asked for");
            assert!(
                platform.next_invocation().is_none(),
                "one continuation per segment"
            );
            assert_eq!(next["source"], event["source"]);
            assert!(next["run_id"].is_string());
            if event["run_id"].is_string() {
                assert_eq!(
                    next["run_id"], event["run_id"],
                    "every segment keeps the run id"
                );
            }
            event = next;
        } else {
            break summary;
        }
    };
    assert!(invocations >= 4, "{invocations} invocations");
    assert!(
        platform.next_invocation().is_none(),
        "the last one continues nothing"
    );
    assert_eq!(summary["handed_off"], true);
    assert_eq!(summary["rows_read"], 4_000);
    assert_eq!(
        queue.counts().await.unwrap().visible,
        1,
        "exactly one hand-off message"
    );
    let run_id = event["run_id"].as_str().unwrap().to_owned();
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
    let csv = common::generated_csv(dir.path(), 5_000, 9, 2023);
    let common::Setup { platform, data, .. } = common::setup(dir.path(), &[]);
    let function = ingest::Function::new(&platform).await.unwrap();
    let event = serde_json::json!({
        "dataset": "la311", "source": csv.to_string_lossy(), "run_id": "long"
    });
    let now = || Some(std::time::Instant::now());
    let first = function.handle(event.clone(), now()).await.unwrap();
    assert_eq!(first["segment"], 1);
    assert!(platform.next_invocation().is_some());
    // Pretend the run has already used all but one of its invocations.
    let mut cp = ingest_core::Checkpoint::load(&data, &grants(), "la311", "long")
        .await
        .unwrap()
        .unwrap();
    cp.segments = ingest::continuation::MAX_SEGMENTS - 1;
    cp.write(&data, &grants()).await.unwrap();
    let err = function.handle(event, now()).await.unwrap_err();
    assert_eq!(err.category, ingest::Category::Internal);
    let err = err.to_string();
    assert!(err.contains("run long stopped after 96 segments"), "{err}");
    assert!(err.contains("invoke it again with this run_id"), "{err}");
    assert!(
        platform.next_invocation().is_none(),
        "no further invocation was asked for"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_platform_that_cannot_invoke_the_function_fails_the_segment_as_retryable() {
    let dir = tempfile::tempdir().unwrap();
    let csv = common::generated_csv(dir.path(), 3_000, 2, 2023);
    let common::Setup { platform, .. } = common::setup(dir.path(), &[]);
    // A platform of no function has nobody to invoke.
    let anonymous = platform.with_env(platform.env().clone());
    let function = ingest::Function::new(&anonymous).await.unwrap();
    let event = serde_json::json!({"dataset": "la311", "source": csv.to_string_lossy()});
    let err = function
        .handle(event, Some(std::time::Instant::now()))
        .await
        .unwrap_err();
    assert_eq!(err.category, ingest::Category::Retryable, "{err}");
    assert!(err.to_string().contains("to continue"), "{err}");
}

/// The `ingest` function's grants, which these tests act as.
#[allow(dead_code)]
fn grants() -> ingest_core::Locations {
    ingest::Locations::granted().ingestion()
}
