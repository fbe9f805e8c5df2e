//! Recovery from the stack states a real account gets into, which moto never produces by itself:
//! a proxy in front of `moto_server` makes CloudFormation report `ROLLBACK_COMPLETE` (a failed first
//! create) or `UPDATE_ROLLBACK_FAILED` for one stack until deploy does what fixes it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use infra_gen::deploy::{self, Deployer, Options, Outcome, aws::Aws};
use moto_harness::Moto;

mod support;
use support::{packages, root};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[derive(Default)]
struct Faults {
    rollback_complete: Mutex<HashSet<String>>,
    update_rollback_failed: Mutex<HashSet<String>>,
    actions: Mutex<Vec<String>>,
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
            && faults.update_rollback_failed.lock().unwrap().remove(&stack)
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

async fn start_proxy(upstream: &str, faults: Arc<Faults>) -> String {
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

#[tokio::test(flavor = "multi_thread")]
async fn failed_first_create_and_failed_rollback_are_recovered_by_the_next_deploy() {
    let Some(moto) = Moto::start_or_skip() else {
        return;
    };
    let faults = Arc::new(Faults::default());
    let proxy = start_proxy(moto.endpoint(), faults.clone()).await;
    let conf = moto.sdk_config().await;
    let mut aws = Aws::from_conf(&conf).unwrap();
    aws.cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&conf)
            .endpoint_url(&proxy)
            .build(),
    );
    aws.poll = Duration::from_millis(50);
    let m = infra_gen::load_valid(&root()).unwrap();
    let d = Deployer {
        m: &m,
        aws,
        opts: Options {
            stage: "ci".into(),
            yes: true,
            diff_only: false,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    packages(dir.path(), "process v1");
    let arts = deploy::artifacts(&root(), &m, Some(dir.path())).unwrap();
    // processing holds no retained bucket, so a delete-and-recreate starts from nothing, as in AWS.
    let processing = deploy::select(&m, &["processing".to_string()]).unwrap();
    d.bootstrap().await.unwrap();
    assert_eq!(
        d.deploy(&processing, &arts, false).await.unwrap()[0].1,
        Outcome::Created
    );

    // ROLLBACK_COMPLETE: deploy deletes the stack and creates it again.
    faults
        .rollback_complete
        .lock()
        .unwrap()
        .insert("civic-ci-processing".into());
    faults.actions.lock().unwrap().clear();
    let r = d.deploy(&processing, &arts, false).await.unwrap();
    assert_eq!(r[0].1, Outcome::Created, "{r:?}");
    let actions = faults.actions.lock().unwrap().clone();
    let delete = actions
        .iter()
        .position(|a| a == "DeleteStack civic-ci-processing")
        .expect("stack deleted");
    let create = actions
        .iter()
        .position(|a| a == "CreateChangeSet civic-ci-processing")
        .expect("change set created");
    assert!(delete < create, "{actions:?}");

    // UPDATE_ROLLBACK_FAILED: deploy continues the rollback, then updates (here: nothing to change).
    faults
        .update_rollback_failed
        .lock()
        .unwrap()
        .insert("civic-ci-processing".into());
    faults.actions.lock().unwrap().clear();
    let r = d.deploy(&processing, &arts, false).await.unwrap();
    assert_eq!(r[0].1, Outcome::NoChanges, "{r:?}");
    let actions = faults.actions.lock().unwrap().clone();
    assert!(
        actions
            .iter()
            .any(|a| a == "ContinueUpdateRollback civic-ci-processing"),
        "{actions:?}"
    );
}
