//! API contract tests over a real server on a loopback port (filesystem-backed ledger in a temp dir).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use ledger::Ledger;
use ledger_http::{ApiConfig, ROUTES, WriteAuth, router};
use object_store::local::LocalFileSystem;
use serde_json::{Value, json};

const TOKEN: &str = "test-token-123";

struct Server {
    base: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(auth: WriteAuth, max_batch: usize, body_limit: usize) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalFileSystem::new_with_prefix(dir.path()).unwrap());
    let mut config = ApiConfig::new(auth, "la311");
    config.max_batch = max_batch;
    config.body_limit = body_limit;
    let app = router(Ledger::new(store, grants()), config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        base,
        client: reqwest::Client::new(),
        _dir: dir,
    }
}

async fn default_server() -> Server {
    start(WriteAuth::Bearer(TOKEN.into()), 50, 64 * 1024).await
}

impl Server {
    async fn post_raw(&self, body: String, token: Option<&str>) -> (u16, Value) {
        let mut req = self
            .client
            .post(format!("{}/events", self.base))
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (
            status,
            serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null),
        )
    }

    async fn post(&self, events: Vec<Value>) -> (u16, Value) {
        self.post_raw(json!({ "events": events }).to_string(), Some(TOKEN))
            .await
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap();
        (
            status,
            serde_json::from_slice(&body)
                .unwrap_or_else(|_| panic!("non-JSON body from {path}: {body:?}")),
        )
    }

    /// Follows every page of `query` and returns event ids in order.
    async fn list_all(&self, query: &str, limit: usize) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/events?limit={limit}");
            if !query.is_empty() {
                path.push('&');
                path.push_str(query);
            }
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let (status, page) = self.get(&path).await;
            assert_eq!(status, 200, "{path}: {page}");
            ids.extend(
                page["events"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["event_id"].as_str().unwrap().to_owned()),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return ids,
            }
        }
    }
}

/// A valid event; `n` varies the window (week n of 2018).
fn event(
    dataset: &str,
    event_type: &str,
    cd: u8,
    request_type: &str,
    severity: &str,
    n: i64,
) -> Value {
    let start = chrono::DateTime::parse_from_rfc3339("2018-01-01T00:00:00Z").unwrap()
        + chrono::Duration::weeks(n);
    let end = start + chrono::Duration::weeks(1);
    json!({
        "dataset": dataset, "layer": "analyze", "event_type": event_type,
        "window_start": start.to_rfc3339(), "window_end": end.to_rfc3339(),
        "dimensions": { "council_district": cd, "request_type": request_type },
        "metric": "requests", "value": 40.0 + n as f64, "baseline": 10.0, "unit": "count",
        "severity": severity, "run_id": "run-1", "source": ["canonical/la311/year=2018/cd=7/part-00000.parquet"]
    })
}

#[tokio::test]
async fn create_then_duplicate_then_conflict() {
    let s = default_server().await;
    let e = event(
        "la311",
        "weekly_count_spike",
        7,
        "Bulky Items",
        "warning",
        0,
    );
    let (status, body) = s.post(vec![e.clone()]).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["results"][0]["status"], "created");
    let id = body["results"][0]["event_id"].as_str().unwrap().to_owned();

    let (status, stored) = s.get(&format!("/events/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(stored["value"], 40.0);
    assert_eq!(
        stored["stakeholders"],
        json!(["cd-7"]),
        "events carry their district's stakeholder id"
    );
    assert_eq!(stored["schema_version"], 1);

    // Same finding from a re-run (other run id): no-op, the first write's provenance stays.
    let mut rerun = e.clone();
    rerun["run_id"] = json!("run-2");
    let (status, body) = s.post(vec![rerun]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["results"][0],
        json!({"event_id": id, "status": "duplicate"})
    );
    let (_, again) = s.get(&format!("/events/{id}")).await;
    assert_eq!(again, stored);

    // A different finding under the same identity: 409, nothing overwritten; other events still appended.
    let mut changed = e.clone();
    changed["value"] = json!(99.0);
    let other = event(
        "la311",
        "weekly_count_spike",
        8,
        "Bulky Items",
        "warning",
        0,
    );
    let (status, body) = s.post(vec![changed, other]).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["results"][0]["status"], "conflict");
    assert_eq!(body["results"][1]["status"], "created");
    let (_, after) = s.get(&format!("/events/{id}")).await;
    assert_eq!(after["value"], 40.0);
}

#[tokio::test]
async fn each_filter_selects_exactly_the_matching_events() {
    let s = default_server().await;
    let mut batch = Vec::new();
    for (i, (dataset, ty, cd, rt, sev)) in [
        ("la311", "weekly_count_spike", 7, "Bulky Items", "warning"),
        (
            "la311",
            "weekly_count_spike",
            8,
            "Graffiti Removal",
            "critical",
        ),
        ("la311", "slow_to_close", 7, "Graffiti Removal", "info"),
        ("other", "weekly_count_spike", 7, "Bulky Items", "critical"),
        ("other", "slow_to_close", 9, "Bulky Items", "warning"),
    ]
    .into_iter()
    .enumerate()
    {
        batch.push(event(dataset, ty, cd, rt, sev, i as i64));
    }
    let (status, body) = s.post(batch.clone()).await;
    assert_eq!(status, 201, "{body}");
    let ids: Vec<String> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["event_id"].as_str().unwrap().to_owned())
        .collect();
    let expect = |idx: &[usize]| idx.iter().map(|&i| ids[i].clone()).collect::<BTreeSet<_>>();
    let cases: BTreeMap<&str, BTreeSet<String>> = BTreeMap::from([
        ("dataset=other", expect(&[3, 4])),
        ("event_type=slow_to_close", expect(&[2, 4])),
        ("council_district=7", expect(&[0, 2, 3])),
        ("request_type=Graffiti%20Removal", expect(&[1, 2])),
        ("severity=critical", expect(&[1, 3])),
        // windows are week i of 2018: [from, to) overlaps weeks 1..=2
        (
            "from=2018-01-08T00:00:00Z&to=2018-01-22T00:00:00Z",
            expect(&[1, 2]),
        ),
        (
            "dataset=la311&council_district=7&severity=info",
            expect(&[2]),
        ),
        ("", expect(&[0, 1, 2, 3, 4])),
    ]);
    for (query, expected) in cases {
        let got: BTreeSet<String> = s.list_all(query, 2).await.into_iter().collect();
        assert_eq!(got, expected, "filter {query:?}");
    }
}

#[tokio::test]
async fn pagination_visits_every_event_exactly_once_in_stable_order() {
    let s = default_server().await;
    // 23 events, several sharing a window so the event id breaks ties.
    let batch: Vec<Value> = (0..23)
        .map(|i| {
            event(
                "la311",
                "weekly_count_spike",
                (i % 15 + 1) as u8,
                "Bulky Items",
                "info",
                i / 3,
            )
        })
        .collect();
    assert_eq!(s.post(batch).await.0, 201);
    let all = s.list_all("", 1000).await;
    assert_eq!(all.len(), 23);
    for limit in [1, 4, 7, 23, 50] {
        let paged = s.list_all("", limit).await;
        assert_eq!(
            paged, all,
            "limit {limit} must visit the same events in the same order"
        );
    }
    let (_, page) = s.get("/events?limit=1000").await;
    let keys: Vec<(String, String)> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let start =
                chrono::DateTime::parse_from_rfc3339(e["window_start"].as_str().unwrap()).unwrap();
            (
                start.to_rfc3339(),
                e["event_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "order is (window_start, event_id)");
}

#[tokio::test]
async fn invalid_requests_are_400_with_field_paths() {
    let s = default_server().await;
    let mut bad = event(
        "la311",
        "weekly_count_spike",
        99,
        "Bulky Items",
        "warning",
        0,
    );
    bad["severity"] = json!("loud");
    let mut bad2 = event("la311", "Spike!", 3, "Bulky Items", "warning", 0);
    bad2["window_end"] = bad2["window_start"].clone();
    let (status, body) = s
        .post(vec![event("la311", "ok", 1, "x", "info", 0), bad, bad2])
        .await;
    assert_eq!(status, 400, "{body}");
    let paths: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "events[1].severity",
            "events[2].event_type",
            "events[2].window_end"
        ]
    );
    assert_eq!(
        s.list_all("", 100).await.len(),
        0,
        "an invalid batch writes nothing"
    );

    let (status, body) = s.post_raw("not json".into(), Some(TOKEN)).await;
    assert_eq!(
        (status, body["problems"][0]["path"].as_str()),
        (400, Some(""))
    );
    let too_many: Vec<Value> = (0..51)
        .map(|i| event("la311", "t", 1, "x", "info", i))
        .collect();
    let (status, body) = s.post(too_many).await;
    assert_eq!(
        (status, body["problems"][0]["path"].as_str()),
        (400, Some("events"))
    );

    let (status, body) = s
        .get("/events?council_district=16&severity=loud&cursor=zzz&limit=0")
        .await;
    assert_eq!(status, 400);
    let paths: Vec<&str> = body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "query.council_district",
            "query.severity",
            "query.cursor",
            "query.limit"
        ]
    );
    assert_eq!(s.get("/stakeholders/seven").await.0, 400);
}

#[tokio::test]
async fn writes_need_the_token_401() {
    let s = default_server().await;
    let body = json!({ "events": [event("la311", "t", 1, "x", "info", 0)] }).to_string();
    assert_eq!(s.post_raw(body.clone(), None).await.0, 401);
    assert_eq!(s.post_raw(body.clone(), Some("wrong")).await.0, 401);
    assert_eq!(s.list_all("", 10).await.len(), 0);
    assert_eq!(s.post_raw(body, Some(TOKEN)).await.0, 201);

    let ro = start(WriteAuth::ReadOnly, 50, 64 * 1024).await;
    let body = json!({ "events": [event("la311", "t", 1, "x", "info", 0)] }).to_string();
    assert_eq!(ro.post_raw(body, Some(TOKEN)).await.0, 403);
    assert_eq!(
        ro.get("/events").await.0,
        200,
        "reads stay open on a read-only server"
    );
}

#[tokio::test]
async fn unknown_things_are_404_and_big_bodies_413() {
    let s = default_server().await;
    let (status, body) = s.get(&format!("/events/{}", "a".repeat(64))).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("no event"));
    assert_eq!(s.get("/events/not-an-id").await.0, 404);
    assert_eq!(
        s.get("/stakeholders/15").await.0,
        404,
        "no data and no file: nothing known"
    );
    assert_eq!(s.get("/no/such/route").await.0, 404);

    let huge = json!({ "events": [], "padding": "x".repeat(100 * 1024) }).to_string();
    let (status, body) = s.post_raw(huge, Some(TOKEN)).await;
    assert_eq!(status, 413, "{body}");
    assert!(body["error"].is_string(), "413 has a JSON body: {body}");
}

#[tokio::test]
async fn openapi_document_matches_the_routes() {
    let s = default_server().await;
    let (status, doc) = s.get("/openapi.json").await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((method.clone(), path.clone()));
        }
    }
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(documented, routed);
    // Every documented route is served (no 404/405 from the router itself for a well-formed request).
    for (method, path) in ROUTES {
        let concrete = path
            .replace("{id}", &"0".repeat(64))
            .replace("{district}", "1");
        let url = format!("{}{concrete}", s.base);
        let resp = match *method {
            "get" => s.client.get(&url).send().await.unwrap(),
            _ => s.client.post(&url).body("{}").send().await.unwrap(),
        };
        assert_ne!(resp.status().as_u16(), 405, "{method} {path}");
        let body: Value = resp.json_value().await;
        assert!(
            !(body["error"]
                .as_str()
                .unwrap_or("")
                .contains("no such route")),
            "{method} {path} not routed"
        );
    }
    // Every schema reference resolves.
    let text = doc.to_string();
    for name in text
        .split("#/components/schemas/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
    {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "dangling $ref {name}"
        );
    }
}

trait JsonValue {
    async fn json_value(self) -> Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> Value {
        serde_json::from_slice(&self.bytes().await.unwrap()).unwrap_or(Value::Null)
    }
}

/// The document states the checks the server makes, so generated requests (schemathesis in
/// `scripts/api-fuzz.sh`) are mostly valid and reach the handlers.
#[test]
fn openapi_document_states_the_server_constraints() {
    use utoipa::OpenApi as _;
    let doc = serde_json::to_value(ledger_http::ApiDoc::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let events = &schemas["PostEvents"]["properties"]["events"];
    assert_eq!(events["minItems"], 1);
    assert_eq!(
        events["maxItems"].as_u64(),
        Some(ledger::validate::DEFAULT_MAX_BATCH as u64)
    );
    for name in ["PostEvents", "EventInput", "Dimensions", "Event"] {
        assert_eq!(
            schemas[name]["additionalProperties"], false,
            "{name} refuses unknown fields"
        );
    }
    let input = &schemas["EventInput"]["properties"];
    for text in ["metric", "unit", "run_id"] {
        assert_eq!(input[text]["pattern"], r"\S", "{text} must not be blank");
        assert_eq!(input[text]["maxLength"], 200, "{text}");
    }
    assert_eq!(input["event_id"]["pattern"], "^[0-9a-f]{64}$");
    assert_eq!(input["schema_version"]["minimum"], 1);
    assert_eq!(input["schema_version"]["maximum"], 1);
    assert!(
        input["window_end"]["description"]
            .as_str()
            .unwrap()
            .contains("after `window_start`")
    );
    let dims = &schemas["Dimensions"];
    assert_eq!(dims["required"], json!(["council_district"]));
    assert_eq!(dims["properties"]["council_district"]["minimum"], 1);
    assert_eq!(dims["properties"]["council_district"]["maximum"], 15);
    // The dimension set every dataset's findings share, documented for joins across datasets.
    assert_eq!(dims["properties"]["category"]["maxLength"], 200);
    assert_eq!(
        dims["properties"]["week"]["pattern"],
        "^[0-9]{4}-W[0-9]{2}$"
    );
    let pair = &schemas["Pair"];
    assert_eq!(pair["additionalProperties"], false);
    for field in [
        "dataset_a",
        "metric_a",
        "dataset_b",
        "metric_b",
        "lag_weeks",
    ] {
        assert!(pair["properties"][field].is_object(), "Pair.{field}");
    }
    for field in ["score", "score_kind", "partition"] {
        assert!(input[field].is_object(), "EventInput.{field}");
        assert!(
            schemas["Event"]["properties"][field].is_object(),
            "Event.{field}"
        );
    }
    assert_eq!(schemas["StakeholderId"]["pattern"], "^[a-z0-9_-]{1,64}$");
    let params: BTreeMap<String, Value> = doc["paths"]["/events"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_owned(), p["schema"].clone()))
        .collect();
    assert_eq!(params["limit"]["minimum"], 1);
    assert_eq!(params["limit"]["maximum"], 1000);
    assert_eq!(params["from"]["format"], "date-time");
    assert!(params["cursor"]["pattern"].is_string());
    // `at` on both stakeholder routes: an optional date, and a documented 400.
    for route in ["/stakeholders", "/stakeholders/{district}"] {
        let op = &doc["paths"][route]["get"];
        let at = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "at")
            .unwrap_or_else(|| panic!("{route} documents `at`"));
        assert_eq!(
            (&at["in"], &at["required"]),
            (&json!("query"), &json!(false)),
            "{route}"
        );
        assert_eq!(at["schema"]["format"], "date", "{route}");
        assert!(op["responses"]["400"].is_object(), "{route}");
    }
    for name in ["InOffice", "DatedTerm", "Basis"] {
        assert!(schemas[name].is_object(), "{name} is in the document");
    }
    // A cursor the server hands out fits the documented pattern's shape: `{micros}.{64 hex}`.
    let cursor = ledger::query::Cursor {
        window_start_us: 1_514_764_800_000_000,
        event_id: "ab".repeat(32),
    }
    .encode();
    let (micros, id) = cursor.split_once('.').unwrap();
    assert!(micros.len() <= 18 && micros.bytes().all(|b| b.is_ascii_digit()));
    assert!(id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()));
}

/// The ledger grants of the `ledger-api` function, which these tests act as.
#[allow(dead_code)]
fn grants() -> ledger::Locations {
    ledger::Locations {
        events: prefixes::ledger_api::events(),
        stakeholders: prefixes::ledger_api::stakeholders(),
    }
}
