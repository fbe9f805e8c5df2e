//! A run stopped at a deadline (a Lambda invocation's 15 minutes) and continued from its checkpoint,
//! segment after segment, ends with exactly the rows, files and quarantine of a one-shot run: plain
//! and gzip files, and the checkpoint's guards.

mod common;

use std::sync::Arc;

use ingest_core::generate::{GenOptions, generate};
use ingest_core::{
    Catalog, Checkpoint, IngestOptions, Segment, SourceSpec, ingest, ingest_segment,
};
use object_store::ObjectStore;
use object_store::memory::InMemory;

/// A one-shot run and a segmented run of `source` must agree on everything a later layer reads.
async fn segmented_equals_one_shot(source: SourceSpec, min_segments: u32) {
    let spec = Catalog::builtin().load("la311").unwrap();
    let one: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = IngestOptions {
        run_id: Some("one".into()),
        ..Default::default()
    };
    let want = ingest(one.clone(), common::grants(), &spec, source.clone(), opts)
        .await
        .unwrap()
        .manifest;
    let seg: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let (got, segments) = common::run_in_segments(&seg, &spec, source, "seg").await;
    assert!(segments >= min_segments, "{segments} segments");
    assert_eq!(
        (got.rows_read, got.rows_written, got.rows_quarantined),
        (want.rows_read, want.rows_written, want.rows_quarantined)
    );
    assert_eq!(got.schema, want.schema);
    assert_eq!(common::counts(&got), common::counts(&want));
    assert_eq!(
        common::read_back(&seg, &got).await,
        common::read_back(&one, &want).await,
        "same rows in the same order with the same _source_row"
    );
    assert_eq!(
        common::quarantined(&seg, &got).await,
        common::quarantined(&one, &want).await,
        "same quarantined rows, with the same line numbers"
    );
    // Every segment closed its files: part numbers go on without gaps or overwrites.
    for p in &got.partitions {
        for (i, key) in p.keys.iter().enumerate() {
            assert!(key.ends_with(&format!("part-{i:05}.parquet")), "{key}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_file_continues_exactly_where_it_stopped() {
    let (_dir, path, stats) = common::generated_csv(5_000, 11, 2023);
    assert!(stats.malformed > 0, "the sample has rows to quarantine");
    segmented_equals_one_shot(SourceSpec::File { path }, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gzip_file_is_decompressed_up_to_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.csv.gz");
    let gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), Default::default());
    generate(gz, GenOptions::new(3_500, 12, 2017)).unwrap();
    segmented_equals_one_shot(SourceSpec::File { path }, 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_for_another_source_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.csv");
    let b = dir.path().join("b.csv");
    generate(
        std::fs::File::create(&a).unwrap(),
        GenOptions::new(3_000, 1, 2023),
    )
    .unwrap();
    generate(
        std::fs::File::create(&b).unwrap(),
        GenOptions::new(3_000, 2, 2023),
    )
    .unwrap();
    let spec = Catalog::builtin().load("la311").unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = IngestOptions {
        run_id: Some("r".into()),
        deadline: Some(std::time::Instant::now()),
        ..Default::default()
    };
    let first = ingest_segment(
        store.clone(),
        common::grants(),
        &spec,
        SourceSpec::File { path: a },
        opts.clone(),
    )
    .await
    .unwrap();
    let Segment::Suspended {
        key, checkpoint, ..
    } = first
    else {
        panic!("a passed deadline suspends the run")
    };
    assert_eq!(key, "runs/la311/run=r/checkpoint.json");
    assert_eq!(checkpoint.rows_read, ingest_core::run::DEADLINE_CHECK_ROWS);
    let err = ingest_segment(
        store.clone(),
        common::grants(),
        &spec,
        SourceSpec::File { path: b },
        opts,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("has a checkpoint for source file"), "{err}");
    assert!(err.contains("use another run id"), "{err}");
    // The checkpoint is intact and no manifest was written.
    assert!(
        Checkpoint::load(&store, &common::grants(), "la311", "r")
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        ingest_core::manifest::read(&store, prefixes::process::runs(), "la311", "r")
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_left_next_to_a_manifest_is_ignored() {
    // In AWS the role may write `runs/` but not delete: the checkpoint of a complete run can stay.
    let (_dir, path, _) = common::generated_csv(3_000, 3, 2023);
    let spec = Catalog::builtin().load("la311").unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let source = SourceSpec::File { path };
    let opts = IngestOptions {
        run_id: Some("left".into()),
        deadline: Some(std::time::Instant::now()),
        ..Default::default()
    };
    let Segment::Suspended { checkpoint, .. } = ingest_segment(
        store.clone(),
        common::grants(),
        &spec,
        source.clone(),
        opts.clone(),
    )
    .await
    .unwrap() else {
        panic!("a passed deadline suspends the run")
    };
    let done = ingest(
        store.clone(),
        common::grants(),
        &spec,
        source.clone(),
        opts.clone(),
    )
    .await
    .unwrap()
    .manifest;
    assert_eq!(done.rows_read, 3_000);
    let want = common::read_back(&store, &done).await;
    checkpoint.write(&store, &common::grants()).await.unwrap();
    // A rerun of the complete run starts over instead of continuing from the stale checkpoint.
    let again = ingest(
        store.clone(),
        common::grants(),
        &spec,
        source.clone(),
        opts.clone(),
    )
    .await
    .unwrap()
    .manifest;
    assert_eq!(again.rows_read, 3_000);
    assert_eq!(common::counts(&again), common::counts(&done));
    assert_eq!(common::read_back(&store, &again).await, want);
    // A rerun that itself needs several segments continues its own checkpoint, although the old
    // manifest is still there (its checkpoint starts later than that manifest's run).
    assert!(
        Checkpoint::load(&store, &common::grants(), "la311", "left")
            .await
            .unwrap()
            .is_none(),
        "removed by the completed rerun"
    );
    let mut cp = (*checkpoint).clone();
    cp.started_at = "2999-01-01T00:00:00Z".into();
    cp.write(&store, &common::grants()).await.unwrap();
    let Segment::Suspended {
        checkpoint: next, ..
    } = ingest_segment(store.clone(), common::grants(), &spec, source, opts)
        .await
        .unwrap()
    else {
        panic!("the rerun's checkpoint is continued, and the deadline suspends it again")
    };
    assert_eq!(next.segments, checkpoint.segments + 1);
    assert!(next.rows_read > checkpoint.rows_read);
    assert_eq!(next.started_at, "2999-01-01T00:00:00Z");
}
