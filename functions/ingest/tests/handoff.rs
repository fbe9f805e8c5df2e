//! The handler ingests a source and hands exactly one worklist message, listing every partition, to the queue.

mod common;

use worklist::Queue;

#[tokio::test(flavor = "multi_thread")]
async fn ingests_then_sends_one_message_listing_every_partition() {
    let dir = tempfile::tempdir().unwrap();
    let csv = common::generated_csv(dir.path(), 3_000, 3, 2019);
    let common::Setup {
        platform,
        queue,
        data,
    } = common::setup(dir.path(), &[]);
    let function = ingest::Function::new(&platform).await.unwrap();
    assert!(!function.has_app_token(), "no parameter variable, no token");
    let event = serde_json::json!({
        "dataset": "la311", "source": csv.to_string_lossy(), "run_id": "r1"
    });
    let summary = function.handle(event, None).await.unwrap();
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

#[tokio::test(flavor = "multi_thread")]
async fn failures_name_their_category() {
    let dir = tempfile::tempdir().unwrap();
    let common::Setup {
        platform, queue, ..
    } = common::setup(dir.path(), &[]);
    let function = ingest::Function::new(&platform).await.unwrap();
    for (event, category) in [
        (
            serde_json::json!({"dataset": "la311", "sauce": "x.csv"}),
            ingest::Category::BadInput,
        ),
        (
            serde_json::json!({"dataset": "nyc311", "source": "x.csv"}),
            ingest::Category::BadInput,
        ),
        (
            serde_json::json!({"dataset": "la311", "source": "x.csv", "run_id": "a/b"}),
            ingest::Category::BadInput,
        ),
    ] {
        let err = function.handle(event.clone(), None).await.unwrap_err();
        assert_eq!(err.category, category, "{event}: {err}");
        assert!(err.to_string().starts_with("bad_input: "), "{err}");
    }
    assert_eq!(
        queue.counts().await.unwrap().visible,
        0,
        "nothing handed off"
    );
    // Wiring without the variables the template sets is a deployment problem.
    let bare = platform.for_function("ingest", Vec::new());
    let err = ingest::Function::new(&bare).await.err().unwrap();
    assert_eq!(err.category, ingest::Category::Internal, "{err}");
    assert!(
        err.to_string().contains(prefixes::buckets::DATA.env),
        "{err}"
    );
}

/// The `ingest` function's grants, which these tests act as.
#[allow(dead_code)]
fn grants() -> ingest_core::Locations {
    ingest::Locations::granted().ingestion()
}
