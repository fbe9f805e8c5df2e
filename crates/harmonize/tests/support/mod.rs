//! Test support: play the ingestion layer (CSV -> raw Parquet per CD + run manifest) in an object store.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use futures::TryStreamExt;
use harmonize::manifest::{ManifestPartition, ManifestSource, RunManifest};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A real MyLA311 sample, committed gzip'd as `testdata/la311/<name>.gz` (see testdata/README.md),
/// decompressed into this test target's scratch folder under its own name. Panics when it is missing:
/// the samples travel with the repository, so no test skips for want of them.
pub fn sample(name: &str) -> PathBuf {
    use std::io::Read;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let gz = FsPath::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/la311")
        .join(format!("{name}.gz"));
    let file = std::fs::File::open(&gz).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the real samples are committed under testdata/ (see testdata/README.md)",
            gz.display()
        )
    });
    let mut csv = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut csv)
        .unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
    let dir = FsPath::new(env!("CARGO_TARGET_TMPDIR")).join("testdata/la311");
    std::fs::create_dir_all(&dir).unwrap();
    // Written beside and renamed: tests running at the same time each open a whole file.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let part = dir.join(format!("{name}.{}-{n}.part", std::process::id()));
    std::fs::write(&part, &csv).unwrap();
    let path = dir.join(name);
    std::fs::rename(&part, &path).unwrap();
    path
}

/// The raw contract's partition value of a CD text.
pub fn partition_of(cd: &str) -> String {
    match cd.trim().parse::<u8>() {
        Ok(n) if (1..=15).contains(&n) => n.to_string(),
        _ => "__missing__".to_string(),
    }
}

/// Header and records of a CSV file; short records are padded with "" (a lenient ingestion).
pub fn read_csv(path: &FsPath) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| {
            let mut v: Vec<String> = rec.unwrap().iter().map(String::from).collect();
            v.resize(header.len(), String::new());
            v
        })
        .collect();
    (header, rows)
}

/// Raw-contract batch: every header column Utf8 (non-null), then `_source_row` UInt64.
pub fn raw_batch(header: &[String], rows: &[(u64, &Vec<String>)]) -> RecordBatch {
    let mut fields: Vec<Field> = header
        .iter()
        .map(|h| Field::new(h, DataType::Utf8, false))
        .collect();
    fields.push(Field::new("_source_row", DataType::UInt64, false));
    let mut cols: Vec<ArrayRef> = (0..header.len())
        .map(|i| {
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|(_, r)| r[i].as_str()),
            )) as ArrayRef
        })
        .collect();
    cols.push(Arc::new(UInt64Array::from_iter_values(
        rows.iter().map(|(n, _)| *n),
    )));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

/// Ingest `csv` into `store` as run `run_id`: raw Parquet per CD partition and the run manifest.
pub async fn ingest(
    store: &Arc<dyn ObjectStore>,
    run_id: &str,
    csv: &FsPath,
    year: Option<i32>,
    dataset_id: Option<&str>,
) -> RunManifest {
    let (header, rows) = read_csv(csv);
    let cd = header
        .iter()
        .position(|h| h.eq_ignore_ascii_case("cd"))
        .unwrap();
    let mut parts: BTreeMap<String, Vec<(u64, &Vec<String>)>> = BTreeMap::new();
    for (i, r) in rows.iter().enumerate() {
        parts
            .entry(partition_of(&r[cd]))
            .or_default()
            .push((i as u64 + 1, r));
    }
    let mut partitions = Vec::new();
    for (value, rows) in &parts {
        let key = raw_key(run_id, value, 0);
        let batch = raw_batch(&header, rows);
        let mut buf = Vec::new();
        let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let bytes = buf.len() as u64;
        store.put(&key, PutPayload::from(buf)).await.unwrap();
        partitions.push(ManifestPartition {
            value: value.clone(),
            rows: rows.len() as u64,
            bytes,
            keys: vec![key.to_string()],
        });
    }
    let manifest = RunManifest {
        version: 1,
        dataset: "la311".into(),
        run_id: run_id.into(),
        source: ManifestSource {
            kind: "file".into(),
            uri: csv.display().to_string(),
            year,
            dataset_id: dataset_id.map(String::from),
        },
        schema: header,
        partitions,
        started_at: String::new(),
        finished_at: String::new(),
        partition_column: "CD".into(),
        rows_read: rows.len() as u64,
        rows_written: rows.len() as u64,
        rows_quarantined: 0,
        quarantine_keys: Vec::new(),
        drift: None,
        layers: None,
        lanes: None,
    };
    let key = contract::manifest::key(prefixes::process::runs(), "la311", run_id).unwrap();
    store
        .put(
            &key,
            PutPayload::from(serde_json::to_vec(&manifest).unwrap()),
        )
        .await
        .unwrap();
    manifest
}

/// Raw part file `n` of a partition, as the `ingest` function writes it (these tests play ingestion).
pub fn raw_key(run_id: &str, partition: &str, n: u32) -> object_store::path::Path {
    let key = prefixes::ingest::raw()
        .write_key(
            &prefixes::keys::RawKey {
                dataset: "la311",
                run_id,
                partition,
            },
            &prefixes::keys::raw::Part { part: n },
        )
        .unwrap();
    object_store::path::Path::from(key.into_string())
}

/// The transform's grants as the `process` function holds them.
pub fn locations() -> harmonize::Locations {
    harmonize::Locations {
        raw: prefixes::process::raw(),
        runs: prefixes::process::runs().into(),
        canonical: prefixes::process::canonical(),
        quarantine: prefixes::process::quarantine().into(),
    }
}

pub fn memory_store() -> Arc<dyn ObjectStore> {
    Arc::new(InMemory::new())
}

/// All record batches of the Parquet files under `prefix`.
pub async fn read_parquet_under(
    store: &Arc<dyn ObjectStore>,
    prefix: &str,
) -> Vec<(String, RecordBatch)> {
    let metas: Vec<_> = store
        .list(Some(&Path::from(prefix)))
        .try_collect()
        .await
        .unwrap();
    let mut out = Vec::new();
    for m in metas {
        if !m.location.as_ref().ends_with(".parquet") {
            continue;
        }
        let bytes: Bytes = store.get(&m.location).await.unwrap().bytes().await.unwrap();
        for b in ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap()
        {
            out.push((m.location.to_string(), b.unwrap()));
        }
    }
    out
}

/// The quarantine JSON lines at `key` (empty when the object is empty).
pub async fn read_jsonl(store: &Arc<dyn ObjectStore>, key: &str) -> Vec<serde_json::Value> {
    let bytes = store
        .get(&Path::from(key))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
