//! The page from hand-made report data: one pair of charts per district, findings with severity and the
//! district's stakeholder, data-quality numbers, and nothing external.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use ledger::stakeholders::{Provenance, SourcedText, Stakeholder, stakeholder_id};
use ledger::{Dimensions, EventInput, Severity};
use report::model::{LayerSummary, StageQuality, WeeklyInput, fold_weekly};
use report::{DataQuality, ReportData, render};

fn week(n: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2023, 1, 2, 0, 0, 0).unwrap() + chrono::Duration::weeks(n)
}

fn finding(cd: u8, severity: Severity, n: i64, request_type: &str) -> ledger::Event {
    EventInput {
        event_id: None,
        schema_version: None,
        dataset: "la311".into(),
        layer: "analyze".into(),
        event_type: "weekly_count_spike".into(),
        window_start: week(n),
        window_end: week(n + 1),
        dimensions: Dimensions {
            council_district: cd,
            category: Some(request_type.into()),
            ..Default::default()
        },
        metric: "requests".into(),
        value: 120.0,
        baseline: Some(40.0),
        unit: "count".into(),
        severity,
        score: Some(5.0),
        score_kind: Some("robust_z".into()),
        partition: Some(cd.to_string()),
        run_id: "r1".into(),
        source: vec![],
        stakeholders: vec![],
    }
    .into_event(Utc::now())
}

fn stakeholder(cd: u8, name: &str) -> Stakeholder {
    Stakeholder {
        id: stakeholder_id(cd),
        council_district: cd,
        council_member: Some(SourcedText {
            value: name.into(),
            provenance: Provenance::Data,
        }),
        member_since: None,
        member_last_seen: None,
        website: None,
        phone: None,
        email: None,
        office_address: None,
        neighborhood_councils: None,
        history: vec![],
    }
}

fn data() -> ReportData {
    let mut rows = Vec::new();
    for cd in [4_i16, 11] {
        for w in 0..20 {
            rows.push(WeeklyInput {
                council_district: cd,
                week_start_us: week(w).timestamp_micros(),
                requests: 100 + w as u64 * cd as u64,
                closed: 90,
                median_hours_to_close: Some(24.0 + w as f64),
            });
        }
    }
    let mut findings = vec![
        finding(4, Severity::Critical, 3, "Bulky Items"),
        finding(11, Severity::Warning, 5, "Graffiti <Removal>"),
    ];
    for n in 0..30 {
        findings.push(finding(11, Severity::Info, n, "Illegal Dumping"));
    }
    // Found first by an earlier run: still in the ledger, not counted as this run's.
    findings[0].run_id = "r0".into();
    ReportData {
        dataset: "la311".into(),
        run_id: "r1".into(),
        source: "file demo.csv".into(),
        generated_at: Utc::now(),
        districts: fold_weekly(rows),
        findings,
        stakeholders: BTreeMap::from([(4, stakeholder(4, "Nithya Raman"))]),
        quality: DataQuality {
            stages: vec![
                StageQuality {
                    stage: "ingest".into(),
                    rows_in: 1000,
                    rows_out: 990,
                    rows_quarantined: 10,
                    by_reason: BTreeMap::from([("row has N fields".into(), 10)]),
                },
                StageQuality {
                    stage: "transform".into(),
                    rows_in: 990,
                    rows_out: 985,
                    rows_quarantined: 4,
                    by_reason: BTreeMap::from([("bad date".into(), 4)]),
                },
            ],
            layers: vec![
                LayerSummary {
                    layer: "transform".into(),
                    jobs_total: Some(16),
                    jobs_done: 16,
                    jobs_failed: 0,
                },
                LayerSummary {
                    layer: "analyze".into(),
                    ..Default::default()
                },
            ],
            districts: Some(contract::DistrictAgreement {
                derived: 900,
                outside: 5,
                unlocated: 80,
                compared: 880,
                agreed: 879,
                filled: 0,
            }),
        },
    }
}

#[test]
fn several_datasets_share_one_page_with_a_section_each() {
    let la311 = data();
    let mut crime = data();
    crime.dataset = "lapd_crime".into();
    let page = report::render_many(&[la311.clone(), crime]).unwrap();
    assert!(page.contains("<article id=\"la311\">"), "la311 section");
    assert!(
        page.contains("<article id=\"lapd_crime\">"),
        "crime section"
    );
    // Anchors do not collide between sections.
    assert!(page.contains("id=\"la311-cd-4\"") && page.contains("id=\"lapd_crime-cd-4\""));
    assert!(page.contains("href=\"#lapd_crime-quality\""));
    // The single-dataset page keeps its plain anchors.
    let single = report::render(&la311).unwrap();
    assert!(single.contains("id=\"cd-4\"") && !single.contains("<ul><li><a href=\"#la311\""));
}

#[test]
fn the_quality_section_states_the_district_agreement() {
    let page = report::render(&data()).unwrap();
    assert!(
        page.contains("Council districts from coordinates"),
        "section"
    );
    assert!(page.contains("879 of 880 (99.89 %)"), "agreement rate");
}

#[test]
fn page_has_two_charts_per_district_and_the_findings_with_stakeholders() {
    let html = render(&data()).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 4);
    assert!(html.contains("id=\"cd-4\"") && html.contains("id=\"cd-11\""));
    assert!(html.contains("Nithya Raman"));
    assert!(
        html.contains("(cd-11)"),
        "a district without a known member still names its stakeholder id"
    );
    assert!(html.contains("<span class=\"sev critical\">critical</span>"));
    assert!(html.contains("Graffiti &lt;Removal&gt;"));
    assert!(!html.contains("Graffiti <Removal>"));
    // 31 findings for CD 11: 25 listed, 6 counted.
    assert!(html.contains("6 more finding(s) for this district"));
    assert!(html.contains("32 finding(s) in the ledger (31 first recorded by this run;"));
    assert!(html.contains(": 1 critical, 1 warning, 30 info, across 2 district(s)"));
}

#[test]
fn page_shows_quality_numbers_and_flags_what_does_not_add_up() {
    let html = render(&data()).unwrap();
    assert!(html.contains("row has N fields"));
    assert!(html.contains("<td>transform</td><td class=n>990</td><td class=n>985</td><td class=n>4</td><td class=bad>NO</td>"));
    assert!(html.contains("<td>ingest</td><td class=n>1,000</td><td class=n>990</td><td class=n>10</td><td class=ok>yes</td>"));
    assert!(html.contains("<td>analyze</td><td colspan=3 class=bad>not completed</td>"));
}

#[test]
fn page_is_self_contained() {
    let html = render(&data()).unwrap();
    for external in ["<link", " src=", "href=\"http", "url(", "@import"] {
        assert!(
            !html.contains(external),
            "page references an external asset: {external}"
        );
    }
    assert_eq!(html.matches("<script>").count(), 1);
    assert!(html.contains("document.body.dataset.check"));
}

#[test]
fn a_dataset_without_close_times_draws_no_time_to_close_chart() {
    let mut d = data();
    for s in &mut d.districts {
        for w in &mut s.weeks {
            w.hours_to_close = None;
        }
    }
    let page = report::render(&d).unwrap();
    assert!(
        !page.contains("hours to close (weekly median)"),
        "no empty chart"
    );
    assert!(page.contains("rows per week"));
    assert!(page.contains("the dataset records no close time"));
    assert_eq!(
        page.matches("<svg class=\"chart\"").count(),
        d.districts.len(),
        "one chart per district"
    );
}

fn association(cd: u8, lag: i32, r: f64, q: f64) -> correlate::Association {
    correlate::Association {
        dataset_a: "la311".into(),
        metric_a: "total".into(),
        dataset_b: "lapd_crime".into(),
        metric_b: "total".into(),
        council_district: cd,
        lag_weeks: lag,
        correlation: r,
        p_value: q / 10.0,
        q_value: q,
        weeks: 52,
    }
}

#[test]
fn the_section_across_datasets_maps_districts_by_lag_and_draws_each_discovery() {
    let found = association(7, -1, 0.81, 0.003);
    let mut all: Vec<correlate::Association> = (-1..=1)
        .flat_map(|lag| {
            [
                association(3, lag, -0.2, 0.9),
                association(7, lag, 0.1, 0.8),
            ]
        })
        .collect();
    all.push(found.clone());
    let points: Vec<_> = (0..10).map(|n| (week(2500 + n), Some(n as f64))).collect();
    let across = report::cross::CrossSection {
        dataset: "lapd_crime".into(),
        run_id: "r1".into(),
        associations: all.clone(),
        alpha: 0.05,
        charts: vec![report::cross::PairSeries {
            association: found,
            a: points.clone(),
            b: points,
        }],
        discoveries: 1,
        features_location: "/store/data/features/district_week".into(),
    };
    let html = report::render_with(&[data(), data()], Some(&across)).unwrap();
    assert!(html.contains("<article id=across>"));
    assert!(
        html.contains("href=\"#across\""),
        "listed at the top of the page"
    );
    assert!(html.contains(&format!("{} test(s)", all.len())));
    // Two districts x three lags; the discovery's cell carries the mark, no other does.
    let heat = &html[html.find("<table class=heat>").unwrap()..];
    let heat = &heat[..heat.find("</table>").unwrap()];
    assert_eq!(heat.matches("<tr><td>CD ").count(), 2);
    assert_eq!(heat.matches("●").count(), 1);
    assert!(heat.contains("0.81 ●"), "{heat}");
    // The discovery's chart: two labelled series on one SVG.
    assert!(html.contains("CD 7: la311 total vs lapd_crime total (lag -1)"));
    assert!(html.contains("lapd_crime total (week w-1)"));
    assert!(html.contains(
        "read_parquet('/store/data/features/district_week/*/*.parquet', hive_partitioning = true)"
    ));
}
