//! Ledger storage behaviour on the in-memory and filesystem backends: idempotent append, conflicts,
//! concurrent duplicates, and Parquet compaction by dataset and month.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use futures::TryStreamExt;
use ledger::{Appended, Dimensions, EventInput, Ledger, LedgerError, Severity};
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

fn input(cd: u8, week: i64, value: f64) -> EventInput {
    let start: DateTime<Utc> =
        "2018-01-22T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::weeks(week);
    EventInput {
        event_id: None,
        schema_version: None,
        dataset: "la311".into(),
        layer: "analyze".into(),
        event_type: "weekly_count_spike".into(),
        window_start: start,
        window_end: start + Duration::weeks(1),
        dimensions: Dimensions {
            council_district: cd,
            request_type: Some("Bulky Items".into()),
            ..Default::default()
        },
        metric: "requests".into(),
        value,
        baseline: Some(10.0),
        unit: "count".into(),
        severity: Severity::Warning,
        score: Some(4.2),
        score_kind: Some("robust_z".into()),
        partition: Some(cd.to_string()),
        run_id: "run-1".into(),
        source: vec!["canonical/la311/year=2018/cd=7/part-00000.parquet".into()],
        stakeholders: vec![],
    }
}

fn backends() -> Vec<(
    &'static str,
    Arc<dyn ObjectStore>,
    Option<tempfile::TempDir>,
)> {
    let dir = tempfile::tempdir().unwrap();
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    vec![
        ("memory", Arc::new(InMemory::new()), None),
        ("filesystem", Arc::new(fs), Some(dir)),
    ]
}

#[tokio::test]
async fn append_is_idempotent_and_conflicts_are_detected() {
    for (name, store, _dir) in backends() {
        let ledger = Ledger::new(store, grants());
        let first = ledger
            .append(input(7, 0, 40.0).into_event(Utc::now()))
            .await
            .unwrap();
        assert!(matches!(first, Appended::Created(_)), "{name}");
        let mut rerun = input(7, 0, 40.0);
        rerun.run_id = "run-2".into();
        let second = ledger
            .append(rerun.into_event(Utc::now() + Duration::hours(1)))
            .await
            .unwrap();
        match second {
            Appended::Duplicate(stored) => {
                assert_eq!(&stored, first.event(), "{name}: the first write is kept")
            }
            other => panic!("{name}: expected duplicate, got {other:?}"),
        }
        let err = ledger
            .append(input(7, 0, 41.0).into_event(Utc::now()))
            .await
            .unwrap_err();
        assert!(matches!(err, LedgerError::Conflict { .. }), "{name}: {err}");
        assert_eq!(
            ledger.get(&first.event().event_id).await.unwrap().as_ref(),
            Some(first.event()),
            "{name}"
        );
        assert_eq!(ledger.all(None).await.unwrap().len(), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_duplicates_store_one_event() {
    for (name, store, _dir) in backends() {
        let ledger = Ledger::new(store, grants());
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let ledger = ledger.clone();
                tokio::spawn(async move {
                    ledger
                        .append(input(3, 1, 12.0).into_event(Utc::now()))
                        .await
                })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(Appended::Created(_)) => created += 1,
                Ok(Appended::Duplicate(_)) => {}
                Err(e) => panic!("{name}: a concurrent identical append must not fail: {e}"),
            }
        }
        assert_eq!(created, 1, "{name}");
        assert_eq!(ledger.all(Some("la311")).await.unwrap().len(), 1, "{name}");
    }
}

#[tokio::test]
async fn compaction_writes_one_parquet_per_month_with_every_event() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let ledger = Ledger::new(store.clone(), grants());
    // weeks 0..8 from 2018-01-22 span January, February and March.
    for week in 0..8 {
        for cd in [1, 7] {
            ledger
                .append(input(cd, week, 20.0 + week as f64).into_event(Utc::now()))
                .await
                .unwrap();
        }
    }
    let report = ledger
        .compact(prefixes::ledger_api::compacted().into(), "la311")
        .await
        .unwrap();
    assert_eq!(report.events, 16);
    let months: Vec<(&str, usize)> = report.files.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        months,
        [
            (
                "compacted/dataset=la311/month=2018-01/part-00000.parquet",
                4
            ),
            (
                "compacted/dataset=la311/month=2018-02/part-00000.parquet",
                8
            ),
            (
                "compacted/dataset=la311/month=2018-03/part-00000.parquet",
                4
            ),
        ]
    );
    let mut rows = 0;
    for (key, n) in &report.files {
        let bytes = store
            .get(&key.as_str().into())
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
        let count: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(count, *n, "{key}");
        assert_eq!(batches[0].schema(), ledger::compact::compacted_schema());
        rows += count;
    }
    assert_eq!(rows, 16);
    // Compacting again rewrites the same files.
    let again = ledger
        .compact(prefixes::ledger_api::compacted().into(), "la311")
        .await
        .unwrap();
    assert_eq!(again, report);
    let listed: Vec<_> = store
        .list(Some(&"compacted".into()))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 3);
}

/// The ledger grants of the `ledger-api` function, which these tests act as.
#[allow(dead_code)]
fn grants() -> ledger::Locations {
    ledger::Locations {
        events: prefixes::ledger_api::events(),
        stakeholders: prefixes::ledger_api::stakeholders(),
    }
}
