//! `civic serve`: the arguments of serving the `ledger-api` function (its own app, wired from its local platform
//! over `<store>/ledger`) and the findings reports under `<store>/reports`; [`crate::local::loopback::serve`]
//! serves them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use ledger::stakeholders::StakeholderFile;
use ledger::validate::DEFAULT_MAX_BATCH;
use ledger_http::{ApiConfig, DEFAULT_BODY_LIMIT, WriteAuth};

use crate::local;

/// Environment variable holding the bearer token writes must present.
pub const TOKEN_ENV: &str = "CIVIC_LEDGER_TOKEN";

/// Arguments of `civic serve`: the ledger HTTP API (events, stakeholders, OpenAPI) as the `ledger-api` function
/// answers it, plus `GET /report` (the newest report) and `GET /reports/{file}`.
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
    let mut config = ApiConfig::new(auth, &args.dataset);
    config.max_batch = args.max_batch;
    config.body_limit = args.body_limit;
    config.stakeholder_file = match &args.stakeholders {
        Some(path) => Some(Arc::new(StakeholderFile::load(path)?)),
        None => None,
    };
    let serve = local::loopback::Serve {
        config,
        derive_stakeholders: args.derive_stakeholders,
        addr: args.addr,
        reports: local::store::reports_dir(&args.store),
    };
    let topology = local::Topology::load(&local::repo_root(), &args.store)?;
    local::block_on(async move {
        local::loopback::serve(&topology, serve).await?;
        Ok(ExitCode::SUCCESS)
    })
}
