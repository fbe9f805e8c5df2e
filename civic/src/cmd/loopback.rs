//! HTTP functions on loopback: the `ledger-api` function's app (wired from its local platform, as its `main`
//! wires it from AWS) plus the report pages, on 127.0.0.1 with a free port; and the client the demo reads the
//! ledger through.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use ledger::Event;
use ledger::api::WriteAuth;
use ledger::api::events::ListEventsResponse;

use super::{serve, topology};

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
    pub async fn start(topo: &topology::Local, reports: PathBuf) -> anyhow::Result<Loopback> {
        let app = ledger_api::app(&topo.platform("ledger-api")?, WriteAuth::ReadOnly)?
            .merge(serve::report_routes(reports));
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
}
