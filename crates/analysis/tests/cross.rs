//! The correlate layer over generated canonical data of two datasets (MyLA311 and LAPD crime shapes, 15
//! districts, 60 full weeks), through the analyze jobs: the feature table has exactly districts x weeks rows
//! whose counts match the generated rows; a planted association (district 7's weekly 311 volume follows the
//! previous week's crime volume) is found at its lag and sign with q <= 0.05 and nowhere else; the discoveries
//! become ledger events once, and every rerun appends nothing and rewrites the same table.

use std::collections::BTreeMap;
use std::sync::Arc;

mod common;
use common::{ledger_grants, locations};

use analysis::aggregate::week_of;
use analysis::cross::{Candidate, correlate_district, finish};
use analysis::features::read_table;
use analysis::{AnalysisConfig, analyze_citywide, analyze_partition};
use arrow::array::{
    Array, ArrayRef, AsArray, Int16Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit, UInt64Type};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const WEEKS: i64 = 60;
const WEEK_US: i64 = 7 * 24 * 3_600_000_000;
const PLANTED: i16 = 7;

fn monday_us() -> i64 {
    "2018-01-01T00:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp_micros()
}

fn config(dataset: &str) -> AnalysisConfig {
    AnalysisConfig::from_catalog(datasets::Catalog::builtin(), dataset).unwrap()
}

/// Rows per (district, week).
type ByWeek = BTreeMap<(i16, i64), u64>;
/// Rows per (district, category, week).
type ByCategory = BTreeMap<(i16, &'static str, i64), u64>;

/// Rows of one dataset: (district, category, time).
#[derive(Default)]
struct Rows(Vec<(i16, &'static str, i64)>);

impl Rows {
    fn push(&mut self, rng: &mut StdRng, cd: i16, category: &'static str, week: i64, n: u64) {
        for _ in 0..n {
            let at = monday_us() + week * WEEK_US + rng.random_range(0..WEEK_US);
            self.0.push((cd, category, at));
        }
    }

    /// The canonical rows of `cd` under the dataset's column names; closed 5 hours after creation when the
    /// dataset has a close column.
    fn batch(&self, cd: i16, columns: &analysis::config::Columns) -> RecordBatch {
        let rows: Vec<_> = self.0.iter().filter(|r| r.0 == cd).collect();
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let mut fields = vec![
            Field::new("council_district", DataType::Int16, true),
            Field::new(&columns.category, DataType::Utf8, true),
            Field::new(&columns.time, ts.clone(), false),
        ];
        let time = |offset: i64| -> ArrayRef {
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(rows.iter().map(|r| r.2 + offset))
                    .with_timezone("UTC"),
            )
        };
        let mut cols: Vec<ArrayRef> = vec![
            Arc::new(Int16Array::from_iter_values(rows.iter().map(|r| r.0))),
            Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
            time(0),
        ];
        if let Some(closed) = &columns.closed {
            fields.push(Field::new(closed, ts, true));
            cols.push(time(5 * 3_600_000_000));
        }
        RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
    }

    /// Rows per (district, week), and per (district, category, week).
    fn counts(&self) -> (ByWeek, ByCategory) {
        let (mut total, mut by_cat) = (BTreeMap::new(), BTreeMap::new());
        for (cd, cat, at) in &self.0 {
            *total.entry((*cd, week_of(*at))).or_default() += 1;
            *by_cat.entry((*cd, *cat, week_of(*at))).or_default() += 1;
        }
        (total, by_cat)
    }
}

/// Poisson-like count around `mean` (a sum of coin flips: binomial(4 mean, 1/4)).
fn count(rng: &mut StdRng, mean: f64) -> u64 {
    (0..(4.0 * mean) as usize)
        .filter(|_| rng.random_bool(0.25))
        .count() as u64
}

/// Crime: three groups per district, independent weeks. 311: three types, independent, except district 7's
/// `Bulky Items`, which is 10 + last week's crime volume of the district.
fn generate(seed: u64) -> (Rows, Rows) {
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut crime, mut calls) = (Rows::default(), Rows::default());
    for cd in 1..=15i16 {
        let mut last_week_crime = 0;
        for week in 0..WEEKS {
            let mut crimes = 0;
            for (group, mean) in [("ASSAULT", 25.0), ("BURGLARY", 12.0), ("VANDALISM", 8.0)] {
                let n = count(&mut rng, mean);
                crimes += n;
                crime.push(&mut rng, cd, group, week, n);
            }
            for (ty, mean) in [
                ("Bulky Items", 40.0),
                ("Graffiti Removal", 20.0),
                ("Dead Animal", 6.0),
            ] {
                let n = if cd == PLANTED && ty == "Bulky Items" && week > 0 {
                    10 + last_week_crime
                } else {
                    count(&mut rng, mean)
                };
                calls.push(&mut rng, cd, ty, week, n);
            }
            last_week_crime = crimes;
        }
    }
    (crime, calls)
}

async fn put(data: &Arc<dyn ObjectStore>, key: &str, batch: &RecordBatch) {
    let mut w = parquet::arrow::AsyncArrowWriter::try_new(
        object_store::buffered::BufWriter::new(data.clone(), key.into()),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(batch).await.unwrap();
    w.close().await.unwrap();
}

fn candidates() -> Vec<Candidate> {
    vec![
        Candidate {
            dataset: "la311".into(),
            has_close: true,
        },
        Candidate {
            dataset: "lapd_crime".into(),
            has_close: false,
        },
    ]
}

/// Canonical parts of both datasets, then every analyze job (partitions and city-wide) of each.
async fn analyzed(seed: u64) -> (Arc<dyn ObjectStore>, ledger::Ledger, Rows, Rows) {
    let data: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let ledger = ledger::Ledger::new(Arc::new(InMemory::new()), ledger_grants());
    let (crime, calls) = generate(seed);
    for (dataset, rows) in [("lapd_crime", &crime), ("la311", &calls)] {
        let config = config(dataset);
        for cd in 1..=15i16 {
            let batch = rows.batch(cd, &config.columns);
            put(
                &data,
                &format!("canonical/{dataset}/year=2018/cd={cd}/part-00000.parquet"),
                &batch,
            )
            .await;
            analyze_partition(
                &data,
                &locations(),
                &ledger,
                &config,
                dataset,
                "run-1",
                &cd.to_string(),
            )
            .await
            .unwrap();
        }
        analyze_citywide(&data, &locations(), &ledger, &config, dataset, "run-1")
            .await
            .unwrap();
    }
    (data, ledger, crime, calls)
}

async fn correlate_run(
    data: &Arc<dyn ObjectStore>,
    ledger: &ledger::Ledger,
    run: &str,
) -> analysis::cross::FinishReport {
    let config = correlate::Config::default();
    let partitions: Vec<String> = (1..=15)
        .map(|d: u8| d.to_string())
        .chain(["__missing__".to_string()])
        .collect();
    for p in &partitions {
        let r = correlate_district(
            data,
            &locations(),
            &candidates(),
            "lapd_crime",
            run,
            p,
            &config,
        )
        .await
        .unwrap();
        match analysis::cross::district_of(p) {
            Some(d) => {
                assert_eq!(r.council_district, Some(d));
                assert_eq!(
                    r.feature_rows, WEEKS as usize,
                    "district {d}: one row per week"
                );
                assert_eq!(r.datasets, ["la311", "lapd_crime"]);
            }
            None => assert_eq!(r.feature_rows, 0, "{p} is no district: nothing written"),
        }
    }
    finish(
        data,
        &locations(),
        ledger,
        &candidates(),
        "lapd_crime",
        run,
        &partitions,
        &config,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn feature_table_associations_and_events() {
    let (data, ledger, crime, calls) = analyzed(11).await;
    let report = correlate_run(&data, &ledger, "run-1").await;

    // The feature table: 15 districts x 60 weeks, each count equal to the generated rows.
    let (crime_total, crime_cat) = crime.counts();
    let (calls_total, _) = calls.counts();
    let mut rows = 0;
    for cd in 1..=15i16 {
        let key = locations().feature_part(&cd.to_string()).unwrap();
        let batches = read_table(&data, &key)
            .await
            .unwrap()
            .expect("feature file");
        for b in &batches {
            rows += b.num_rows();
            let weeks: Vec<i64> = b
                .column_by_name("week_start")
                .unwrap()
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .values()
                .iter()
                .map(|&us| week_of(us))
                .collect();
            let col = |name: &str| {
                b.column_by_name(name)
                    .unwrap_or_else(|| panic!("no column {name} in {:?}", b.schema()))
                    .as_primitive::<UInt64Type>()
                    .clone()
            };
            let (t311, tcrime, assault) = (
                col("la311__total"),
                col("lapd_crime__total"),
                col("lapd_crime__cat__assault"),
            );
            for (i, w) in weeks.iter().enumerate() {
                let get = |m: &BTreeMap<(i16, i64), u64>| m.get(&(cd, *w)).copied().unwrap_or(0);
                assert_eq!(t311.value(i), get(&calls_total), "311 cd {cd} week {w}");
                assert_eq!(tcrime.value(i), get(&crime_total), "crime cd {cd} week {w}");
                assert_eq!(
                    assault.value(i),
                    crime_cat.get(&(cd, "ASSAULT", *w)).copied().unwrap_or(0)
                );
            }
            // 311 has a close time (every generated request closed after 5 hours); crime has none (no column).
            let median = b
                .column_by_name("la311__median_hours_to_close")
                .unwrap()
                .as_primitive::<arrow::datatypes::Float64Type>();
            assert_eq!(median.null_count(), 0);
            assert!(median.values().iter().all(|h| (h - 5.0).abs() < 1e-9));
            assert!(
                b.column_by_name("lapd_crime__median_hours_to_close")
                    .is_none()
            );
        }
    }
    assert_eq!(rows, 15 * WEEKS as usize);

    // The planted association: la311 (a) week w against crime (b) week w + k; 311 follows crime by one week,
    // so k = -1, positive, q <= 0.05; nothing is discovered in another district.
    let table = read_table(
        &data,
        &locations()
            .association_table("lapd_crime", "run-1")
            .unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let all: Vec<correlate::Association> = table
        .iter()
        .flat_map(|b| correlate::from_batch(b).unwrap())
        .collect();
    assert_eq!(all.len(), report.tests);
    let found = all
        .iter()
        .find(|a| {
            a.council_district == PLANTED as u8
                && (
                    a.dataset_a.as_str(),
                    a.metric_a.as_str(),
                    a.dataset_b.as_str(),
                    a.metric_b.as_str(),
                ) == ("la311", "total", "lapd_crime", "total")
                && a.lag_weeks == -1
        })
        .expect("the planted pair was tested");
    assert!(found.correlation > 0.5, "{found:?}");
    assert!(found.q_value <= 0.05, "{found:?}");
    let discoveries: Vec<_> = all.iter().filter(|a| a.q_value <= 0.05).collect();
    assert!(
        discoveries
            .iter()
            .all(|a| a.council_district == PLANTED as u8),
        "discoveries outside district {PLANTED}: {discoveries:#?}"
    );
    assert_eq!(report.discoveries, discoveries.len());

    // One event per discovery, with both datasets, metrics, the lag and the district as dimensions.
    let events: Vec<ledger::Event> = ledger
        .all(Some("la311"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event_type == "cross_dataset_association")
        .collect();
    assert_eq!(events.len(), discoveries.len());
    assert_eq!(report.events_created, discoveries.len());
    let e = events
        .iter()
        .find(|e| {
            e.dimensions.pair.as_ref().is_some_and(|p| {
                (
                    p.metric_a.as_str(),
                    p.dataset_b.as_str(),
                    p.metric_b.as_str(),
                    p.lag_weeks,
                ) == ("total", "lapd_crime", "total", -1)
            })
        })
        .expect("the planted association's event");
    assert_eq!(e.dimensions.council_district, PLANTED as u8);
    assert_eq!(e.layer, "correlate");
    assert_eq!(e.score_kind.as_deref(), Some("q_value"));
    assert!(e.value > 0.5);

    // A rerun (same run, then a new run) appends nothing and rewrites the same association rows.
    let again = correlate_run(&data, &ledger, "run-1").await;
    assert_eq!(
        (again.events_created, again.events_duplicate),
        (0, discoveries.len())
    );
    let other = correlate_run(&data, &ledger, "run-2").await;
    assert_eq!(other.events_created, 0);
    assert_eq!(
        (other.tests, other.discoveries),
        (report.tests, report.discoveries)
    );
    let events_after = ledger.all(Some("la311")).await.unwrap();
    assert_eq!(
        events_after
            .iter()
            .filter(|e| e.event_type == "cross_dataset_association")
            .count(),
        discoveries.len()
    );
}
