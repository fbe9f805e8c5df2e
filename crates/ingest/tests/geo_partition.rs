//! The `geo` partition rule on a small literal CSV in the crime export's shape: a row goes to the district of
//! its coordinates by the lines in force on its DATE OCC (the same point can change district between 2022-12-11
//! and 2022-12-12), rows without usable coordinates go to `__missing__`, located rows in no district to
//! `__outside__`, and a row whose date cannot be read is quarantined. Nothing is dropped.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use ingest_core::{Catalog, IngestOptions, SourceSpec, ingest};
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};

const HEADER: &str = "DR_NO,Date Rptd,DATE OCC,TIME OCC,AREA,AREA NAME,Rpt Dist No,Part 1-2,Crm Cd,Crm Cd Desc,Mocodes,Vict Age,Vict Sex,Vict Descent,Premis Cd,Premis Desc,Weapon Used Cd,Weapon Desc,Status,Status Desc,Crm Cd 1,Crm Cd 2,Crm Cd 3,Crm Cd 4,LOCATION,Cross Street,LAT,LON";

fn row(dr: &str, date: &str, lat: &str, lon: &str) -> String {
    format!(
        "{dr},{date},{date},1200,01,Central,0163,2,624,BATTERY - SIMPLE ASSAULT,0416,25,M,H,102,SIDEWALK,,,IC,Invest Cont,624,,,,700 S  HILL ST,,{lat},{lon}"
    )
}

/// A point whose district differs between the 2012 and the 2021 lines, found on the real crime sample.
fn switching_point() -> (f64, f64, u8, u8) {
    let b = datasets::Catalog::builtin()
        .boundaries("council_districts")
        .unwrap();
    let (old, new) = (b.set("2012").unwrap(), b.set("2021").unwrap());
    let gz = std::fs::File::open(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../testdata/lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz"),
    )
    .unwrap();
    let mut csv = csv::Reader::from_reader(flate2::read::GzDecoder::new(gz));
    for r in csv.records() {
        let r = r.unwrap();
        let (lat, lon): (f64, f64) = (r[26].parse().unwrap(), r[27].parse().unwrap());
        if let (Some(a), Some(b)) = (old.district(lat, lon), new.district(lat, lon))
            && a != b
        {
            return (lat, lon, a, b);
        }
    }
    panic!("no sample point changes district between the 2012 and 2021 lines");
}

#[tokio::test]
async fn rows_go_to_the_district_of_their_coordinates_on_their_date() {
    let (lat, lon, old, new) = switching_point();
    let (lat, lon) = (lat.to_string(), lon.to_string());
    let csv = [
        HEADER.to_string(),
        row("1", "12/11/2022 12:00:00 AM", &lat, &lon),
        row("2", "12/12/2022 00:00", &lat, &lon),
        row("3", "12/12/2022", "0", "0"),
        row("4", "12/12/2022", "", ""),
        // The Pacific, west of Santa Monica: located, in no district.
        row("5", "01/02/2021", "34.0", "-118.6"),
        row("6", "yesterday", &lat, &lon),
    ]
    .join("\r\n");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crime.csv");
    std::fs::write(&path, csv).unwrap();
    let spec = Catalog::builtin().load("lapd_crime").unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let report = ingest(
        store.clone(),
        common::grants(),
        &spec,
        SourceSpec::File { path },
        IngestOptions {
            run_id: Some("geo".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let m = &report.manifest;
    m.check_accounting().unwrap();
    assert_eq!((m.rows_read, m.rows_written, m.rows_quarantined), (6, 5, 1));
    let want: BTreeMap<String, u64> = [
        (old.to_string(), 1),
        (new.to_string(), 1),
        ("__missing__".to_string(), 2),
        ("__outside__".to_string(), 1),
    ]
    .into_iter()
    .collect();
    assert_eq!(common::counts(m), want);
    assert_eq!(m.partition_column, "geo:council_districts");
    // The quarantined row names the date column and why it matters.
    let back = common::read_back(&store, m).await;
    let rows: Vec<u64> = back.values().flatten().map(|(_, src)| *src).collect();
    assert_eq!(rows.len(), 5);
    assert!(!rows.contains(&6), "row 6 has no readable date");
    let mut quarantined = String::new();
    for key in &m.quarantine_keys {
        let bytes = store
            .get(&object_store::path::Path::from(key.as_str()))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        quarantined.push_str(&String::from_utf8_lossy(&bytes));
    }
    assert!(
        quarantined.contains("unparsable date \\\"yesterday\\\" in DATE OCC"),
        "{quarantined}"
    );
}
