//! `civic serve` (called through the civic library): refuses to start for writes without a token, and serves the
//! `ledger-api` function with bearer-token writes over `<store>/ledger`.

use civic::cmd::serve;

use std::path::PathBuf;

fn args(store: PathBuf, port: u16) -> serve::Args {
    serve::Args {
        store,
        addr: format!("127.0.0.1:{port}").parse().unwrap(),
        token_file: None,
        read_only: false,
        stakeholders: None,
        derive_stakeholders: vec![],
        dataset: "la311".into(),
        max_batch: 10,
        body_limit: 4096,
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn refuses_to_serve_writes_without_a_token() {
    // SAFETY: this test binary's only test that touches the environment.
    unsafe { std::env::remove_var(serve::TOKEN_ENV) };
    let dir = tempfile::tempdir().unwrap();
    let err = serve::run(args(dir.path().into(), free_port()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("refusing to serve writes without a token"),
        "{err}"
    );
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let mut a = args(dir.path().into(), free_port());
    a.token_file = Some(empty);
    assert!(serve::run(a).is_err());
}

#[test]
fn serves_with_a_token_file_and_stores_events_under_the_ledger_bucket() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "file-token\n").unwrap();
    let port = free_port();
    let mut a = args(dir.path().join("civic"), port);
    a.token_file = Some(token);
    a.stakeholders =
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets/la311/stakeholders.yaml"));
    std::thread::spawn(move || serve::run(a));
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let mut up = false;
        for _ in 0..100 {
            if client
                .get(format!("{base}/openapi.json"))
                .send()
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(up, "server did not come up on {base}");
        let body = r#"{"events":[{"dataset":"la311","layer":"analyze","event_type":"spike",
            "window_start":"2018-01-01T00:00:00Z","window_end":"2018-01-08T00:00:00Z",
            "dimensions":{"council_district":4},"metric":"requests","value":3,"unit":"count",
            "severity":"info","run_id":"r"}]}"#;
        let post = |auth: &'static str| {
            client
                .post(format!("{base}/events"))
                .header("authorization", auth)
                .body(body)
                .send()
        };
        assert_eq!(post("Bearer nope").await.unwrap().status().as_u16(), 401);
        assert_eq!(
            post("Bearer file-token").await.unwrap().status().as_u16(),
            201
        );
        let cd4 = client
            .get(format!("{base}/stakeholders/4"))
            .send()
            .await
            .unwrap();
        assert_eq!(cd4.status().as_u16(), 200, "the stakeholder file is served");
    });
    let events = dir.path().join("civic/ledger/events/la311");
    assert_eq!(
        std::fs::read_dir(&events).unwrap().count(),
        1,
        "{}",
        events.display()
    );
}

#[test]
fn serves_the_newest_report_and_reports_by_name_but_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("civic");
    let reports = store.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    std::fs::write(reports.join("la311-old.html"), "<html>old</html>").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(reports.join("la311-new.html"), "<html>new</html>").unwrap();
    std::fs::write(store.join("secret.txt"), "not a report").unwrap();
    let port = free_port();
    let mut a = args(store, port);
    a.read_only = true;
    std::thread::spawn(move || serve::run(a));
    let base = format!("http://127.0.0.1:{port}");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("{base}{path}")).send();
        let mut newest = None;
        for _ in 0..100 {
            if let Ok(r) = get("/report").await {
                newest = Some(r);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let newest = newest.expect("server did not come up");
        assert_eq!(newest.status().as_u16(), 200);
        assert!(
            newest.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(newest.text().await.unwrap(), "<html>new</html>");
        let old = get("/reports/la311-old.html").await.unwrap();
        assert_eq!(old.text().await.unwrap(), "<html>old</html>");
        for path in [
            "/reports/missing.html",
            "/reports/..%2Fsecret.txt",
            "/reports/secret.txt",
        ] {
            assert_eq!(get(path).await.unwrap().status().as_u16(), 404, "{path}");
        }
        // The ledger API is still there beside the report.
        assert_eq!(get("/openapi.json").await.unwrap().status().as_u16(), 200);
    });
}
