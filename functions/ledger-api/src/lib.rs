//! Handler library of the `ledger-api` Lambda: the locations it reads and writes, typed by the generated
//! `prefixes` crate (a removed grant stops this crate from compiling), and [`app`], the HTTP router wired from
//! a [`platform::Platform`] (S3 behind a Lambda function URL in `main.rs`, a loopback server in `civic`).

use prefixes::Prefix;
use prefixes::access::{Read, ReadWrite};
use prefixes::keys::{Compacted, Events, Processed, Stakeholders};

/// Where the ledger API reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    pub processed: Prefix<Processed, Read>,
    pub events: Prefix<Events, ReadWrite>,
    pub compacted: Prefix<Compacted, ReadWrite>,
    pub stakeholders: Prefix<Stakeholders, ReadWrite>,
}

impl Locations {
    pub const fn granted() -> Self {
        use prefixes::ledger_api as p;
        Locations {
            processed: p::processed(),
            events: p::events(),
            compacted: p::compacted(),
            stakeholders: p::stakeholders(),
        }
    }

    /// What the ledger reads and writes.
    pub const fn ledger(&self) -> ledger::Locations {
        ledger::Locations {
            events: self.events,
            stakeholders: self.stakeholders,
        }
    }
}

/// The function's HTTP app: the ledger's router over the ledger bucket named by the platform's variables.
/// `auth` is how writes are authorized where it is served (`Platform`: SigV4 on the function URL).
/// Without a maintained file stored in the ledger bucket, `/stakeholders` uses the one compiled into the binary
/// (`datasets/<id>/stakeholders.yaml`), so `?at=DATE` names members by their dated terms from the first deploy.
pub fn app(
    platform: &dyn platform::Platform,
    auth: ledger_http::WriteAuth,
) -> anyhow::Result<axum::Router> {
    let dataset = stakeholder_dataset();
    let mut config = ledger_http::ApiConfig::new(auth, dataset);
    config.builtin_stakeholder_file = builtin_stakeholder_file(dataset)?.map(std::sync::Arc::new);
    Ok(app_with(platform, config)?)
}

/// The maintained stakeholder file of `dataset` in the catalog compiled in, validated; `None` when it has none.
pub fn builtin_stakeholder_file(
    dataset: &str,
) -> Result<Option<ledger::stakeholders::StakeholderFile>, ledger::stakeholders::file::FileError> {
    let Some(ds) = datasets::Catalog::builtin().dataset(dataset).ok() else {
        return Ok(None);
    };
    match ds.file("stakeholders.yaml") {
        Some(file) => ledger::stakeholders::StakeholderFile::parse(file.path, file.text).map(Some),
        None => Ok(None),
    }
}

/// The dataset whose derived stakeholders `/stakeholders` serves: the first dataset of the built-in catalog
/// that maintains a `stakeholders.yaml` (else the first dataset).
pub fn stakeholder_dataset() -> &'static str {
    let catalog = datasets::Catalog::builtin();
    catalog
        .datasets()
        .find(|d| d.file("stakeholders.yaml").is_some())
        .map(|d| d.id())
        .or_else(|| catalog.ids().next())
        .unwrap_or_default()
}

/// [`app`] with every setting of the API (batch and body limits, the maintained stakeholder file): what
/// `civic serve` exposes as flags.
pub fn app_with(
    platform: &dyn platform::Platform,
    config: ledger_http::ApiConfig,
) -> Result<axum::Router, platform::Error> {
    let grants = Locations::granted();
    let store = platform.bucket(grants.events.bucket())?;
    Ok(ledger_http::router(
        ledger::Ledger::new(store, grants.ledger()),
        config,
    ))
}
