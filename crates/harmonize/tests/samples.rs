//! The transform on the real MyLA311 samples (testdata/la311, committed gzip'd).

mod support;

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Float64Type, Int16Type, TimestampMicrosecondType};
use harmonize::{PartitionReport, transform_partition_with};
use support::*;

/// Per-CD counts from testdata/README.md ("__missing__" = empty CD).
fn readme_counts(s: &str) -> BTreeMap<String, u64> {
    s.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once(':').unwrap();
            let k = if k == "empty" { "__missing__" } else { k };
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

async fn transform_all(
    store: &std::sync::Arc<dyn object_store::ObjectStore>,
    manifest: &harmonize::manifest::RunManifest,
) -> Vec<PartitionReport> {
    let catalog = harmonize::builtin("la311").unwrap();
    let mut out = Vec::new();
    for p in &manifest.partitions {
        let r = transform_partition_with(
            store.clone(),
            support::locations(),
            &catalog,
            manifest,
            &p.value,
        )
        .await
        .unwrap();
        assert!(r.balanced(), "{r:?}");
        out.push(r);
    }
    out
}

/// Transform a whole sample and check: no quarantine, per-district canonical counts equal the README.
async fn check_sample(
    file: &str,
    year: i32,
    id: &str,
    era: &str,
    counts: &str,
) -> std::sync::Arc<dyn object_store::ObjectStore> {
    let path = sample(file);
    let store = memory_store();
    let manifest = ingest(&store, "r1", &path, Some(year), Some(id)).await;
    let reports = transform_all(&store, &manifest).await;
    let quarantined: u64 = reports.iter().map(|r| r.rows_quarantined).sum();
    let by_reason: Vec<_> = reports
        .iter()
        .flat_map(|r| r.quarantined_by_reason.clone())
        .collect();
    assert_eq!(quarantined, 0, "{file}: quarantined {by_reason:?}");
    assert!(
        reports.iter().all(|r| r.quarantine_key.is_none()),
        "{file}: clean partitions write no quarantine object"
    );
    assert!(
        reports.iter().all(|r| r.era == era),
        "{file}: eras {:?}",
        reports.iter().map(|r| &r.era).collect::<Vec<_>>()
    );

    // Count canonical rows per district from the written Parquet, and check they sit in their cd= folder.
    let mut got: BTreeMap<String, u64> = BTreeMap::new();
    for (key, batch) in read_parquet_under(&store, &format!("canonical/la311/year={year}")).await {
        let cd = batch
            .column_by_name("council_district")
            .unwrap()
            .as_primitive::<Int16Type>();
        for i in 0..batch.num_rows() {
            let part = if cd.is_null(i) {
                "__missing__".to_string()
            } else {
                cd.value(i).to_string()
            };
            assert!(
                key.contains(&format!("/cd={part}/")),
                "{key} holds district {part}"
            );
            *got.entry(part).or_default() += 1;
        }
    }
    assert_eq!(got, readme_counts(counts), "{file}");
    store
}

#[tokio::test]
async fn sample_2017_export_lat_lon_transforms_completely() {
    let counts = "1:698 2:548 3:669 4:495 5:540 6:584 7:694 8:598 9:831 10:721 11:463 12:673 13:1031 14:783 15:667 empty:4";
    let store = check_sample("myla311_2017_sample.csv", 2017, "d4vt-q4t5", "A", counts).await;
    // First data row: 1-870704831, 12/31/2017 11:59:58 PM (PST) in CD 13, owner BOS, NC 44.
    let batches = read_parquet_under(&store, "canonical/la311/year=2017/cd=13").await;
    let mut found = false;
    for (_, b) in &batches {
        let sr = b.column_by_name("sr_number").unwrap().as_string::<i32>();
        for i in 0..b.num_rows() {
            if sr.value(i) != "1-870704831" {
                continue;
            }
            found = true;
            let created = b
                .column_by_name("created_at")
                .unwrap()
                .as_primitive::<TimestampMicrosecondType>()
                .value(i);
            assert_eq!(
                created,
                "2018-01-01T07:59:58Z"
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
                    .timestamp_micros()
            );
            assert_eq!(
                b.column_by_name("owner_agency")
                    .unwrap()
                    .as_string::<i32>()
                    .value(i),
                "LASAN"
            );
            assert_eq!(
                b.column_by_name("owner_code")
                    .unwrap()
                    .as_string::<i32>()
                    .value(i),
                "BOS"
            );
            assert_eq!(
                b.column_by_name("nc_name")
                    .unwrap()
                    .as_string::<i32>()
                    .value(i),
                "Echo Park"
            );
            assert_eq!(
                b.column_by_name("latitude")
                    .unwrap()
                    .as_primitive::<Float64Type>()
                    .value(i),
                34.073216645
            );
            assert_eq!(
                b.column_by_name("source_year")
                    .unwrap()
                    .as_primitive::<Int16Type>()
                    .value(i),
                2017
            );
            assert_eq!(
                b.column_by_name("source_dataset")
                    .unwrap()
                    .as_string::<i32>()
                    .value(i),
                "d4vt-q4t5"
            );
            assert_eq!(
                b.column_by_name("source_row")
                    .unwrap()
                    .as_primitive::<arrow::datatypes::UInt64Type>()
                    .value(i),
                1
            );
        }
    }
    assert!(found, "row 1-870704831 not in cd=13");
}

#[tokio::test]
async fn sample_2018_export_wkt_transforms_completely() {
    let counts = "1:601 2:638 3:581 4:594 5:549 6:683 7:522 8:832 9:624 10:692 11:487 12:690 13:1004 14:827 15:667 empty:9";
    check_sample("myla311_2018_sample.csv", 2018, "h65r-yf5i", "A", counts).await;
}

#[tokio::test]
async fn sample_2020_api_names_transforms_completely() {
    let counts = "1:448 2:572 3:657 4:553 5:577 6:655 7:1013 8:632 9:431 10:636 11:511 12:604 13:854 14:1025 15:821 empty:11";
    let store = check_sample(
        "myla311_2020_api_fieldnames_sample.csv",
        2020,
        "rq3b-xjk8",
        "B",
        counts,
    )
    .await;
    // Both BOS and LASAN owners become one agency; created_by_org is filled in era B.
    let mut agencies = BTreeMap::<String, u64>::new();
    let mut orgs = 0;
    for (_, b) in read_parquet_under(&store, "canonical/la311/year=2020").await {
        let a = b.column_by_name("owner_agency").unwrap().as_string::<i32>();
        let o = b.column_by_name("created_by_org").unwrap();
        orgs += o.len() - o.null_count();
        for i in 0..b.num_rows() {
            *agencies.entry(a.value(i).to_string()).or_default() += 1;
        }
    }
    assert!(!agencies.contains_key("BOS"), "{agencies:?}");
    assert!(agencies["LASAN"] >= 7067 + 56, "{agencies:?}");
    assert!(orgs > 9000, "created_by_org filled in {orgs} rows");
}

#[tokio::test]
async fn real_location_text_agrees_with_latitude_longitude_columns() {
    let catalog = harmonize::builtin("la311").unwrap();
    let bbox = catalog.geo.bbox;
    for file in ["myla311_2017_sample.csv", "myla311_2018_sample.csv"] {
        let path = sample(file);
        let (header, rows) = read_csv(&path);
        let col = |n: &str| header.iter().position(|h| h == n).unwrap();
        let (lat, lon, loc) = (col("Latitude"), col("Longitude"), col("Location"));
        let mut checked = 0;
        for r in rows.iter().filter(|r| !r[loc].is_empty()) {
            let p = harmonize::location::parse_location(&r[loc], &bbox).unwrap();
            assert!(!p.swapped, "{file}: {}", r[loc]);
            assert!(
                (p.lat - r[lat].parse::<f64>().unwrap()).abs() < 1e-9,
                "{file}: {}",
                r[loc]
            );
            assert!(
                (p.lon - r[lon].parse::<f64>().unwrap()).abs() < 1e-9,
                "{file}: {}",
                r[loc]
            );
            checked += 1;
        }
        assert!(checked > 8000, "{file}: only {checked} locations");
    }
}

#[tokio::test]
async fn regression_2023_shifted_row_is_quarantined_not_a_council_member_district() {
    let path = sample("myla311_2023_fixture.csv");
    let store = memory_store();
    let manifest = ingest(&store, "r23", &path, Some(2023), Some("4a4x-mna2")).await;
    let reports = transform_all(&store, &manifest).await;
    let total_in: u64 = reports.iter().map(|r| r.rows_in).sum();
    let total_out: u64 = reports.iter().map(|r| r.rows_out).sum();
    assert_eq!((total_in, total_out), (2, 1), "{reports:?}");

    let missing = reports
        .iter()
        .find(|r| r.partition == "__missing__")
        .expect("shifted row lands in __missing__");
    assert_eq!(missing.rows_quarantined, 1);
    let lines = read_jsonl(&store, missing.quarantine_key.as_deref().unwrap()).await;
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["source_row"], 1);
    let problems = lines[0]["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["column"] == "council_district"
            && p["value"] == "Monica Rodriguez"
            && p["reason"] == "not_an_integer"),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["column"] == "status" && p["reason"] == "unknown_value"),
        "{problems:?}"
    );

    // The good row: CD 10, mixed-case NC name normalized by code, WKT era with lat/lon columns.
    let batches = read_parquet_under(&store, "canonical/la311/year=2023/cd=10").await;
    assert_eq!(batches.iter().map(|(_, b)| b.num_rows()).sum::<usize>(), 1);
    let b = &batches[0].1;
    assert_eq!(
        b.column_by_name("council_district")
            .unwrap()
            .as_primitive::<Int16Type>()
            .value(0),
        10
    );
    assert_eq!(
        b.column_by_name("nc_name")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "Wilshire Center - Koreatown"
    );
    assert_eq!(
        b.column_by_name("cd_member")
            .unwrap()
            .as_string::<i32>()
            .value(0),
        "Heather Hutt"
    );
}

#[tokio::test]
async fn canonical_parquet_of_different_years_has_one_schema() {
    let store = memory_store();
    let mut schemas = Vec::new();
    for (i, (file, year)) in [
        ("myla311_2017_sample.csv", 2017),
        ("myla311_2018_sample.csv", 2018),
        ("myla311_2020_api_fieldnames_sample.csv", 2020),
    ]
    .into_iter()
    .enumerate()
    {
        let path = sample(file);
        let manifest = ingest(&store, &format!("u{i}"), &path, Some(year), None).await;
        let catalog = harmonize::builtin("la311").unwrap();
        let r = transform_partition_with(
            store.clone(),
            support::locations(),
            &catalog,
            &manifest,
            "1",
        )
        .await
        .unwrap();
        assert_eq!(
            r.canonical_keys,
            vec![format!(
                "canonical/la311/year={year}/cd=1/part-00000.parquet"
            )]
        );
        let batches =
            read_parquet_under(&store, &format!("canonical/la311/year={year}/cd=1")).await;
        schemas.push((year, batches[0].1.schema()));
    }
    let expected = harmonize::canonical::schema(&harmonize::builtin("la311").unwrap());
    for (year, s) in &schemas {
        // Field names, types, nullability and field metadata, in order (what a union reader needs).
        assert_eq!(s.fields(), expected.fields(), "{year}");
    }
}

#[tokio::test]
async fn a_file_run_without_year_infers_it_from_created_at() {
    let path = sample("myla311_2018_sample.csv");
    let store = memory_store();
    let manifest = ingest(&store, "noyear", &path, None, None).await;
    let reports = transform_all(&store, &manifest).await;
    assert!(
        reports
            .iter()
            .all(|r| r.year == Some(2018) && r.year_inferred && r.era == "A"),
        "{reports:?}"
    );
    let batches = read_parquet_under(&store, "canonical/la311/year=2018/cd=5").await;
    let b = &batches[0].1;
    assert_eq!(b.num_rows(), 549);
    assert_eq!(
        b.column_by_name("source_year")
            .unwrap()
            .as_primitive::<Int16Type>()
            .value(0),
        2018
    );
    assert!(
        b.column_by_name("source_dataset")
            .unwrap()
            .as_string::<i32>()
            .value(0)
            .ends_with("myla311_2018_sample.csv")
    );
}

#[tokio::test]
async fn rerunning_a_partition_is_idempotent() {
    let path = sample("myla311_2017_sample.csv");
    let store = memory_store();
    let manifest = ingest(&store, "again", &path, Some(2017), None).await;
    let catalog = harmonize::builtin("la311").unwrap();
    let first = transform_partition_with(
        store.clone(),
        support::locations(),
        &catalog,
        &manifest,
        "7",
    )
    .await
    .unwrap();
    let second = transform_partition_with(
        store.clone(),
        support::locations(),
        &catalog,
        &manifest,
        "7",
    )
    .await
    .unwrap();
    assert_eq!(first, second);
    let rows: usize = read_parquet_under(&store, "canonical/la311/year=2017/cd=7")
        .await
        .iter()
        .map(|(_, b)| b.num_rows())
        .sum();
    assert_eq!(rows, 694);
}

#[tokio::test]
async fn a_partition_split_over_several_raw_files_is_streamed_in_order() {
    let path = sample("myla311_2018_sample.csv");
    let store = memory_store();
    let mut manifest = ingest(&store, "split", &path, Some(2018), None).await;
    // Re-write partition 13 as three raw files of uneven size, as a memory-bounded ingestion would.
    let (header, rows) = read_csv(&path);
    let cd = header.iter().position(|h| h == "CD").unwrap();
    let mine: Vec<(u64, &Vec<String>)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r[cd] == "13")
        .map(|(i, r)| (i as u64 + 1, r))
        .collect();
    let mut keys = Vec::new();
    for (n, chunk) in [&mine[..10], &mine[10..600], &mine[600..]]
        .into_iter()
        .enumerate()
    {
        let key = support::raw_key("split", "13", n as u32);
        let batch = raw_batch(&header, chunk);
        let mut buf = Vec::new();
        let mut w = parquet::arrow::ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        object_store::ObjectStoreExt::put(store.as_ref(), &key, buf.into())
            .await
            .unwrap();
        keys.push(key.to_string());
    }
    manifest
        .partitions
        .iter_mut()
        .find(|p| p.value == "13")
        .unwrap()
        .keys = keys;
    let catalog = harmonize::builtin("la311").unwrap();
    let r = transform_partition_with(
        store.clone(),
        support::locations(),
        &catalog,
        &manifest,
        "13",
    )
    .await
    .unwrap();
    assert_eq!((r.rows_in, r.rows_out), (1004, 1004));
    let mut source_rows = Vec::new();
    for (_, b) in read_parquet_under(&store, "canonical/la311/year=2018/cd=13").await {
        source_rows.extend(
            b.column_by_name("source_row")
                .unwrap()
                .as_primitive::<arrow::datatypes::UInt64Type>()
                .values()
                .iter()
                .copied(),
        );
    }
    assert_eq!(
        source_rows,
        mine.iter().map(|(n, _)| *n).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn part_files_roll_and_a_retry_with_fewer_parts_removes_stale_ones() {
    let path = sample("myla311_2018_sample.csv");
    let store = memory_store();
    let manifest = ingest(&store, "roll", &path, Some(2018), None).await;
    let catalog = harmonize::builtin("la311").unwrap();
    let small = harmonize::TransformOptions {
        batch_rows: 100,
        row_group_rows: 150,
        file_rows: 300,
    };
    let r = harmonize::transform_partition_opts(
        store.clone(),
        support::locations(),
        &catalog,
        &manifest,
        "8",
        small,
    )
    .await
    .unwrap();
    // 832 rows in batches of 100, rolled once a file holds >= 300 rows: 300 | 300 | 232.
    assert_eq!(r.canonical_keys.len(), 3, "{:?}", r.canonical_keys);
    let rows: usize = read_parquet_under(&store, "canonical/la311/year=2018/cd=8")
        .await
        .iter()
        .map(|(_, b)| b.num_rows())
        .sum();
    assert_eq!(rows, 832);

    let r = transform_partition_with(
        store.clone(),
        support::locations(),
        &catalog,
        &manifest,
        "8",
    )
    .await
    .unwrap();
    assert_eq!(
        r.canonical_keys,
        vec!["canonical/la311/year=2018/cd=8/part-00000.parquet".to_string()]
    );
    let files = read_parquet_under(&store, "canonical/la311/year=2018/cd=8").await;
    assert!(
        files.iter().all(|(k, _)| k.ends_with("part-00000.parquet")),
        "stale parts left"
    );
    assert_eq!(files.iter().map(|(_, b)| b.num_rows()).sum::<usize>(), 832);
}
