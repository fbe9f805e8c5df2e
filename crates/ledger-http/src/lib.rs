//! `ledger-http`: the ledger HTTP API over a [`ledger::Ledger`], one axum router (handlers, bearer or platform
//! write authorization, the OpenAPI document), served locally (`civic serve`) and by the `ledger-api` Lambda.

pub mod auth;
pub mod error;
pub mod events;
pub mod openapi;
pub mod stakeholders;
pub use ledger::wire;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

pub use auth::WriteAuth;
pub use openapi::ApiDoc;

use ledger::stakeholders::StakeholderFile;
use ledger::store::Ledger;
use ledger::validate::DEFAULT_MAX_BATCH;

/// Default request body limit in bytes (413 above it).
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// Every route: (method, path as in the OpenAPI document). The router and the document must agree.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/events"),
    ("get", "/events"),
    ("get", "/events/{id}"),
    ("get", "/stakeholders"),
    ("get", "/stakeholders/{district}"),
    ("get", "/openapi.json"),
];

/// Settings of the API.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// How writes are authorized.
    pub auth: WriteAuth,
    /// Largest accepted `POST /events` batch.
    pub max_batch: usize,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Dataset whose derived stakeholders are served.
    pub dataset: String,
    /// The maintained stakeholder file, when any: it wins over the file stored in the ledger bucket.
    pub stakeholder_file: Option<Arc<StakeholderFile>>,
    /// The file used when neither is there (the one compiled into the binary from the catalog).
    pub builtin_stakeholder_file: Option<Arc<StakeholderFile>>,
}

impl ApiConfig {
    /// Defaults for `dataset` with the given write authorization.
    pub fn new(auth: WriteAuth, dataset: &str) -> Self {
        ApiConfig {
            auth,
            max_batch: DEFAULT_MAX_BATCH,
            body_limit: DEFAULT_BODY_LIMIT,
            dataset: dataset.to_owned(),
            stakeholder_file: None,
            builtin_stakeholder_file: None,
        }
    }
}

/// Shared state of the handlers.
#[derive(Clone)]
pub struct AppState {
    /// The event ledger.
    pub ledger: Ledger,
    /// The settings.
    pub config: Arc<ApiConfig>,
}

/// The API router over `ledger`. Works under `axum::serve` and `lambda_http::run` alike.
pub fn router(ledger: Ledger, config: ApiConfig) -> Router {
    let body_limit = config.body_limit;
    let state = AppState {
        ledger,
        config: Arc::new(config),
    };
    Router::new()
        .route(
            "/events",
            get(events::list_events).post(events::post_events),
        )
        .route("/events/{id}", get(events::get_event))
        .route("/stakeholders", get(stakeholders::list_stakeholders))
        .route(
            "/stakeholders/{district}",
            get(stakeholders::get_stakeholder),
        )
        .route("/openapi.json", get(openapi::openapi_json))
        .fallback(error::fallback)
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// Serves `app` on `listener` until Ctrl-C (or SIGTERM on Unix).
pub async fn serve(listener: tokio::net::TcpListener, app: Router) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler installs");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
