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
pub fn app(
    platform: &dyn platform::Platform,
    auth: ledger_http::WriteAuth,
) -> Result<axum::Router, platform::Error> {
    app_with(
        platform,
        ledger_http::ApiConfig::new(auth, stakeholder_dataset()),
    )
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
