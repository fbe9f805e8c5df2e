//! The API router behind `lambda_http` (as the `ledger-api` Lambda runs it): Function URL (payload 2.0)
//! events are routed, with platform (IAM) write authorization and query filters.

use std::sync::Arc;

use lambda_http::tower::ServiceExt;
use ledger_http::{ApiConfig, WriteAuth, router};
use serde_json::{Value, json};

/// A Lambda Function URL event (payload format 2.0).
fn function_url_event(method: &str, path: &str, query: &str, body: Option<&str>) -> String {
    let params: serde_json::Map<String, Value> = query
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap();
            (k.to_owned(), Value::String(v.to_owned()))
        })
        .collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "abc123.lambda-url.us-east-1.on.aws"},
        "queryStringParameters": params,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "req-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:20:00:00 +0000",
            "timeEpoch": 1_795_000_000_000u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

async fn call(app: &axum::Router, event: String) -> (u16, Value) {
    let request = lambda_http::request::from_str(&event).expect("a valid Function URL event");
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn function_url_events_reach_the_router() {
    let store = Arc::new(object_store::memory::InMemory::new());
    let app = router(
        ledger::Ledger::new(store, grants()),
        ApiConfig::new(WriteAuth::Platform, "la311"),
    );
    let body = json!({"events": [{
        "dataset": "la311", "layer": "analyze", "event_type": "weekly_count_spike",
        "window_start": "2018-01-01T00:00:00Z", "window_end": "2018-01-08T00:00:00Z",
        "dimensions": {"council_district": 7}, "metric": "requests", "value": 40, "unit": "count",
        "severity": "warning", "run_id": "r1"
    }]})
    .to_string();
    // No Authorization header: in AWS the Function URL's IAM auth has already admitted the caller.
    let (status, created) =
        call(&app, function_url_event("POST", "/events", "", Some(&body))).await;
    assert_eq!(status, 201, "{created}");
    let (status, page) = call(
        &app,
        function_url_event(
            "GET",
            "/events",
            "council_district=7&severity=warning",
            None,
        ),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    let (_, none) = call(
        &app,
        function_url_event("GET", "/events", "council_district=8", None),
    )
    .await;
    assert_eq!(
        none["events"].as_array().unwrap().len(),
        0,
        "query parameters of the event are applied"
    );
    let id = created["results"][0]["event_id"].as_str().unwrap();
    let (status, event) = call(
        &app,
        function_url_event("GET", &format!("/events/{id}"), "", None),
    )
    .await;
    assert_eq!(
        (status, event["stakeholders"].clone()),
        (200, json!(["cd-7"]))
    );
    let (status, doc) = call(&app, function_url_event("GET", "/openapi.json", "", None)).await;
    assert_eq!(status, 200);
    assert!(doc["paths"]["/events"].is_object());
}

/// The ledger grants of the `ledger-api` function, which these tests act as.
#[allow(dead_code)]
fn grants() -> ledger::Locations {
    ledger::Locations {
        events: prefixes::ledger_api::events(),
        stakeholders: prefixes::ledger_api::stakeholders(),
    }
}
