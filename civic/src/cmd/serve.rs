//! `civic serve`: the ledger HTTP API on a local address over the local ledger bucket (`<store>/ledger`), and the
//! findings reports under `<store>/reports` (`GET /report`: the newest one, `GET /reports/{file}`).
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use ledger::api::{ApiConfig, DEFAULT_BODY_LIMIT, WriteAuth};
use ledger::stakeholders::{self, StakeholderFile};
use ledger::validate::DEFAULT_MAX_BATCH;

/// Environment variable holding the bearer token writes must present.
pub const TOKEN_ENV: &str = "CIVIC_LEDGER_TOKEN";

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

/// Arguments of `civic serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Local store root; the ledger bucket is `<STORE>/ledger`.
    #[arg(long, value_name = "DIR", default_value = ".civic")]
    pub store: PathBuf,
    /// Address to listen on (port 0 picks a free port; the bound address is printed).
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub addr: SocketAddr,
    /// File whose first line is the bearer token writes must present (default: $CIVIC_LEDGER_TOKEN).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve reads only: POST /events answers 403, and no token is needed.
    #[arg(long)]
    pub read_only: bool,
    /// Maintained stakeholder file merged over the stakeholders derived from the data.
    #[arg(long, value_name = "YAML")]
    pub stakeholders: Option<PathBuf>,
    /// Derive stakeholders from these MyLA311 CSV files at startup and store them in the ledger bucket.
    #[arg(long = "derive-stakeholders", value_name = "CSV")]
    pub derive_stakeholders: Vec<PathBuf>,
    /// Dataset whose stakeholders are served.
    #[arg(long, default_value = "la311")]
    pub dataset: String,
    /// Largest accepted POST /events batch.
    #[arg(long, default_value_t = DEFAULT_MAX_BATCH)]
    pub max_batch: usize,
    /// Largest accepted request body in bytes (413 above it).
    #[arg(long, default_value_t = DEFAULT_BODY_LIMIT)]
    pub body_limit: usize,
}

/// Decides how writes are authorized; refuses to serve writes without a token.
fn write_auth(args: &Args) -> anyhow::Result<WriteAuth> {
    if args.read_only {
        return Ok(WriteAuth::ReadOnly);
    }
    let token = match &args.token_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the token file {}", path.display()))?
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .to_owned(),
        None => std::env::var(TOKEN_ENV)
            .unwrap_or_default()
            .trim()
            .to_owned(),
    };
    if token.is_empty() {
        bail!(
            "refusing to serve writes without a token: set {TOKEN_ENV} or pass --token-file FILE \
             (or pass --read-only to serve reads only)"
        );
    }
    Ok(WriteAuth::Bearer(token))
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let auth = write_auth(&args)?;
    let stakeholder_file = match &args.stakeholders {
        Some(path) => Some(Arc::new(StakeholderFile::load(path)?)),
        None => None,
    };
    let bucket = args.store.join("ledger");
    std::fs::create_dir_all(&bucket).with_context(|| format!("creating {}", bucket.display()))?;
    let store = object_store::local::LocalFileSystem::new_with_prefix(&bucket)
        .with_context(|| format!("opening the ledger bucket at {}", bucket.display()))?;
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(store);
    // Served as the `ledger-api` function would serve it, under its grants.
    let ledger = ledger::Ledger::new(store, ledger_api::Locations::granted().ledger());
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        if !args.derive_stakeholders.is_empty() {
            let mut derivation = stakeholders::Derivation::default();
            for path in &args.derive_stakeholders {
                let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
                derivation.observe_csv(&path.display().to_string(), file)?;
            }
            let counts = derivation.counts();
            eprintln!(
                "derived stakeholders from {} file(s): {} rows, {} without district, {} without date",
                args.derive_stakeholders.len(),
                counts.rows,
                counts.rows_without_district,
                counts.rows_without_date
            );
            stakeholders::save_derived(&ledger, &args.dataset, "all", &derivation.finish()).await?;
        }
        let mut config = ApiConfig::new(auth, &args.dataset);
        config.max_batch = args.max_batch;
        config.body_limit = args.body_limit;
        config.stakeholder_file = stakeholder_file;
        let reports = args.store.join("reports");
        let app = ledger::api::router(ledger, config)
            .merge(report_routes(reports.clone()));
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("binding {}", args.addr))?;
        let bound = listener.local_addr()?;
        println!("ledger API listening on http://{bound} (ledger bucket {})", bucket.display());
        println!("report on http://{bound}/report (newest of {})", reports.display());
        ledger::api::serve(listener, app).await.context("serving the ledger API")?;
        anyhow::Ok(ExitCode::SUCCESS)
    })
}
