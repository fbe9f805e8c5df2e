//! A Lambda service on loopback for the real `bootstrap` binaries: per function, the documented Runtime API
//! (`/2018-06-01/runtime/invocation/next`, `…/{id}/response`, `…/{id}/error`, `…/init/error`) on its own port,
//! as `AWS_LAMBDA_RUNTIME_API` names it in Lambda; and the `Invoke` API (`POST
//! /2015-03-31/functions/{name}/invocations`) for asynchronous (`Event`) invocations, which it accepts with
//! 202 and queues for the driver, as Lambda queues them.
//!
//! Why not `cargo lambda watch --only-lambda-apis` (cargo-lambda 1.9.2): it answers every `next` with
//! `Lambda-Runtime-Deadline-Ms: 600000` (ten minutes after the Unix epoch, so every deadline has passed and no
//! short one can be chosen) and `Lambda-Runtime-Invoked-Function-Arn: function-arn`, and its invoke endpoint
//! answers only when the function has, so a function that invokes itself asynchronously waits for itself.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::{mpsc, oneshot};

/// What an invocation ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// `POST …/{id}/response`: the function's answer.
    Response(Bytes),
    /// `POST …/{id}/error`: `Lambda-Runtime-Function-Error-Type` and the error document.
    Error {
        error_type: Option<String>,
        body: Bytes,
    },
}

/// One queued invocation.
struct Pending {
    request_id: String,
    payload: Bytes,
    deadline_ms: u64,
    reply: oneshot::Sender<Outcome>,
}

/// The Runtime API of one function.
struct Slot {
    arn: String,
    inbox: Mutex<Option<mpsc::UnboundedReceiver<Pending>>>,
    sender: mpsc::UnboundedSender<Pending>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<String>>,
}

/// One function's Runtime API endpoint, and the way to invoke it.
#[derive(Clone)]
pub struct RuntimeApi {
    slot: Arc<Slot>,
    addr: SocketAddr,
}

impl RuntimeApi {
    /// Serve the Runtime API of the function `arn` on a free loopback port.
    pub async fn serve(arn: &str) -> anyhow::Result<RuntimeApi> {
        let (sender, inbox) = mpsc::unbounded_channel();
        let slot = Arc::new(Slot {
            arn: arn.to_owned(),
            inbox: Mutex::new(Some(inbox)),
            sender,
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
        });
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(slot.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(RuntimeApi { slot, addr })
    }

    /// `AWS_LAMBDA_RUNTIME_API`: `host:port`, as Lambda sets it.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// The error the function reported at `init/error`, if any.
    pub fn init_error(&self) -> Option<String> {
        self.slot.init_error.lock().unwrap().clone()
    }

    /// Queue an invocation with `payload` and a deadline `timeout` from now; the receiver gets its outcome.
    pub fn invoke(&self, payload: Bytes, timeout: Duration) -> oneshot::Receiver<Outcome> {
        let (reply, rx) = oneshot::channel();
        let deadline_ms = (SystemTime::now() + timeout)
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_millis() as u64;
        let pending = Pending {
            request_id: uuid::Uuid::new_v4().to_string(),
            payload,
            deadline_ms,
            reply,
        };
        // The receiver lives as long as the slot, which `self` holds.
        let _ = self.slot.sender.send(pending);
        rx
    }
}

/// `GET next`: wait for the next invocation (the runtime's long poll), then hand it over with its headers.
async fn next(State(slot): State<Arc<Slot>>) -> Response {
    // One runtime polls at a time (Lambda runs one invocation per sandbox); take the inbox for the wait.
    let Some(mut inbox) = slot.inbox.lock().unwrap().take() else {
        return (
            StatusCode::CONFLICT,
            "another `next` is already waiting on this function's runtime API",
        )
            .into_response();
    };
    let pending = inbox.recv().await;
    *slot.inbox.lock().unwrap() = Some(inbox);
    let Some(p) = pending else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    slot.in_flight
        .lock()
        .unwrap()
        .insert(p.request_id.clone(), p.reply);
    let mut headers = HeaderMap::new();
    let mut set = |name: &'static str, value: String| {
        headers.insert(name, HeaderValue::from_str(&value).expect("header value"));
    };
    set("Lambda-Runtime-Aws-Request-Id", p.request_id.clone());
    set("Lambda-Runtime-Deadline-Ms", p.deadline_ms.to_string());
    set("Lambda-Runtime-Invoked-Function-Arn", slot.arn.clone());
    set("Lambda-Runtime-Trace-Id", trace_id(&p.request_id));
    set("Content-Type", "application/json".into());
    (StatusCode::OK, headers, p.payload).into_response()
}

/// An X-Ray trace header of the documented form (`Root=1-<8 hex time>-<24 hex>`).
fn trace_id(request_id: &str) -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let hex: String = request_id.chars().filter(|c| *c != '-').take(24).collect();
    format!("Root=1-{secs:08x}-{hex};Sampled=0")
}

fn finish(slot: &Slot, id: &str, outcome: Outcome) -> Response {
    match slot.in_flight.lock().unwrap().remove(id) {
        Some(reply) => {
            let _ = reply.send(outcome);
            (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
        }
        None => (
            StatusCode::BAD_REQUEST,
            format!("unknown or finished request id {id}"),
        )
            .into_response(),
    }
}

async fn response(State(slot): State<Arc<Slot>>, Path(id): Path<String>, body: Bytes) -> Response {
    finish(&slot, &id, Outcome::Response(body))
}

async fn error(
    State(slot): State<Arc<Slot>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let error_type = headers
        .get("Lambda-Runtime-Function-Error-Type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    finish(&slot, &id, Outcome::Error { error_type, body })
}

async fn init_error(State(slot): State<Arc<Slot>>, body: Bytes) -> Response {
    *slot.init_error.lock().unwrap() = Some(String::from_utf8_lossy(&body).into_owned());
    (StatusCode::ACCEPTED, r#"{"status":"OK"}"#).into_response()
}

/// One asynchronous invocation a function asked for through the Invoke API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncInvocation {
    /// `FunctionName` of the request (a name or an ARN).
    pub function: String,
    pub payload: Bytes,
}

/// The Lambda `Invoke` API on loopback (what `AWS_ENDPOINT_URL_LAMBDA` points the functions' SDK at):
/// `Event` invocations are answered 202 and queued; any other invocation type is refused with a 400 naming
/// it (nothing here invokes synchronously).
#[derive(Clone)]
pub struct InvokeApi {
    queued: Arc<Mutex<VecDeque<AsyncInvocation>>>,
    addr: SocketAddr,
}

impl InvokeApi {
    pub async fn serve() -> anyhow::Result<InvokeApi> {
        let queued = Arc::new(Mutex::new(VecDeque::new()));
        let app = Router::new()
            .route("/2015-03-31/functions/{name}/invocations", post(invoke_api))
            .with_state(queued.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(InvokeApi { queued, addr })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The oldest queued asynchronous invocation.
    pub fn pop(&self) -> Option<AsyncInvocation> {
        self.queued.lock().unwrap().pop_front()
    }
}

async fn invoke_api(
    State(queued): State<Arc<Mutex<VecDeque<AsyncInvocation>>>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let kind = headers
        .get("X-Amz-Invocation-Type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("RequestResponse");
    if kind != "Event" {
        return (
            StatusCode::BAD_REQUEST,
            [("X-Amzn-ErrorType", "InvalidParameterValueException")],
            format!(
                r#"{{"message":"e2e-aws: only Event invocations are emulated, got InvocationType {kind}"}}"#
            ),
        )
            .into_response();
    }
    queued.lock().unwrap().push_back(AsyncInvocation {
        function: name,
        payload: body,
    });
    StatusCode::ACCEPTED.into_response()
}

/// Wait for `rx`, failing when `alive` says the function's process is gone or `limit` passes.
pub async fn wait(
    function: &str,
    mut rx: oneshot::Receiver<Outcome>,
    limit: Duration,
    mut alive: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<Outcome> {
    let started = std::time::Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_millis(200), &mut rx).await {
            Ok(outcome) => {
                return outcome.with_context(|| format!("{function}: the invocation was dropped"));
            }
            Err(_) => {
                alive()
                    .with_context(|| format!("{function}: waiting for an invocation's answer"))?;
                if started.elapsed() > limit {
                    bail!("{function}: no answer within {limit:?}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A raw HTTP/1.1 exchange on loopback (what the runtime client sends), without an HTTP client crate.
    async fn http(addr: &str, request: String) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.unwrap();
        String::from_utf8(out).unwrap()
    }

    fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
        response.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }

    #[tokio::test]
    async fn next_hands_over_the_event_with_its_deadline_and_the_response_reaches_the_invoker() {
        let api = RuntimeApi::serve("arn:aws:lambda:us-east-1:123456789012:function:f")
            .await
            .unwrap();
        let rx = api.invoke(Bytes::from_static(br#"{"a":1}"#), Duration::from_secs(30));
        let got = http(
            &api.address(),
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
        )
        .await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got}");
        assert!(got.ends_with(r#"{"a":1}"#), "{got}");
        assert_eq!(
            header(&got, "lambda-runtime-invoked-function-arn"),
            Some("arn:aws:lambda:us-east-1:123456789012:function:f")
        );
        let deadline: u64 = header(&got, "lambda-runtime-deadline-ms")
            .unwrap()
            .parse()
            .unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(
            deadline > now + 25_000 && deadline <= now + 30_000,
            "{deadline} vs {now}"
        );
        let id = header(&got, "lambda-runtime-aws-request-id").unwrap();
        let body = "{\"ok\":true}";
        let answered = http(
            &api.address(),
            format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            ),
        )
        .await;
        assert!(answered.starts_with("HTTP/1.1 202"), "{answered}");
        assert_eq!(rx.await.unwrap(), Outcome::Response(Bytes::from(body)));
        // A second answer to the same request is refused.
        let again = http(
            &api.address(),
            format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            ),
        )
        .await;
        assert!(again.starts_with("HTTP/1.1 400"), "{again}");
    }

    #[tokio::test]
    async fn an_error_keeps_its_type_and_only_event_invocations_are_queued() {
        let api = RuntimeApi::serve("arn:f").await.unwrap();
        let rx = api.invoke(Bytes::from_static(b"{}"), Duration::from_secs(5));
        let got = http(
            &api.address(),
            "GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".into(),
        )
        .await;
        let id = header(&got, "lambda-runtime-aws-request-id").unwrap();
        http(
            &api.address(),
            format!(
                "POST /2018-06-01/runtime/invocation/{id}/error HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Error-Type: bad_input\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
            ),
        )
        .await;
        assert_eq!(
            rx.await.unwrap(),
            Outcome::Error {
                error_type: Some("bad_input".into()),
                body: Bytes::from_static(b"{}")
            }
        );

        let invoke = InvokeApi::serve().await.unwrap();
        let addr = invoke.endpoint().trim_start_matches("http://").to_owned();
        let sync = http(
            &addr,
            "POST /2015-03-31/functions/f/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}".into(),
        )
        .await;
        assert!(sync.starts_with("HTTP/1.1 400"), "{sync}");
        assert!(sync.contains("RequestResponse"), "{sync}");
        assert_eq!(invoke.pop(), None);
        let event = http(
            &addr,
            "POST /2015-03-31/functions/civic-ci-ingest/invocations HTTP/1.1\r\nHost: x\r\nX-Amz-Invocation-Type: Event\r\nContent-Length: 7\r\nConnection: close\r\n\r\n{\"a\":1}".into(),
        )
        .await;
        assert!(event.starts_with("HTTP/1.1 202"), "{event}");
        assert_eq!(
            invoke.pop(),
            Some(AsyncInvocation {
                function: "civic-ci-ingest".into(),
                payload: Bytes::from_static(br#"{"a":1}"#)
            })
        );
    }
}
