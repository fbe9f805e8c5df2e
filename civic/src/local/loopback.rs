//! HTTP functions on this machine: the `ledger-api` function's app (wired from its local platform, as its `main`
//! wires it from AWS) plus the report pages (`GET /report`: the newest, `GET /reports/{file}`); served for
//! `civic serve` on a chosen address, or for the demo on 127.0.0.1 with a free port, with the client the demo
//! reads the ledger through.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use ledger::Event;
use ledger_http::events::ListEventsResponse;
use ledger_http::{ApiConfig, WriteAuth};
use platform::Platform;

use super::topology::Topology;

/// Routes serving the report pages of `dir`: `GET /report` answers the newest `*.html`, `GET /reports/{file}`
/// one of them by name (names only: no folders, nothing but `.html`). 404 when there is none.
pub fn report_routes(dir: PathBuf) -> axum::Router {
    use axum::extract::{Path as UrlPath, State};
    use axum::routing::get;
    async fn page(dir: &Path, name: &str) -> axum::response::Response {
        use axum::response::IntoResponse;
        let safe = name.ends_with(".html")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-=".contains(c))
            && !name.starts_with('.');
        let html = match safe {
            true => tokio::fs::read(dir.join(name)).await.ok(),
            false => None,
        };
        match html {
            Some(html) => (
                [(axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8")],
                html,
            )
                .into_response(),
            _ => (
                axum::http::StatusCode::NOT_FOUND,
                axum::Json(serde_json::json!({ "error": format!("no report {name}") })),
            )
                .into_response(),
        }
    }
    async fn newest(State(dir): State<Arc<PathBuf>>) -> axum::response::Response {
        let name = newest_report(&dir).unwrap_or_default();
        page(&dir, &name).await
    }
    async fn by_name(
        State(dir): State<Arc<PathBuf>>,
        UrlPath(name): UrlPath<String>,
    ) -> axum::response::Response {
        page(&dir, &name).await
    }
    axum::Router::new()
        .route("/report", get(newest))
        .route("/reports/{file}", get(by_name))
        .with_state(Arc::new(dir))
}

/// File name of the most recently written `*.html` in `dir`.
pub fn newest_report(dir: &Path) -> Option<String> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "html"))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.file_name())))
        .max()
        .and_then(|(_, name)| name.into_string().ok())
}

/// `civic serve`: the ledger API configuration, stakeholders to derive first, where to listen.
pub struct Serve {
    pub config: ApiConfig,
    /// MyLA311 CSV files to derive stakeholders from at startup (stored in the ledger bucket).
    pub derive_stakeholders: Vec<PathBuf>,
    pub addr: SocketAddr,
    /// The store's reports folder.
    pub reports: PathBuf,
}

/// Serve the `ledger-api` function's app with `serve.config` over the topology's ledger bucket, plus the reports,
/// until the process is stopped.
pub async fn serve(topology: &Topology, serve: Serve) -> anyhow::Result<()> {
    let platform = topology.platform("ledger-api")?;
    let ledger_bucket = platform.bucket(ledger_api::Locations::granted().events.bucket())?;
    if !serve.derive_stakeholders.is_empty() {
        let mut derivation = ledger::stakeholders::Derivation::default();
        for path in &serve.derive_stakeholders {
            let file =
                std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
            derivation.observe_csv(&path.display().to_string(), file)?;
        }
        let counts = derivation.counts();
        eprintln!(
            "derived stakeholders from {} file(s): {} rows, {} without district, {} without date",
            serve.derive_stakeholders.len(),
            counts.rows,
            counts.rows_without_district,
            counts.rows_without_date
        );
        let dataset = serve.config.dataset.clone();
        let ledger = ledger::Ledger::new(
            ledger_bucket.clone(),
            ledger_api::Locations::granted().ledger(),
        );
        ledger::stakeholders::save_derived(&ledger, &dataset, "all", &derivation.finish()).await?;
    }
    let app =
        ledger_api::app_with(&platform, serve.config)?.merge(report_routes(serve.reports.clone()));
    let listener = tokio::net::TcpListener::bind(serve.addr)
        .await
        .with_context(|| format!("binding {}", serve.addr))?;
    let bound = listener.local_addr()?;
    println!(
        "ledger API listening on http://{bound} (the ledger-api function over {ledger_bucket})"
    );
    println!(
        "report on http://{bound}/report (newest of {})",
        serve.reports.display()
    );
    ledger_http::serve(listener, app)
        .await
        .context("serving the ledger API")
}

/// A running loopback server.
pub struct Loopback {
    /// The bound address.
    pub addr: SocketAddr,
    client: reqwest::Client,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::oneshot::Sender<()>,
}

impl Loopback {
    /// Serve the `ledger-api` function (reads only: locally nobody signs requests) and the reports in `reports`.
    pub async fn start(topo: &Topology, reports: PathBuf) -> anyhow::Result<Loopback> {
        let app = ledger_api::app(&topo.platform("ledger-api")?, WriteAuth::ReadOnly)?
            .merge(report_routes(reports));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port")?;
        let addr = listener.local_addr()?;
        // No signal handler while the demo runs: Ctrl-C stops the demo, not just the server.
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Loopback {
            addr,
            client: reqwest::Client::new(),
            server,
            stop,
        })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every event of `dataset`, page by page through `GET /events`.
    pub async fn events(&self, dataset: &str) -> anyhow::Result<Vec<Event>> {
        let mut events = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = vec![("dataset", dataset.to_owned()), ("limit", "1000".into())];
            query.extend(cursor.take().map(|c| ("cursor", c)));
            let url = format!("{}/events", self.url());
            let page: ListEventsResponse = self
                .client
                .get(&url)
                .query(&query)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?
                .error_for_status()?
                .json()
                .await
                .with_context(|| format!("reading the answer of GET {url}"))?;
            events.extend(page.events);
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(events),
            }
        }
    }

    /// Keep serving until Ctrl-C, then stop.
    pub async fn serve_until_ctrl_c(self) -> anyhow::Result<()> {
        tokio::signal::ctrl_c().await?;
        let _ = self.stop.send(());
        self.server.await?.context("serving on loopback")
    }

    /// Stop serving.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.server.await;
    }
}
