//! Fault injection on the Socrata source: a local SODA-like server on 127.0.0.1 answers 429, 500,
//! 202, cuts a page mid-body, and truncates a page at a line boundary; the run must end with
//! exactly the rows of a clean run (same counts, same data, no duplicates).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ingest_core::source::{RetryPolicy, SocrataSpec};
use ingest_core::{Catalog, IngestOptions, SourceSpec, ingest};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const ROWS: usize = 2_345;

/// What the server does for request number N (1-based).
#[derive(Clone, Copy, Debug)]
enum Fault {
    Status(u16),
    /// Full Content-Length announced, half of the body sent, connection closed.
    CutMidBody,
    /// No Content-Length, body stops after a complete line, connection closed.
    TruncateAtLine,
}

struct Server {
    rows: Vec<(String, String)>, // (:id, CSV line without the id)
    faults: Vec<(usize, Fault)>,
    requests: AtomicUsize,
    tokens: Mutex<Vec<Option<String>>>,
}

fn dataset() -> Vec<(String, String)> {
    (0..ROWS)
        .map(|i| {
            let cd = if i % 97 == 0 {
                String::new()
            } else {
                ((i * 7) % 15 + 1).to_string()
            };
            // Ids sort lexicographically like Socrata's row ids.
            (
                format!("row-{:06}", i * 3 + 11),
                format!("1-{},\"addr {i}, 9000{}\",{cd}", 100_000 + i, i % 10),
            )
        })
        .collect()
}

fn page(server: &Server, target: &str) -> Result<String, String> {
    let url = reqwest::Url::parse(&format!("http://x{target}")).unwrap();
    let q: std::collections::HashMap<String, String> = url.query_pairs().into_owned().collect();
    if url.path() != "/resource/test-0001.csv" {
        return Err(format!("unknown path {}", url.path()));
    }
    if q.get("$order").map(String::as_str) != Some(":id")
        || q.get("$select").map(String::as_str) != Some(":id,*")
    {
        return Err("paging needs $order=:id and $select=:id,*".into());
    }
    let limit: usize = q["$limit"].parse().unwrap();
    let after = q.get("$where").map(|w| {
        let v = w
            .strip_prefix(":id > '")
            .and_then(|v| v.strip_suffix('\''))
            .expect("keyset where");
        v.to_string()
    });
    let mut body = String::from(":id,srnumber,address,cd\n");
    for (id, line) in server
        .rows
        .iter()
        .filter(|(id, _)| after.as_ref().is_none_or(|a| id > a))
        .take(limit)
    {
        body.push_str(&format!("{id},{line}\n"));
    }
    Ok(body)
}

async fn serve(server: Arc<Server>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let server = server.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 4096];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = sock.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    req.extend_from_slice(&buf[..n]);
                }
                let head = String::from_utf8_lossy(&req).to_string();
                let target = head.split_whitespace().nth(1).unwrap().to_string();
                let token = head.lines().find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("x-app-token: ")
                        .map(|_| l[13..].trim().to_string())
                });
                server.tokens.lock().unwrap().push(token);
                let n = server.requests.fetch_add(1, Ordering::SeqCst) + 1;
                let fault = server.faults.iter().find(|(k, _)| *k == n).map(|(_, f)| *f);
                let body = match page(&server, &target) {
                    Ok(b) => b,
                    Err(e) => {
                        let resp = format!(
                            "HTTP/1.1 400 Bad Request\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{e}",
                            e.len()
                        );
                        let _ = sock.write_all(resp.as_bytes()).await;
                        return;
                    }
                };
                let resp = match fault {
                    Some(Fault::Status(code)) => {
                        format!(
                            "HTTP/1.1 {code} Fault\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno"
                        )
                    }
                    Some(Fault::CutMidBody) => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                        body.len(),
                        &body[..body.len() / 2]
                    ),
                    Some(Fault::TruncateAtLine) => {
                        let cut = body[..body.len() / 2].rfind('\n').unwrap() + 1;
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nConnection: close\r\n\r\n{}",
                            &body[..cut]
                        )
                    }
                    None => format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                };
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}")
}

async fn run(
    faults: Vec<(usize, Fault)>,
    run_id: &str,
) -> (Arc<dyn ObjectStore>, ingest_core::RunManifest, Arc<Server>) {
    run_with(faults, run_id, false).await
}

/// `segmented`: the run is stopped by a passed deadline every 1,024 rows and continued from its
/// checkpoint (keyset cursor) until it completes.
async fn run_with(
    faults: Vec<(usize, Fault)>,
    run_id: &str,
    segmented: bool,
) -> (Arc<dyn ObjectStore>, ingest_core::RunManifest, Arc<Server>) {
    let server = Arc::new(Server {
        rows: dataset(),
        faults,
        requests: AtomicUsize::new(0),
        tokens: Mutex::new(Vec::new()),
    });
    let base = serve(server.clone()).await;
    let mut spec = SocrataSpec::new(&base, "test-0001", Some(2017));
    spec.page_rows = 500;
    spec.app_token = Some("tok-123".into());
    spec.retry = RetryPolicy {
        max_attempts: 6,
        base: Duration::from_millis(2),
        cap: Duration::from_millis(20),
    };
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let dataset = Catalog::builtin().load("la311").unwrap();
    let opts = IngestOptions {
        drift: None,
        run_id: Some(run_id.into()),
        ..Default::default()
    };
    let source = SourceSpec::Socrata(spec);
    let m = if segmented {
        let (m, segments) = common::run_in_segments(&store, &dataset, source, run_id).await;
        assert!(segments >= 3, "{segments} segments");
        m
    } else {
        ingest(store.clone(), common::grants(), &dataset, source, opts)
            .await
            .unwrap()
            .manifest
    };
    (store, m, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_end_with_exactly_the_rows_of_a_clean_run() {
    let (clean_store, clean, clean_server) = run(vec![], "clean").await;
    assert_eq!(clean.rows_read, ROWS as u64);
    assert_eq!(clean.rows_quarantined, 0);
    assert_eq!(clean.schema, vec!["srnumber", "address", "cd"]);
    assert_eq!(
        (clean.source.kind.as_str(), clean.source.year),
        ("socrata", Some(2017))
    );
    // 5 pages of 500 (the last one short) plus the empty page that ends the run.
    assert_eq!(clean_server.requests.load(Ordering::SeqCst), 6);
    assert!(
        clean_server
            .tokens
            .lock()
            .unwrap()
            .iter()
            .all(|t| t.as_deref() == Some("tok-123"))
    );

    let faults = vec![
        (1, Fault::Status(429)),
        (3, Fault::Status(500)),
        (4, Fault::Status(202)),
        (6, Fault::CutMidBody),
        (8, Fault::TruncateAtLine),
        (9, Fault::Status(503)),
    ];
    let (store, faulty, server) = run(faults, "faulty").await;
    assert!(
        server.requests.load(Ordering::SeqCst) > 6,
        "faults were served"
    );
    assert_eq!(
        (
            faulty.rows_read,
            faulty.rows_written,
            faulty.rows_quarantined
        ),
        (clean.rows_read, clean.rows_written, clean.rows_quarantined)
    );
    assert_eq!(common::counts(&faulty), common::counts(&clean));
    let a = common::read_back(&clean_store, &clean).await;
    let b = common::read_back(&store, &faulty).await;
    assert_eq!(a, b, "same rows, same order, same _source_row");
    let mut srs: Vec<&String> = b.values().flatten().map(|(f, _)| &f[0]).collect();
    srs.sort();
    srs.dedup();
    assert_eq!(srs.len(), ROWS, "no duplicated and no lost row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_keeps_failing_gives_up_with_the_url() {
    let server = Arc::new(Server {
        rows: dataset(),
        faults: (1..=10).map(|n| (n, Fault::Status(500))).collect(),
        requests: AtomicUsize::new(0),
        tokens: Mutex::new(Vec::new()),
    });
    let base = serve(server.clone()).await;
    let mut spec = SocrataSpec::new(&base, "test-0001", None);
    spec.retry = RetryPolicy {
        max_attempts: 3,
        base: Duration::from_millis(1),
        cap: Duration::from_millis(2),
    };
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let dataset = Catalog::builtin().load("la311").unwrap();
    let err = ingest(
        store,
        common::grants(),
        &dataset,
        SourceSpec::Socrata(spec),
        IngestOptions::default(),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("/resource/test-0001.csv") && msg.contains("giving up after 3 attempts"),
        "{msg}"
    );
    assert_eq!(server.requests.load(Ordering::SeqCst), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segmented_run_with_faults_continues_from_the_keyset_cursor() {
    let (clean_store, clean, _) = run(vec![], "clean").await;
    let faults = vec![(2, Fault::Status(429)), (5, Fault::CutMidBody)];
    let (store, seg, server) = run_with(faults, "seg", true).await;
    assert!(
        server.requests.load(Ordering::SeqCst) > 6,
        "faults were served"
    );
    assert_eq!(
        (seg.rows_read, seg.rows_written, seg.rows_quarantined),
        (clean.rows_read, clean.rows_written, clean.rows_quarantined)
    );
    assert_eq!(
        common::read_back(&store, &seg).await,
        common::read_back(&clean_store, &clean).await,
        "same rows, same order, same _source_row"
    );
}
