//! https source: one streamed GET (retried until the response starts), bytes pumped from the async
//! body into a bounded channel read by the blocking CSV parser; gzip by extension or magic bytes.

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

/// GET `url` until a 200 arrives (retrying 202/429/5xx and connection errors).
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
pub(crate) fn open(url: &str, rt: &Handle) -> Result<Box<dyn RecordSource>> {
    let client = client()?;
    let resp = rt.block_on(get_ok(&client, url, &[], &RetryPolicy::default()))?;
    let total = resp.content_length();
    let (tx, rx) = channel::<std::result::Result<Bytes, String>>(CHANNEL_CHUNKS);
    rt.spawn(pump(resp, tx));
    let mut reader = BufReader::with_capacity(
        1 << 20,
        ChannelReader {
            rx,
            current: Bytes::new(),
        },
    );
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
    header: csv::ByteRecord,
    at: CsvPosition,
    gzip: bool,
) -> Result<Box<dyn RecordSource>> {
    let client = client()?;
    let range = [("Range", format!("bytes={}-", at.byte))];
    let headers: &[(&str, String)] = if gzip || at.byte == 0 { &[] } else { &range };
    let resp = rt.block_on(get_ok(&client, url, headers, &RetryPolicy::default()))?;
    let partial = resp.status() == reqwest::StatusCode::PARTIAL_CONTENT;
    let total = resp
        .content_length()
        .map(|n| if partial { n + at.byte } else { n });
    let (tx, rx) = channel::<std::result::Result<Bytes, String>>(CHANNEL_CHUNKS);
    rt.spawn(pump(resp, tx));
    let mut reader = BufReader::with_capacity(
        1 << 20,
        ChannelReader {
            rx,
            current: Bytes::new(),
        },
    );
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

async fn pump(resp: reqwest::Response, tx: Sender<std::result::Result<Bytes, String>>) {
    let mut body = resp.bytes_stream();
    while let Some(chunk) = body.next().await {
        let item = chunk.map_err(|e| format!("connection dropped mid-body: {e}"));
        let failed = item.is_err();
        // Bounded: this task waits whenever the parser lags, so memory stays at CHANNEL_CHUNKS.
        if tx.send(item).await.is_err() || failed {
            return;
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
