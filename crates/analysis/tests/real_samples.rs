//! Analysis over the real MyLA311 samples (testdata/la311, committed gzip'd), read directly with the csv crate into the
//! canonical columns. Times are parsed as UTC here (the canonical layer converts from LA local time); that
//! shifts nothing these assertions depend on.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use analysis::aggregate::Aggregator;
use analysis::{AnalysisConfig, weekly_findings};
use arrow::array::{
    Array, ArrayRef, Int16Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use chrono::NaiveDateTime;

/// A real MyLA311 sample, committed gzip'd as `testdata/la311/<name>.gz` (see testdata/README.md),
/// decompressed into this test target's scratch folder under its own name. Panics when it is missing:
/// the samples travel with the repository, so no test skips for want of them.
fn sample(name: &str) -> PathBuf {
    use std::io::Read;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let gz = Path::new(env!("CARGO_MANIFEST_DIR"))
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
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("testdata/la311");
    std::fs::create_dir_all(&dir).unwrap();
    // Written beside and renamed: tests running at the same time each open a whole file.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let part = dir.join(format!("{name}.{}-{n}.part", std::process::id()));
    std::fs::write(&part, &csv).unwrap();
    let path = dir.join(name);
    std::fs::rename(&part, &path).unwrap();
    path
}

fn micros(s: &str) -> Option<i64> {
    NaiveDateTime::parse_from_str(s, "%m/%d/%Y %I:%M:%S %p")
        .ok()
        .map(|t| t.and_utc().timestamp_micros())
}

struct Sample {
    batch: RecordBatch,
    /// (cd, type) -> hours to close, computed here independently of the aggregator.
    hours: BTreeMap<(i16, String), Vec<f64>>,
}

fn load(path: &PathBuf) -> Sample {
    let mut csv = csv::Reader::from_path(path).unwrap();
    let h = csv.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let (cd, ty, created, closed) = (
        col("CD"),
        col("RequestType"),
        col("CreatedDate"),
        col("ClosedDate"),
    );
    let (mut cds, mut tys, mut cr, mut cl) = (vec![], vec![], vec![], vec![]);
    let mut hours: BTreeMap<(i16, String), Vec<f64>> = BTreeMap::new();
    for r in csv.records() {
        let r = r.unwrap();
        let d = r[cd].parse::<i16>().ok();
        let (c, x) = (micros(&r[created]).unwrap(), micros(&r[closed]));
        if let (Some(d), Some(x)) = (d, x)
            && x >= c
        {
            hours
                .entry((d, r[ty].to_owned()))
                .or_default()
                .push((x - c) as f64 / 3.6e9);
        }
        cds.push(d);
        tys.push(r[ty].to_owned());
        cr.push(c);
        cl.push(x);
    }
    let ts = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
    let schema = Arc::new(Schema::new(vec![
        Field::new("council_district", DataType::Int16, true),
        Field::new("request_type", DataType::Utf8, true),
        Field::new("created_at", ts.clone(), false),
        Field::new("closed_at", ts, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int16Array::from(cds)),
        Arc::new(StringArray::from(tys)),
        Arc::new(TimestampMicrosecondArray::from(cr).with_timezone("UTC")),
        Arc::new(TimestampMicrosecondArray::from(cl).with_timezone("UTC")),
    ];
    Sample {
        batch: RecordBatch::try_new(schema, columns).unwrap(),
        hours,
    }
}

#[test]
fn sample_2017_weekly_counts_match_the_per_district_counts() {
    let path = sample("myla311_2017_sample.csv");
    let s = load(&path);
    let mut agg = Aggregator::default();
    agg.add_batch(&s.batch).unwrap();
    let t = agg.finish();
    assert_eq!(
        (t.counts.rows, t.counts.used, t.counts.without_district),
        (9999, 9995, 4)
    );
    let mut per_cd: BTreeMap<i16, u64> = BTreeMap::new();
    for r in &t.rows {
        *per_cd.entry(r.council_district).or_default() += r.requests;
    }
    // Per-CD counts from testdata/README.md.
    let expected = [
        698, 548, 669, 495, 540, 584, 694, 598, 831, 721, 463, 673, 1031, 783, 667,
    ];
    assert_eq!(per_cd.values().copied().collect::<Vec<_>>(), expected);
    // Time to close over the sample equals an independent computation.
    for ((cd, ty), mut hours) in s.hours {
        hours.sort_by(f64::total_cmp);
        assert_eq!(t.hours[&(cd, ty.clone())], hours, "CD{cd} {ty}");
    }
    // Dec 27-31 is under one week: no baseline, so no weekly findings.
    let config = AnalysisConfig::load(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/la311/analysis.yaml"),
    )
    .unwrap();
    assert!(weekly_findings(&t, &config).is_empty());
}

#[test]
fn samples_2017_and_2018_together_have_a_backlog_that_adds_up() {
    let (a, b) = (
        sample("myla311_2017_sample.csv"),
        sample("myla311_2018_sample.csv"),
    );
    let samples = [load(&a), load(&b)];
    let mut agg = Aggregator::default();
    for s in &samples {
        agg.add_batch(&s.batch).unwrap();
    }
    let t = agg.finish();
    assert_eq!(t.counts.used, 9995 + 9991);
    // Backlog at the end of each week = requests created before its end and not closed by then,
    // counted here row by row.
    let first = t.rows.iter().map(|r| r.week).min().unwrap();
    let last = t.rows.iter().map(|r| r.week).max().unwrap();
    for week in first..=last {
        let end = analysis::aggregate::week_start(week + 1).timestamp_micros();
        let mut expected = 0u64;
        for s in &samples {
            let cd = s
                .batch
                .column(0)
                .as_any()
                .downcast_ref::<Int16Array>()
                .unwrap();
            let created = s
                .batch
                .column(2)
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .unwrap();
            let closed = s
                .batch
                .column(3)
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .unwrap();
            for i in 0..s.batch.num_rows() {
                let still_open = closed.is_null(i) || closed.value(i) >= end;
                if cd.is_valid(i) && created.value(i) < end && still_open {
                    expected += 1;
                }
            }
        }
        let backlog: u64 = t
            .rows
            .iter()
            .filter(|r| r.week == week)
            .map(|r| r.open_backlog)
            .sum();
        assert_eq!(backlog, expected, "week {week}");
    }
}
