//! https source: one streamed GET (retried until the response starts), bytes pumped from the async
//! body into a bounded channel read by the blocking CSV parser; gzip by extension or magic bytes.
//! A connection dropped mid-body is resumed from the last byte received with `Range` (guarded by
//! `If-Range` when the server gave a validator); a server that ignores `Range` is read again and
//! the bytes already delivered are skipped, so the parser sees one contiguous body either way.

use std::io::{BufRead, BufReader, Read};
use tokio::sync::mpsc::{Receiver, Sender, channel};

use bytes::{Buf, Bytes};
use futures::StreamExt;
use tokio::runtime::Handle;

use super::retry::{RetryPolicy, retryable_status};
use super::{CsvPosition, CsvStream, RecordSource};
use crate::error::{Error, Result};

/// Chunks in flight between the network task and the parser.
const CHANNEL_CHUNKS: usize = 16;

/// Build the shared HTTP client (gzip content-encoding, timeouts).
pub(crate) fn client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(30))
        .read_timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| Error::Http {
            url: "-".into(),
            message: e.to_string(),
        })
}

/// GET `url` until a 200 arrives (retrying 202/429/5xx and connection errors). With a `Range`
/// header, 416 (the range starts at the end: nothing is left) is an answer too; see [`nothing_left`].
pub(crate) async fn get_ok(
    client: &reqwest::Client,
    url: &str,
    headers: &[(&str, String)],
    retry: &RetryPolicy,
) -> Result<reqwest::Response> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut req = client.get(url);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let why = match req.send().await {
            Ok(resp)
                if resp.status().is_success() && resp.status() != reqwest::StatusCode::ACCEPTED =>
            {
                return Ok(resp);
            }
            Ok(resp)
                if resp.status() == reqwest::StatusCode::RANGE_NOT_SATISFIABLE
                    && headers.iter().any(|(k, _)| *k == "Range") =>
            {
                return Ok(resp);
            }
            Ok(resp) if retryable_status(resp.status()) => format!("status {}", resp.status()),
            Ok(resp) => {
                let status = resp.status();
                let body = resp.text().await.unwrap_or_default();
                let body: String = body.chars().take(300).collect();
                return Err(Error::Http {
                    url: url.to_string(),
                    message: format!("status {status}: {body}"),
                });
            }
            Err(e) => format!("request failed: {e}"),
        };
        if attempt >= retry.max_attempts {
            return Err(Error::Http {
                url: url.to_string(),
                message: format!("giving up after {attempt} attempts, last: {why}"),
            });
        }
        let wait = retry.backoff(attempt);
        tracing::warn!(%url, attempt, ?wait, reason = %why, "retrying");
        tokio::time::sleep(wait).await;
    }
}

/// Open a streamed https CSV source.
pub(crate) fn open(url: &str, rt: &Handle, retry: &RetryPolicy) -> Result<Box<dyn RecordSource>> {
    let client = client()?;
    let resp = rt.block_on(get_ok(&client, url, &[], retry))?;
    let total = resp.content_length();
    let mut reader = stream(client, url, resp, 0, retry, rt);
    let head = reader.fill_buf().map_err(|e| Error::Http {
        url: url.to_string(),
        message: e.to_string(),
    })?;
    let gz = head.starts_with(&[0x1f, 0x8b]);
    if gz {
        let dec = flate2::bufread::MultiGzDecoder::new(reader);
        Ok(Box::new(CsvStream::new(dec, url, None)?.compressed(true)))
    } else {
        Ok(Box::new(CsvStream::new(reader, url, total)?))
    }
}

/// Continue a streamed https CSV at a checkpoint's position: a plain body is requested from
/// `at.byte` with `Range` (a server that answers 200 instead of 206 is read and skipped up to
/// there); a gzip body is downloaded again and decompressed up to `at.byte`.
pub(crate) fn open_at(
    url: &str,
    rt: &Handle,
    retry: &RetryPolicy,
    header: csv::ByteRecord,
    at: CsvPosition,
    gzip: bool,
) -> Result<Box<dyn RecordSource>> {
    let client = client()?;
    let range = [("Range", format!("bytes={}-", at.byte))];
    let headers: &[(&str, String)] = if gzip || at.byte == 0 { &[] } else { &range };
    let resp = rt.block_on(get_ok(&client, url, headers, retry))?;
    if nothing_left(&resp) {
        // The checkpoint sits at the very end of the body.
        return Ok(Box::new(CsvStream::resume(
            std::io::empty(),
            url,
            Some(at.byte),
            header,
            at,
        )));
    }
    let partial = resp.status() == reqwest::StatusCode::PARTIAL_CONTENT;
    let start = if partial { at.byte } else { 0 };
    let total = resp.content_length().map(|n| n + start);
    let mut reader = stream(client, url, resp, start, retry, rt);
    let io = |e: std::io::Error| Error::Http {
        url: url.to_string(),
        message: e.to_string(),
    };
    if gzip {
        let mut dec = flate2::bufread::MultiGzDecoder::new(reader);
        super::skip(&mut dec, at.byte).map_err(io)?;
        return Ok(Box::new(
            CsvStream::resume(dec, url, None, header, at).compressed(true),
        ));
    }
    if !partial {
        tracing::info!(%url, skip = at.byte, "server ignored Range: skipping to the checkpoint");
        super::skip(&mut reader, at.byte).map_err(io)?;
    }
    Ok(Box::new(CsvStream::resume(reader, url, total, header, at)))
}

/// A blocking reader over `resp`'s body (which starts at byte `start` of the resource), fed by a
/// task that resumes dropped connections.
fn stream(
    client: reqwest::Client,
    url: &str,
    resp: reqwest::Response,
    start: u64,
    retry: &RetryPolicy,
    rt: &Handle,
) -> BufReader<ChannelReader> {
    let (tx, rx) = channel::<std::result::Result<Bytes, String>>(CHANNEL_CHUNKS);
    let body = Body {
        client,
        url: url.to_string(),
        validator: validator(&resp),
        retry: retry.clone(),
    };
    rt.spawn(body.pump(resp, start, tx));
    BufReader::with_capacity(
        1 << 20,
        ChannelReader {
            rx,
            current: Bytes::new(),
        },
    )
}

/// True for a 416 answer to a `Range` request: everything was already read.
fn nothing_left(resp: &reqwest::Response) -> bool {
    resp.status() == reqwest::StatusCode::RANGE_NOT_SATISFIABLE
}

/// A strong validator for `If-Range`: a strong ETag, else Last-Modified.
fn validator(resp: &reqwest::Response) -> Option<String> {
    let h = resp.headers();
    let text = |name| {
        h.get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    text(reqwest::header::ETAG)
        .filter(|e| !e.starts_with("W/"))
        .or_else(|| text(reqwest::header::LAST_MODIFIED))
}

/// What the pump needs to reconnect.
struct Body {
    client: reqwest::Client,
    url: String,
    validator: Option<String>,
    retry: RetryPolicy,
}

impl Body {
    /// Send the body's chunks to the parser; on a dropped connection, reconnect from the next byte.
    /// Attempts are counted per stretch without progress, so a flaky but moving download finishes.
    async fn pump(
        self,
        mut resp: reqwest::Response,
        start: u64,
        tx: Sender<std::result::Result<Bytes, String>>,
    ) {
        let mut delivered = start;
        let mut skip = 0u64;
        let mut failures = 0u32;
        loop {
            let mut body = resp.bytes_stream();
            let mut dropped = None;
            while let Some(chunk) = body.next().await {
                match chunk {
                    Ok(mut b) => {
                        if skip > 0 {
                            let n = skip.min(b.len() as u64) as usize;
                            b.advance(n);
                            skip -= n as u64;
                        }
                        if b.is_empty() {
                            continue;
                        }
                        delivered += b.len() as u64;
                        failures = 0;
                        // Bounded: this task waits whenever the parser lags.
                        if tx.send(Ok(b)).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        dropped = Some(e.to_string());
                        break;
                    }
                }
            }
            let Some(why) = dropped else { return };
            failures += 1;
            if failures >= self.retry.max_attempts {
                let _ = tx
                    .send(Err(format!(
                        "connection dropped mid-body at byte {delivered}, {failures} times without \
                         progress; last: {why}"
                    )))
                    .await;
                return;
            }
            let wait = self.retry.backoff(failures);
            tracing::warn!(url = %self.url, at = delivered, ?wait, reason = %why, "connection dropped mid-body: resuming");
            tokio::time::sleep(wait).await;
            let mut headers = vec![("Range", format!("bytes={delivered}-"))];
            if let Some(v) = &self.validator {
                headers.push(("If-Range", v.clone()));
            }
            match get_ok(&self.client, &self.url, &headers, &self.retry).await {
                Ok(r) if nothing_left(&r) => return,
                Ok(r) if r.status() == reqwest::StatusCode::PARTIAL_CONTENT => {
                    resp = r;
                    skip = 0;
                }
                Ok(r) if self.validator.is_some() && validator(&r) != self.validator => {
                    let _ = tx
                        .send(Err(format!(
                            "the resource changed while it was read (its validator {} no \
                             longer matches at byte {delivered}); start a new run",
                            self.validator.as_deref().unwrap_or_default()
                        )))
                        .await;
                    return;
                }
                Ok(r) => {
                    tracing::info!(url = %self.url, skip = delivered, "server ignored Range: skipping what was read");
                    resp = r;
                    skip = delivered;
                }
                Err(e) => {
                    let _ = tx.send(Err(e.to_string())).await;
                    return;
                }
            }
        }
    }
}

/// `Read` over the chunks sent by [`pump`]; an error chunk becomes an I/O error.
struct ChannelReader {
    rx: Receiver<std::result::Result<Bytes, String>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(std::io::Error::other(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}
