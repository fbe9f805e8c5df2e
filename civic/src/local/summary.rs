//! The demo's closing summary: one line per stage, one per worklist layer with its row accounting, findings by
//! district, and the cross-layer checks (rows in = rows out + quarantined at every layer; canonical rows on
//! disk = transform rows out; every job of every layer done).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use ledger::{Event, Severity};
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::file::reader::{FileReader, SerializedFileReader};

/// Peak resident memory of this process (VmHWM of /proc/self/status), in KiB.
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

struct Stage {
    name: String,
    secs: f64,
    rows_in: Option<u64>,
    rows_out: Option<u64>,
    quarantined: Option<u64>,
    note: String,
}

/// What the stages reported, printed at the end.
#[derive(Default)]
pub struct Summary {
    stages: Vec<Stage>,
}

fn opt(n: Option<u64>) -> String {
    n.map_or_else(|| "-".into(), |n| n.to_string())
}

/// Sums a numeric field (dotted path) over the job summaries of a layer report; None when no job has it.
/// What a layer's job summaries add up to: rows in, rows out, rows quarantined (transform only), a note,
/// and the canonical part files the transform wrote.
struct LayerTotals {
    rows_in: Option<u64>,
    rows_out: Option<u64>,
    quarantined: Option<u64>,
    note: String,
    canonical_keys: Vec<String>,
}

fn totals(report: &contract::LayerReport) -> anyhow::Result<LayerTotals> {
    let mut t = LayerTotals {
        rows_in: None,
        rows_out: None,
        quarantined: None,
        note: String::new(),
        canonical_keys: Vec::new(),
    };
    match report.layer.as_str() {
        "transform" => {
            let s = report.transform_summaries()?;
            t.rows_in = Some(s.iter().map(|s| s.rows_in).sum());
            t.rows_out = Some(s.iter().map(|s| s.rows_out).sum());
            t.quarantined = Some(s.iter().map(|s| s.rows_quarantined).sum());
            t.canonical_keys = s.into_iter().flat_map(|s| s.canonical_keys).collect();
        }
        "analyze" => {
            let s = report.analyze_summaries()?;
            t.rows_in = Some(s.iter().map(|s| s.rows.rows).sum());
            t.rows_out = Some(s.iter().map(|s| s.rows.used).sum());
            let findings: usize = s.iter().map(|s| s.findings).sum();
            let created: usize = s.iter().map(|s| s.events_created).sum();
            t.note =
                format!("{findings} finding(s), {created} event(s) appended when the jobs ran");
        }
        "correlate" => {
            let sum = |field: &str| -> u64 {
                report
                    .jobs
                    .iter()
                    .filter_map(|j| j.summary.as_ref()?.get(field)?.as_u64())
                    .sum()
            };
            t.note = format!(
                "{} feature row(s), {} test(s) across datasets",
                sum("feature_rows"),
                sum("tests")
            );
        }
        _ => {}
    }
    Ok(t)
}

/// Rows in the Parquet files at `keys`, from their footers.
pub async fn parquet_rows(data: &Arc<dyn ObjectStore>, keys: &[String]) -> anyhow::Result<u64> {
    let mut rows = 0;
    for key in keys {
        let bytes = data
            .get(&object_store::path::Path::from(key.as_str()))
            .await?
            .bytes()
            .await?;
        let reader = SerializedFileReader::new(bytes)?;
        rows += reader.metadata().file_metadata().num_rows() as u64;
    }
    Ok(rows)
}

impl Summary {
    /// Records a finished stage.
    pub fn stage(
        &mut self,
        name: &str,
        started: Instant,
        rows_in: Option<u64>,
        rows_out: Option<u64>,
        quarantined: Option<u64>,
        note: &str,
    ) {
        let secs = started.elapsed().as_secs_f64();
        self.stage_took(name, secs, rows_in, rows_out, quarantined, note);
    }

    /// A stage that took `secs` (measured elsewhere, e.g. on a background thread).
    pub fn stage_took(
        &mut self,
        name: &str,
        secs: f64,
        rows_in: Option<u64>,
        rows_out: Option<u64>,
        quarantined: Option<u64>,
        note: &str,
    ) {
        self.stages.push(Stage {
            name: name.to_owned(),
            secs,
            rows_in,
            rows_out,
            quarantined,
            note: note.to_owned(),
        });
    }

    /// Prints the summary and the accounting checks; false when a check fails.
    pub async fn print(
        &self,
        data: &Arc<dyn ObjectStore>,
        manifest: &ingest_core::RunManifest,
        layers: &[String],
        events: &[Event],
        new_events: usize,
        shown: &report::ReportData,
    ) -> anyhow::Result<bool> {
        let mut problems = Vec::new();
        println!();
        println!(
            "{:<10} {:>11} {:>11} {:>11} {:>8}  note",
            "stage", "rows in", "rows out", "quarantined", "time"
        );
        for s in &self.stages {
            println!(
                "{:<10} {:>11} {:>11} {:>11} {:>7.1}s  {}",
                s.name,
                opt(s.rows_in),
                opt(s.rows_out),
                opt(s.quarantined),
                s.secs,
                s.note
            );
        }
        if manifest.rows_read != manifest.rows_written + manifest.rows_quarantined {
            problems.push(format!(
                "ingest: {} read != {} written + {} quarantined",
                manifest.rows_read, manifest.rows_written, manifest.rows_quarantined
            ));
        }
        let partitions = manifest.partitions.len();
        println!();
        println!(
            "{:<10} {:>5} {:>5} {:>6} {:>11} {:>11} {:>11} {:>10}  note",
            "layer", "jobs", "done", "failed", "rows in", "rows out", "quarantined", "job time"
        );
        let mut transform_out = None;
        for layer in layers {
            let Some(r) = worklist::report::read(
                data.as_ref(),
                prefixes::process::runs().into(),
                &manifest.dataset,
                &manifest.run_id,
                layer,
            )
            .await?
            else {
                problems.push(format!("layer {layer} did not complete"));
                println!("{layer:<10} not completed");
                continue;
            };
            let LayerTotals {
                rows_in,
                rows_out,
                quarantined,
                note,
                canonical_keys: keys,
            } = totals(&r)?;
            println!(
                "{:<10} {:>5} {:>5} {:>6} {:>11} {:>11} {:>11} {:>9.1}s  {note}",
                layer,
                r.jobs_total,
                r.jobs_done,
                r.jobs_failed,
                opt(rows_in),
                opt(rows_out),
                opt(quarantined),
                r.total_duration_ms as f64 / 1000.0
            );
            if r.jobs_done != partitions || r.jobs_failed != 0 {
                problems.push(format!(
                    "layer {layer}: {} done, {} failed of {partitions} partitions",
                    r.jobs_done, r.jobs_failed
                ));
            }
            if layer == "transform" {
                if let (Some(i), Some(o), Some(q)) = (rows_in, rows_out, quarantined) {
                    if i != manifest.rows_written {
                        problems.push(format!(
                            "transform read {i} rows, ingest wrote {}",
                            manifest.rows_written
                        ));
                    }
                    if i != o + q {
                        problems.push(format!("transform: {i} in != {o} out + {q} quarantined"));
                    }
                }
                let on_disk = parquet_rows(data, &keys).await?;
                if Some(on_disk) != rows_out {
                    problems.push(format!(
                        "canonical Parquet holds {on_disk} rows, transform reported {}",
                        opt(rows_out)
                    ));
                }
                transform_out = Some(on_disk);
            } else if layer == "analyze"
                && let (Some(read), Some(canonical)) = (rows_in, transform_out)
                && read != canonical
            {
                problems.push(format!(
                    "analyze read {read} rows, canonical holds {canonical}"
                ));
            }
        }
        let mut by_district: BTreeMap<u8, [usize; 3]> = BTreeMap::new();
        for e in events {
            let counts = by_district
                .entry(e.dimensions.council_district)
                .or_default();
            counts[match e.severity {
                Severity::Critical => 0,
                Severity::Warning => 1,
                Severity::Info => 2,
            }] += 1;
        }
        println!();
        println!(
            "ledger: {} event(s) for {} ({} new in this run)",
            events.len(),
            manifest.dataset,
            new_events
        );
        println!(
            "{:<9} {:<28} {:>8} {:>8} {:>8}",
            "district", "stakeholder", "critical", "warning", "info"
        );
        for (cd, [c, w, i]) in &by_district {
            // The member(s) in office during the district's findings' windows, not today's.
            let district = || {
                events
                    .iter()
                    .filter(|e| e.dimensions.council_district == *cd)
            };
            let member = match (
                district().map(|e| e.window_start).min(),
                district().map(|e| e.window_end).max(),
                shown.stakeholders.get(cd),
            ) {
                (Some(start), Some(end), Some(s)) => s.named_during(start, end),
                _ => "unknown".to_owned(),
            };
            println!("CD {cd:<6} {member:<28} {c:>8} {w:>8} {i:>8}");
        }
        if problems.is_empty() {
            println!("accounting: every layer adds up");
        } else {
            for p in &problems {
                println!("accounting MISMATCH: {p}");
            }
        }
        Ok(problems.is_empty())
    }
}
