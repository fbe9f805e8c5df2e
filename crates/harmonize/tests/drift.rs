//! Schema drift against the real samples and small synthetic sources.

mod support;

use harmonize::drift::{self, DriftReport, RenameKind};

fn drift_of(catalog: &harmonize::Catalog, csv_text: &str) -> DriftReport {
    let (header, rows) = drift::sample_csv(csv_text.as_bytes(), 1000).unwrap();
    let era = drift::era_for(catalog, &header, None, None).unwrap();
    drift::check(catalog, era, &header, &rows)
}

fn drift_of_sample(catalog: &harmonize::Catalog, file: &str) -> DriftReport {
    let path = support::sample(file);
    let (header, rows) = drift::sample_csv(std::fs::File::open(path).unwrap(), 5000).unwrap();
    let era = drift::era_for(catalog, &header, None, None).unwrap();
    drift::check(catalog, era, &header, &rows)
}

#[test]
fn sample_2020_against_a_2017_only_mapping_names_the_new_column_and_the_case_renames() {
    let full = harmonize::builtin("la311").unwrap();
    let a_only = full.restricted_to(&["A"]);
    let r = drift_of_sample(&a_only, "myla311_2020_api_fieldnames_sample.csv");
    assert_eq!(r.era, "A");
    let new: Vec<&str> = r.new_columns.iter().map(|c| c.name.as_str()).collect();
    assert!(new.contains(&"createdbyuserorganization"), "{}", r.render());
    assert!(new.contains(&"_daystoclose"), "{}", r.render());
    let srn = r
        .renamed
        .iter()
        .find(|x| x.source == "srnumber")
        .expect("srnumber rename");
    assert_eq!(
        (srn.mapped.as_str(), srn.kind, srn.covered),
        ("SRNumber", RenameKind::Case, true)
    );
    assert!(
        r.renamed
            .iter()
            .any(|x| x.source == "createddate" && x.mapped == "CreatedDate")
    );
    assert!(r.missing_columns.is_empty(), "{}", r.render());
    assert!(!r.covered);
}

#[test]
fn real_samples_are_covered_by_the_full_catalog() {
    let full = harmonize::builtin("la311").unwrap();
    for (file, era) in [
        ("myla311_2017_sample.csv", "A"),
        ("myla311_2018_sample.csv", "A"),
        ("myla311_2020_api_fieldnames_sample.csv", "B"),
    ] {
        let r = drift_of_sample(&full, file);
        assert_eq!(r.era, era, "{file}");
        assert!(r.covered, "{file}:\n{}", r.render());
    }
}

#[test]
fn separator_renames_new_formats_and_strict_values_are_not_covered() {
    let full = harmonize::builtin("la311").unwrap();
    let b = full.era("B").unwrap();
    // Era B header with one column renamed snake_case, a UTC 'Z' date and an unknown status.
    let cols: Vec<String> = b
        .columns
        .values()
        .filter_map(|m| m.from.clone())
        .chain(["Location".to_string()])
        .fold(Vec::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
    let header: Vec<String> = cols
        .iter()
        .map(|c| {
            if c == "CreatedByUserOrganization" {
                "created_by_user_organization".into()
            } else {
                c.clone()
            }
        })
        .collect();
    let row: Vec<String> = cols
        .iter()
        .map(|c| match c.as_str() {
            "CreatedDate" => "2025-03-28T10:00:00Z".into(),
            "UpdatedDate" | "ClosedDate" | "ServiceDate" => "03/28/2025 10:00:00 AM".into(),
            "Status" => "Escalated".into(),
            "CreatedByUserOrganization" => "Self Service".into(),
            "CD" => "4".into(),
            _ => String::new(),
        })
        .collect();
    let csv = format!("{}\n{}\n", header.join(","), row.join(","));
    let r = drift::check(
        &full,
        b,
        &drift::sample_csv(csv.as_bytes(), 10).unwrap().0,
        &drift::sample_csv(csv.as_bytes(), 10).unwrap().1,
    );
    let ren = r
        .renamed
        .iter()
        .find(|x| x.source == "created_by_user_organization")
        .unwrap_or_else(|| panic!("{}", r.render()));
    assert_eq!((ren.kind, ren.covered), (RenameKind::Separators, false));
    assert_eq!(r.unparsed_dates.len(), 1, "{}", r.render());
    assert_eq!(
        r.unparsed_dates[0].examples,
        vec!["2025-03-28T10:00:00Z".to_string()]
    );
    let status = r
        .new_values
        .iter()
        .find(|v| v.canonical == "status")
        .unwrap_or_else(|| panic!("{}", r.render()));
    assert!(status.strict && status.values.contains_key("Escalated"));
    assert!(!r.covered);
}

#[test]
fn an_era_c_cases_header_is_matched_to_era_c() {
    let full = harmonize::builtin("la311").unwrap();
    let r = drift_of(
        &full,
        "casenumber,createddate,type,status,locator_council_district,brand_new_field\nC-1,2026-01-02T03:04:05.000,Graffiti Removal,Closed,4,x\n",
    );
    assert_eq!(r.era, "C");
    assert_eq!(
        r.new_columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["brand_new_field"]
    );
    assert!(
        r.missing_columns.iter().all(|m| m.optional),
        "{}",
        r.render()
    );
    assert!(!r.covered);
}

#[test]
fn malformed_rows_are_counted_not_judged() {
    // The 2023 fixture's first row has 33 fields under a 34-field header.
    let full = harmonize::builtin("la311").unwrap();
    let r = drift_of_sample(&full, "myla311_2023_fixture.csv");
    assert_eq!(
        (r.era.as_str(), r.sampled_rows, r.malformed_rows),
        ("B", 2, 1)
    );
    assert!(r.covered, "{}", r.render());
}

#[test]
fn report_round_trips_through_json_for_the_run_manifest() {
    let full = harmonize::builtin("la311").unwrap();
    let header: Vec<String> = ["SRNumber", "CreatedDate", "cd", "Extra"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows = vec![vec![
        "1-1".to_string(),
        "01/01/2017 12:00:00 AM".into(),
        "3".into(),
        "x".into(),
    ]];
    let r = drift::check_source(&full, &header, &rows, None, Some(2017)).unwrap();
    assert_eq!(r.era, "A");
    assert!(!r.covered);
    let back: DriftReport = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
}
