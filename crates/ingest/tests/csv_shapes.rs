//! How people save files (issue #13 item 5), each from a small literal CSV through a whole run: CRLF line
//! endings, no final newline, quoted numbers, headers in any order and case, a repeated header name and an
//! unnamed index column (both kept in the raw layer, under the names `ingest_core::header` documents).

mod common;

use std::sync::Arc;

use ingest_core::header::{HeaderChange, HeaderChangeKind};
use ingest_core::run::DriftCheck;
use ingest_core::{Catalog, IngestOptions, RunManifest, SourceSpec, ingest};
use object_store::ObjectStore;
use object_store::memory::InMemory;

/// A drift check that records what ingestion hands it: the raw header and the changed names.
fn recording_check() -> DriftCheck {
    Arc::new(
        |header: &[String], changes: &[HeaderChange], rows: &[Vec<String>], _, _| {
            Some(serde_json::json!({
                "header": header,
                "header_changes": changes,
                "sampled_rows": rows.len(),
            }))
        },
    )
}

/// Ingest `csv` (written byte for byte) as la311 run `run`; the manifest and the store.
async fn check(csv: &str, run: &str) -> (RunManifest, Arc<dyn ObjectStore>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, csv).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::builtin().load("la311").unwrap();
    let opts = IngestOptions {
        run_id: Some(run.into()),
        drift: Some(recording_check()),
        ..Default::default()
    };
    let report = ingest(
        store.clone(),
        common::grants(),
        &spec,
        SourceSpec::File { path },
        opts,
    )
    .await
    .unwrap();
    let m = report.manifest;
    assert_eq!(m.rows_read, m.rows_written + m.rows_quarantined, "{m:?}");
    (m, store)
}

/// The rows of one partition as (fields, source row).
async fn rows_of(
    store: &Arc<dyn ObjectStore>,
    m: &RunManifest,
    partition: &str,
) -> Vec<(Vec<String>, u64)> {
    common::read_back(store, m)
        .await
        .remove(partition)
        .unwrap_or_default()
}

fn changes(m: &RunManifest) -> Vec<HeaderChange> {
    serde_json::from_value(m.drift.as_ref().unwrap()["header_changes"].clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crlf_without_final_newline_and_quoted_numbers_leave_no_carriage_return() {
    let csv = "SRNumber,CD,Latitude,Note\r\n\
               1-1,\"13\",\"34.0732\",first\r\n\
               1-2, 7 ,34.1,\"a, b\"\r\n\
               1-3,\"13.0\",,\"two\r\nlines\"\r\n\
               1-4,13,34.2,last";
    let (m, store) = check(csv, "crlf").await;
    assert_eq!(m.schema, ["SRNumber", "CD", "Latitude", "Note"]);
    assert_eq!(common::counts(&m).get("13"), Some(&3));
    assert_eq!(common::counts(&m).get("7"), Some(&1));
    assert_eq!(m.rows_quarantined, 0);
    let cd13 = rows_of(&store, &m, "13").await;
    let fields: Vec<Vec<&str>> = cd13
        .iter()
        .map(|(f, _)| f.iter().map(String::as_str).collect())
        .collect();
    assert_eq!(
        fields,
        [
            vec!["1-1", "13", "34.0732", "first"],
            vec!["1-3", "13.0", "", "two\r\nlines"],
            vec!["1-4", "13", "34.2", "last"],
        ]
    );
    assert_eq!(
        cd13.iter().map(|(_, n)| *n).collect::<Vec<_>>(),
        [1, 3, 4],
        "source rows count records, not lines"
    );
    assert!(changes(&m).is_empty(), "nothing renamed: {:?}", m.drift);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn headers_match_by_name_in_any_order_and_case_after_a_byte_order_mark() {
    let csv = "\u{feff}cd,srnumber,Status\n4,1-1,Open\n,1-2,Closed\n";
    let (m, _) = check(csv, "order").await;
    assert_eq!(m.schema, ["cd", "srnumber", "Status"]);
    assert_eq!(common::counts(&m).get("4"), Some(&1));
    assert_eq!(common::counts(&m).get("__missing__"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_header_name_keeps_both_columns_and_is_reported() {
    let csv = "SRNumber,Status,CD,status,cd\r\n1-1,Open,5,Closed,6\r\n1-2,Open,5,,\r\n";
    let (m, store) = check(csv, "dup").await;
    assert_eq!(m.schema, ["SRNumber", "Status", "CD", "status__2", "cd__2"]);
    // The partition is the first CD; the second one is kept as data.
    assert_eq!(common::counts(&m).get("5"), Some(&2));
    let rows = rows_of(&store, &m, "5").await;
    assert_eq!(rows[0].0, ["1-1", "Open", "5", "Closed", "6"]);
    let c = changes(&m);
    assert_eq!(
        c.iter()
            .map(|c| (
                c.position,
                c.source.as_str(),
                c.raw.as_str(),
                c.kind,
                c.first
            ))
            .collect::<Vec<_>>(),
        [
            (
                4,
                "status",
                "status__2",
                HeaderChangeKind::Duplicate,
                Some(2)
            ),
            (5, "cd", "cd__2", HeaderChangeKind::Duplicate, Some(3)),
        ]
    );
    assert_eq!(
        m.drift.as_ref().unwrap()["header"],
        serde_json::json!(m.schema),
        "the drift check sees the raw names"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leading_unnamed_index_column_is_kept_as_index() {
    // pandas `to_csv` writes its index first, under an empty name.
    let csv = ",SRNumber,CD\n0,1-1,13\n1,1-2,13\n2,1-3,2\n";
    let (m, store) = check(csv, "index").await;
    assert_eq!(m.schema, ["_index", "SRNumber", "CD"]);
    assert_eq!(common::counts(&m).get("13"), Some(&2));
    let rows = rows_of(&store, &m, "2").await;
    assert_eq!(rows[0].0, ["2", "1-3", "2"]);
    let c = changes(&m);
    assert_eq!(c.len(), 1);
    assert_eq!(
        (
            c[0].position,
            c[0].source.as_str(),
            c[0].raw.as_str(),
            c[0].kind
        ),
        (1, "", "_index", HeaderChangeKind::Unnamed)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_resumed_from_its_checkpoint_keeps_the_renamed_header() {
    // Enough rows for several segments; the header repeats a name and has an unnamed index column.
    let mut csv = String::from(",SRNumber,CD,SRNumber\r\n");
    for i in 0..3000 {
        csv += &format!("{i},1-{i},{},x{i}\r\n", i % 15 + 1);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, &csv).unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::builtin().load("la311").unwrap();
    let (m, segments) =
        common::run_in_segments(&store, &spec, SourceSpec::File { path }, "seg").await;
    assert!(segments > 1, "{segments}");
    assert_eq!(m.schema, ["_index", "SRNumber", "CD", "SRNumber__2"]);
    assert_eq!(m.rows_read, 3000);
    assert_eq!(m.rows_written, 3000);
    let back = common::read_back(&store, &m).await;
    assert_eq!(back.values().map(Vec::len).sum::<usize>(), 3000);
    assert!(back["1"].iter().any(|(f, _)| f == &["0", "1-0", "1", "x0"]));
}
