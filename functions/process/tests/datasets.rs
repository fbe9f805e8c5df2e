//! Every dataset of the catalog end to end on its real sample (testdata/, committed gzip'd): the ingestion library
//! partitions it (by the published district, or by the district of the coordinates on the row's date), then the
//! `transform` layer's library turns each partition into canonical rows. Per-partition counts equal the reference
//! counts of ../shared/data/README.md (copied into testdata/README.md), and every count adds up.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::datatypes::{Int16Type, TimestampMicrosecondType};
use futures::TryStreamExt;
use ingest_core::{Catalog, IngestOptions, SourceSpec, ingest};
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt};

fn testdata(rel: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata")
        .join(rel);
    assert!(
        path.is_file(),
        "{} is missing: the real samples are committed under testdata/ (see testdata/README.md)",
        path.display()
    );
    path
}

fn counts(spec: &str) -> BTreeMap<String, u64> {
    spec.split_whitespace()
        .map(|kv| {
            let (k, v) = kv.split_once(':').unwrap();
            let k = match k {
                "missing" | "empty" => "__missing__",
                "outside" => "__outside__",
                k => k,
            };
            (k.to_string(), v.parse().unwrap())
        })
        .collect()
}

/// Ingest `file` as `dataset` of `catalog`; the manifest.
async fn ingest_sample(
    store: &Arc<dyn ObjectStore>,
    catalog: &Catalog,
    dataset: &str,
    file: &str,
) -> ingest_core::RunManifest {
    let spec = catalog.load(dataset).unwrap();
    let report = ingest(
        store.clone(),
        ingest_core::Locations {
            raw: prefixes::ingest::raw(),
            quarantine: prefixes::ingest::quarantine(),
            runs: prefixes::ingest::runs(),
        },
        &spec,
        SourceSpec::File {
            path: testdata(file),
        },
        IngestOptions {
            run_id: Some("t".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    report.manifest.check_accounting().unwrap();
    report.manifest
}

/// Transform every partition with `datasets`; the partition reports (each balanced).
async fn transform(
    store: &Arc<dyn ObjectStore>,
    datasets: &process::Datasets,
    manifest: &ingest_core::RunManifest,
) -> Vec<contract::TransformSummary> {
    let catalog = datasets.canonical(&manifest.dataset).unwrap();
    let mut out = Vec::new();
    for p in &manifest.partitions {
        let r = harmonize::transform_partition_with(
            store.clone(),
            process::Locations::granted().harmonize(),
            catalog,
            manifest,
            &p.value,
        )
        .await
        .unwrap();
        assert!(r.balanced(), "{r:?}");
        assert_eq!(
            r.rows_in, p.rows,
            "{}: every raw row reaches the transform",
            p.value
        );
        out.push(r);
    }
    out
}

fn agreement(reports: &[contract::TransformSummary]) -> contract::DistrictAgreement {
    let mut total = contract::DistrictAgreement::default();
    for r in reports {
        total.add(r.districts.as_ref().expect("the dataset derives districts"));
    }
    total
}

/// Canonical batches under `canonical/<dataset>/`.
async fn canonical(
    store: &Arc<dyn ObjectStore>,
    dataset: &str,
) -> Vec<(String, arrow::array::RecordBatch)> {
    let prefix = object_store::path::Path::from(format!("canonical/{dataset}"));
    let metas: Vec<_> = store.list(Some(&prefix)).try_collect().await.unwrap();
    let mut out = Vec::new();
    for m in metas {
        let bytes = store.get(&m.location).await.unwrap().bytes().await.unwrap();
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes)
            .unwrap()
            .build()
            .unwrap();
        for b in reader {
            out.push((m.location.to_string(), b.unwrap()));
        }
    }
    out
}

#[tokio::test]
async fn lapd_crime_partitions_by_the_2012_lines_and_transforms() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let m = ingest_sample(
        &store,
        &Catalog::builtin(),
        "lapd_crime",
        "lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz",
    )
    .await;
    assert_eq!(m.rows_read, 10_000);
    assert_eq!(m.rows_quarantined, 0);
    // Reference: point-in-polygon against the 2012 lines, in force for all of 2020 (testdata/README.md).
    let want = counts(
        "1:1048 2:361 3:330 4:673 5:652 6:344 7:115 8:543 9:437 10:822 11:446 12:210 13:884 14:2002 15:1067 missing:13 outside:53",
    );
    let got: BTreeMap<String, u64> = m
        .partitions
        .iter()
        .map(|p| (p.value.clone(), p.rows))
        .collect();
    assert_eq!(got, want);

    let datasets = process::Datasets::builtin().unwrap();
    let reports = transform(&store, &datasets, &m).await;
    let quarantined: BTreeMap<String, u64> = reports
        .iter()
        .flat_map(|r| r.quarantined_by_reason.clone())
        .fold(BTreeMap::new(), |mut acc, (k, v)| {
            *acc.entry(k).or_default() += v;
            acc
        });
    let rows_out: u64 = reports.iter().map(|r| r.rows_out).sum();
    let rows_quarantined: u64 = reports.iter().map(|r| r.rows_quarantined).sum();
    assert_eq!(rows_out + rows_quarantined, 10_000);
    // Only located rows outside the LA box may be refused (a point the city's box does not hold).
    assert!(
        quarantined.keys().all(|k| k == "outside_la_bbox"),
        "{quarantined:?}"
    );
    let d = agreement(&reports);
    // The data publishes no district: every written row's district is the derived one.
    assert_eq!(d.filled, rows_out);
    assert_eq!(d.compared, 0);
    assert_eq!(d.unlocated, 13, "LAT/LON 0 rows become null coordinates");
    // Canonical council_district equals the partition; occurred_at carries TIME OCC.
    let mut by_cd: BTreeMap<String, u64> = BTreeMap::new();
    // TIME OCC by DR_NO, from the sample itself.
    let mut time_occ: BTreeMap<String, String> = BTreeMap::new();
    let gz = std::fs::File::open(testdata(
        "lapd_crime/lapd_crime_2020_present_sample_mixed_dates.csv.gz",
    ))
    .unwrap();
    let mut csv = csv::Reader::from_reader(flate2::read::GzDecoder::new(gz));
    for r in csv.records() {
        let r = r.unwrap();
        time_occ.insert(r[0].to_string(), r[3].to_string());
    }
    let mut checked_time = 0u64;
    for (key, b) in canonical(&store, "lapd_crime").await {
        let dr = b.column_by_name("dr_no").unwrap().as_string::<i32>();
        let cd = b
            .column_by_name("council_district")
            .unwrap()
            .as_primitive::<Int16Type>();
        let geo = b
            .column_by_name("council_district_geo")
            .unwrap()
            .as_primitive::<Int16Type>();
        let occ = b
            .column_by_name("occurred_at")
            .unwrap()
            .as_primitive::<TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            let part = if cd.is_null(i) {
                assert!(
                    key.contains("cd=__"),
                    "{key}: a null district outside the named partitions"
                );
                continue;
            } else {
                cd.value(i).to_string()
            };
            assert_eq!(geo.value(i), cd.value(i));
            assert!(
                key.contains(&format!("/cd={part}/")),
                "{key} holds district {part}"
            );
            *by_cd.entry(part).or_default() += 1;
            // occurred_at's Los Angeles wall time is TIME OCC.
            let local = chrono::DateTime::from_timestamp_micros(occ.value(i))
                .unwrap()
                .with_timezone(&chrono_tz::America::Los_Angeles)
                .format("%H%M")
                .to_string();
            assert_eq!(local, time_occ[dr.value(i)], "DR_NO {}", dr.value(i));
            checked_time += 1;
        }
    }
    for (cd, n) in &by_cd {
        assert_eq!(Some(n), want.get(cd), "district {cd}");
    }
    assert!(
        checked_time > 9_000,
        "occurred_at checked on {checked_time} rows"
    );
}

/// A catalog directory like the repository's, with the boundary sets replaced by `boundaries` (YAML).
fn catalog_with_boundaries(boundaries: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets");
    for ds in ["ladbs_permits"] {
        std::fs::create_dir_all(dir.path().join(ds)).unwrap();
        for f in ["dataset.yaml", "canonical.yaml", "analysis.yaml"] {
            std::fs::copy(repo.join(ds).join(f), dir.path().join(ds).join(f)).unwrap();
        }
    }
    let geo = dir.path().join("geo/council_districts");
    std::fs::create_dir_all(&geo).unwrap();
    for f in ["2012.geojson", "2021.geojson"] {
        std::fs::copy(repo.join("geo/council_districts").join(f), geo.join(f)).unwrap();
    }
    std::fs::write(geo.join("boundaries.yaml"), boundaries).unwrap();
    dir
}

#[tokio::test]
async fn ladbs_permits_keep_the_published_district_and_agree_with_the_lines_of_their_date() {
    let file = "ladbs_permits/ladbs_permits_2016_bldg_new_export.csv.gz";
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let m = ingest_sample(&store, &Catalog::builtin(), "ladbs_permits", file).await;
    assert_eq!(m.rows_read, 6_629);
    let got: BTreeMap<String, u64> = m
        .partitions
        .iter()
        .map(|p| (p.value.clone(), p.rows))
        .collect();
    assert_eq!(
        got,
        counts(
            "1:183 2:586 3:442 4:769 5:892 6:397 7:511 8:239 9:191 10:243 11:976 12:482 13:282 14:229 15:207"
        )
    );
    let reports = transform(&store, &process::Datasets::builtin().unwrap(), &m).await;
    let rows_quarantined: u64 = reports.iter().map(|r| r.rows_quarantined).sum();
    assert_eq!(
        rows_quarantined,
        0,
        "{:?}",
        reports
            .iter()
            .map(|r| &r.quarantined_by_reason)
            .collect::<Vec<_>>()
    );
    let d = agreement(&reports);
    assert_eq!(
        d.compared, 5_917,
        "rows with coordinates inside a district: {d:?}"
    );
    let rate = d.rate().unwrap();
    assert!(
        rate >= 0.99,
        "published vs 2012 lines on the issue date: {rate} ({d:?})"
    );

    // The same rows with the 2021 lines forced onto every date: the agreement drops, so the date rule is what
    // makes the difference.
    let manifest = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets/geo/council_districts/boundaries.yaml"),
    )
    .unwrap();
    let sha = |name: &str| {
        manifest
            .split("- name:")
            .find(|s| s.trim_start().starts_with(&format!("\"{name}\"")))
            .and_then(|s| s.lines().find(|l| l.trim_start().starts_with("sha256:")))
            .map(|l| l.trim().trim_start_matches("sha256:").trim().to_string())
            .unwrap()
    };
    let forced = format!(
        "sets:\n  - name: \"2021\"\n    title: 2021 lines for every date\n    file: 2021.geojson\n    district_property: District\n    sha256: {}\n    source: {{repo: test, blob: forced}}\n",
        sha("2021")
    );
    let dir = catalog_with_boundaries(&forced);
    let files = datasets::Catalog::from_dir(dir.path()).unwrap();
    let store2: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let m2 = ingest_sample(
        &store2,
        &Catalog::from_dir(dir.path()).unwrap(),
        "ladbs_permits",
        file,
    )
    .await;
    let reports2 = transform(
        &store2,
        &process::Datasets::from_catalog(&files).unwrap(),
        &m2,
    )
    .await;
    let d2 = agreement(&reports2);
    let rate2 = d2.rate().unwrap();
    assert!(
        rate2 < 0.9,
        "the 2021 lines on 2016 permits agree less: {rate2} ({d2:?})"
    );
    assert!(rate - rate2 > 0.1, "{rate} vs {rate2}");
}

#[tokio::test]
async fn la311_derives_council_district_geo_beside_the_published_district() {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let m = ingest_sample(
        &store,
        &Catalog::builtin(),
        "la311",
        "la311/myla311_2018_sample.csv.gz",
    )
    .await;
    let reports = transform(&store, &process::Datasets::builtin().unwrap(), &m).await;
    let d = agreement(&reports);
    assert!(d.compared > 8_000, "{d:?}");
    assert!(d.rate().unwrap() >= 0.99, "{d:?}");
    assert_eq!(d.filled, 0, "la311 publishes CD");
}

#[tokio::test]
async fn permits_exported_with_split_coordinates_transform_by_their_own_era() {
    use ingest_core::generate::{Dataset, DatasetOptions, YearSpan, generate_dataset};
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("split.csv");
    let mut opts = DatasetOptions::new(5_000, 3, YearSpan::single(2023));
    opts.split_latlon = true;
    opts.malformed_rate = 0.0;
    generate_dataset(
        Dataset::LadbsPermits,
        std::fs::File::create(&csv).unwrap(),
        opts,
    )
    .unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::builtin().load("ladbs_permits").unwrap();
    let m = ingest(
        store.clone(),
        ingest_core::Locations {
            raw: prefixes::ingest::raw(),
            quarantine: prefixes::ingest::quarantine(),
            runs: prefixes::ingest::runs(),
        },
        &spec,
        SourceSpec::File { path: csv },
        IngestOptions {
            run_id: Some("split".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .manifest;
    assert!(m.schema.iter().any(|c| c == "Latitude") && m.schema.iter().any(|c| c == "Longitude"));
    let reports = transform(&store, &process::Datasets::builtin().unwrap(), &m).await;
    assert!(
        reports.iter().all(|r| r.era == "export_split"),
        "{:?}",
        reports.iter().map(|r| &r.era).collect::<Vec<_>>()
    );
    let quarantined: u64 = reports.iter().map(|r| r.rows_quarantined).sum();
    assert_eq!(
        quarantined,
        0,
        "{:?}",
        reports
            .iter()
            .map(|r| &r.quarantined_by_reason)
            .collect::<Vec<_>>()
    );
    let d = agreement(&reports);
    assert!(d.compared > 4_000, "{d:?}");
    assert!(d.rate().unwrap() > 0.98, "{d:?}");
}
