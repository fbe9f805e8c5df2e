//! Handler library of the `ingest` Lambda: the locations it writes, typed by the generated `prefixes` crate.
//!
//! The handles are spelled out with their access type, so a grant removed from prefixes.yaml (and
//! regenerated) stops this crate from compiling instead of failing at run time with AccessDenied.

use prefixes::Prefix;
use prefixes::access::Write;
use prefixes::keys::{Quarantine, Raw, Runs};

/// Where ingestion writes: raw partitions, quarantined rows, and the run manifest.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    pub raw: Prefix<Raw, Write>,
    pub quarantine: Prefix<Quarantine, Write>,
    pub runs: Prefix<Runs, Write>,
}

impl Locations {
    pub const fn granted() -> Self {
        Locations {
            raw: prefixes::ingest::raw(),
            quarantine: prefixes::ingest::quarantine(),
            runs: prefixes::ingest::runs(),
        }
    }
}
