//! One run driven the way AWS drives it: the schedule's event to the ingestion function (each asynchronous
//! self-invocation it asks for delivered in turn), the queue drained into its consumer as an SQS event source
//! mapping does (batch size, partial batch responses, redelivery of failed messages), and requests to the HTTP
//! function as its function URL sends them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;

use crate::emulator::{InvokeApi, Outcome};
use crate::events::{self, Caller, Received};
use crate::function::Sandbox;

/// What the ingestion function did.
#[derive(Debug)]
pub struct Ingested {
    pub run_id: String,
    pub dataset: String,
    pub rows_read: u64,
    pub jobs: u64,
    /// Invocations that stopped at their deadline and continued in a new one.
    pub continued: u32,
    /// The `FunctionName` of each asynchronous invocation it sent.
    pub invoked: Vec<String>,
}

/// Invoke `ingest` with the schedule's `event`, the first invocation with `first_deadline` left (so it
/// checkpoints and continues), every continuation it asks for (an `Event` invocation of itself, through the
/// Invoke API) with its full timeout, until one hands the run off.
pub async fn ingest(
    ingest: &mut Sandbox,
    invoke_api: &InvokeApi,
    event: Value,
    first_deadline: Duration,
) -> anyhow::Result<Ingested> {
    let name = ingest.deployed.name.clone();
    let arn = ingest.deployed.arn.clone();
    let dataset = event["dataset"].as_str().unwrap_or_default().to_owned();
    let mut payload = event;
    let mut deadline = first_deadline;
    let mut continued = 0;
    let mut invoked = Vec::new();
    loop {
        let answer = ingest.invoke_ok(&payload, deadline).await?;
        if answer["handed_off"] == true {
            ensure!(
                invoke_api.pop().is_none(),
                "{name}: handed the run off and also invoked itself again"
            );
            return Ok(Ingested {
                run_id: answer["run_id"]
                    .as_str()
                    .with_context(|| format!("{name}: no run_id in {answer}"))?
                    .to_owned(),
                dataset,
                rows_read: answer["rows_read"].as_u64().unwrap_or_default(),
                jobs: answer["jobs"].as_u64().unwrap_or_default(),
                continued,
                invoked,
            });
        }
        ensure!(
            answer["continued"] == true,
            "{name}: neither handed off nor continued: {answer}"
        );
        continued += 1;
        let next = invoke_api.pop().with_context(|| {
            format!(
                "{name}: answered `continued` without invoking itself through the Lambda Invoke API"
            )
        })?;
        invoked.push(next.function.clone());
        ensure!(
            next.function == name || next.function == arn,
            "{name}: continued by invoking {}, not itself",
            next.function
        );
        ensure!(
            invoke_api.pop().is_none(),
            "{name}: one segment asked for more than one continuation"
        );
        payload = serde_json::from_slice(&next.payload)
            .with_context(|| format!("{name}: the continuation's payload is not JSON"))?;
        ensure!(
            payload["run_id"] == answer["run_id"],
            "{name}: the continuation names run {} but the segment was run {}",
            payload["run_id"],
            answer["run_id"]
        );
        deadline = ingest.timeout();
    }
}

/// What draining the queue took.
#[derive(Debug, Default)]
pub struct Drained {
    /// Messages delivered (a redelivered message counts each time).
    pub messages: u32,
    /// Messages the function reported failed (left on the queue for redelivery).
    pub failed: u32,
}

/// The queue URL of an SQS ARN (`arn:aws:sqs:<region>:<account>:<name>`).
pub async fn queue_url(sqs: &aws_sdk_sqs::Client, arn: &str) -> anyhow::Result<String> {
    let name = arn
        .rsplit(':')
        .next()
        .with_context(|| format!("not an SQS ARN: {arn}"))?;
    Ok(sqs
        .get_queue_url()
        .queue_name(name)
        .send()
        .await
        .with_context(|| format!("GetQueueUrl {name}"))?
        .queue_url()
        .unwrap_or_default()
        .to_owned())
}

/// Messages visible, in flight and delayed.
async fn outstanding(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<(u64, u64, u64)> {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .with_context(|| format!("GetQueueAttributes {url}"))?;
    let attrs = a.attributes().cloned().unwrap_or_default();
    let n =
        |k: QueueAttributeName| -> u64 { attrs.get(&k).and_then(|v| v.parse().ok()).unwrap_or(0) };
    Ok((
        n(QueueAttributeName::ApproximateNumberOfMessages),
        n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        n(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
    ))
}

/// The DLQ of a queue, from its `RedrivePolicy`.
pub async fn dead_letter_queue(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
) -> anyhow::Result<Option<String>> {
    let a = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::RedrivePolicy)
        .send()
        .await?;
    let Some(policy) = a
        .attributes()
        .and_then(|m| m.get(&QueueAttributeName::RedrivePolicy))
    else {
        return Ok(None);
    };
    let v: Value = serde_json::from_str(policy)?;
    match v["deadLetterTargetArn"].as_str() {
        Some(arn) => Ok(Some(queue_url(sqs, arn).await?)),
        None => Ok(None),
    }
}

/// Messages on a queue (visible + in flight + delayed).
pub async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> anyhow::Result<u64> {
    let (v, n, d) = outstanding(sqs, url).await?;
    Ok(v + n + d)
}

/// Drain the queue `queue_arn` into `consumer` as its event source mapping does, until the queue holds
/// nothing (visible, in flight or delayed), within `limit`.
pub async fn drain(
    sqs: &aws_sdk_sqs::Client,
    consumer: &mut Sandbox,
    queue_arn: &str,
    batch_size: i32,
    reports_failures: bool,
    region: &str,
    limit: Duration,
) -> anyhow::Result<Drained> {
    let url = queue_url(sqs, queue_arn).await?;
    let started = Instant::now();
    let mut out = Drained::default();
    loop {
        ensure!(
            started.elapsed() < limit,
            "{}: queue {url} not drained within {limit:?} ({} messages delivered)",
            consumer.deployed.name,
            out.messages
        );
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(batch_size.clamp(1, 10))
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .with_context(|| format!("ReceiveMessage {url}"))?;
        let batch: Vec<Received> = got
            .messages()
            .iter()
            .map(|m| Received {
                message_id: m.message_id().unwrap_or_default().to_owned(),
                receipt_handle: m.receipt_handle().unwrap_or_default().to_owned(),
                body: m.body().unwrap_or_default().to_owned(),
                md5_of_body: m.md5_of_body().unwrap_or_default().to_owned(),
                attributes: m
                    .attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                            .collect::<BTreeMap<_, _>>()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        if batch.is_empty() {
            if depth(sqs, &url).await? == 0 {
                return Ok(out);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        out.messages += batch.len() as u32;
        let event = events::sqs_event(&batch, queue_arn, region);
        let timeout = consumer.timeout();
        let failed: Vec<String> = match consumer.invoke(&event, timeout).await? {
            Outcome::Response(answer) if reports_failures => events::batch_item_failures(&answer)
                .with_context(|| {
                format!("{}: the answer to an SQS event", consumer.deployed.name)
            })?,
            Outcome::Response(_) => Vec::new(),
            // A function error fails the whole batch: every message comes back.
            Outcome::Error { .. } => batch.iter().map(|m| m.message_id.clone()).collect(),
        };
        for m in &batch {
            if failed.contains(&m.message_id) {
                out.failed += 1;
                // Lambda would wait for the visibility timeout; make it visible again at once.
                sqs.change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(&m.receipt_handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .with_context(|| format!("ChangeMessageVisibility {url}"))?;
            } else {
                sqs.delete_message()
                    .queue_url(&url)
                    .receipt_handle(&m.receipt_handle)
                    .send()
                    .await
                    .with_context(|| format!("DeleteMessage {url}"))?;
            }
        }
    }
}

/// One request through the function URL (`body`: JSON); the status and the JSON body.
pub async fn request(
    api: &mut Sandbox,
    url: &str,
    method: &str,
    path_and_query: &str,
    body: Option<&Value>,
    caller: &Caller,
) -> anyhow::Result<(u16, Value)> {
    let text = body.map(Value::to_string);
    let request = events::function_url_request(
        url,
        method,
        path_and_query,
        text.as_deref(),
        caller,
        chrono::Utc::now(),
    )?;
    let timeout = api.timeout();
    let name = api.deployed.name.clone();
    let answer = match api.invoke(&request, timeout).await? {
        Outcome::Response(b) => b,
        Outcome::Error { error_type, body } => bail!(
            "{name} {method} {path_and_query}: function error {error_type:?}: {}",
            String::from_utf8_lossy(&body)
        ),
    };
    let (status, body) = events::function_url_response(&answer)?;
    let json = serde_json::from_slice(&body).with_context(|| {
        format!(
            "{name} {method} {path_and_query}: HTTP {status}, the body is not JSON: {}",
            String::from_utf8_lossy(&body)
        )
    })?;
    Ok((status, json))
}

/// One GET through the function URL; the JSON body of a 200.
pub async fn get(
    api: &mut Sandbox,
    url: &str,
    path_and_query: &str,
    caller: &Caller,
) -> anyhow::Result<Value> {
    let (status, body) = request(api, url, "GET", path_and_query, None, caller).await?;
    ensure!(
        status == 200,
        "{} GET {path_and_query}: HTTP {status}: {body}",
        api.deployed.name
    );
    Ok(body)
}

/// Every event of `dataset`, page by page through `/events`.
pub async fn all_events(
    api: &mut Sandbox,
    url: &str,
    dataset: &str,
    caller: &Caller,
) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut q = format!("/events?dataset={dataset}&limit=500");
        if let Some(c) = &cursor {
            q.push_str("&cursor=");
            q.push_str(c);
        }
        let page = get(api, url, &q, caller).await?;
        let events = page["events"]
            .as_array()
            .with_context(|| format!("GET {q}: no `events` array"))?;
        out.extend(events.iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = Some(c.to_owned()),
            _ => return Ok(out),
        }
    }
}
