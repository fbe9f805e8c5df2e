//! https/http source against a local server: plain and gzip bodies give the same rows as the
//! local file, a 503 before the body is retried, a body cut mid-stream is resumed from the last byte
//! (Range, or skipping when Range is ignored), and a body that never progresses or changes under
//! us fails the run loudly, without a manifest.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ingest_core::generate::{GenOptions, generate};
use ingest_core::{Catalog, IngestOptions, RunManifest, SourceSpec, ingest};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the test server misbehaves.
#[derive(Clone, Copy, Default)]
struct Behaviour {
    /// The first N requests get 503.
    fail_first: usize,
    /// The first N bodies after those are cut: half of what is announced is sent, then the
    /// connection closes (`usize::MAX`: every body).
    cut_first: usize,
    /// Cut bodies send nothing at all (no progress).
    cut_to_nothing: bool,
    /// `Range: bytes=N-` gets 206 and the body from N (when `If-Range` matches the ETag).
    ranges: bool,
    /// Send `ETag: "v1"`, and `"v2"` from the second body on (the resource changed).
    etag_changes: bool,
}

/// Serves `body` for every GET, behaving as `how` says; counts the requests.
async fn serve(body: Vec<u8>, how: Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let hits2 = hits.clone();
    let body = Arc::new(body);
    tokio::spawn(async move {
        loop {
            let (mut sock, _) = listener.accept().await.unwrap();
            let (body, hits) = (body.clone(), hits2.clone());
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 2048];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let n = hits.fetch_add(1, Ordering::SeqCst) + 1;
                if n <= how.fail_first {
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let served = n - how.fail_first;
                let etag = match (how.etag_changes, served) {
                    (false, _) => None,
                    (true, 1) => Some("\"v1\""),
                    (true, _) => Some("\"v2\""),
                };
                let req = String::from_utf8_lossy(&req).to_ascii_lowercase();
                let header = |name: &str| {
                    req.lines()
                        .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
                };
                let if_range_ok = header("if-range:").is_none_or(|v| Some(v.as_str()) == etag);
                let from = header("range: bytes=")
                    .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok())
                    .filter(|_| how.ranges && if_range_ok);
                let (status, start) = match from {
                    Some(n) if n >= body.len() => {
                        let _ = sock
                            .write_all(b"HTTP/1.1 416 Range Not Satisfiable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                            .await;
                        return;
                    }
                    Some(n) => ("206 Partial Content", n),
                    None => ("200 OK", 0),
                };
                let tag = etag.map(|e| format!("ETag: {e}\r\n")).unwrap_or_default();
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{tag}Connection: close\r\n\r\n",
                    body.len() - start
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let end = match (served <= how.cut_first, how.cut_to_nothing) {
                    (false, _) => body.len(),
                    (true, true) => start,
                    (true, false) => start + (body.len() - start).div_ceil(2),
                };
                let _ = sock.write_all(&body[start..end]).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

/// A URL source retrying fast (tests).
fn url_source(url: &str) -> SourceSpec {
    SourceSpec::Https {
        url: url.to_string(),
        retry: ingest_core::source::RetryPolicy {
            max_attempts: 4,
            base: std::time::Duration::from_millis(2),
            cap: std::time::Duration::from_millis(10),
        },
    }
}

async fn run(source: SourceSpec) -> ingest_core::Result<(Arc<dyn ObjectStore>, RunManifest)> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::builtin().load("la311").unwrap();
    let opts = IngestOptions {
        drift: None,
        run_id: Some("h".into()),
        ..Default::default()
    };
    let m = ingest(store.clone(), common::grants(), &spec, source, opts)
        .await?
        .manifest;
    Ok((store, m))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_plain_and_gzip_match_the_local_file() {
    let mut csv = Vec::new();
    generate(&mut csv, GenOptions::new(5_000, 9, 2017)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &csv).unwrap();
    let gz = gz.finish().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f.csv");
    std::fs::write(&path, &csv).unwrap();

    let (fstore, fm) = run(SourceSpec::File { path }).await.unwrap();
    let want = common::read_back(&fstore, &fm).await;

    let how = Behaviour {
        fail_first: 2,
        ..Default::default()
    };
    let (url, hits) = serve(csv, how).await;
    let (s, m) = run(url_source(&format!("{url}/la311.csv"))).await.unwrap();
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "two 503s retried, then the body"
    );
    assert_eq!(m.source.kind, "https");
    assert_eq!(
        (m.rows_read, m.rows_quarantined),
        (fm.rows_read, fm.rows_quarantined)
    );
    assert_eq!(common::read_back(&s, &m).await, want);

    let (url, _) = serve(gz, Behaviour::default()).await;
    let (s, m) = run(url_source(&format!("{url}/la311.csv.gz")))
        .await
        .unwrap();
    assert_eq!(common::read_back(&s, &m).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_cut_mid_stream_is_resumed_from_the_last_byte() {
    let mut csv = Vec::new();
    generate(&mut csv, GenOptions::new(3_000, 9, 2017)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &csv).unwrap();
    let gz = gz.finish().unwrap();
    let (url, _) = serve(csv.clone(), Behaviour::default()).await;
    let (one, want) = run(url_source(&format!("{url}/x.csv"))).await.unwrap();
    let want = common::read_back(&one, &want).await;
    let cases = [
        // Range honoured, cut once, plain and gzip.
        (
            csv.clone(),
            "x.csv",
            Behaviour {
                cut_first: 1,
                ranges: true,
                ..Default::default()
            },
            Some(2),
        ),
        (
            gz.clone(),
            "x.csv.gz",
            Behaviour {
                cut_first: 1,
                ranges: true,
                ..Default::default()
            },
            Some(2),
        ),
        // Range ignored: the body is read again and what was delivered is skipped.
        (
            csv.clone(),
            "x.csv",
            Behaviour {
                cut_first: 1,
                ..Default::default()
            },
            Some(2),
        ),
        // Every body cut, but each one moves on: the download still finishes.
        (
            csv.clone(),
            "x.csv",
            Behaviour {
                cut_first: usize::MAX,
                ranges: true,
                ..Default::default()
            },
            None,
        ),
    ];
    for (body, name, how, requests) in cases {
        let (url, hits) = serve(body, how).await;
        let (s, m) = run(url_source(&format!("{url}/{name}"))).await.unwrap();
        assert_eq!(common::read_back(&s, &m).await, want, "{name}");
        let hits = hits.load(Ordering::SeqCst);
        match requests {
            Some(n) => assert_eq!(hits, n, "{name}: one reconnection"),
            None => assert!(hits > 4, "{name}: {hits} requests"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_never_progresses_or_changes_fails_without_a_manifest() {
    let mut csv = Vec::new();
    generate(&mut csv, GenOptions::new(3_000, 9, 2017)).unwrap();
    let spec = Catalog::builtin().load("la311").unwrap();
    let cases = [
        (
            Behaviour {
                cut_first: usize::MAX,
                cut_to_nothing: true,
                ranges: true,
                ..Default::default()
            },
            "times without progress",
        ),
        (
            Behaviour {
                cut_first: 1,
                ranges: true,
                etag_changes: true,
                ..Default::default()
            },
            "the resource changed while it was read",
        ),
    ];
    for (how, want) in cases {
        let (url, _) = serve(csv.clone(), how).await;
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let opts = IngestOptions {
            drift: None,
            run_id: Some("cut".into()),
            ..Default::default()
        };
        let err = ingest(
            store.clone(),
            common::grants(),
            &spec,
            url_source(&url),
            opts,
        )
        .await
        .unwrap_err()
        .to_string();
        assert!(err.contains(want), "{err}");
        assert!(
            ingest_core::manifest::read(&store, prefixes::process::runs(), "la311", "cut")
                .await
                .is_err(),
            "no manifest for a failed run"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segmented_url_run_resumes_with_range_or_by_skipping() {
    let mut csv = Vec::new();
    generate(&mut csv, GenOptions::new(4_000, 21, 2023)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &csv).unwrap();
    let gz = gz.finish().unwrap();
    let spec = Catalog::builtin().load("la311").unwrap();
    let (url, _) = serve(csv.clone(), Behaviour::default()).await;
    let (one, want) = run(url_source(&format!("{url}/la311.csv"))).await.unwrap();
    let want_rows = common::read_back(&one, &want).await;
    let want_quarantine = common::quarantined(&one, &want).await;
    // A server that honours Range, one that ignores it (200: the client skips), and a gzip body
    // (downloaded again and decompressed up to the checkpoint).
    for (body, ranges, name) in [
        (csv.clone(), true, "la311.csv"),
        (csv.clone(), false, "la311.csv"),
        (gz.clone(), true, "la311.csv.gz"),
    ] {
        let how = Behaviour {
            ranges,
            ..Default::default()
        };
        let (url, hits) = serve(body, how).await;
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let source = url_source(&format!("{url}/{name}"));
        let (m, segments) = common::run_in_segments(&store, &spec, source, "seg").await;
        assert!(segments >= 3, "{segments} segments");
        assert_eq!(
            hits.load(Ordering::SeqCst),
            segments as usize,
            "one request per segment"
        );
        assert_eq!(
            common::read_back(&store, &m).await,
            want_rows,
            "{name} ranges={ranges}"
        );
        assert_eq!(common::quarantined(&store, &m).await, want_quarantine);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_at_the_very_end_of_the_body_completes_the_run() {
    // 2,048 records: the second segment stops exactly at the end; the third asks for a range that
    // starts there and gets 416, which means nothing is left.
    let mut csv = Vec::new();
    generate(&mut csv, GenOptions::new(2_048, 4, 2023)).unwrap();
    let spec = Catalog::builtin().load("la311").unwrap();
    let how = Behaviour {
        ranges: true,
        ..Default::default()
    };
    let (url, hits) = serve(csv, how).await;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let (m, segments) = common::run_in_segments(&store, &spec, url_source(&url), "end").await;
    assert_eq!((segments, m.rows_read), (3, 2_048));
    assert_eq!(hits.load(Ordering::SeqCst), 3);
}
