//! Analysis on generated canonical data: no findings without anomalies; a planted spike and a planted slow
//! district are found for exactly their district, type and week; the jobs write the processed table and
//! idempotent ledger events.

use std::sync::Arc;

mod common;
use common::{ledger_grants, locations};

use analysis::aggregate::{Aggregator, week_of, week_start};
use analysis::{AnalysisConfig, FindingKind, slow_close_findings, weekly_findings};
use arrow::array::{ArrayRef, Int16Array, RecordBatch, StringArray, TimestampMicrosecondArray};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const TYPES: [(&str, f64); 3] = [
    ("Bulky Items", 60.0),
    ("Graffiti Removal", 30.0),
    ("Illegal Dumping Pickup", 100.0),
];
const WEEKS: i64 = 20;
const HOUR_US: i64 = 3_600_000_000;

fn config() -> AnalysisConfig {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/la311/analysis.yaml");
    AnalysisConfig::load(&path).unwrap()
}

fn first_monday_us() -> i64 {
    "2018-01-01T00:00:00Z"
        .parse::<chrono::DateTime<chrono::Utc>>()
        .unwrap()
        .timestamp_micros()
}

#[derive(Default)]
struct Plant {
    /// (district, type, week, extra requests)
    spike: Option<(i16, &'static str, i64, usize)>,
    /// (district, type, factor on hours to close)
    slow: Option<(i16, &'static str, f64)>,
}

#[derive(Default)]
struct Rows {
    cd: Vec<i16>,
    ty: Vec<&'static str>,
    created: Vec<i64>,
    closed: Vec<Option<i64>>,
}

impl Rows {
    fn batch(&self, keep: impl Fn(i16) -> bool) -> RecordBatch {
        let idx: Vec<usize> = (0..self.cd.len()).filter(|&i| keep(self.cd[i])).collect();
        let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        let schema = Arc::new(Schema::new(vec![
            Field::new("council_district", DataType::Int16, true),
            Field::new("request_type", DataType::Utf8, true),
            Field::new("created_at", ts.clone(), false),
            Field::new("closed_at", ts, true),
            Field::new("cd_member", DataType::Utf8, true),
            Field::new("nc_code", DataType::Int16, true),
            Field::new("nc_name", DataType::Utf8, true),
        ]));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int16Array::from_iter_values(
                idx.iter().map(|&i| self.cd[i]),
            )),
            Arc::new(StringArray::from_iter_values(
                idx.iter().map(|&i| self.ty[i]),
            )),
            Arc::new(
                TimestampMicrosecondArray::from_iter_values(idx.iter().map(|&i| self.created[i]))
                    .with_timezone("UTC"),
            ),
            Arc::new(
                TimestampMicrosecondArray::from(
                    idx.iter().map(|&i| self.closed[i]).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            // The member's name changes at week 10 in every district; NC = district * 10.
            Arc::new(StringArray::from_iter_values(idx.iter().map(|&i| {
                let era = if self.created[i] < first_monday_us() + 10 * 7 * 24 * HOUR_US {
                    "Old"
                } else {
                    "New"
                };
                format!("{era} Member {}", self.cd[i])
            }))),
            Arc::new(Int16Array::from_iter_values(
                idx.iter().map(|&i| self.cd[i] * 10),
            )),
            Arc::new(StringArray::from_iter_values(
                idx.iter().map(|&i| format!("NC {}", self.cd[i] * 10)),
            )),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }
}

/// 15 districts x 3 types x 20 full weeks from Monday 2018-01-01; weekly counts 20..60 +-20 %,
/// hours to close around the type's base (x0.5..x1.5), 10 % still open.
fn generate(seed: u64, plant: &Plant) -> Rows {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut rows = Rows::default();
    for cd in 1..=15i16 {
        for (ty, base_hours) in TYPES {
            let mean = rng.random_range(20..=60) as f64;
            for week in 0..WEEKS {
                let mut n = (mean * rng.random_range(0.8..1.2)).round() as usize;
                if let Some((pcd, pty, pweek, extra)) = plant.spike
                    && (pcd, pty, pweek) == (cd, ty, week)
                {
                    n += extra;
                }
                for _ in 0..n {
                    let created = first_monday_us()
                        + week * 7 * 24 * HOUR_US
                        + rng.random_range(0..7 * 24 * HOUR_US);
                    let mut hours = base_hours * rng.random_range(0.5..1.5);
                    if let Some((scd, sty, factor)) = plant.slow
                        && (scd, sty) == (cd, ty)
                    {
                        hours *= factor;
                    }
                    let closed = (!rng.random_bool(0.1))
                        .then_some(created + (hours * HOUR_US as f64) as i64);
                    rows.cd.push(cd);
                    rows.ty.push(ty);
                    rows.created.push(created);
                    rows.closed.push(closed);
                }
            }
        }
    }
    rows
}

fn table(rows: &Rows) -> analysis::WeeklyTable {
    let mut agg = Aggregator::default();
    agg.add_batch(&rows.batch(|_| true)).unwrap();
    agg.finish()
}

#[test]
fn no_findings_without_anomalies() {
    for seed in [1, 2, 3] {
        let t = table(&generate(seed, &Plant::default()));
        assert_eq!(t.complete_weeks.map(|(a, b)| b - a + 1), Some(WEEKS));
        let weekly = weekly_findings(&t, &config());
        assert!(weekly.is_empty(), "seed {seed}: {weekly:#?}");
        let slow = slow_close_findings(&t, &config());
        assert!(slow.is_empty(), "seed {seed}: {slow:#?}");
    }
}

#[test]
fn a_planted_spike_is_found_for_its_district_type_and_week() {
    for seed in [1, 2, 3] {
        let plant = Plant {
            spike: Some((7, "Graffiti Removal", 14, 120)),
            ..Default::default()
        };
        let t = table(&generate(seed, &plant));
        let found = weekly_findings(&t, &config());
        assert_eq!(found.len(), 1, "seed {seed}: {found:#?}");
        let f = &found[0];
        assert_eq!(
            (f.kind, f.council_district, f.request_type.as_str()),
            (FindingKind::WeeklyCountSpike, 7, "Graffiti Removal")
        );
        assert_eq!(
            week_of(f.window_start.timestamp_micros()),
            week_of(first_monday_us()) + 14
        );
        assert_eq!(f.window_end - f.window_start, chrono::Duration::weeks(1));
        assert!(f.value > f.baseline * 2.0, "{f:?}");
        assert!(slow_close_findings(&t, &config()).is_empty());
    }
}

#[test]
fn a_planted_slow_district_is_found_against_the_city_median() {
    let plant = Plant {
        slow: Some((4, "Bulky Items", 6.0)),
        ..Default::default()
    };
    let t = table(&generate(5, &plant));
    let found = slow_close_findings(&t, &config());
    assert_eq!(found.len(), 1, "{found:#?}");
    let f = &found[0];
    assert_eq!(
        (f.kind, f.council_district, f.request_type.as_str()),
        (FindingKind::SlowToClose, 4, "Bulky Items")
    );
    assert!(
        f.score > 4.0 && f.severity == ledger::Severity::Critical,
        "{f:?}"
    );
    assert!(
        (f.baseline - 60.0).abs() < 10.0,
        "city-wide median near the generated 60 h: {f:?}"
    );
    assert!(weekly_findings(&t, &config()).is_empty());
}

#[test]
fn weekly_rows_backlog_and_time_to_close_by_hand() {
    let w0 = first_monday_us();
    let week = 7 * 24 * HOUR_US;
    let rows = Rows {
        cd: vec![1, 1, 1, 1, 2],
        ty: vec!["A", "A", "A", "A", "A"],
        created: vec![
            w0 + HOUR_US,
            w0 + 2 * HOUR_US,
            w0 + 3 * HOUR_US,
            w0 + week + HOUR_US,
            w0 + 3 * week + 6 * 24 * HOUR_US,
        ],
        closed: vec![
            Some(w0 + 3 * HOUR_US),
            Some(w0 + 12 * HOUR_US),
            None,
            Some(w0 + 3 * week + HOUR_US),
            None,
        ],
    };
    let t = table(&rows);
    let cd1: Vec<_> = t.rows.iter().filter(|r| r.council_district == 1).collect();
    assert_eq!(cd1.len(), 4, "weeks 0..=3");
    assert_eq!(
        cd1.iter().map(|r| r.requests).collect::<Vec<_>>(),
        [3, 1, 0, 0]
    );
    assert_eq!(
        cd1.iter().map(|r| r.open_backlog).collect::<Vec<_>>(),
        [1, 2, 2, 1]
    );
    assert_eq!(cd1[0].closed, 2);
    assert_eq!(cd1[0].median_hours_to_close, Some(6.0));
    assert!((cd1[0].p90_hours_to_close.unwrap() - 9.2).abs() < 1e-9);
    assert_eq!(cd1[1].median_hours_to_close, Some(2.0 * 7.0 * 24.0));
    assert_eq!(t.counts.used, 5);
    assert_eq!(week_start(cd1[0].week).timestamp_micros(), w0);
}

#[tokio::test]
async fn jobs_write_the_processed_table_and_idempotent_events() {
    use parquet::arrow::AsyncArrowWriter;
    let data: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let ledger = ledger::Ledger::new(Arc::new(InMemory::new()), ledger_grants());
    let plant = Plant {
        spike: Some((7, "Graffiti Removal", 14, 120)),
        slow: Some((4, "Bulky Items", 6.0)),
    };
    let rows = generate(1, &plant);
    for cd in 1..=15i16 {
        let key = object_store::path::Path::from(format!(
            "canonical/la311/year=2018/cd={cd}/part-00000.parquet"
        ));
        let batch = rows.batch(|c| c == cd);
        let mut w = AsyncArrowWriter::try_new(
            object_store::buffered::BufWriter::new(data.clone(), key),
            batch.schema(),
            None,
        )
        .unwrap();
        w.write(&batch).await.unwrap();
        w.close().await.unwrap();
    }
    let config = config();
    let mut created = 0;
    for cd in 1..=15 {
        let report = analysis::analyze_partition(
            &data,
            &locations(),
            &ledger,
            &config,
            "la311",
            "run-1",
            &cd.to_string(),
        )
        .await
        .unwrap();
        assert_eq!(report.weekly_rows, TYPES.len() * WEEKS as usize, "cd {cd}");
        assert_eq!(report.canonical_keys.len(), 1);
        created += report.events_created;
    }
    assert_eq!(created, 1, "one planted spike");
    let city = analysis::analyze_citywide(&data, &locations(), &ledger, &config, "la311", "run-1")
        .await
        .unwrap();
    assert_eq!(
        (city.events_created, city.rows.used as usize),
        (1, rows.cd.len())
    );

    let events = ledger.all(Some("la311")).await.unwrap();
    let spike = events
        .iter()
        .find(|e| e.event_type == "weekly_count_spike")
        .unwrap();
    assert_eq!(spike.dimensions.council_district, 7);
    // The dimension set every dataset's findings share: district, category, ISO week; plus score and partition.
    assert_eq!(
        spike.dimensions.category.as_deref(),
        Some("Graffiti Removal")
    );
    assert_eq!(spike.dimensions.request_type, None);
    assert_eq!(
        spike.dimensions.week,
        ledger::iso_week(spike.window_start, spike.window_end)
    );
    assert!(
        spike
            .dimensions
            .week
            .as_deref()
            .unwrap()
            .starts_with("2018-W")
    );
    assert_eq!(spike.score_kind.as_deref(), Some("robust_z"));
    assert!(spike.score.unwrap() >= 3.0, "{:?}", spike.score);
    assert_eq!(spike.partition.as_deref(), Some("7"));
    assert_eq!(spike.stakeholders, ["cd-7"]);
    assert_eq!(
        spike.source,
        ["canonical/la311/year=2018/cd=7/part-00000.parquet"]
    );
    let slow = events
        .iter()
        .find(|e| e.event_type == "slow_to_close")
        .unwrap();
    assert_eq!(
        (slow.dimensions.council_district, slow.unit.as_str()),
        (4, "hours")
    );
    // A city-wide finding spans the run: no week, no partition; its score is the ratio to the city median.
    assert_eq!(
        (slow.dimensions.week.as_deref(), slow.partition.as_deref()),
        (None, None)
    );
    assert_eq!(slow.score_kind.as_deref(), Some("ratio"));

    // Each partition job derived its district's stakeholders from the rows (cd_member, nc_code, nc_name).
    let derived = ledger::stakeholders::load_derived(&ledger, "la311")
        .await
        .unwrap();
    assert_eq!(derived.len(), 15);
    let cd7 = &derived[&7];
    assert_eq!(
        cd7.terms
            .iter()
            .map(|t| t.member.as_str())
            .collect::<Vec<_>>(),
        ["Old Member 7", "New Member 7"]
    );
    assert_eq!(cd7.current().unwrap().member, "New Member 7");
    assert_eq!(
        cd7.terms[1].first_seen,
        week_start(week_of(first_monday_us()) + 10).date_naive()
    );
    assert_eq!(cd7.neighborhood_councils[0].name, "NC 70");

    // Re-running the same jobs (even under another run id) changes nothing in the ledger.
    let again =
        analysis::analyze_partition(&data, &locations(), &ledger, &config, "la311", "run-2", "7")
            .await
            .unwrap();
    assert_eq!((again.events_created, again.events_duplicate), (0, 1));
    assert_eq!(ledger.all(Some("la311")).await.unwrap().len(), 2);
    use object_store::ObjectStoreExt;
    let bytes = data
        .get(
            &analysis::locations::weekly_table_key(prefixes::process::processed(), "la311", "7")
                .unwrap(),
        )
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<_> = reader.collect::<Result<_, _>>().unwrap();
    assert_eq!(
        batches.iter().map(|b| b.num_rows()).sum::<usize>(),
        TYPES.len() * WEEKS as usize
    );
    assert_eq!(batches[0].schema(), analysis::output::weekly_schema());
}
