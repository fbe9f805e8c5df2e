//! What the report shows, independent of where it came from: weekly series per district, findings,
//! stakeholders and data-quality numbers. Built by [`crate::gather`], rendered by [`crate::html`].

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ledger::Event;
use ledger::stakeholders::Stakeholder;

/// One week of one district, summed over request types.
#[derive(Debug, Clone, PartialEq)]
pub struct WeekPoint {
    /// Monday 00:00 UTC of the week.
    pub week_start: DateTime<Utc>,
    /// Requests created in the week.
    pub requests: u64,
    /// Of those, requests closed by the end of the data.
    pub closed: u64,
    /// Hours to close: the per-type weekly medians averaged with the types' closed counts as weights
    /// (None when nothing created that week was closed).
    pub hours_to_close: Option<f64>,
}

/// The weekly series of one council district, weeks ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct DistrictSeries {
    /// Council district number.
    pub council_district: i16,
    /// Weeks, ascending.
    pub weeks: Vec<WeekPoint>,
}

impl DistrictSeries {
    /// Requests over all weeks.
    pub fn total_requests(&self) -> u64 {
        self.weeks.iter().map(|w| w.requests).sum()
    }

    /// The weeks without the partial ones at either end: an edge week with fewer than half the median weekly
    /// requests is taken to be cut by the data's first or last day (a year rarely starts on a Monday) and
    /// would read as a collapse. Returns the kept weeks and how many edge weeks were left out.
    pub fn full_weeks(&self) -> (&[WeekPoint], usize) {
        let mut counts: Vec<u64> = self.weeks.iter().map(|w| w.requests).collect();
        counts.sort_unstable();
        let Some(&median) = counts.get(counts.len() / 2) else {
            return (&self.weeks, 0);
        };
        let partial = |w: &WeekPoint| w.requests * 2 < median;
        let mut weeks = self.weeks.as_slice();
        let mut dropped = 0;
        if weeks.len() > 2 && weeks.first().is_some_and(partial) {
            weeks = &weeks[1..];
            dropped += 1;
        }
        if weeks.len() > 2 && weeks.last().is_some_and(partial) {
            weeks = &weeks[..weeks.len() - 1];
            dropped += 1;
        }
        (weeks, dropped)
    }
}

/// One row of the processed weekly table (`processed/{dataset}/weekly_by_type/`), as the report reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeeklyInput {
    /// Council district.
    pub council_district: i16,
    /// Week start, microseconds since the epoch (UTC).
    pub week_start_us: i64,
    /// Requests created.
    pub requests: u64,
    /// Of those, closed.
    pub closed: u64,
    /// Median hours to close of the type's closed requests that week.
    pub median_hours_to_close: Option<f64>,
}

#[derive(Default)]
struct Acc {
    requests: u64,
    closed: u64,
    weighted_hours: f64,
    weight: u64,
}

/// Sums per-type weekly rows into one series per district (districts and weeks ascending).
pub fn fold_weekly(rows: impl IntoIterator<Item = WeeklyInput>) -> Vec<DistrictSeries> {
    let mut by: BTreeMap<i16, BTreeMap<i64, Acc>> = BTreeMap::new();
    for r in rows {
        let acc = by
            .entry(r.council_district)
            .or_default()
            .entry(r.week_start_us)
            .or_default();
        acc.requests += r.requests;
        acc.closed += r.closed;
        if let Some(h) = r.median_hours_to_close.filter(|h| h.is_finite()) {
            acc.weighted_hours += h * r.closed as f64;
            acc.weight += r.closed;
        }
    }
    by.into_iter()
        .map(|(cd, weeks)| DistrictSeries {
            council_district: cd,
            weeks: weeks
                .into_iter()
                .filter_map(|(us, a)| {
                    Some(WeekPoint {
                        week_start: DateTime::from_timestamp_micros(us)?,
                        requests: a.requests,
                        closed: a.closed,
                        hours_to_close: (a.weight > 0).then(|| a.weighted_hours / a.weight as f64),
                    })
                })
                .collect(),
        })
        .collect()
}

/// Row accounting of one stage (ingest, transform) with the reasons rows were quarantined.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StageQuality {
    /// `ingest` or `transform`.
    pub stage: String,
    /// Rows the stage read.
    pub rows_in: u64,
    /// Rows it passed on.
    pub rows_out: u64,
    /// Rows it quarantined.
    pub rows_quarantined: u64,
    /// Quarantined rows by reason (digits in reasons are folded to `N` so similar reasons group).
    pub by_reason: BTreeMap<String, u64>,
}

impl StageQuality {
    /// True when `rows_in = rows_out + rows_quarantined`.
    pub fn balanced(&self) -> bool {
        self.rows_in == self.rows_out + self.rows_quarantined
    }
}

/// One worklist layer's job counts.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LayerSummary {
    /// Layer name.
    pub layer: String,
    /// Jobs done + failed; None when the layer has not completed.
    pub jobs_total: Option<usize>,
    /// Jobs done.
    pub jobs_done: usize,
    /// Jobs failed.
    pub jobs_failed: usize,
}

/// Data-quality numbers of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DataQuality {
    /// Per stage, in pipeline order.
    pub stages: Vec<StageQuality>,
    /// Per worklist layer, in order.
    pub layers: Vec<LayerSummary>,
    /// The district derived from the coordinates against the published one, over the transformed rows (None
    /// when the dataset derives none).
    pub districts: Option<contract::DistrictAgreement>,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct ReportData {
    /// Dataset id.
    pub dataset: String,
    /// Run id.
    pub run_id: String,
    /// Where the run's rows came from.
    pub source: String,
    /// When the report was made.
    pub generated_at: DateTime<Utc>,
    /// Weekly series per district.
    pub districts: Vec<DistrictSeries>,
    /// The dataset's findings in the ledger.
    pub findings: Vec<Event>,
    /// Stakeholder per district.
    pub stakeholders: BTreeMap<u8, Stakeholder>,
    /// Data quality.
    pub quality: DataQuality,
}

/// Folds digit runs to `N` (so `row has 12 fields` and `row has 7 fields` are one reason).
pub fn reason_class(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut in_digits = false;
    for c in reason.chars() {
        if c.is_ascii_digit() {
            if !in_digits {
                out.push('N');
            }
            in_digits = true;
        } else {
            out.push(c);
            in_digits = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cd: i16, week: i64, requests: u64, closed: u64, median: Option<f64>) -> WeeklyInput {
        WeeklyInput {
            council_district: cd,
            week_start_us: week * 7 * 24 * 3600 * 1_000_000,
            requests,
            closed,
            median_hours_to_close: median,
        }
    }

    #[test]
    fn weekly_rows_sum_per_district_and_weight_medians_by_closed() {
        let series = fold_weekly([
            row(2, 1, 10, 4, Some(10.0)),
            row(2, 1, 5, 1, Some(60.0)),
            row(2, 0, 3, 0, None),
            row(1, 1, 7, 7, Some(1.0)),
        ]);
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].council_district, 1);
        let cd2 = &series[1];
        assert_eq!(cd2.weeks.len(), 2);
        assert_eq!(cd2.weeks[0].requests, 3);
        assert_eq!(cd2.weeks[0].hours_to_close, None);
        assert_eq!(cd2.weeks[1].requests, 15);
        assert_eq!(cd2.weeks[1].closed, 5);
        // (10*4 + 60*1) / 5 = 20
        assert_eq!(cd2.weeks[1].hours_to_close, Some(20.0));
        assert_eq!(cd2.total_requests(), 18);
    }

    #[test]
    fn partial_edge_weeks_are_left_out_and_counted() {
        let weekly = |requests: &[u64]| DistrictSeries {
            council_district: 1,
            weeks: requests
                .iter()
                .enumerate()
                .map(|(i, r)| WeekPoint {
                    week_start: DateTime::from_timestamp(i as i64 * 604_800, 0).unwrap(),
                    requests: *r,
                    closed: 0,
                    hours_to_close: None,
                })
                .collect(),
        };
        let s = weekly(&[10, 100, 90, 110, 40]);
        let (kept, dropped) = s.full_weeks();
        assert_eq!(dropped, 2);
        assert_eq!(
            kept.iter().map(|w| w.requests).collect::<Vec<_>>(),
            [100, 90, 110]
        );
        // A dip inside the series is data, not an edge: it stays.
        let s = weekly(&[100, 10, 100, 100]);
        assert_eq!(s.full_weeks().1, 0);
        assert_eq!(weekly(&[]).full_weeks().1, 0);
    }

    #[test]
    fn reasons_fold_digits() {
        assert_eq!(
            reason_class("row has 12 fields, header has 34"),
            "row has N fields, header has N"
        );
        assert_eq!(reason_class("bad"), "bad");
    }
}
