//! The report's section across datasets: a council district x lag heat map of the strongest association each
//! cell tested, the two weekly series of each discovery on one chart, and where the feature table is with the
//! DuckDB lines that read it. Gathered from the association table of the run whose correlate layer ran and
//! from the feature table.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use correlate::Association;
use object_store::ObjectStore;

use crate::chart::{ChartError, Line, render_lines};
use crate::html::escape;

/// Discoveries drawn as charts (the strongest first); the heat map shows every cell.
pub const MAX_CHARTS: usize = 12;

/// One discovery's two series, aligned: `a` at week w, `b` at week w + lag (both standardized).
#[derive(Debug, Clone)]
pub struct PairSeries {
    /// The association.
    pub association: Association,
    /// `dataset_a`'s metric by week.
    pub a: Vec<(DateTime<Utc>, Option<f64>)>,
    /// `dataset_b`'s metric by week + lag.
    pub b: Vec<(DateTime<Utc>, Option<f64>)>,
}

/// What the section shows.
#[derive(Debug, Clone)]
pub struct CrossSection {
    /// The run whose correlate layer produced the table.
    pub dataset: String,
    /// Its id.
    pub run_id: String,
    /// Every test of the run.
    pub associations: Vec<Association>,
    /// The q-value threshold of a discovery.
    pub alpha: f64,
    /// The discoveries drawn (at most [`MAX_CHARTS`]).
    pub charts: Vec<PairSeries>,
    /// Discoveries in all.
    pub discoveries: usize,
    /// Where the feature table is (a folder or an S3 URL), for the DuckDB lines.
    pub features_location: String,
}

/// Errors gathering the section.
#[derive(Debug, thiserror::Error)]
#[error("cross-dataset section: {0}")]
pub struct CrossError(String);

fn standardized(values: &[f64]) -> Vec<Option<f64>> {
    let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n.max(1.0);
    let sd = (finite.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n.max(1.0)).sqrt();
    values
        .iter()
        .map(|v| {
            v.is_finite()
                .then(|| if sd > 0.0 { (v - mean) / sd } else { 0.0 })
        })
        .collect()
}

/// The feature column of a dataset's metric (`total` or a category, found by the column's metadata).
fn metric_column(schema: &arrow::datatypes::Schema, dataset: &str, metric: &str) -> Option<String> {
    if metric == "total" {
        return Some(format!("{dataset}__total"));
    }
    schema
        .fields()
        .iter()
        .find(|f| {
            f.metadata().get("dataset").map(String::as_str) == Some(dataset)
                && f.metadata().get("category").map(String::as_str) == Some(metric)
        })
        .map(|f| f.name().clone())
}

/// The section of run `run_id` of `dataset`; `None` when the run wrote no association table.
pub async fn gather(
    data: &Arc<dyn ObjectStore>,
    loc: &analysis::Locations,
    dataset: &str,
    run_id: &str,
    alpha: f64,
    features_location: String,
) -> Result<Option<CrossSection>, CrossError> {
    let err = |e: &dyn std::fmt::Display| CrossError(e.to_string());
    let key = loc
        .association_table(dataset, run_id)
        .map_err(|e| err(&e))?;
    let Some(associations) = analysis::cross::read_associations(data, &key)
        .await
        .map_err(|e| err(&e))?
    else {
        return Ok(None);
    };
    let mut found: Vec<&Association> = associations.iter().filter(|a| a.q_value <= alpha).collect();
    found.sort_by(|x, y| {
        x.q_value
            .total_cmp(&y.q_value)
            .then(y.correlation.abs().total_cmp(&x.correlation.abs()))
    });
    let mut charts = Vec::new();
    for a in found.iter().take(MAX_CHARTS) {
        let part = loc
            .feature_part(&a.council_district.to_string())
            .map_err(|e| err(&e))?;
        let Some(batches) = analysis::features::read_table(data, &part)
            .await
            .map_err(|e| err(&e))?
        else {
            continue;
        };
        let Some(batch) = batches.first() else {
            continue;
        };
        let schema = batch.schema();
        let (Some(ca), Some(cb)) = (
            metric_column(&schema, &a.dataset_a, &a.metric_a),
            metric_column(&schema, &a.dataset_b, &a.metric_b),
        ) else {
            continue;
        };
        let (Some(va), Some(vb), Some(first)) = (
            analysis::features::column_values(batch, &ca),
            analysis::features::column_values(batch, &cb),
            analysis::features::first_week(batch),
        ) else {
            continue;
        };
        let lag = a.lag_weeks as i64;
        let shifted: Vec<f64> = (0..va.len() as i64)
            .map(|i| {
                usize::try_from(i + lag)
                    .ok()
                    .and_then(|j| vb.get(j).copied())
                    .unwrap_or(f64::NAN)
            })
            .collect();
        let weeks: Vec<DateTime<Utc>> = (0..va.len() as i64)
            .map(|i| analysis::aggregate::week_start(first + i))
            .collect();
        charts.push(PairSeries {
            association: (*a).clone(),
            a: weeks.iter().copied().zip(standardized(&va)).collect(),
            b: weeks.iter().copied().zip(standardized(&shifted)).collect(),
        });
    }
    Ok(Some(CrossSection {
        dataset: dataset.to_owned(),
        run_id: run_id.to_owned(),
        discoveries: found.len(),
        associations,
        alpha,
        charts,
        features_location,
    }))
}

/// Background of a heat-map cell: red for positive, blue for negative correlations, stronger with |r|.
fn cell_colour(r: f64) -> String {
    let t = r.abs().clamp(0.0, 1.0);
    let fade = |c: f64| (255.0 - (255.0 - c) * t).round() as u8;
    let (cr, cg, cb) = if r >= 0.0 {
        (214.0, 39.0, 40.0)
    } else {
        (31.0, 119.0, 180.0)
    };
    format!("rgb({},{},{})", fade(cr), fade(cg), fade(cb))
}

/// The section as HTML.
pub fn render(s: &CrossSection, out: &mut String) -> Result<(), ChartError> {
    let lags: std::collections::BTreeSet<i32> =
        s.associations.iter().map(|a| a.lag_weeks).collect();
    let _ = write!(
        out,
        "<article id=across><h1 class=ds>Across datasets</h1><p>{} test(s) by the correlate layer of {} run {}: every \
         pair of datasets, their weekly <code>total</code> and top categories, per council district, at lags {}..{} \
         weeks (<code>lag k</code>: the first dataset's week w against the second's week w+k), on detrended series \
         with permutation p-values and Benjamini-Hochberg q-values across all of them. <b>{}</b> with q &le; {}.</p>",
        s.associations.len(),
        escape(&s.dataset),
        escape(&s.run_id),
        lags.first().copied().unwrap_or(0),
        lags.last().copied().unwrap_or(0),
        s.discoveries,
        s.alpha
    );
    // Heat map: the strongest |r| each (district, lag) cell tested; a dot marks a discovery.
    let mut best: BTreeMap<(u8, i32), &Association> = BTreeMap::new();
    for a in &s.associations {
        let cell = best.entry((a.council_district, a.lag_weeks)).or_insert(a);
        let better = (a.q_value <= s.alpha) as u8 > (cell.q_value <= s.alpha) as u8
            || ((a.q_value <= s.alpha) == (cell.q_value <= s.alpha)
                && a.correlation.abs() > cell.correlation.abs());
        if better {
            *cell = a;
        }
    }
    let districts: std::collections::BTreeSet<u8> = best.keys().map(|(d, _)| *d).collect();
    out.push_str("<h2>Strongest association per district and lag</h2><table class=heat><tr><th>district</th>");
    for l in &lags {
        let _ = write!(out, "<th class=n>{l:+}</th>");
    }
    out.push_str("</tr>");
    for d in &districts {
        let _ = write!(out, "<tr><td>CD {d}</td>");
        for l in &lags {
            match best.get(&(*d, *l)) {
                Some(a) => {
                    let hit = a.q_value <= s.alpha;
                    let _ = write!(
                        out,
                        "<td class=n style=\"background:{}\" title=\"{} {} vs {} {}: r = {:.2}, p = {:.2e}, q = {:.2e}, {} weeks\">{:.2}{}</td>",
                        cell_colour(a.correlation),
                        escape(&a.dataset_a),
                        escape(&a.metric_a),
                        escape(&a.dataset_b),
                        escape(&a.metric_b),
                        a.correlation,
                        a.p_value,
                        a.q_value,
                        a.weeks,
                        a.correlation,
                        if hit { " ●" } else { "" }
                    );
                }
                None => out.push_str("<td></td>"),
            }
        }
        out.push_str("</tr>");
    }
    let per_cell = s.associations.len() / best.len().max(1);
    let _ = write!(
        out,
        "</table><p class=sub>Cell: the correlation of the pair with the largest |r| of the {per_cell} tested in that          district at that lag (a discovery first, marked ●); hover for the pair and its q-value. The largest of that          many tests is far from zero by chance alone: only cells marked ● passed the false-discovery control.</p>"
    );
    if !s.charts.is_empty() {
        let _ = write!(
            out,
            "<h2>Discoveries</h2><p class=sub>{} shown of {}; both series standardized (z), the second shifted by the lag so the paired weeks line up.</p>",
            s.charts.len(),
            s.discoveries
        );
        for c in &s.charts {
            let a = &c.association;
            let title = format!(
                "CD {}: {} {} vs {} {} (lag {:+}), r = {:.2}, q = {:.1e}",
                a.council_district,
                a.dataset_a,
                a.metric_a,
                a.dataset_b,
                a.metric_b,
                a.lag_weeks,
                a.correlation,
                a.q_value
            );
            let la = format!("{} {} (week w)", a.dataset_a, a.metric_a);
            let lb = format!("{} {} (week w{:+})", a.dataset_b, a.metric_b, a.lag_weeks);
            out.push_str(&render_lines(
                &title,
                "standardized",
                &[
                    Line {
                        label: &la,
                        rgb: (31, 119, 180),
                        points: &c.a,
                    },
                    Line {
                        label: &lb,
                        rgb: (214, 39, 40),
                        points: &c.b,
                    },
                ],
            )?);
        }
    }
    let glob = format!("{}/*/*.parquet", s.features_location.trim_end_matches('/'));
    let _ = write!(
        out,
        "<h2>The feature table</h2><p>One row per council district and ISO week over every week any dataset covers, \
         columns per dataset (<code>&lt;dataset&gt;__total</code>, <code>__cat__&lt;category&gt;</code>, \
         <code>__median_hours_to_close</code>, <code>__findings_&lt;severity&gt;</code>); counts are 0 in a week a \
         dataset covers without rows and null outside its data. At <code>{}</code>. With DuckDB:</p>\
         <pre>duckdb -c \"SELECT * FROM read_parquet('{}', hive_partitioning = true)\n  ORDER BY council_district, week_start LIMIT 10\"</pre></article>",
        escape(&s.features_location),
        escape(&glob)
    );
    Ok(())
}
