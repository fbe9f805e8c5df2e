//! The event shapes Lambda delivers, built the way its services build them (pure): the SQS event of an event
//! source mapping, the partial batch response read back from it, a Lambda function URL request (payload
//! format 2.0 with the `AWS_IAM` authorizer context) and its response.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::{Value, json};

/// One message as `ReceiveMessage` returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_of_body: String,
    /// System attributes (`ApproximateReceiveCount`, `SentTimestamp`, …), as SQS names them.
    pub attributes: BTreeMap<String, String>,
}

/// The event an SQS event source mapping sends for `batch` received from the queue `queue_arn`.
pub fn sqs_event(batch: &[Received], queue_arn: &str, region: &str) -> Value {
    let records: Vec<Value> = batch
        .iter()
        .map(|m| {
            json!({
                "messageId": m.message_id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": m.attributes,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            })
        })
        .collect();
    json!({ "Records": records })
}

/// The message ids a function answering with `ReportBatchItemFailures` reports as failed (`batchItemFailures`);
/// an answer of another shape is an error naming it, as the event source mapping treats it as a whole-batch
/// failure.
pub fn batch_item_failures(answer: &[u8]) -> anyhow::Result<Vec<String>> {
    let v: Value = serde_json::from_slice(answer).with_context(|| {
        format!(
            "the SQS batch response is not JSON: {}",
            String::from_utf8_lossy(answer)
        )
    })?;
    let Some(items) = v.get("batchItemFailures").and_then(Value::as_array) else {
        bail!("the SQS batch response has no `batchItemFailures` array: {v}");
    };
    items
        .iter()
        .map(|i| {
            i.get("itemIdentifier")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .with_context(|| format!("a batch item failure without `itemIdentifier`: {i}"))
        })
        .collect()
}

/// Who signed a function URL request: what Lambda puts in `requestContext.authorizer.iam` for `AWS_IAM`.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account_id: String,
    pub access_key: String,
    pub user_arn: String,
}

/// A request to the function URL `url` (`https://<url-id>.lambda-url.<region>.on.aws/`), payload format 2.0,
/// signed by `caller`; `now` is the request time (seconds and milliseconds since the epoch).
pub fn function_url_request(
    url: &str,
    method: &str,
    path_and_query: &str,
    body: Option<&str>,
    caller: &Caller,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Value> {
    let domain = url
        .strip_prefix("https://")
        .map(|s| s.trim_end_matches('/'))
        .with_context(|| {
            format!("function URL {url} is not https://<id>.lambda-url.<region>.on.aws/")
        })?;
    let url_id = domain.split('.').next().unwrap_or_default();
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut query_parameters = serde_json::Map::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        // Lambda joins repeated keys with a comma.
        let joined = match query_parameters.get(k).and_then(Value::as_str) {
            Some(prev) => format!("{prev},{v}"),
            None => v.to_owned(),
        };
        query_parameters.insert(k.to_owned(), Value::String(joined));
    }
    let request_id = uuid::Uuid::new_v4().to_string();
    let mut headers = json!({
        "host": domain,
        "user-agent": "e2e-aws",
        "x-amzn-trace-id": format!("Root=1-{:08x}-{}", now.timestamp(), &request_id.replace('-', "")[..24]),
        "x-forwarded-proto": "https",
        "x-forwarded-port": "443",
        "x-forwarded-for": "127.0.0.1",
        "accept": "application/json",
    });
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "authorizer": {
                "iam": {
                    "accessKey": caller.access_key,
                    "accountId": caller.account_id,
                    "callerId": caller.access_key,
                    "cognitoIdentity": null,
                    "principalOrgId": null,
                    "userArn": caller.user_arn,
                    "userId": caller.access_key,
                }
            },
            "domainName": domain,
            "domainPrefix": url_id,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "e2e-aws",
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    if !query_parameters.is_empty() {
        event["queryStringParameters"] = Value::Object(query_parameters);
    }
    if let Some(b) = body {
        event["body"] = json!(b);
    }
    Ok(event)
}

/// A function URL response: status and body (base64-decoded when the function says so).
pub fn function_url_response(answer: &[u8]) -> anyhow::Result<(u16, Vec<u8>)> {
    use base64::Engine;
    let v: Value = serde_json::from_slice(answer).with_context(|| {
        format!(
            "the function URL response is not JSON: {}",
            String::from_utf8_lossy(answer)
        )
    })?;
    let status = v
        .get("statusCode")
        .and_then(Value::as_u64)
        .with_context(|| format!("the function URL response has no `statusCode`: {v}"))?;
    let body = v.get("body").and_then(Value::as_str).unwrap_or_default();
    let body = if v.get("isBase64Encoded").and_then(Value::as_bool) == Some(true) {
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .context("the function URL response body is not base64")?
    } else {
        body.as_bytes().to_vec()
    };
    Ok((status as u16, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(id: &str) -> Received {
        Received {
            message_id: id.into(),
            receipt_handle: format!("rh-{id}"),
            body: r#"{"v":1}"#.into(),
            md5_of_body: "md5".into(),
            attributes: BTreeMap::from([("ApproximateReceiveCount".into(), "1".into())]),
        }
    }

    #[test]
    fn the_sqs_event_is_what_the_lambda_events_crate_reads() {
        let arn = "arn:aws:sqs:us-east-1:123456789012:civic-ci-worklist";
        let event = sqs_event(&[message("m1"), message("m2")], arn, "us-east-1");
        let typed: aws_lambda_events::event::sqs::SqsEvent = serde_json::from_value(event).unwrap();
        assert_eq!(typed.records.len(), 2);
        assert_eq!(typed.records[1].message_id.as_deref(), Some("m2"));
        assert_eq!(typed.records[0].event_source_arn.as_deref(), Some(arn));
        assert_eq!(typed.records[0].body.as_deref(), Some(r#"{"v":1}"#));
        assert_eq!(
            typed.records[0].attributes.get("ApproximateReceiveCount"),
            Some(&"1".to_string())
        );
    }

    #[test]
    fn batch_failures_are_read_and_other_shapes_refused() {
        assert_eq!(
            batch_item_failures(br#"{"batchItemFailures":[{"itemIdentifier":"m2"}]}"#).unwrap(),
            ["m2"]
        );
        assert!(
            batch_item_failures(br#"{"batchItemFailures":[]}"#)
                .unwrap()
                .is_empty()
        );
        let e = batch_item_failures(br#"{"ok":true}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("batchItemFailures"), "{e}");
        assert!(batch_item_failures(b"null!").is_err());
    }

    #[test]
    fn a_function_url_request_carries_path_query_and_the_iam_caller() {
        let caller = Caller {
            account_id: "123456789012".into(),
            access_key: "AKIDEXAMPLE".into(),
            user_arn: "arn:aws:iam::123456789012:user/e2e".into(),
        };
        let now = chrono::DateTime::from_timestamp(1_796_200_000, 0).unwrap();
        let e = function_url_request(
            "https://abc123.lambda-url.us-east-1.on.aws/",
            "GET",
            "/events?council_district=7&limit=5",
            None,
            &caller,
            now,
        )
        .unwrap();
        assert_eq!(e["rawPath"], "/events");
        assert_eq!(e["rawQueryString"], "council_district=7&limit=5");
        assert_eq!(e["queryStringParameters"]["limit"], "5");
        assert_eq!(e["requestContext"]["http"]["method"], "GET");
        assert_eq!(e["requestContext"]["domainPrefix"], "abc123");
        assert_eq!(e["headers"]["host"], "abc123.lambda-url.us-east-1.on.aws");
        assert_eq!(
            e["requestContext"]["authorizer"]["iam"]["userArn"],
            "arn:aws:iam::123456789012:user/e2e"
        );
        assert_eq!(e["requestContext"]["timeEpoch"], 1_796_200_000_000i64);
        assert!(function_url_request("http://x/", "GET", "/", None, &caller, now).is_err());
        // lambda_http (what ledger-api's main runs) reads it as a payload-2.0 (function URL) request.
        let parsed: lambda_http::request::LambdaRequest = serde_json::from_value(e).unwrap();
        assert!(
            matches!(parsed, lambda_http::request::LambdaRequest::ApiGatewayV2(_)),
            "{parsed:?}"
        );
    }

    #[test]
    fn a_function_url_response_is_decoded() {
        let (s, b) =
            function_url_response(br#"{"statusCode":200,"body":"aGk=","isBase64Encoded":true}"#)
                .unwrap();
        assert_eq!((s, b.as_slice()), (200, b"hi".as_slice()));
        let (s, b) = function_url_response(br#"{"statusCode":404,"body":"no"}"#).unwrap();
        assert_eq!((s, b.as_slice()), (404, b"no".as_slice()));
        assert!(function_url_response(br#"{"body":"x"}"#).is_err());
    }
}
