//! Bounded memory: thousands of partition values under a small budget stay within it (the
//! partitioner's own accounting), and generated MyLA311 data round-trips with exact counts.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use ingest_core::catalog::{DatasetSpec, PartitionValues};
use ingest_core::generate::{GenOptions, generate};
use ingest_core::partitioner::PartitionerConfig;
use ingest_core::{Catalog, IngestOptions, SourceSpec, ingest};
use object_store::ObjectStore;
use object_store::memory::InMemory;

/// A small budget that still fits the encoding of one MyLA311 row group (35 columns: twice the codec
/// contexts and page buffers of every column).
const SMALL_BUDGET: usize = 24 * 1024 * 1024;

fn keyed_spec() -> DatasetSpec {
    let mut spec = Catalog::builtin().load("la311").unwrap();
    spec.partition.column = "Key".into();
    spec.partition.aliases.clear();
    spec.partition.values = PartitionValues::Text;
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_partitions_stay_within_the_budget() {
    const KEYS: u64 = 2500;
    const ROWS: u64 = 30_000;
    const BUDGET: usize = 2 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keyed.csv");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    writeln!(f, "Id,Key,Payload").unwrap();
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for i in 0..ROWS {
        // Skewed keys: a few hot ones, a long tail.
        let k = if i % 3 == 0 { i % 7 } else { (i * 7919) % KEYS };
        let key = format!("k{k:05}");
        *want.entry(key.clone()).or_default() += 1;
        writeln!(
            f,
            "{i},{key},\"payload {i}, {}\"",
            "x".repeat((i % 200) as usize)
        )
        .unwrap();
    }
    f.flush().unwrap();
    drop(f);

    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let opts = IngestOptions {
        drift: None,
        run_id: Some("hc".into()),
        partitioner: PartitionerConfig {
            memory_budget: BUDGET,
            ..Default::default()
        },
        progress: None,
        deadline: None,
    };
    let report = ingest(
        store.clone(),
        common::grants(),
        &keyed_spec(),
        SourceSpec::File { path },
        opts,
    )
    .await
    .unwrap();
    let b = report.budget;
    eprintln!("budget stats: {b:?}");
    assert!(b.evictions > 0, "the budget must have been reached");
    assert!(
        b.peak_buffered_bytes <= BUDGET + b.max_row_bytes,
        "peak {} exceeds budget {BUDGET} + one row {}",
        b.peak_buffered_bytes,
        b.max_row_bytes
    );
    let m = &report.manifest;
    assert_eq!(m.partitions.len() as u64, KEYS);
    assert_eq!(common::counts(m), want);
    let back = common::read_back(&store, m).await;
    for (value, rows) in &back {
        assert!(rows.iter().all(|(f, _)| &f[1] == value));
    }
    assert_eq!(back.values().map(|r| r.len() as u64).sum::<u64>(), ROWS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_rows_round_trip_with_exact_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gen.csv.gz");
    let gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), Default::default());
    let stats = generate(gz, GenOptions::new(20_000, 42, 2023)).unwrap();
    assert!(stats.malformed > 0);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::builtin().load("la311").unwrap();
    let opts = IngestOptions {
        drift: None,
        run_id: Some("gen".into()),
        partitioner: PartitionerConfig {
            memory_budget: SMALL_BUDGET,
            ..Default::default()
        },
        progress: None,
        deadline: None,
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
    let m = &report.manifest;
    let b = report.budget;
    eprintln!("budget stats: {b:?}");
    assert!(
        b.peak_buffered_bytes <= SMALL_BUDGET + b.max_row_bytes,
        "{b:?}"
    );
    assert_eq!(m.rows_read, 20_000);
    assert_eq!(m.rows_quarantined, stats.malformed);
    assert_eq!(m.schema.len(), 34);
    let want: BTreeMap<String, u64> = stats
        .per_cd
        .iter()
        .map(|(k, v)| {
            (
                if k.is_empty() {
                    "__missing__".to_string()
                } else {
                    k.clone()
                },
                *v,
            )
        })
        .collect();
    assert_eq!(common::counts(m), want);
    let q = common::quarantined(&store, m).await;
    assert!(
        q.iter()
            .all(|r| r.reason == "wrong field count: expected 34, found 33")
    );
    common::read_back(&store, m).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn part_files_roll_after_max_row_groups() {
    let (_dir, path, stats) = common::generated_csv(6_000, 5, 2017);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::builtin().load("la311").unwrap();
    let opts = IngestOptions {
        drift: None,
        run_id: Some("roll".into()),
        partitioner: PartitionerConfig {
            row_group_rows: 100,
            max_row_groups_per_file: 2,
            ..Default::default()
        },
        progress: None,
        deadline: None,
    };
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
    let p13 = m.partitions.iter().find(|p| p.value == "13").unwrap();
    // District 13 holds ~9% of 6,000 rows: 100-row groups, 2 per file -> several files.
    assert!(p13.keys.len() >= 2, "{:?}", p13.keys);
    assert_eq!(p13.keys[1], "raw/la311/run=roll/cd=13/part-00001.parquet");
    assert_eq!(m.rows_written, 6_000 - stats.malformed);
    let back = common::read_back(&store, &m).await;
    let mut rows: Vec<u64> = back.values().flatten().map(|(_, r)| *r).collect();
    rows.sort_unstable();
    rows.dedup();
    assert_eq!(rows.len() as u64, m.rows_written);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_budget_too_small_to_encode_a_row_group_is_refused_with_the_minimum() {
    let (_dir, path, _) = common::generated_csv(100, 5, 2017);
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::builtin().load("la311").unwrap();
    let opts = IngestOptions {
        drift: None,
        run_id: Some("tiny".into()),
        partitioner: PartitionerConfig {
            memory_budget: 1 << 20,
            ..Default::default()
        },
        progress: None,
        deadline: None,
    };
    let err = ingest(
        store.clone(),
        common::grants(),
        &spec,
        SourceSpec::File { path },
        opts,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("is too small for 34 columns"), "{err}");
    assert!(err.contains("raise --memory-budget"), "{err}");
    // Nothing was written: no manifest, no parts.
    use futures::TryStreamExt;
    let listed: Vec<_> = store.list(None).try_collect().await.unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[test]
fn a_process_budget_leaves_room_for_the_rest_of_the_process() {
    let mib = 1024 * 1024;
    assert_eq!(
        PartitionerConfig::for_process(128 * mib).memory_budget,
        96 * mib
    );
    assert_eq!(PartitionerConfig::default().memory_budget, 96 * mib);
    // Small process budgets still give the partitioner half.
    assert_eq!(
        PartitionerConfig::for_process(40 * mib).memory_budget,
        20 * mib
    );
}
