//! Test helpers: read a run back from the store (Parquet rows per partition, quarantine lines).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, StringArray, UInt64Array};
use ingest_core::RunManifest;
use ingest_core::quarantine::QuarantinedRow;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A real MyLA311 sample committed gzip'd under `testdata/la311/` (see testdata/README.md), as the `.gz`
/// path: ingestion reads gzip as it is. Panics when it is missing: the samples travel with the repository.
pub fn testdata_la311(name: &str) -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/la311")
        .join(format!("{name}.gz"));
    assert!(
        path.is_file(),
        "{} is missing: the real samples are committed under testdata/ (see testdata/README.md)",
        path.display()
    );
    path
}

pub async fn get(store: &Arc<dyn ObjectStore>, key: &str) -> bytes::Bytes {
    store
        .get(&Path::from(key))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
}

/// Every row of a run, read back from its Parquet files: partition -> rows (fields + `_source_row`).
pub async fn read_back(
    store: &Arc<dyn ObjectStore>,
    m: &RunManifest,
) -> BTreeMap<String, Vec<(Vec<String>, u64)>> {
    let mut out = BTreeMap::new();
    for p in &m.partitions {
        let mut rows = Vec::new();
        let mut bytes = 0;
        for key in &p.keys {
            let data = get(store, key).await;
            bytes += data.len() as u64;
            let reader = ParquetRecordBatchReaderBuilder::try_new(data)
                .unwrap()
                .build()
                .unwrap();
            for batch in reader {
                let batch = batch.unwrap();
                let n = batch.num_columns();
                assert_eq!(batch.schema().field(n - 1).name(), "_source_row");
                let cols: Vec<&StringArray> = (0..n - 1)
                    .map(|i| {
                        batch
                            .column(i)
                            .as_any()
                            .downcast_ref::<StringArray>()
                            .unwrap()
                    })
                    .collect();
                let src = batch
                    .column(n - 1)
                    .as_any()
                    .downcast_ref::<UInt64Array>()
                    .unwrap();
                for r in 0..batch.num_rows() {
                    assert!(cols.iter().all(|c| !c.is_null(r)));
                    rows.push((
                        cols.iter().map(|c| c.value(r).to_string()).collect(),
                        src.value(r),
                    ));
                }
            }
        }
        assert_eq!(bytes, p.bytes, "manifest bytes of partition {}", p.value);
        assert_eq!(
            rows.len() as u64,
            p.rows,
            "manifest rows of partition {}",
            p.value
        );
        out.insert(p.value.clone(), rows);
    }
    out
}

/// Every quarantined row of a run.
pub async fn quarantined(store: &Arc<dyn ObjectStore>, m: &RunManifest) -> Vec<QuarantinedRow> {
    let mut out = Vec::new();
    for key in &m.quarantine_keys {
        let data = get(store, key).await;
        for line in data.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            out.push(serde_json::from_slice(line).unwrap());
        }
    }
    out
}

/// Per-partition row counts from the manifest.
pub fn counts(m: &RunManifest) -> BTreeMap<String, u64> {
    m.partitions
        .iter()
        .map(|p| (p.value.clone(), p.rows))
        .collect()
}

/// Run `source` as a chain of segments, each stopped by an already-passed deadline (so every
/// segment reads [`ingest_core::run::DEADLINE_CHECK_ROWS`] rows, closes its files and writes a
/// checkpoint), until the run completes. Returns the manifest and the number of segments.
pub async fn run_in_segments(
    store: &Arc<dyn ObjectStore>,
    spec: &ingest_core::DatasetSpec,
    source: ingest_core::SourceSpec,
    run_id: &str,
) -> (RunManifest, u32) {
    use ingest_core::{Checkpoint, IngestOptions, Segment, ingest_segment};
    let mut segments = 0;
    let mut last_rows = 0;
    loop {
        segments += 1;
        assert!(segments < 10_000, "the run does not end");
        let opts = IngestOptions {
            run_id: Some(run_id.into()),
            deadline: Some(std::time::Instant::now()),
            ..Default::default()
        };
        match ingest_segment(store.clone(), grants(), spec, source.clone(), opts)
            .await
            .unwrap()
        {
            Segment::Complete(report) => {
                assert!(
                    Checkpoint::load(store, &grants(), &spec.id, run_id)
                        .await
                        .unwrap()
                        .is_none(),
                    "the checkpoint is removed once the manifest is written"
                );
                return (report.manifest, segments);
            }
            Segment::Suspended { checkpoint, .. } => {
                assert_eq!(checkpoint.segments, segments);
                assert!(
                    checkpoint.rows_read > last_rows,
                    "every segment makes progress"
                );
                last_rows = checkpoint.rows_read;
            }
        }
    }
}

/// The `ingest` function's grants, which these tests act as.
#[allow(dead_code)]
pub fn grants() -> ingest_core::Locations {
    ingest_core::Locations {
        raw: prefixes::ingest::raw(),
        quarantine: prefixes::ingest::quarantine(),
        runs: prefixes::ingest::runs(),
    }
}

/// A generated MyLA311-shaped CSV of `rows` rows (`seed`, `year`) in a new temporary directory: the directory
/// (keep it alive while the file is used), the file, and what the generator wrote.
pub fn generated_csv(
    rows: u64,
    seed: u64,
    year: i32,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    ingest_core::generate::GenStats,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.csv");
    let file = std::fs::File::create(&path).unwrap();
    let stats = ingest_core::generate::generate(
        file,
        ingest_core::generate::GenOptions::new(rows, seed, year),
    )
    .unwrap();
    (dir, path, stats)
}
