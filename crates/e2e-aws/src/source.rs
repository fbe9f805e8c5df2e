//! The run's source on loopback: one generated file served over HTTP as a web server serves it (`200` with
//! `Content-Length`, `206` for a `Range: bytes=N-` request, `416` past the end), so a continued ingestion resumes
//! with `Range` as it does against the real portal. Requests are counted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

struct Served {
    body: Bytes,
    requests: AtomicU32,
    ranged: AtomicU32,
}

/// A served file.
pub struct Source {
    served: Arc<Served>,
    url: String,
}

impl Source {
    /// Serve `body` as `http://127.0.0.1:PORT/<name>`.
    pub async fn serve(name: &str, body: Vec<u8>) -> anyhow::Result<Source> {
        let served = Arc::new(Served {
            body: Bytes::from(body),
            requests: AtomicU32::new(0),
            ranged: AtomicU32::new(0),
        });
        let app = Router::new()
            .route(&format!("/{name}"), get(file))
            .with_state(served.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr: SocketAddr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Source {
            served,
            url: format!("http://{addr}/{name}"),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// (requests, of which with `Range`).
    pub fn requests(&self) -> (u32, u32) {
        (
            self.served.requests.load(Ordering::SeqCst),
            self.served.ranged.load(Ordering::SeqCst),
        )
    }
}

/// The start of a `bytes=N-` range; `Err` for any other range form (not sent by our source reader).
fn range_start(value: &str) -> Result<u64, ()> {
    let rest = value.strip_prefix("bytes=").ok_or(())?;
    let start = rest.strip_suffix('-').ok_or(())?;
    start.parse().map_err(|_| ())
}

async fn file(State(s): State<Arc<Served>>, headers: HeaderMap) -> Response {
    s.requests.fetch_add(1, Ordering::SeqCst);
    let len = s.body.len() as u64;
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "text/csv"),
                (header::ACCEPT_RANGES, "bytes"),
            ],
            s.body.clone(),
        )
            .into_response();
    };
    s.ranged.fetch_add(1, Ordering::SeqCst);
    match range_start(range) {
        Ok(start) if start < len => (
            StatusCode::PARTIAL_CONTENT,
            [
                (header::CONTENT_TYPE, "text/csv".to_owned()),
                (
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{}/{len}", len - 1),
                ),
            ],
            s.body.slice(start as usize..),
        )
            .into_response(),
        Ok(_) => (
            StatusCode::RANGE_NOT_SATISFIABLE,
            [(header::CONTENT_RANGE, format!("bytes */{len}"))],
        )
            .into_response(),
        Err(()) => (
            StatusCode::BAD_REQUEST,
            format!("e2e-aws serves only `Range: bytes=N-`, got {range:?}"),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_open_ended_byte_ranges_are_read() {
        assert_eq!(range_start("bytes=10-"), Ok(10));
        assert_eq!(range_start("bytes=0-"), Ok(0));
        assert!(range_start("bytes=1-5").is_err());
        assert!(range_start("items=1-").is_err());
    }

    #[tokio::test]
    async fn a_range_request_gets_the_rest_of_the_file() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let src = Source::serve("f.csv", b"a,b\n1,2\n".to_vec())
            .await
            .unwrap();
        let addr = src
            .url()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let get = |range: &'static str| {
            let addr = addr.clone();
            async move {
                let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
                let req =
                    format!("GET /f.csv HTTP/1.1\r\nHost: x\r\n{range}Connection: close\r\n\r\n");
                s.write_all(req.as_bytes()).await.unwrap();
                let mut out = String::new();
                s.read_to_string(&mut out).await.unwrap();
                out
            }
        };
        let whole = get("").await;
        assert!(
            whole.starts_with("HTTP/1.1 200") && whole.ends_with("a,b\n1,2\n"),
            "{whole}"
        );
        let part = get("Range: bytes=4-\r\n").await;
        assert!(
            part.starts_with("HTTP/1.1 206") && part.ends_with("\r\n\r\n1,2\n"),
            "{part}"
        );
        assert!(
            part.to_ascii_lowercase()
                .contains("content-range: bytes 4-7/8"),
            "{part}"
        );
        let past = get("Range: bytes=8-\r\n").await;
        assert!(past.starts_with("HTTP/1.1 416"), "{past}");
        assert_eq!(src.requests(), (3, 2));
    }
}
