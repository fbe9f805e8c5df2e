//! Handler library of the `ledger-api` Lambda: the locations it reads and writes, typed by the generated
//! `prefixes` crate (a removed grant stops this crate from compiling).

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
}
