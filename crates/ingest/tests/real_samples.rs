//! Real MyLA311 samples from testdata/la311 (committed gzip'd, read by ingestion as they are):
//! per-district counts equal the published ones, the Parquet reads back identically, and the
//! malformed 2023 row is quarantined with its reason.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use ingest_core::{Catalog, IngestOptions, SourceSpec, ingest};
use object_store::ObjectStore;
use object_store::memory::InMemory;

/// Published counts (testdata/README.md), "empty" mapped to `__missing__`.
fn expected(spec: &str) -> BTreeMap<String, u64> {
    spec.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once(':').unwrap();
            let k = if k == "empty" { "__missing__" } else { k };
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

async fn check_sample(file: &str, counts: &str, total: u64, columns: usize) {
    let spec = Catalog::builtin().load("la311").unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = IngestOptions {
        drift: None,
        run_id: Some("t".into()),
        ..Default::default()
    };
    let report = ingest(
        store.clone(),
        common::grants(),
        &spec,
        SourceSpec::File {
            path: common::testdata_la311(file),
        },
        opts,
    )
    .await
    .unwrap();
    let m = &report.manifest;
    assert_eq!(m.rows_read, total);
    assert_eq!(m.rows_quarantined, 0);
    assert_eq!(m.schema.len(), columns);
    assert_eq!(common::counts(m), expected(counts));
    // Read back: identical counts, every source row exactly once, CD column matches its partition.
    let back = common::read_back(&store, m).await;
    let cd = m
        .schema
        .iter()
        .position(|c| c.eq_ignore_ascii_case("cd"))
        .unwrap();
    let mut seen: Vec<u64> = Vec::new();
    for (value, rows) in &back {
        for (fields, src) in rows {
            assert_eq!(fields.len(), columns);
            let want = if value == "__missing__" {
                ""
            } else {
                value.as_str()
            };
            assert_eq!(fields[cd].trim(), want);
            seen.push(*src);
        }
    }
    seen.sort_unstable();
    assert_eq!(seen, (1..=total).collect::<Vec<_>>());
    assert_eq!(report.manifest_key, "runs/la311/run=t/manifest.json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_2017_counts_per_district() {
    check_sample(
        "myla311_2017_sample.csv",
        "1:698 2:548 3:669 4:495 5:540 6:584 7:694 8:598 9:831 10:721 11:463 12:673 13:1031 14:783 15:667 empty:4",
        9_999,
        33,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_2018_counts_per_district() {
    check_sample(
        "myla311_2018_sample.csv",
        "1:601 2:638 3:581 4:594 5:549 6:683 7:522 8:832 9:624 10:692 11:487 12:690 13:1004 14:827 15:667 empty:9",
        10_000,
        33,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sample_2020_lowercase_api_header_counts_per_district() {
    check_sample(
        "myla311_2020_api_fieldnames_sample.csv",
        "1:448 2:572 3:657 4:553 5:577 6:655 7:1013 8:632 9:431 10:636 11:511 12:604 13:854 14:1025 15:821 empty:11",
        10_000,
        35,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_2023_shifted_row_is_quarantined_with_reason() {
    let spec = Catalog::builtin().load("la311").unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = IngestOptions {
        drift: None,
        run_id: Some("q".into()),
        ..Default::default()
    };
    let path = common::testdata_la311("myla311_2023_fixture.csv");
    let m = ingest(
        store.clone(),
        common::grants(),
        &spec,
        SourceSpec::File { path },
        opts,
    )
    .await
    .unwrap()
    .manifest;
    assert_eq!((m.rows_read, m.rows_written, m.rows_quarantined), (2, 1, 1));
    assert_eq!(common::counts(&m), BTreeMap::from([("10".to_string(), 1)]));
    assert_eq!(
        m.quarantine_keys,
        vec!["quarantine/la311/run=q/ingest/part-00000.jsonl"]
    );
    let q = common::quarantined(&store, &m).await;
    assert_eq!(q.len(), 1);
    assert_eq!((q[0].line, q[0].row, q[0].fields), (2, 1, 33));
    assert_eq!(q[0].reason, "wrong field count: expected 34, found 33");
    assert!(q[0].raw.as_deref().unwrap().contains("Monica Rodriguez"));
}
