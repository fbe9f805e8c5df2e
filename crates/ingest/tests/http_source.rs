//! https/http source against a local server: plain and gzip bodies give the same rows as the
//! local file, a 503 before the body is retried, and a body cut mid-stream fails the run loudly.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ingest_core::generate::{GenOptions, generate};
use ingest_core::{Catalog, IngestOptions, RunManifest, SourceSpec, ingest};
use object_store::ObjectStore;
use object_store::memory::InMemory;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Serves `body` for every GET; the first `fail_first` requests get 503; `cut` sends half a body;
/// with `ranges`, a `Range: bytes=N-` request gets `206` and the body from N.
async fn serve(
    body: Vec<u8>,
    fail_first: usize,
    cut: bool,
    ranges: bool,
) -> (String, Arc<AtomicUsize>) {
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
                if n <= fail_first {
                    let _ = sock
                        .write_all(
                            b"HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                        )
                        .await;
                    return;
                }
                let req = String::from_utf8_lossy(&req).to_ascii_lowercase();
                let from = req
                    .lines()
                    .find_map(|l| l.strip_prefix("range: bytes="))
                    .and_then(|r| r.trim().trim_end_matches('-').parse::<usize>().ok())
                    .filter(|_| ranges);
                let (status, start) = match from {
                    Some(n) => ("206 Partial Content", n),
                    None => ("200 OK", 0),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len() - start
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let end = if cut { body.len() / 2 } else { body.len() };
                let _ = sock.write_all(&body[start..end]).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), hits)
}

async fn run(source: SourceSpec) -> ingest_core::Result<(Arc<dyn ObjectStore>, RunManifest)> {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::in_repo().load("la311").unwrap();
    let opts = IngestOptions {
        drift: None,
        run_id: Some("h".into()),
        ..Default::default()
    };
    let m = ingest(store.clone(), &spec, source, opts).await?.manifest;
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

    let (url, hits) = serve(csv, 2, false, false).await;
    let (s, m) = run(SourceSpec::from_input(&format!("{url}/la311.csv")))
        .await
        .unwrap();
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

    let (url, _) = serve(gz, 0, false, false).await;
    let (s, m) = run(SourceSpec::from_input(&format!("{url}/la311.csv.gz")))
        .await
        .unwrap();
    assert_eq!(common::read_back(&s, &m).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_body_cut_mid_stream_fails_without_a_manifest() {
    let mut csv = Vec::new();
    generate(&mut csv, GenOptions::new(3_000, 9, 2017)).unwrap();
    let (url, _) = serve(csv, 0, true, false).await;
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let spec = Catalog::in_repo().load("la311").unwrap();
    let opts = IngestOptions {
        drift: None,
        run_id: Some("cut".into()),
        ..Default::default()
    };
    let err = ingest(store.clone(), &spec, SourceSpec::from_input(&url), opts)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("CSV error"), "{err}");
    assert!(
        RunManifest::read(&store, "la311", "cut").await.is_err(),
        "no manifest for a failed run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_segmented_url_run_resumes_with_range_or_by_skipping() {
    let mut csv = Vec::new();
    generate(&mut csv, GenOptions::new(4_000, 21, 2023)).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &csv).unwrap();
    let gz = gz.finish().unwrap();
    let spec = Catalog::in_repo().load("la311").unwrap();
    let (url, _) = serve(csv.clone(), 0, false, false).await;
    let (one, want) = run(SourceSpec::from_input(&format!("{url}/la311.csv")))
        .await
        .unwrap();
    let want_rows = common::read_back(&one, &want).await;
    let want_quarantine = common::quarantined(&one, &want).await;
    // A server that honours Range, one that ignores it (200: the client skips), and a gzip body
    // (downloaded again and decompressed up to the checkpoint).
    for (body, ranges, name) in [
        (csv.clone(), true, "la311.csv"),
        (csv.clone(), false, "la311.csv"),
        (gz.clone(), true, "la311.csv.gz"),
    ] {
        let (url, hits) = serve(body, 0, false, ranges).await;
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let source = SourceSpec::from_input(&format!("{url}/{name}"));
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
