//! The deployed function's `/stakeholders` over an empty ledger bucket: with no maintained file stored, it uses
//! the one compiled in from the catalog, so `?at=` names the member in office from the first deploy.

use lambda_http::tower::ServiceExt;
use serde_json::Value;

async fn get(app: &axum::Router, uri: &str) -> (u16, Value) {
    let request = axum::http::Request::get(uri)
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn an_empty_bucket_answers_from_the_compiled_in_file() {
    let tmp = tempfile::tempdir().unwrap();
    let mut platform = platform::Local::new();
    platform.map_bucket("ledger-bucket", tmp.path().join("ledger"));
    platform.map_bucket("data-bucket", tmp.path().join("data"));
    let platform = platform.for_function(
        "ledger-api",
        [
            (prefixes::ENV_STAGE.to_string(), "test".to_string()),
            (
                prefixes::buckets::LEDGER.env.to_string(),
                "ledger-bucket".to_string(),
            ),
            (
                prefixes::buckets::DATA.env.to_string(),
                "data-bucket".to_string(),
            ),
        ],
    );
    let app = ledger_api::app(&platform, ledger_http::WriteAuth::ReadOnly).unwrap();
    let (status, cd12) = get(&app, "/stakeholders/12?at=2018-06-15").await;
    assert_eq!(status, 200, "{cd12}");
    assert_eq!(cd12["council_member"]["value"], "Mitchell Englander");
    assert_eq!(cd12["in_office"]["term"]["provenance"], "file");
    let (_, cd12) = get(&app, "/stakeholders/12?at=2023-06-15").await;
    assert_eq!(cd12["council_member"]["value"], "John Lee");
    let (status, bad) = get(&app, "/stakeholders?at=yesterday").await;
    assert_eq!(status, 400, "{bad}");
}
