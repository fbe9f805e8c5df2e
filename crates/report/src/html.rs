//! The page: one self-contained HTML document (inline CSS, inline SVG, one inline check script; no external
//! asset, font or request). Pure: [`render`] turns [`ReportData`] into a string.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use ledger::{Event, Severity};

use crate::chart::{self, ChartError, LineChart};
use crate::model::{DistrictSeries, ReportData};

/// Findings listed per district; the rest are counted and left to the ledger API.
pub const FINDINGS_PER_DISTRICT: usize = 25;

/// Escapes text for HTML element content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px auto;max-width:1200px;color:#222;padding:0 16px}\
h1{font-size:1.6em;margin-bottom:0}h2{margin-top:2em;border-bottom:1px solid #ddd;padding-bottom:4px}\
.sub{color:#666;margin-top:4px}table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left;font-size:.92em}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}.charts{display:flex;flex-wrap:wrap;gap:12px}\
svg.chart{border:1px solid #eee;border-radius:4px}.sev{padding:1px 7px;border-radius:9px;font-size:.85em;color:#fff}\
.critical{background:#c0392b}.warning{background:#d68910}.info{background:#5d6d7e}.ok{color:#1e8449}.bad{color:#c0392b}";

/// Measures every chart after layout and records `ok:N` (or `bad:OK/N`) in `body[data-check]`.
const CHECK_SCRIPT: &str = "(function(){var s=document.querySelectorAll('svg.chart'),ok=0;\
for(var i=0;i<s.length;i++){var r=s[i].getBoundingClientRect();if(r.width>0&&r.height>0)ok++;}\
document.body.dataset.check=(ok===s.length&&ok>0?'ok:'+ok:'bad:'+ok+'/'+s.length);})();";

fn severity_badge(s: Severity) -> String {
    format!("<span class=\"sev {0}\">{0}</span>", s.as_str())
}

/// The member(s) in office in `cd` during `[start, end)` by the district's terms (file and data), saying when a
/// name is not dated by the maintained file; `unknown` without a stakeholder.
fn member_during(
    data: &ReportData,
    cd: u8,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
) -> String {
    data.stakeholders
        .get(&cd)
        .map(|s| s.named_during(start, end))
        .unwrap_or_else(|| "unknown".into())
}

type Period = (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>);

/// What the report shows of a district: its weekly series, else its findings' windows.
fn period(series: Option<&DistrictSeries>, findings: &[&Event]) -> Option<Period> {
    let week = chrono::Duration::days(7);
    series
        .and_then(|s| {
            Some((
                s.weeks.first()?.week_start,
                s.weeks.last()?.week_start + week,
            ))
        })
        .or_else(|| {
            let start = findings.iter().map(|e| e.window_start).min()?;
            let end = findings.iter().map(|e| e.window_end).max()?;
            Some((start, end))
        })
}

/// Which terms the names of the district's period come from: dates, the file's source, the data's days seen.
fn terms_note(data: &ReportData, cd: u8, period: Option<Period>) -> String {
    let (Some(s), Some((start, end))) = (data.stakeholders.get(&cd), period) else {
        return String::new();
    };
    let (first, last) = ledger::stakeholders::window_days(start, end);
    let terms: Vec<String> = s
        .dated_terms()
        .all_during(first, last)
        .iter()
        .map(|o| {
            let t = &o.term;
            let day = |d: Option<chrono::NaiveDate>| d.map_or("…".to_string(), |d| d.to_string());
            let mut from = Vec::new();
            if let Some(src) = &t.source {
                from.push(format!("file: {src}"));
            }
            if let (Some(a), Some(b)) = (t.first_seen, t.last_seen) {
                from.push(format!("named in the data {a} – {b}"));
            }
            format!(
                "{} {} – {} ({})",
                escape(&t.member),
                day(o.covers_from),
                day(o.covers_until),
                escape(&from.join("; "))
            )
        })
        .collect();
    if terms.is_empty() {
        return String::new();
    }
    format!(
        "<p class=sub>Council member terms: {}.</p>",
        terms.join("; ")
    )
}

/// The member(s) in office during what the report shows of `cd`: its weekly series, else its findings' windows;
/// the current member when it shows neither.
fn member(
    data: &ReportData,
    cd: u8,
    series: Option<&DistrictSeries>,
    findings: &[&Event],
) -> String {
    match period(series, findings) {
        Some((start, end)) => member_during(data, cd, start, end),
        None => data
            .stakeholders
            .get(&cd)
            .and_then(|s| s.council_member.as_ref())
            .map(|m| m.value.clone())
            .unwrap_or_else(|| "unknown".into()),
    }
}

fn num(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn quality_section(data: &ReportData, ids: &str, out: &mut String) {
    let _ = write!(
        out,
        "<h2 id=\"{ids}quality\">Data quality</h2><table><tr><th>stage</th><th class=n>rows in</th><th class=n>rows out</th><th class=n>quarantined</th><th>adds up</th></tr>"
    );
    for s in &data.quality.stages {
        let (class, text) = if s.balanced() {
            ("ok", "yes")
        } else {
            ("bad", "NO")
        };
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class={class}>{text}</td></tr>",
            escape(&s.stage),
            num(s.rows_in),
            num(s.rows_out),
            num(s.rows_quarantined)
        );
    }
    out.push_str("</table><h3>Why rows were quarantined</h3><table><tr><th>stage</th><th>reason</th><th class=n>rows</th></tr>");
    let mut any = false;
    for s in &data.quality.stages {
        let mut reasons: Vec<_> = s.by_reason.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, n) in reasons {
            any = true;
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td class=n>{}</td></tr>",
                escape(&s.stage),
                escape(reason),
                num(*n)
            );
        }
    }
    if !any {
        out.push_str("<tr><td colspan=3>no row was quarantined</td></tr>");
    }
    out.push_str("</table>");
    if let Some(d) = &data.quality.districts {
        districts_table(d, out);
    }
    out.push_str("<h3>Worklist layers</h3><table><tr><th>layer</th><th class=n>jobs</th><th class=n>done</th><th class=n>failed</th></tr>");
    for l in &data.quality.layers {
        match l.jobs_total {
            Some(total) => {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td class=n>{total}</td><td class=n>{}</td><td class=\"n {}\">{}</td></tr>",
                    escape(&l.layer),
                    l.jobs_done,
                    if l.jobs_failed == 0 { "ok" } else { "bad" },
                    l.jobs_failed
                );
            }
            None => {
                let _ = write!(
                    out,
                    "<tr><td>{}</td><td colspan=3 class=bad>not completed</td></tr>",
                    escape(&l.layer)
                );
            }
        }
    }
    out.push_str("</table>");
}

/// The district of the coordinates (by the lines in force on each row's date) against the published one.
fn districts_table(d: &contract::DistrictAgreement, out: &mut String) {
    let rate = d
        .rate()
        .map_or("–".to_string(), |r| format!("{:.2} %", 100.0 * r));
    let _ = write!(
        out,
        "<h3>Council districts from coordinates</h3><p class=sub>Each row's district by the boundary lines in force on its date (2012 lines before 2022-12-12, 2021 lines from then on).</p><table><tr><th>rows</th><th class=n>count</th></tr><tr><td>located in a district</td><td class=n>{}</td></tr><tr><td>located outside every district</td><td class=n>{}</td></tr><tr><td>without usable coordinates</td><td class=n>{}</td></tr>",
        num(d.derived),
        num(d.outside),
        num(d.unlocated)
    );
    if d.filled > 0 {
        let _ = write!(
            out,
            "<tr><td>district taken from the coordinates (the source publishes none)</td><td class=n>{}</td></tr>",
            num(d.filled)
        );
    }
    if d.compared > 0 {
        let _ = write!(
            out,
            "<tr><td>published district and coordinates agree</td><td class=n>{} of {} ({rate})</td></tr>",
            num(d.agreed),
            num(d.compared)
        );
    }
    out.push_str("</table>");
}

fn finding_row(e: &Event, member: &str, out: &mut String) {
    let pair = e.dimensions.pair.as_ref().map(|p| {
        format!(
            "{} vs {} {} (lag {:+})",
            p.metric_a, p.dataset_b, p.metric_b, p.lag_weeks
        )
    });
    let what = pair
        .as_deref()
        .or(e.dimensions.category.as_deref())
        .or(e.dimensions.request_type.as_deref())
        .unwrap_or("all types");
    let baseline = e
        .baseline
        .map(|b| format!("{b:.1}"))
        .unwrap_or_else(|| "–".into());
    let _ = write!(
        out,
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} – {}</td><td>{}</td><td>{}</td><td class=n>{:.1}</td><td class=n>{baseline}</td><td>{}</td></tr>",
        severity_badge(e.severity),
        escape(&e.event_type),
        escape(what),
        e.window_start.format("%Y-%m-%d"),
        e.window_end.format("%Y-%m-%d"),
        escape(member),
        escape(&e.metric),
        e.value,
        escape(&e.unit)
    );
}

fn district_section(
    data: &ReportData,
    ids: &str,
    cd: u8,
    series: Option<&DistrictSeries>,
    findings: &[&Event],
    out: &mut String,
) -> Result<(), ChartError> {
    let stakeholder = data.stakeholders.get(&cd);
    let _ = write!(
        out,
        "<section id=\"{ids}cd-{cd}\"><h2>Council District {cd} <small class=sub>— stakeholder: {} ({})</small></h2>",
        escape(&member(data, cd, series, findings)),
        escape(
            &stakeholder
                .map(|s| s.id.clone())
                .unwrap_or_else(|| ledger::stakeholders::stakeholder_id(cd))
        )
    );
    out.push_str(&terms_note(data, cd, period(series, findings)));
    if let Some(series) = series {
        let (weeks, partial) = series.full_weeks();
        let volume: Vec<_> = weeks
            .iter()
            .map(|w| (w.week_start, Some(w.requests as f64)))
            .collect();
        let close: Vec<_> = weeks
            .iter()
            .map(|w| (w.week_start, w.hours_to_close))
            .collect();
        out.push_str("<div class=charts>");
        out.push_str(&chart::render(&LineChart {
            title: &format!("CD {cd}: rows per week"),
            y_desc: "rows",
            rgb: (31, 119, 180),
            points: &volume,
        })?);
        // Datasets without a close time (crimes, permits) have no time-to-close chart.
        let closes = close.iter().any(|(_, h)| h.is_some());
        if closes {
            out.push_str(&chart::render(&LineChart {
                title: &format!("CD {cd}: hours to close (weekly median)"),
                y_desc: "hours",
                rgb: (214, 39, 40),
                points: &close,
            })?);
        }
        out.push_str("</div>");
        let _ = write!(
            out,
            "<p class=sub>{} rows over {} weeks{}{}</p>",
            num(series.total_requests()),
            series.weeks.len(),
            if partial > 0 {
                format!(" ({partial} partial edge week(s) not drawn)")
            } else {
                String::new()
            },
            if closes {
                "; time to close is each category's weekly median, averaged with the closed counts as weights."
            } else {
                "; the dataset records no close time."
            }
        );
    } else {
        out.push_str("<p class=sub>No processed weekly table for this district.</p>");
    }
    if findings.is_empty() {
        out.push_str("<p>No findings.</p>");
    } else {
        let _ = write!(
            out,
            "<table><tr><th>severity</th><th>finding</th><th>category</th><th>window</th><th>council member in office</th><th>metric</th><th class=n>value</th><th class=n>baseline</th><th>unit</th></tr>"
        );
        for e in findings.iter().take(FINDINGS_PER_DISTRICT) {
            finding_row(
                e,
                &member_during(data, cd, e.window_start, e.window_end),
                out,
            );
        }
        out.push_str("</table>");
        if findings.len() > FINDINGS_PER_DISTRICT {
            let _ = write!(
                out,
                "<p class=sub>{} more finding(s) for this district: <code>GET /events?council_district={cd}</code> on <code>civic serve</code>.</p>",
                findings.len() - FINDINGS_PER_DISTRICT
            );
        }
    }
    out.push_str("</section>");
    Ok(())
}

/// Renders the whole page of one dataset's run.
pub fn render(data: &ReportData) -> Result<String, ChartError> {
    render_many(std::slice::from_ref(data))
}

/// One page with a section per dataset's run (anchors prefixed with the dataset id when there are several).
pub fn render_many(runs: &[ReportData]) -> Result<String, ChartError> {
    render_with(runs, None)
}

/// [`render_many`] with the section across datasets (the correlate layer's), when one was gathered.
pub fn render_with(
    runs: &[ReportData],
    across: Option<&crate::cross::CrossSection>,
) -> Result<String, ChartError> {
    let title = match runs {
        [one] => format!("{} findings — run {}", one.dataset, one.run_id),
        _ => format!(
            "Findings of {}",
            runs.iter()
                .map(|r| r.dataset.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><meta name=viewport content=\"width=device-width,initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(&title)
    );
    if runs.len() > 1 {
        let _ = write!(out, "<h1>{}</h1><ul>", escape(&title));
        for r in runs {
            let _ = write!(
                out,
                "<li><a href=\"#{0}\">{0}</a> — run {1}, {2} finding(s)</li>",
                escape(&r.dataset),
                escape(&r.run_id),
                r.findings.len()
            );
        }
        if let Some(c) = across {
            let _ = write!(
                out,
                "<li><a href=\"#across\">across datasets</a> — {} test(s), {} association(s)</li>",
                c.associations.len(),
                c.discoveries
            );
        }
        out.push_str("</ul>");
    }
    for r in runs {
        let ids = if runs.len() > 1 {
            format!("{}-", r.dataset)
        } else {
            String::new()
        };
        let _ = write!(out, "<article id=\"{}\">", escape(&r.dataset));
        body(r, &ids, runs.len() > 1, &mut out)?;
        out.push_str("</article>");
    }
    if let Some(c) = across {
        crate::cross::render(c, &mut out)?;
    }
    let _ = write!(out, "<script>{CHECK_SCRIPT}</script></body></html>");
    Ok(out)
}

/// One dataset's run: heading, district table, a section per district, data quality.
fn body(data: &ReportData, ids: &str, nested: bool, out: &mut String) -> Result<(), ChartError> {
    let mut by_district: BTreeMap<u8, Vec<&Event>> = BTreeMap::new();
    for e in &data.findings {
        by_district
            .entry(e.dimensions.council_district)
            .or_default()
            .push(e);
    }
    let series: BTreeMap<u8, &DistrictSeries> = data
        .districts
        .iter()
        .filter_map(|s| Some((u8::try_from(s.council_district).ok()?, s)))
        .collect();
    let districts: BTreeSet<u8> = series.keys().chain(by_district.keys()).copied().collect();
    let title = format!("{} findings — run {}", data.dataset, data.run_id);
    let h = if nested { "h1 class=ds" } else { "h1" };
    let _ = write!(
        out,
        "<{h}>{}</{}><p class=sub>source: {} · generated {}</p>",
        escape(&title),
        &h[..2],
        escape(&data.source),
        data.generated_at.format("%Y-%m-%d %H:%M UTC")
    );
    let count = |s: Severity| data.findings.iter().filter(|e| e.severity == s).count();
    let _ = write!(
        out,
        "<p>{} finding(s) in the ledger ({} first recorded by this run; the ledger keeps each finding once, with the run that found it first): {} critical, {} warning, {} info, across {} district(s). <a href=\"#{ids}quality\">Data quality</a></p>",
        data.findings.len(),
        data.findings
            .iter()
            .filter(|e| e.run_id == data.run_id)
            .count(),
        count(Severity::Critical),
        count(Severity::Warning),
        count(Severity::Info),
        by_district.len()
    );
    out.push_str("<table><tr><th>district</th><th>stakeholder</th><th class=n>rows</th><th class=n>critical</th><th class=n>warning</th><th class=n>info</th></tr>");
    for cd in &districts {
        let f = by_district.get(cd).map(Vec::as_slice).unwrap_or(&[]);
        let n = |s: Severity| f.iter().filter(|e| e.severity == s).count();
        let _ = write!(
            out,
            "<tr><td><a href=\"#{ids}cd-{cd}\">CD {cd}</a></td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            escape(&member(data, *cd, series.get(cd).copied(), f)),
            num(series.get(cd).map_or(0, |s| s.total_requests())),
            n(Severity::Critical),
            n(Severity::Warning),
            n(Severity::Info)
        );
    }
    out.push_str("</table>");
    for cd in &districts {
        let f = by_district.get(cd).map(Vec::as_slice).unwrap_or(&[]);
        district_section(data, ids, *cd, series.get(cd).copied(), f, out)?;
    }
    quality_section(data, ids, out);
    Ok(())
}
