//! The correlate layer: findings across datasets. One job per council district rebuilds that district's rows
//! of the feature table ([`crate::features`]) and tests, for each pair of analyzed datasets, the weekly series
//! of their `total` and top categories at every lag (the `correlate` crate: detrended series, seeded
//! permutation p-values); its tests go to a partial table. When the layer fans in, [`finish`] takes
//! Benjamini-Hochberg q-values across everything the run tested, writes the run's association table and
//! turns each association with q <= alpha into a `cross_dataset_association` ledger event (deterministic
//! ids: a re-run appends nothing).

use std::sync::Arc;

use ledger::{Appended, Dimensions, EventInput, Ledger, LedgerError, Pair, Severity};
use object_store::ObjectStore;
use object_store::path::Path;

use crate::aggregate::week_start;
use crate::features::{
    DISTRICTS, DatasetColumns, Profile, district_batch, district_series, profile, read_table,
};
use crate::job::{JobError, write_table};
use crate::locations::Locations;

/// Categories per dataset whose weekly series are tested (besides `total`).
pub const CORRELATE_CATEGORIES: usize = 3;
/// The ledger event type of an association.
pub const EVENT_TYPE: &str = "cross_dataset_association";
/// The ledger layer of the correlate layer's events.
pub const LAYER: &str = "correlate";
/// q-value from which an association is critical (below alpha it is a warning).
pub const Q_CRITICAL: f64 = 0.001;

/// A dataset the correlate layer may use: its id and whether it has a close time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Dataset id.
    pub dataset: String,
    /// Whether `analysis.yaml` names a close column.
    pub has_close: bool,
}

/// What a district job did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DistrictReport {
    /// The district (None: the partition is not a council district, nothing to do).
    pub council_district: Option<u8>,
    /// Datasets with analyzed data, in id order.
    pub datasets: Vec<String>,
    /// Rows written to the feature table (= weeks).
    pub feature_rows: usize,
    /// The feature table file written.
    pub feature_key: Option<String>,
    /// (pair, metric pair, lag) tests run.
    pub tests: usize,
    /// The partial association table written.
    pub partial_key: Option<String>,
}

/// The council district a partition names (`7`, `07`), if any.
pub fn district_of(partition: &str) -> Option<u8> {
    partition
        .parse::<u8>()
        .ok()
        .filter(|d| DISTRICTS.contains(d))
}

/// The profiles of every candidate with analyzed data, in id order.
pub async fn profiles(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    candidates: &[Candidate],
) -> Result<Vec<Profile>, JobError> {
    let mut sorted: Vec<&Candidate> = candidates.iter().collect();
    sorted.sort_by(|a, b| a.dataset.cmp(&b.dataset));
    sorted.dedup_by(|a, b| a.dataset == b.dataset);
    let mut out = Vec::new();
    for c in sorted {
        if let Some(p) = profile(data, loc, &c.dataset, c.has_close).await? {
            out.push(p);
        }
    }
    Ok(out)
}

/// Every week any profile covers.
pub fn span(profiles: &[Profile]) -> Option<(i64, i64)> {
    profiles
        .iter()
        .map(|p| p.weeks)
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}

/// The weeks a profile covers whole, as one span (the first to the last complete week).
fn complete_span(p: &Profile) -> Option<(i64, i64)> {
    Some((*p.complete.first()?, *p.complete.last()?))
}

/// The series tested for one dataset in one district: `total`, then its top categories, over its complete
/// weeks (partial first and last weeks would make every pair of runs over the same dates look associated).
fn series_of(
    p: &Profile,
    s: &crate::features::DistrictSeries,
    district: u8,
) -> Vec<correlate::Series> {
    let Some((first, last)) = complete_span(p) else {
        return Vec::new();
    };
    let values = |m: Option<&std::collections::BTreeMap<i64, u64>>| -> Vec<f64> {
        (first..=last)
            .map(|w| m.and_then(|m| m.get(&w)).copied().unwrap_or(0) as f64)
            .collect()
    };
    let mut out = vec![correlate::Series {
        dataset: p.dataset.clone(),
        metric: "total".into(),
        council_district: district,
        first_week: first,
        values: values(Some(&s.total)),
    }];
    for c in p.top(CORRELATE_CATEGORIES) {
        out.push(correlate::Series {
            dataset: p.dataset.clone(),
            metric: c.to_owned(),
            council_district: district,
            first_week: first,
            values: values(s.categories.get(c)),
        });
    }
    out
}

/// The district job: the district's feature rows (replacing its file) and its partial association table.
pub async fn correlate_district(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    candidates: &[Candidate],
    dataset: &str,
    run_id: &str,
    partition: &str,
    config: &correlate::Config,
) -> Result<DistrictReport, JobError> {
    let Some(district) = district_of(partition) else {
        return Ok(DistrictReport::default());
    };
    let profiles = profiles(data, loc, candidates).await?;
    let mut report = DistrictReport {
        council_district: Some(district),
        datasets: profiles.iter().map(|p| p.dataset.clone()).collect(),
        ..Default::default()
    };
    let Some(weeks) = span(&profiles) else {
        return Ok(report);
    };
    let columns: Vec<DatasetColumns> = profiles.iter().map(DatasetColumns::of).collect();
    let mut series = Vec::with_capacity(profiles.len());
    for c in &columns {
        series.push(district_series(data, loc, c, partition).await?);
    }
    let batch = district_batch(district, weeks, &profiles, &columns, &series);
    let key = loc.feature_part(partition)?;
    write_table(data, &key, batch.schema(), &batch).await?;
    report.feature_rows = batch.num_rows();
    report.feature_key = Some(key.to_string());

    // Each series is transformed (detrended, prewhitened) once, then paired with every series of the other
    // datasets.
    let tested: Vec<Vec<correlate::Prepared>> = profiles
        .iter()
        .zip(&series)
        .map(|(p, s)| {
            series_of(p, s, district)
                .iter()
                .map(correlate::prepare)
                .collect()
        })
        .collect();
    let mut rows = Vec::new();
    for i in 0..tested.len() {
        for j in i + 1..tested.len() {
            for a in &tested[i] {
                for b in &tested[j] {
                    rows.extend(correlate::test_prepared(a, b, config));
                }
            }
        }
    }
    report.tests = rows.len();
    let key = loc.association_partial(dataset, run_id, partition)?;
    write_table(data, &key, correlate::schema(), &correlate::to_batch(&rows)).await?;
    report.partial_key = Some(key.to_string());
    Ok(report)
}

/// What the fan-in did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FinishReport {
    /// Tests across the run.
    pub tests: usize,
    /// Of those, q <= alpha.
    pub discoveries: usize,
    /// The association table written.
    pub table_key: String,
    /// Events newly appended.
    pub events_created: usize,
    /// Events already in the ledger with the same finding.
    pub events_duplicate: usize,
    /// Events whose id holds a different finding (the data changed since); left unchanged.
    pub events_conflicting: usize,
}

/// Reads an association table (partial or whole).
pub async fn read_associations(
    data: &Arc<dyn ObjectStore>,
    key: &Path,
) -> Result<Option<Vec<correlate::Association>>, JobError> {
    let Some(batches) = read_table(data, key).await? else {
        return Ok(None);
    };
    let mut out = Vec::new();
    for b in &batches {
        out.extend(correlate::from_batch(b).map_err(|e| JobError::Table {
            key: key.to_string(),
            reason: e.to_string(),
        })?);
    }
    Ok(Some(out))
}

/// The window an association is about: the weeks both datasets cover whole.
fn window(profiles: &[Profile], a: &str, b: &str) -> Option<(i64, i64)> {
    let span = |d: &str| {
        profiles
            .iter()
            .find(|p| p.dataset == d)
            .and_then(complete_span)
    };
    let (sa, sb) = (span(a)?, span(b)?);
    let (first, last) = (sa.0.max(sb.0), sa.1.min(sb.1));
    (first <= last).then_some((first, last))
}

/// The fan-in of a run's correlate layer: q-values over every partial table of `partitions`, the run's
/// association table, and the ledger events of the discoveries.
#[allow(clippy::too_many_arguments)]
pub async fn finish(
    data: &Arc<dyn ObjectStore>,
    loc: &Locations,
    ledger: &Ledger,
    candidates: &[Candidate],
    dataset: &str,
    run_id: &str,
    partitions: &[String],
    config: &correlate::Config,
) -> Result<FinishReport, JobError> {
    let mut all = Vec::new();
    let mut sources = Vec::new();
    for p in partitions.iter().filter(|p| district_of(p).is_some()) {
        let key = loc.association_partial(dataset, run_id, p)?;
        match read_associations(data, &key).await? {
            Some(rows) => all.extend(rows),
            None => {
                return Err(JobError::Table {
                    key: key.to_string(),
                    reason: "the district job recorded done but wrote no partial table".into(),
                });
            }
        }
        sources.push(key.to_string());
    }
    correlate::adjust(&mut all);
    let table = loc.association_table(dataset, run_id)?;
    write_table(
        data,
        &table,
        correlate::schema(),
        &correlate::to_batch(&all),
    )
    .await?;
    let mut report = FinishReport {
        tests: all.len(),
        table_key: table.to_string(),
        ..Default::default()
    };
    let profiles = profiles(data, loc, candidates).await?;
    let now = chrono::Utc::now();
    for a in all.iter().filter(|a| a.q_value <= config.alpha) {
        report.discoveries += 1;
        let Some((first, last)) = window(&profiles, &a.dataset_a, &a.dataset_b) else {
            continue;
        };
        let input = association_event(a, run_id, (first, last), &table, loc)?;
        match ledger.append(input.into_event(now)).await {
            Ok(Appended::Created(_)) => report.events_created += 1,
            Ok(Appended::Duplicate(_)) => report.events_duplicate += 1,
            Err(LedgerError::Conflict { .. }) => report.events_conflicting += 1,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(report)
}

fn association_event(
    a: &correlate::Association,
    run_id: &str,
    (first, last): (i64, i64),
    table: &Path,
    loc: &Locations,
) -> Result<EventInput, JobError> {
    let partition = a.council_district.to_string();
    Ok(EventInput {
        event_id: None,
        schema_version: Some(ledger::SCHEMA_VERSION),
        dataset: a.dataset_a.clone(),
        layer: LAYER.into(),
        event_type: EVENT_TYPE.into(),
        window_start: week_start(first),
        window_end: week_start(last + 1),
        dimensions: Dimensions {
            council_district: a.council_district,
            pair: Some(Pair {
                dataset_a: a.dataset_a.clone(),
                metric_a: a.metric_a.clone(),
                dataset_b: a.dataset_b.clone(),
                metric_b: a.metric_b.clone(),
                lag_weeks: a.lag_weeks,
            }),
            ..Default::default()
        },
        metric: "correlation".into(),
        value: a.correlation,
        baseline: None,
        unit: "pearson_r".into(),
        severity: if a.q_value <= Q_CRITICAL {
            Severity::Critical
        } else {
            Severity::Warning
        },
        score: Some(a.q_value),
        score_kind: Some("q_value".into()),
        partition: Some(partition.clone()),
        run_id: run_id.to_owned(),
        source: vec![table.to_string(), loc.feature_part(&partition)?.to_string()],
        stakeholders: vec![ledger::stakeholders::stakeholder_id(a.council_district)],
    })
}
