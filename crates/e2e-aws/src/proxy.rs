//! One function's AWS endpoint: a loopback reverse proxy in front of moto that forwards every request unchanged
//! and keeps what IAM would authorize it by ([`crate::iam`]), so the run can check each request against the
//! function's role afterwards (moto itself authorizes nothing).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::iam;

/// A request as sent, mapped to IAM (or why it could not be).
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET /bucket/key?query` or `AmazonSQS.SendMessage`.
    pub what: String,
    pub iam: Result<Vec<iam::Request>, String>,
}

struct Inner {
    upstream: String,
    region: String,
    account: String,
    client: reqwest::Client,
    seen: Mutex<Vec<Recorded>>,
}

/// A running proxy.
pub struct Proxy {
    inner: Arc<Inner>,
    addr: SocketAddr,
}

impl Proxy {
    /// Forward to `upstream` (`http://127.0.0.1:PORT`).
    pub async fn serve(upstream: &str, region: &str, account: &str) -> anyhow::Result<Proxy> {
        let inner = Arc::new(Inner {
            upstream: upstream.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            // Bodies pass through as they are (no decompression, no redirects followed).
            client: reqwest::Client::builder()
                .no_gzip()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            seen: Mutex::new(Vec::new()),
        });
        let app = Router::new().fallback(forward).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Proxy { inner, addr })
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.inner.seen.lock().unwrap().clone()
    }
}

/// What IAM authorizes the request by.
fn classify(
    inner: &Inner,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Recorded {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok());
    if let Some(target) = header("x-amz-target") {
        return Recorded {
            what: target.to_owned(),
            iam: iam::json_request(target, body, &inner.region, &inner.account)
                .map(|r| vec![r])
                .map_err(|e| format!("{e:#}")),
        };
    }
    let service = header("authorization").and_then(iam::signed_service);
    let what = format!("{method} {uri}");
    let iam = match service {
        Some("s3") => iam::s3_request(
            method.as_str(),
            uri.path(),
            uri.query().unwrap_or_default(),
            header("x-amz-copy-source"),
            body,
        )
        .map_err(|e| format!("{e:#}")),
        Some(other) => Err(format!(
            "a request to {other} outside the JSON protocol: not mapped to IAM"
        )),
        None => Err("an unsigned request".into()),
    };
    Recorded { what, iam }
}

async fn forward(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = classify(&inner, &method, &uri, &headers, &body);
    inner.seen.lock().unwrap().push(recorded);
    let url = format!(
        "{}{}",
        inner.upstream,
        uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let mut req = inner.client.request(method, &url).body(body);
    for (k, v) in &headers {
        if k != "host" && k != "content-length" {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(resp) => {
            let status = resp.status();
            let mut out = HeaderMap::new();
            for (k, v) in resp.headers() {
                // Content-Length stays: a HEAD answer carries the object's size in it.
                if k != "transfer-encoding" && k != "connection" {
                    out.append(k, v.clone());
                }
            }
            match resp.bytes().await {
                Ok(b) => (status, out, b).into_response(),
                Err(e) => (StatusCode::BAD_GATEWAY, format!("e2e-aws proxy: {e}")).into_response(),
            }
        }
        Err(e) => (StatusCode::BAD_GATEWAY, format!("e2e-aws proxy: {e}")).into_response(),
    }
}
