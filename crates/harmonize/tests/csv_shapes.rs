//! Files as people save them (issue #13 items 4 and 5), each from a small literal CSV through the real
//! ingestion (`ingest_core::ingest` with this crate's drift check) and the transform: every timestamp
//! shape (two mixed in one column), a subset of an era's columns, headers in any order and case, a
//! repeated header, an unnamed index column, CRLF with quoted numbers, and a file no era maps.

mod support;

use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int16Type, TimestampMicrosecondType};
use arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use harmonize::drift::{DriftReport, HeaderChangeKind};
use harmonize::manifest::RunManifest;
use harmonize::plan::PlanError;
use harmonize::{PartitionReport, TransformError, transform_partition_with};
use object_store::ObjectStore;

/// Ingest `csv` (byte for byte) as an la311 file run with the drift check the `ingest` function uses.
async fn ingest(store: &Arc<dyn ObjectStore>, run: &str, csv: &str) -> RunManifest {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.csv");
    std::fs::write(&path, csv).unwrap();
    let spec = ingest_core::Catalog::builtin().load("la311").unwrap();
    let opts = ingest_core::IngestOptions {
        run_id: Some(run.into()),
        drift: harmonize::drift::ingest_check("la311"),
        ..Default::default()
    };
    let grants = ingest_core::Locations {
        raw: prefixes::ingest::raw(),
        quarantine: prefixes::ingest::quarantine(),
        runs: prefixes::ingest::runs(),
    };
    let m = ingest_core::ingest(
        store.clone(),
        grants,
        &spec,
        ingest_core::SourceSpec::File { path },
        opts,
    )
    .await
    .unwrap()
    .manifest;
    assert_eq!(m.rows_read, m.rows_written + m.rows_quarantined);
    m
}

/// Transform every partition of the run (balanced reports), or the first error.
async fn transform(
    store: &Arc<dyn ObjectStore>,
    m: &RunManifest,
) -> Result<Vec<PartitionReport>, TransformError> {
    let catalog = harmonize::builtin("la311").unwrap();
    let mut out = Vec::new();
    for p in &m.partitions {
        let r =
            transform_partition_with(store.clone(), support::locations(), &catalog, m, &p.value)
                .await?;
        assert!(r.balanced(), "{r:?}");
        out.push(r);
    }
    Ok(out)
}

/// Ingest and transform `csv`: the drift report stored in the manifest, the partition reports and every
/// canonical batch. No row may be quarantined.
async fn check(csv: &str) -> (DriftReport, Vec<PartitionReport>, Vec<RecordBatch>) {
    let store = support::memory_store();
    let m = ingest(&store, "r", csv).await;
    let reports = transform(&store, &m).await.unwrap();
    let quarantined: Vec<_> = reports
        .iter()
        .filter(|r| r.rows_quarantined > 0)
        .map(|r| &r.quarantined_by_reason)
        .collect();
    assert!(quarantined.is_empty(), "{quarantined:?}");
    assert_eq!(
        reports.iter().map(|r| r.rows_out).sum::<u64>(),
        m.rows_read,
        "every row transforms"
    );
    let drift: DriftReport = serde_json::from_value(m.drift.clone().unwrap()).unwrap();
    let batches = support::read_parquet_under(&store, "canonical/la311/")
        .await
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    (drift, reports, batches)
}

/// Column `name` of every canonical row, rendered (timestamps as RFC 3339 UTC, null as "null"), sorted by
/// `sr_number`.
fn column(batches: &[RecordBatch], name: &str) -> Vec<String> {
    let mut rows: Vec<(String, String)> = Vec::new();
    for b in batches {
        let sr = b.column_by_name("sr_number").unwrap().as_string::<i32>();
        let c = b.column_by_name(name).unwrap();
        for i in 0..b.num_rows() {
            let v = if c.is_null(i) {
                "null".to_string()
            } else if let Some(t) = c.as_primitive_opt::<TimestampMicrosecondType>() {
                chrono::DateTime::from_timestamp_micros(t.value(i))
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
            } else if let Some(n) = c.as_primitive_opt::<Int16Type>() {
                n.value(i).to_string()
            } else if let Some(x) = c.as_primitive_opt::<arrow::datatypes::Float64Type>() {
                x.value(i).to_string()
            } else {
                c.as_string::<i32>().value(i).to_string()
            };
            rows.push((sr.value(i).to_string(), v));
        }
    }
    rows.sort();
    rows.into_iter().map(|(_, v)| v).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_date_shape_parses_even_two_mixed_in_one_column() {
    // LAPD mixes rows 1 and 2 in one column; permits' Issue Date is date only (ServiceDate here).
    let csv = "SRNumber,CreatedDate,ServiceDate,CD\n\
               1-1,01/08/2020 12:00:00 AM,01/05/2018,1\n\
               1-2,01/08/2020 00:00,,1\n\
               1-3,1/8/2020 0:00,1/5/2018,1\n\
               1-4,1/8/20 0:00,,1\n\
               1-5,2020-01-08 00:00:00,2018-01-05,1\n\
               1-6,2020-01-08T00:00:00,,1\n\
               1-7,2020-01-08T00:00:00.000,,1\n\
               1-8,07/04/2020 01:30:00 PM,,1\n";
    let (drift, reports, batches) = check(csv).await;
    assert!(drift.unparsed_dates.is_empty(), "{}", drift.render());
    let mut want = vec!["2020-01-08T08:00:00Z"; 7];
    want.push("2020-07-04T20:30:00Z");
    assert_eq!(column(&batches, "created_at"), want);
    let service = column(&batches, "service_date");
    assert_eq!(
        service,
        [
            "2018-01-05T08:00:00Z",
            "null",
            "2018-01-05T08:00:00Z",
            "null",
            "2018-01-05T08:00:00Z",
            "null",
            "null",
            "null"
        ]
    );
    assert_eq!(reports[0].year, Some(2020), "year inferred from created_at");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_subset_in_any_order_and_case_transforms_with_the_rest_null() {
    let csv = "status,CD,createddate,SRNUMBER\n\
               Closed,13,12/31/2017 11:59:58 PM,1-1\n\
               Open,2,01/02/2018 08:00:00 AM,1-2\n";
    let (drift, reports, batches) = check(csv).await;
    assert!(reports.iter().all(|r| r.era == "A"), "{reports:?}");
    let missing = &reports[0].missing_columns;
    assert_eq!(missing.get("owner_code").map(String::as_str), Some("Owner"));
    assert_eq!(missing.get("nc_name").map(String::as_str), Some("NCName"));
    assert_eq!(
        missing.get("latitude").map(String::as_str),
        Some("Latitude")
    );
    for present in ["sr_number", "created_at", "status", "council_district"] {
        assert!(!missing.contains_key(present), "{present}: {missing:?}");
    }
    assert_eq!(column(&batches, "status"), ["Closed", "Open"]);
    assert_eq!(column(&batches, "council_district"), ["13", "2"]);
    assert_eq!(column(&batches, "owner_code"), ["null", "null"]);
    assert_eq!(
        column(&batches, "created_at"),
        ["2018-01-01T07:59:58Z", "2018-01-02T16:00:00Z"]
    );
    // The drift report lists the absent columns as optional, and still covers the file.
    let owner = drift
        .missing_columns
        .iter()
        .find(|c| c.name == "Owner")
        .expect("Owner listed");
    assert!(owner.optional);
    assert!(drift.missing_columns.iter().all(|c| c.optional));
    assert!(drift.covered, "{}", drift.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeated_header_keeps_both_in_raw_maps_the_first_and_warns() {
    let csv = "SRNumber,CreatedDate,Status,CD,Status\n\
               1-1,12/31/2017 11:59:58 PM,Closed,13,Open\n";
    let (drift, _, batches) = check(csv).await;
    assert_eq!(column(&batches, "status"), ["Closed"]);
    assert_eq!(drift.header_changes.len(), 1, "{}", drift.render());
    let c = &drift.header_changes[0];
    assert_eq!(
        (c.kind, c.raw.as_str(), c.position, c.first),
        (HeaderChangeKind::Duplicate, "Status__2", 5, Some(3))
    );
    assert!(drift.new_columns.is_empty(), "{}", drift.render());
    assert!(drift.renamed.is_empty(), "{}", drift.render());
    assert!(!drift.covered, "a repeated name is a warning");
    let text = drift.render();
    assert!(
        text.contains("HEADER   column 5 \"Status\" repeats"),
        "{text}"
    );
    assert!(
        text.contains("rename the source's repeated column"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leading_unnamed_index_column_is_kept_and_ignored_by_the_mapping() {
    let csv = ",SRNumber,CreatedDate,CD\n0,1-1,12/31/2017 11:59:58 PM,13\n1,1-2,12/31/2017 11:00:00 PM,4\n";
    let (drift, _, batches) = check(csv).await;
    assert_eq!(column(&batches, "sr_number"), ["1-1", "1-2"]);
    assert_eq!(drift.ignored_columns, ["_index"]);
    assert!(drift.new_columns.is_empty(), "{}", drift.render());
    assert_eq!(drift.header_changes[0].kind, HeaderChangeKind::Unnamed);
    assert!(drift.covered, "{}", drift.render());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crlf_no_final_newline_and_quoted_numbers_transform() {
    let csv = "SRNumber,CreatedDate,CD,Latitude,Longitude,NC\r\n\
               1-1,\"12/31/2017 11:59:58 PM\",\"13\",\"34.0732\",\"-118.2668\",\"44\"\r\n\
               1-2,01/08/2020 00:00,13.0,34.1,-118.3, 44 \r\n\
               1-3,01/08/2020 00:00,13,,,44";
    let (_, reports, batches) = check(csv).await;
    assert_eq!(reports.iter().map(|r| r.rows_in).sum::<u64>(), 3);
    assert_eq!(column(&batches, "council_district"), ["13", "13", "13"]);
    assert_eq!(column(&batches, "nc_code"), ["44", "44", "44"]);
    assert_eq!(column(&batches, "latitude"), ["34.0732", "34.1", "null"]);
    assert_eq!(
        column(&batches, "created_at"),
        [
            "2018-01-01T07:59:58Z",
            "2020-01-08T08:00:00Z",
            "2020-01-08T08:00:00Z"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_no_era_maps_fails_naming_its_columns_and_writes_nothing_canonical() {
    // LAPD crime columns under a CD header: ingestion partitions it, no la311 era maps it.
    let csv = "DR_NO,Date Rptd,DATE OCC,CD,Crm Cd Desc\n\
               190326475,03/01/2020 12:00:00 AM,03/01/2020 12:00:00 AM,7,VEHICLE - STOLEN\n";
    let store = support::memory_store();
    let m = ingest(&store, "lapd", csv).await;
    let catalog = harmonize::builtin("la311").unwrap();
    let Err(PlanError::NoEra(no)) = harmonize::partition::era_of_run(&catalog, &m) else {
        panic!("an era fits")
    };
    assert_eq!(
        no.unmapped,
        ["DR_NO", "Date Rptd", "DATE OCC", "Crm Cd Desc"]
    );
    let a = no.eras.iter().find(|e| e.era == "A").unwrap();
    assert_eq!(
        a.missing,
        ["SRNumber (sr_number)", "CreatedDate (created_at)"]
    );
    let err = transform(&store, &m).await.unwrap_err();
    let TransformError::Plan {
        source: PlanError::NoEra(_),
        ..
    } = &err
    else {
        panic!("{err}")
    };
    let text = err.to_string();
    assert!(
        text.contains("columns no era maps: DR_NO, Date Rptd, DATE OCC, Crm Cd Desc"),
        "{text}"
    );
    assert!(text.contains("era A lacks SRNumber (sr_number)"), "{text}");
    let written: Vec<_> = store
        .list(Some(&object_store::path::Path::from("canonical")))
        .try_collect()
        .await
        .unwrap();
    assert!(written.is_empty(), "{written:?}");
}
