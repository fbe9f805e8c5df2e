//! What the analysis tests share: the grants of the `process` function, which they act as.

/// The analysis' grants.
pub fn locations() -> analysis::Locations {
    analysis::Locations {
        canonical: prefixes::process::canonical().into(),
        processed: prefixes::process::processed(),
        features: prefixes::process::features(),
        associations: prefixes::process::associations(),
    }
}

/// The ledger's grants.
pub fn ledger_grants() -> ledger::Locations {
    ledger::Locations {
        events: prefixes::process::events(),
        stakeholders: prefixes::process::stakeholders(),
    }
}
