//! Handler library of the `process` Lambda: the locations it reads and writes, typed by the generated
//! `prefixes` crate (a removed grant stops this crate from compiling).

use prefixes::Prefix;
use prefixes::access::{Read, ReadWrite};
use prefixes::keys::{Canonical, Events, Processed, Quarantine, Raw, Runs, Stakeholders, Worklist};

/// Where the worklist consumer reads and writes.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    pub raw: Prefix<Raw, Read>,
    pub quarantine: Prefix<Quarantine, ReadWrite>,
    pub runs: Prefix<Runs, ReadWrite>,
    pub worklist: Prefix<Worklist, ReadWrite>,
    pub canonical: Prefix<Canonical, ReadWrite>,
    pub processed: Prefix<Processed, ReadWrite>,
    pub events: Prefix<Events, ReadWrite>,
    pub stakeholders: Prefix<Stakeholders, ReadWrite>,
}

impl Locations {
    pub const fn granted() -> Self {
        use prefixes::process as p;
        Locations {
            raw: p::raw(),
            quarantine: p::quarantine(),
            runs: p::runs(),
            worklist: p::worklist(),
            canonical: p::canonical(),
            processed: p::processed(),
            events: p::events(),
            stakeholders: p::stakeholders(),
        }
    }
}

pub mod runners;
pub use runners::{analysis_config, registry};
