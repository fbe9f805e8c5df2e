//! The page from hand-made report data: one pair of charts per district, findings with severity and the
//! district's stakeholder, data-quality numbers, and nothing external.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeZone, Utc};
use ledger::stakeholders::{Stakeholder, StakeholderFile, merge, stakeholder_id};
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

/// The stakeholder of `cd` whose maintained file lists one term of `name`, since 2020-12-14.
fn stakeholder(cd: u8, name: &str) -> Stakeholder {
    let yaml = format!(
        "version: 2\ndistricts:\n  - council_district: {cd}\n    terms:\n      - member: {name}\n        member_since: 2020-12-14\n"
    );
    let file = StakeholderFile::parse("inline.yaml", &yaml).unwrap();
    let mut all = merge(&BTreeMap::new(), Some(&file));
    assert_eq!(all[0].id, stakeholder_id(cd));
    all.remove(0)
}

/// The stakeholders of the repository's la311 file (no data).
fn la311_stakeholders() -> BTreeMap<u8, Stakeholder> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../datasets/la311/stakeholders.yaml");
    let file = StakeholderFile::load(&path).unwrap();
    merge(&BTreeMap::new(), Some(&file))
        .into_iter()
        .map(|s| (s.council_district, s))
        .collect()
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

/// Regression (issue 14): a 2023 report named the members of 2016-2020; each finding names the member in office
/// during its window, and the district heading the members during the district's period.
#[test]
fn findings_name_the_member_in_office_during_their_window() {
    let at = |y: i32, m: u32, d: u32| Utc.with_ymd_and_hms(y, m, d, 0, 0, 0).unwrap();
    let mut f2018 = finding(12, Severity::Warning, 0, "Bulky Items");
    (f2018.window_start, f2018.window_end) = (at(2018, 6, 4), at(2018, 6, 11));
    let mut f2023 = finding(12, Severity::Info, 0, "Graffiti Removal");
    (f2023.window_start, f2023.window_end) = (at(2023, 6, 5), at(2023, 6, 12));
    let mut f2016 = finding(7, Severity::Info, 0, "Graffiti Removal");
    (f2016.window_start, f2016.window_end) = (at(2016, 8, 1), at(2016, 8, 8));
    // CD 5 across the December 2022 change: one week on each side.
    let mut koretz = finding(5, Severity::Info, 0, "Bulky Items");
    (koretz.window_start, koretz.window_end) = (at(2022, 12, 5), at(2022, 12, 12));
    let mut yaroslavsky = finding(5, Severity::Info, 0, "Electronic Waste");
    (yaroslavsky.window_start, yaroslavsky.window_end) = (at(2022, 12, 12), at(2022, 12, 19));
    let mut d = data();
    d.districts.clear();
    d.findings = vec![f2018, f2023, f2016, koretz, yaroslavsky];
    d.stakeholders = la311_stakeholders();
    let html = render(&d).unwrap();
    let row = |category: &str, window: &str| {
        let at = html
            .find(&format!("<td>{category}</td><td>{window}</td>"))
            .unwrap_or_else(|| panic!("no row {category} {window}"));
        let rest = &html[at..];
        rest[..rest.find("</tr>").unwrap()].to_owned()
    };
    assert!(row("Bulky Items", "2018-06-04 – 2018-06-11").contains("<td>Mitchell Englander</td>"));
    assert!(row("Graffiti Removal", "2023-06-05 – 2023-06-12").contains("<td>John Lee</td>"));
    assert!(row("Graffiti Removal", "2016-08-01 – 2016-08-08").contains("<td>Felipe Fuentes</td>"));
    assert!(row("Bulky Items", "2022-12-05 – 2022-12-12").contains("<td>Paul Koretz</td>"));
    assert!(
        row("Electronic Waste", "2022-12-12 – 2022-12-19").contains("<td>Katy Yaroslavsky</td>")
    );
    // The heading's terms say where each name comes from.
    let cd12 = &html[html.find("id=\"cd-12\"").unwrap()..];
    let note = &cd12[cd12.find("Council member terms: ").unwrap()..];
    let note = &note[..note.find("</p>").unwrap()];
    assert!(
        note.starts_with("Council member terms: Mitchell Englander 2011-07-01 – 2018-12-31 (file: council member from 2011"),
        "{note}"
    );
    assert!(
        note.contains("Greig Smith 2019-01-01 – 2019-08-29"),
        "{note}"
    );
    assert!(
        note.contains("John Lee 2019-08-30 – … (file: sworn in 2019-08-30"),
        "{note}"
    );
    // CD 7 in 2016: Felipe Fuentes; a window reaching into the vacancy after him says so.
    let cd7 = &d.stakeholders[&7];
    assert_eq!(
        cd7.named_during(at(2016, 9, 5), at(2016, 9, 19)),
        "Felipe Fuentes"
    );
    assert_eq!(
        cd7.named_during(at(2017, 6, 26), at(2017, 7, 3)),
        "Monica Rodriguez (from 2017-07-01; none named before)"
    );
    assert_eq!(
        cd7.named_during(at(2017, 1, 2), at(2017, 1, 9)),
        "unknown (no term covers this period)"
    );
    // The CD 12 heading spans 2018 to 2023: every member in between, in order.
    assert!(
        html.contains("stakeholder: Mitchell Englander (until 2018-12-31), then Greig Smith (inferred, until 2019-08-29), then John Lee (cd-12)"),
        "{}",
        &html[html.find("id=\"cd-12\"").unwrap()..][..400]
    );
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
