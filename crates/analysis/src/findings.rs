//! Findings: weeks departing from a district's own trailing baseline (robust z-score), and districts whose
//! time to close for a type is far above the city-wide median; each finding becomes a ledger event.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ledger::{Dimensions, EventInput, Severity};

use crate::aggregate::{WeeklyTable, week_start};
use crate::config::AnalysisConfig;
use crate::stats::{median, quantile, robust_z};

/// Kind of finding (the ledger `event_type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FindingKind {
    /// A week with far more requests than the trailing baseline.
    WeeklyCountSpike,
    /// A week with far fewer requests than the trailing baseline.
    WeeklyCountDrop,
    /// A district's median time to close far above the city-wide median for the type.
    SlowToClose,
}

impl FindingKind {
    /// The ledger event type.
    pub fn event_type(self) -> &'static str {
        match self {
            FindingKind::WeeklyCountSpike => "weekly_count_spike",
            FindingKind::WeeklyCountDrop => "weekly_count_drop",
            FindingKind::SlowToClose => "slow_to_close",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// Council district.
    pub council_district: i16,
    /// Request type.
    pub request_type: String,
    /// Start of the window the finding is about.
    pub window_start: DateTime<Utc>,
    /// End of the window (exclusive).
    pub window_end: DateTime<Utc>,
    /// Metric name.
    pub metric: &'static str,
    /// Observed value.
    pub value: f64,
    /// Compared value (trailing median, or city-wide median).
    pub baseline: f64,
    /// Unit of value and baseline.
    pub unit: &'static str,
    /// Robust z-score (weekly findings) or ratio to the city-wide median (slow close).
    pub score: f64,
    /// Severity from the configured thresholds.
    pub severity: Severity,
}

/// Weekly spikes and drops against each (district, type)'s own trailing baseline of complete weeks.
pub fn weekly_findings(table: &WeeklyTable, config: &AnalysisConfig) -> Vec<Finding> {
    let Some((first, last)) = table.complete_weeks else {
        return Vec::new();
    };
    let s = &config.spike;
    let mut series: BTreeMap<(i16, &str), Vec<(i64, f64)>> = BTreeMap::new();
    for row in table
        .rows
        .iter()
        .filter(|r| (first..=last).contains(&r.week))
    {
        series
            .entry((row.council_district, &row.request_type))
            .or_default()
            .push((row.week, row.requests as f64));
    }
    let mut out = Vec::new();
    for ((cd, request_type), weeks) in series {
        for t in config.baseline.min_weeks..weeks.len() {
            let from = t.saturating_sub(config.baseline.max_weeks);
            let baseline: Vec<f64> = weeks[from..t].iter().map(|(_, c)| *c).collect();
            let (week, x) = weeks[t];
            let Some((z, m)) = robust_z(x, &baseline, s.mad_floor) else {
                continue;
            };
            let kind = if z >= s.z_warning && x >= s.min_count && x >= m * s.min_ratio {
                FindingKind::WeeklyCountSpike
            } else if z <= -s.z_warning && m >= s.min_count && x * s.min_ratio <= m {
                FindingKind::WeeklyCountDrop
            } else {
                continue;
            };
            let severity = if z.abs() >= s.z_critical {
                Severity::Critical
            } else {
                Severity::Warning
            };
            out.push(Finding {
                kind,
                council_district: cd,
                request_type: request_type.to_owned(),
                window_start: week_start(week),
                window_end: week_start(week + 1),
                metric: "requests",
                value: x,
                baseline: m,
                unit: "count",
                score: z,
                severity,
            });
        }
    }
    out
}

/// Districts whose median hours to close for a type, over the analyzed period, is far above the city-wide
/// median of that type. The city-wide median pools every district in `table`, so give it all districts.
pub fn slow_close_findings(table: &WeeklyTable, config: &AnalysisConfig) -> Vec<Finding> {
    let Some((first, last)) = table
        .rows
        .iter()
        .map(|r| r.week)
        .fold(None, |acc: Option<(i64, i64)>, w| {
            Some(acc.map_or((w, w), |(a, b)| (a.min(w), b.max(w))))
        })
    else {
        return Vec::new();
    };
    let c = &config.slow_close;
    let mut city: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for ((_, request_type), hours) in &table.hours {
        city.entry(request_type).or_default().extend(hours);
    }
    let city_median: BTreeMap<&str, f64> = city
        .into_iter()
        .filter_map(|(t, h)| Some((t, median(&h)?)))
        .collect();
    let mut out = Vec::new();
    for ((cd, request_type), hours) in &table.hours {
        if (hours.len() as u64) < c.min_closed {
            continue;
        }
        let Some(&city) = city_median.get(request_type.as_str()) else {
            continue;
        };
        let Some(district) = quantile(hours, 0.5) else {
            continue;
        };
        if city < c.min_city_median_hours {
            continue;
        }
        let ratio = district / city;
        if ratio < c.ratio_warning {
            continue;
        }
        out.push(Finding {
            kind: FindingKind::SlowToClose,
            council_district: *cd,
            request_type: request_type.clone(),
            window_start: week_start(first),
            window_end: week_start(last + 1),
            metric: "median_hours_to_close",
            value: district,
            baseline: city,
            unit: "hours",
            score: ratio,
            severity: if ratio >= c.ratio_critical {
                Severity::Critical
            } else {
                Severity::Warning
            },
        });
    }
    out
}

impl FindingKind {
    /// What [`Finding::score`] is (the event's `score_kind`).
    pub fn score_kind(self) -> &'static str {
        match self {
            FindingKind::WeeklyCountSpike | FindingKind::WeeklyCountDrop => "robust_z",
            FindingKind::SlowToClose => "ratio",
        }
    }
}

/// Ledger events of `findings` (layer `analyze`) of the run's `partition` (None: city-wide), citing `source`
/// keys; each carries the shared dimension set (district, category, ISO week of a one-week window), its score
/// and its district's stakeholder.
pub fn to_events(
    findings: &[Finding],
    dataset: &str,
    run_id: &str,
    partition: Option<&str>,
    source: &[String],
) -> Vec<EventInput> {
    findings
        .iter()
        .filter_map(|f| {
            let cd = u8::try_from(f.council_district).ok()?;
            Some(EventInput {
                event_id: None,
                schema_version: Some(ledger::SCHEMA_VERSION),
                dataset: dataset.to_owned(),
                layer: "analyze".into(),
                event_type: f.kind.event_type().into(),
                window_start: f.window_start,
                window_end: f.window_end,
                dimensions: Dimensions {
                    council_district: cd,
                    category: Some(f.request_type.clone()),
                    week: ledger::iso_week(f.window_start, f.window_end),
                    ..Default::default()
                },
                metric: f.metric.into(),
                value: f.value,
                baseline: Some(f.baseline),
                unit: f.unit.into(),
                severity: f.severity,
                score: f.score.is_finite().then_some(f.score),
                score_kind: Some(f.kind.score_kind().into()),
                partition: partition.map(str::to_owned),
                run_id: run_id.to_owned(),
                source: source.to_vec(),
                stakeholders: vec![ledger::stakeholders::stakeholder_id(cd)],
            })
        })
        .collect()
}
