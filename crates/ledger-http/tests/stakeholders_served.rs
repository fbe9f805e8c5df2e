//! `/stakeholders` over a real sample: derived documents per district partition in the ledger bucket plus the
//! maintained file, merged on read and served by the router (moved here from `ledger`'s stakeholders tests).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ledger::stakeholders::{DerivedDistrict, derive_from_csv};

/// A real MyLA311 sample, committed gzip'd as `testdata/la311/<name>.gz` (see testdata/README.md),
/// decompressed into this test target's scratch folder under its own name. Panics when it is missing:
/// the samples travel with the repository, so no test skips for want of them.
fn sample(name: &str) -> PathBuf {
    use std::io::Read;
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let gz = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/la311")
        .join(format!("{name}.gz"));
    let file = std::fs::File::open(&gz).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: the real samples are committed under testdata/ (see testdata/README.md)",
            gz.display()
        )
    });
    let mut csv = Vec::new();
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut csv)
        .unwrap_or_else(|e| panic!("{}: {e}", gz.display()));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("testdata/la311");
    std::fs::create_dir_all(&dir).unwrap();
    // Written beside and renamed: tests running at the same time each open a whole file.
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let part = dir.join(format!("{name}.{}-{n}.part", std::process::id()));
    std::fs::write(&part, &csv).unwrap();
    let path = dir.join(name);
    std::fs::rename(&part, &path).unwrap();
    path
}

fn derive(path: &Path) -> BTreeMap<u8, DerivedDistrict> {
    let file = std::fs::File::open(path).unwrap();
    derive_from_csv(&path.display().to_string(), file)
        .unwrap()
        .0
}

#[tokio::test]
async fn api_serves_merged_stakeholders_from_the_ledger_bucket() {
    let path = sample("myla311_2017_sample.csv");
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let ledger = ledger::Ledger::new(store.clone(), grants());
    // One derived document per district partition (as the analyze jobs write them), merged on read.
    for (cd, district) in derive(&path) {
        let one = BTreeMap::from([(cd, district)]);
        ledger::stakeholders::save_derived(&ledger, "la311", &cd.to_string(), &one)
            .await
            .unwrap();
    }
    // The maintained file as stored in the ledger bucket (how the Lambda gets it).
    let yaml = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/la311/stakeholders.yaml"),
    )
    .unwrap();
    use object_store::ObjectStoreExt;
    store
        .put(&grants().maintained("la311").unwrap(), yaml.into())
        .await
        .unwrap();
    let config = ledger_http::ApiConfig::new(ledger_http::WriteAuth::ReadOnly, "la311");
    let app = ledger_http::router(ledger, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let get = |p: &str| {
        let url = format!("{base}{p}");
        async move {
            let resp = reqwest::get(url).await.unwrap();
            (
                resp.status().as_u16(),
                serde_json::from_slice::<serde_json::Value>(&resp.bytes().await.unwrap()).unwrap(),
            )
        }
    };
    let (status, all) = get("/stakeholders").await;
    assert_eq!(status, 200);
    assert_eq!(all["stakeholders"].as_array().unwrap().len(), 15);
    let (status, cd12) = get("/stakeholders/12").await;
    assert_eq!(status, 200);
    assert_eq!(cd12["council_member"]["value"], "John Lee");
    assert_eq!(cd12["council_member"]["provenance"], "file");
    assert_eq!(cd12["history"][0]["member"], "Mitchell Englander");
    assert_eq!(cd12["history"][0]["first_seen"], "2017-12-27");
    assert!(
        cd12.get("in_office").is_none(),
        "no date asked, no in_office"
    );
    assert!(all.get("at").is_none());

    // `at`: the member in office on the date, and which term the name comes from.
    let (status, in2018) = get("/stakeholders?at=2018-06-15").await;
    assert_eq!(status, 200, "{in2018}");
    assert_eq!(in2018["at"], "2018-06-15");
    let cd12 = &in2018["stakeholders"][11];
    assert_eq!(cd12["council_district"], 12);
    assert_eq!(cd12["council_member"]["value"], "Mitchell Englander");
    let term = &cd12["in_office"];
    assert_eq!(term["member"], "Mitchell Englander");
    assert_eq!(term["term_index"], 0);
    // Listed by the file (its dates) and seen in the 2017 sample (first/last seen).
    assert_eq!(term["term"]["provenance"], "file");
    assert_eq!(term["term"]["member_until"]["value"], "2018-12-31");
    assert_eq!(term["term"]["first_seen"], "2017-12-27");
    assert!(term["term"]["source"].as_str().unwrap().contains("2019"));
    assert_eq!(term["basis"], "dated");
    let (_, cd12_2023) = get("/stakeholders/12?at=2023-06-15").await;
    assert_eq!(cd12_2023["council_member"]["value"], "John Lee");
    assert_eq!(
        cd12_2023["in_office"]["term"]["member_since"]["value"],
        "2019-08-30"
    );
    let (_, cd7_2016) = get("/stakeholders/7?at=2016-08-15").await;
    assert_eq!(cd7_2016["council_member"]["value"], "Felipe Fuentes");
    // A vacancy: no member, no term.
    let (status, vacant) = get("/stakeholders/7?at=2017-01-15").await;
    assert_eq!(status, 200);
    assert!(
        vacant.get("council_member").is_none_or(|m| m.is_null()),
        "{vacant}"
    );
    assert!(vacant.get("in_office").is_none(), "{vacant}");

    // A bad date is a 400 naming the parameter and the expected form.
    for bad in ["2023-13-01", "yesterday", "2023-6-1x", ""] {
        for path in ["/stakeholders", "/stakeholders/12"] {
            let (status, body) = get(&format!("{path}?at={bad}")).await;
            assert_eq!(status, 400, "{path}?at={bad}: {body}");
            assert_eq!(body["problems"][0]["path"], "query.at", "{body}");
            let message = body["problems"][0]["message"].as_str().unwrap();
            assert!(
                message.starts_with(&format!("{bad:?} is not a date (YYYY-MM-DD")),
                "{message}"
            );
        }
    }
}

/// The ledger grants of the `ledger-api` function, which these tests act as.
#[allow(dead_code)]
fn grants() -> ledger::Locations {
    ledger::Locations {
        events: prefixes::ledger_api::events(),
        stakeholders: prefixes::ledger_api::stakeholders(),
    }
}
