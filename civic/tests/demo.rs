//! `civic demo` end to end at 50,000 rows in a temp store: the accounting adds up across layers, every partition
//! is transformed and analyzed, the ledger holds the findings, each layer completion marker exists exactly once,
//! a rerun duplicates neither data nor events, and `--fresh` starts over (but refuses a folder that is not a store).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use parquet::file::reader::{FileReader, SerializedFileReader};

const ROWS: u64 = 50_000;
const SEED: u64 = 7;
const RUN: &str = "demo-2023-s7-n50000";

fn demo(store: &Path, extra: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args([
            "demo",
            "--rows",
            &ROWS.to_string(),
            "--seed",
            &SEED.to_string(),
            "--datasets",
            "la311",
        ])
        .arg("--store")
        .arg(store)
        .args(extra)
        .output()
        .expect("civic runs");
    if !out.status.success() {
        panic!(
            "civic demo failed\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// Every file under `dir` (relative path -> contents).
fn files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_owned(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

fn layer_report(store: &Path, layer: &str) -> worklist::report::LayerReport {
    let data: Arc<dyn object_store::ObjectStore> = Arc::new(
        object_store::local::LocalFileSystem::new_with_prefix(store.join("data")).unwrap(),
    );
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(worklist::report::read(
            data.as_ref(),
            prefixes::process::runs().into(),
            "la311",
            RUN,
            layer,
        ))
        .unwrap()
        .unwrap_or_else(|| panic!("no {layer} layer report"))
}

fn sum(report: &worklist::report::LayerReport, field: &str) -> u64 {
    report
        .jobs
        .iter()
        .map(|j| {
            j.summary
                .as_ref()
                .and_then(|s| s.get(field))
                .and_then(|v| v.as_u64())
                .unwrap()
        })
        .sum()
}

#[test]
fn demo_accounts_for_every_row_and_a_rerun_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let first = demo(&store, &[]);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        stdout.contains("accounting: every layer adds up"),
        "{stdout}"
    );

    // Ingest: rows in = rows written + quarantined; the generator's malformed rows are quarantined.
    let manifest = json(&store.join(format!("data/runs/la311/run={RUN}/manifest.json")));
    let (read, written, quarantined) = (
        manifest["rows_read"].as_u64().unwrap(),
        manifest["rows_written"].as_u64().unwrap(),
        manifest["rows_quarantined"].as_u64().unwrap(),
    );
    assert_eq!(read, ROWS);
    assert_eq!(read, written + quarantined);
    assert!(quarantined > 0, "the generator writes malformed rows");
    let partitions: Vec<String> = manifest["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap().to_owned())
        .collect();
    assert!(partitions.len() >= 15, "{partitions:?}");

    // Transform: every partition done; rows in = ingest rows written = canonical rows + quarantined.
    let transform = layer_report(&store, "transform");
    let done = |r: &worklist::report::LayerReport| {
        let mut jobs: Vec<String> = r
            .jobs
            .iter()
            .filter(|j| j.error.is_none())
            .map(|j| j.job.clone())
            .collect();
        jobs.sort();
        jobs
    };
    let mut expected = partitions.clone();
    expected.sort();
    assert_eq!(done(&transform), expected);
    assert_eq!(transform.jobs_failed, 0);
    let (t_in, t_out, t_q) = (
        sum(&transform, "rows_in"),
        sum(&transform, "rows_out"),
        sum(&transform, "rows_quarantined"),
    );
    assert_eq!(t_in, written);
    assert_eq!(t_in, t_out + t_q);
    let canonical_rows: u64 = files(&store.join("data/canonical"))
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "parquet"))
        .map(|(_, bytes)| {
            SerializedFileReader::new(bytes::Bytes::from(bytes))
                .unwrap()
                .metadata()
                .file_metadata()
                .num_rows() as u64
        })
        .sum();
    assert_eq!(
        canonical_rows, t_out,
        "canonical Parquet rows = transform rows out"
    );

    // Analyze: every partition done, with its processed weekly table.
    let analyze = layer_report(&store, "analyze");
    assert_eq!(done(&analyze), expected);
    for p in &partitions {
        let table = store.join(format!(
            "data/processed/la311/weekly_by_type/cd={p}/part-00000.parquet"
        ));
        assert!(table.is_file(), "{} missing", table.display());
    }

    // Ledger: the findings are there, each for its district's stakeholder.
    let events = files(&store.join("ledger/events"));
    assert!(!events.is_empty(), "the ledger holds no finding");
    assert!(events.len() as u64 >= sum(&analyze, "events_created"));
    for (path, bytes) in &events {
        let e: serde_json::Value = serde_json::from_slice(bytes).unwrap();
        let cd = e["dimensions"]["council_district"].as_u64().unwrap();
        assert_eq!(
            e["stakeholders"][0],
            format!("cd-{cd}"),
            "{}",
            path.display()
        );
        assert_eq!(e["run_id"], RUN);
    }

    // The summary read the ledger through the ledger-api function served on loopback, and saw every event.
    assert!(
        stdout.contains("ledger read through the ledger-api function at http://127.0.0.1:"),
        "{stdout}"
    );
    let served: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("ledger: ")?.split(' ').next()?.parse().ok())
        .expect("a `ledger: N event(s)` line");
    assert_eq!(
        served,
        events.len(),
        "events through the API = events on disk"
    );
    // Analyze jobs report the rows they read: canonical rows in, every one accounted for.
    assert_eq!(
        analyze
            .jobs
            .iter()
            .map(|j| j.summary.as_ref().unwrap()["rows"]["rows"]
                .as_u64()
                .unwrap())
            .sum::<u64>(),
        t_out
    );

    // Each layer's completion marker exists exactly once.
    let worklist = files(&store.join(format!("data/worklist/la311/run={RUN}")));
    let markers: Vec<_> = worklist
        .keys()
        .filter(|p| p.ends_with("complete.json"))
        .collect();
    assert_eq!(
        markers,
        [
            Path::new("layer=analyze/complete.json"),
            Path::new("layer=transform/complete.json")
        ]
    );

    // The report: two charts per district with data.
    let report = std::fs::read_to_string(store.join(format!("reports/la311-{RUN}.html"))).unwrap();
    let districts = report.matches("<section id=\"cd-").count();
    assert!(districts >= 15, "{districts}");
    assert!(report.matches("<svg class=\"chart\"").count() >= 2 * 15);

    // A rerun: same data and worklist state, same events (not even re-stamped), nothing new.
    let data_before = files(&store.join("data"));
    let second = demo(&store, &[]);
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains("(0 new in this run)"), "{stdout}");
    assert!(
        stdout.contains("accounting: every layer adds up"),
        "{stdout}"
    );
    assert_eq!(
        files(&store.join("ledger/events")),
        events,
        "events changed on rerun"
    );
    let data_after = files(&store.join("data"));
    assert_eq!(
        data_after.keys().collect::<Vec<_>>(),
        data_before.keys().collect::<Vec<_>>(),
        "the rerun added or removed objects"
    );
    assert_eq!(
        data_after.get(&PathBuf::from(format!(
            "runs/la311/run={RUN}/manifest.json"
        ))),
        data_before.get(&PathBuf::from(format!(
            "runs/la311/run={RUN}/manifest.json"
        )))
    );

    // --fresh starts over: a stray object in the data bucket is gone, and the same events come back.
    let stray = store.join("data/stray.txt");
    std::fs::write(&stray, "left over").unwrap();
    demo(&store, &["--fresh"]);
    assert!(!stray.exists(), "--fresh kept the old store");
    let fresh = files(&store.join("ledger/events"));
    assert_eq!(
        fresh.keys().collect::<Vec<_>>(),
        events.keys().collect::<Vec<_>>()
    );
}

#[test]
fn fresh_refuses_to_delete_a_folder_that_is_not_a_store() {
    let tmp = tempfile::tempdir().unwrap();
    let precious = tmp.path().join("thesis.tex");
    std::fs::write(&precious, "years of work").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["demo", "--rows", "1000", "--fresh", "--store"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refuses to delete"), "{stderr}");
    assert!(precious.is_file());
}

#[test]
fn demo_over_a_real_myla311_sample_adds_up() {
    // Committed gzip'd (testdata/README.md); the demo's ingestion reads gzip as it is.
    let sample =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/la311/myla311_2017_sample.csv.gz");
    assert!(sample.is_file(), "{} is missing", sample.display());
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["demo", "--datasets", "la311", "--input"])
        .arg(&sample)
        .arg("--store")
        .arg(&store)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("accounting: every layer adds up"),
        "{stdout}"
    );
    let report = stdout
        .lines()
        .find_map(|l| l.split("; report ").nth(1))
        .expect("the last line names the report");
    let html = std::fs::read_to_string(report).unwrap();
    assert!(html.matches("<svg class=\"chart\"").count() >= 2 * 15);
    assert!(!inputs_written(&store), "--input must not generate rows");
}

fn inputs_written(store: &Path) -> bool {
    store
        .join("inputs")
        .read_dir()
        .is_ok_and(|mut d| d.next().is_some())
}

#[test]
fn demo_serve_keeps_serving_the_report_and_the_ledger_api() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["demo", "--rows", "3000", "--serve", "--store"])
        .arg(tmp.path().join("store"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut url = None;
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("serving until Ctrl-C: report ") {
            url = rest.split("/report").next().map(str::to_owned);
            break;
        }
    }
    let url = url.expect("the demo prints the URLs it serves");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (report, events) = rt.block_on(async {
        let client = reqwest::Client::new();
        let report = client.get(format!("{url}/report")).send().await.unwrap();
        assert_eq!(report.status().as_u16(), 200);
        let events: serde_json::Value = client
            .get(format!("{url}/events?limit=1000"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (report.text().await.unwrap(), events)
    });
    child.kill().unwrap();
    let _ = child.wait();
    assert!(report.contains("<svg class=\"chart\""), "the report page");
    assert_eq!(
        events["events"].as_array().unwrap().len(),
        files(&tmp.path().join("store/ledger/events")).len()
    );
}

#[test]
fn demo_runs_every_dataset_of_the_catalog_into_one_report() {
    let tmp = tempfile::tempdir().unwrap();
    let store = tmp.path().join("store");
    let out = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["demo", "--rows", "8000", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for dataset in ["la311", "ladbs_permits", "lapd_crime"] {
        assert!(
            stdout.contains(&format!("== {dataset} (run ")),
            "{dataset}: {stdout}"
        );
        let manifest = json(&store.join(format!(
            "data/runs/{dataset}/run=demo-2023-s1-n8000/manifest.json"
        )));
        assert_eq!(manifest["rows_read"], 8000, "{dataset}");
    }
    assert_eq!(
        stdout.matches("accounting: every layer adds up").count(),
        3,
        "{stdout}"
    );
    // Crime has no district column: its partitions come from the coordinates, including the two named ones.
    let crime = json(&store.join("data/runs/lapd_crime/run=demo-2023-s1-n8000/manifest.json"));
    let values: Vec<&str> = crime["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_str().unwrap())
        .collect();
    assert!(
        values.contains(&"__outside__") && values.contains(&"__missing__"),
        "{values:?}"
    );
    let report = stdout
        .lines()
        .find_map(|l| l.split("; report ").nth(1))
        .expect("the last line names the report");
    let html = std::fs::read_to_string(report).unwrap();
    for dataset in ["la311", "ladbs_permits", "lapd_crime"] {
        assert!(
            html.contains(&format!("<article id=\"{dataset}\">")),
            "{dataset} section"
        );
    }
    assert!(
        html.contains("published district and coordinates agree"),
        "the permits' agreement rate"
    );

    // Across datasets (the correlate layer ran once, with the last dataset's run): the feature table has one file
    // per council district and exactly districts x weeks rows; the association table; the report's section.
    let features = store.join("data/features/district_week");
    let parts: Vec<PathBuf> = (1..=15)
        .map(|d| features.join(format!("cd={d}/part-00000.parquet")))
        .collect();
    let rows: Vec<i64> = parts
        .iter()
        .map(|p| {
            let f = std::fs::File::open(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            parquet::file::reader::SerializedFileReader::new(f)
                .unwrap()
                .metadata()
                .file_metadata()
                .num_rows()
        })
        .collect();
    assert!(rows.iter().all(|&n| n == rows[0] && n >= 52), "{rows:?}");
    let table =
        store.join("data/associations/lapd_crime/run=demo-2023-s1-n8000/associations.parquet");
    assert!(table.is_file(), "{}", table.display());
    assert!(
        html.contains("<article id=across>"),
        "the section across datasets"
    );
    assert!(html.contains("read_parquet("), "the DuckDB lines");
    assert!(
        stdout.contains("correlate "),
        "the correlate layer's line: {stdout}"
    );

    // DuckDB and pyarrow read the feature table as it is (the Python of `make test`'s virtualenv).
    match std::env::var_os("CIVIC_PYTHON") {
        Some(python) => {
            let script = "import sys, duckdb, pyarrow.dataset as ds\n\
                root = sys.argv[1]\n\
                n = duckdb.sql(f\"SELECT count(*) FROM read_parquet('{root}/*/*.parquet', hive_partitioning = true)\").fetchall()[0][0]\n\
                t = ds.dataset(root, format='parquet', partitioning='hive').to_table()\n\
                print(n, t.num_rows, len(set(t.column('cd').to_pylist())))\n";
            let out = Command::new(&python)
                .args(["-c", script])
                .arg(&features)
                .output()
                .unwrap_or_else(|e| panic!("running {python:?}: {e}"));
            assert!(
                out.status.success(),
                "DuckDB/pyarrow could not read {}: {}",
                features.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            let total: i64 = rows.iter().sum();
            assert_eq!(
                String::from_utf8_lossy(&out.stdout).trim(),
                format!("{total} {total} 15")
            );
        }
        None => eprintln!(
            "skipped the DuckDB/pyarrow read of the feature table: CIVIC_PYTHON is not set (make test sets it to \
             the virtualenv's python with duckdb and pyarrow)"
        ),
    }

    // A second run over the same store appends no event (findings and associations have deterministic ids).
    let count_events = || walk(&store.join("ledger/events")).len();
    let before = count_events();
    let again = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["demo", "--rows", "8000", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(count_events(), before, "a rerun appended events");

    // `civic correlate` over the store: its last line is the association table, which it wrote.
    let out = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["correlate", "--run", "again", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = PathBuf::from(stdout.lines().last().unwrap());
    assert_eq!(
        last,
        store.join("data/associations/la311/run=again/associations.parquet")
    );
    assert!(last.is_file());
    assert_eq!(
        count_events(),
        before,
        "civic correlate appended events already in the ledger"
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_civic"))
        .args(["correlate", "--datasets", "la311,nope", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("\"nope\""));
}

/// Every file under `dir`.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}
