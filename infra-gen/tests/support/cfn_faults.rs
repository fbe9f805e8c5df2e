//! A CloudFormation proxy in front of `moto_server` that reports the stack states a real account gets
//! into and moto never produces by itself: `ROLLBACK_COMPLETE` (a failed first create) until the stack
//! is deleted, `UPDATE_ROLLBACK_FAILED` until the rollback is continued once, or for good.
#![allow(dead_code)] // shared by several test binaries; each uses a part

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
pub struct Faults {
    /// Stacks reported as ROLLBACK_COMPLETE until deploy deletes them.
    pub rollback_complete: Mutex<HashSet<String>>,
    /// Stacks reported as UPDATE_ROLLBACK_FAILED until deploy continues the rollback once.
    pub update_rollback_failed: Mutex<HashSet<String>>,
    /// Stacks reported as UPDATE_ROLLBACK_FAILED however often the rollback is continued.
    pub rollback_keeps_failing: Mutex<HashSet<String>>,
    /// The StackStatusReason reported with a faked status.
    pub status_reason: Mutex<Option<String>>,
    /// `Action StackName` of every request, in order.
    pub actions: Mutex<Vec<String>>,
}

fn form_value(body: &str, key: &str) -> Option<String> {
    body.split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
        .map(|v| v.replace("%2F", "/").replace("%3A", ":"))
}

async fn handle(mut conn: TcpStream, upstream: String, faults: Arc<Faults>) -> std::io::Result<()> {
    let client = reqwest::Client::new();
    let mut buf = Vec::new();
    loop {
        // Read one request: head, then Content-Length bytes of body.
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 8192];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
        let mut lines = head.split("\r\n");
        let request_line = lines.next().unwrap_or_default().to_string();
        let path = request_line.split(' ').nth(1).unwrap_or("/").to_string();
        let mut headers = Vec::new();
        let mut len = 0usize;
        for l in lines.filter(|l| !l.is_empty()) {
            if let Some((k, v)) = l.split_once(':') {
                let (k, v) = (k.trim().to_string(), v.trim().to_string());
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.parse().unwrap_or(0);
                } else if !k.eq_ignore_ascii_case("host") && !k.eq_ignore_ascii_case("connection") {
                    headers.push((k, v));
                }
            }
        }
        while buf.len() < head_end + len {
            let mut chunk = [0u8; 8192];
            let n = conn.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[head_end..head_end + len]).to_string();
        buf.drain(..head_end + len);
        let action = form_value(&body, "Action").unwrap_or_default();
        let stack = form_value(&body, "StackName").unwrap_or_default();
        faults
            .actions
            .lock()
            .unwrap()
            .push(format!("{action} {stack}"));

        let (status, text) = if action == "ContinueUpdateRollback"
            && (faults.update_rollback_failed.lock().unwrap().remove(&stack)
                || faults
                    .rollback_keeps_failing
                    .lock()
                    .unwrap()
                    .contains(&stack))
        {
            (200, "<ContinueUpdateRollbackResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><ContinueUpdateRollbackResult/><ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></ContinueUpdateRollbackResponse>".to_string())
        } else {
            if action == "DeleteStack" {
                faults.rollback_complete.lock().unwrap().remove(&stack);
            }
            let mut req = client.post(format!("{upstream}{path}")).body(body.clone());
            for (k, v) in &headers {
                req = req.header(k, v);
            }
            let resp = req.send().await.map_err(std::io::Error::other)?;
            let status = resp.status().as_u16();
            let mut text = resp.text().await.map_err(std::io::Error::other)?;
            if action == "DescribeStacks" {
                let fake = if faults.rollback_complete.lock().unwrap().contains(&stack) {
                    Some("ROLLBACK_COMPLETE")
                } else if faults
                    .update_rollback_failed
                    .lock()
                    .unwrap()
                    .contains(&stack)
                    || faults
                        .rollback_keeps_failing
                        .lock()
                        .unwrap()
                        .contains(&stack)
                {
                    Some("UPDATE_ROLLBACK_FAILED")
                } else {
                    None
                };
                if let (Some(fake), Some(start), Some(end)) = (
                    fake,
                    text.find("<StackStatus>"),
                    text.find("</StackStatus>"),
                ) {
                    text.replace_range(start + "<StackStatus>".len()..end, fake);
                    if let Some(reason) = faults.status_reason.lock().unwrap().clone() {
                        let at = text.find("</StackStatus>").unwrap() + "</StackStatus>".len();
                        text.insert_str(
                            at,
                            &format!("<StackStatusReason>{reason}</StackStatusReason>"),
                        );
                    }
                }
            }
            (status, text)
        };
        let reply = format!(
            "HTTP/1.1 {status} OK\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{text}",
            text.len()
        );
        conn.write_all(reply.as_bytes()).await?;
    }
}

/// Serve on a free loopback port, forwarding to `upstream` (moto) with `faults` applied; returns the URL.
pub async fn start_proxy(upstream: &str, faults: Arc<Faults>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let upstream = upstream.to_string();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(handle(conn, upstream.clone(), faults.clone()));
        }
    });
    format!("http://{addr}")
}
