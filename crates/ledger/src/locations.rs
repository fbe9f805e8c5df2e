//! Where the ledger keeps its objects: the prefix handles its caller was granted (the `process` and
//! `ledger-api` functions both hold read-write grants on `events` and `stakeholders`), and the keys built
//! from them (never formatted here).

use object_store::path::Path;
use prefixes::access::{ReadWrite, Write};
use prefixes::keys::{
    self, CompactedKey, EventsKey, StakeholdersKey, compacted, events, stakeholders,
};
use prefixes::{KeyError, ObjectKey, ParseObject, Prefix};

/// The ledger's grants.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    /// One object per event (create-only).
    pub events: Prefix<keys::Events, ReadWrite>,
    /// Derived stakeholders and the maintained file.
    pub stakeholders: Prefix<keys::Stakeholders, ReadWrite>,
}

pub(crate) fn path(key: Result<ObjectKey, KeyError>) -> Result<Path, KeyError> {
    key.map(|k| Path::from(k.into_string()))
}

impl Locations {
    /// The folder of every event (all datasets).
    pub fn events_root(&self) -> Path {
        Path::from(self.events.root().into_string())
    }

    /// The folder of one dataset's events.
    pub fn events_of(&self, dataset: &str) -> Result<Path, KeyError> {
        path(self.events.list_prefix(&EventsKey { dataset }))
    }

    /// The key of one event.
    pub fn event(&self, dataset: &str, event_id: &str) -> Result<Path, KeyError> {
        path(
            self.events
                .write_key(&EventsKey { dataset }, &events::Event { event_id }),
        )
    }

    /// The event id of an event key, when `key` is one.
    pub fn event_id_of<'k>(&self, key: &'k Path) -> Option<&'k str> {
        self.events
            .parse_object::<events::Event>(key.as_ref())
            .map(|(_, e)| e.event_id)
    }

    /// The stakeholders derived from one partition (or named slice) of a dataset.
    pub fn derived(&self, dataset: &str, partition: &str) -> Result<Path, KeyError> {
        path(self.stakeholders.write_key(
            &StakeholdersKey { dataset },
            &stakeholders::Derived { partition },
        ))
    }

    /// The folder of every derived-stakeholder document of a dataset.
    pub fn derived_of(&self, dataset: &str) -> Result<Path, KeyError> {
        path(
            self.stakeholders
                .list_dir::<stakeholders::Derived>(&StakeholdersKey { dataset }, &[]),
        )
    }

    /// Whether `key` is a derived-stakeholder document.
    pub fn is_derived(&self, key: &Path) -> bool {
        self.stakeholders
            .parse_key(key.as_ref())
            .is_some_and(|(_, name)| stakeholders::Derived::parse(name).is_some())
    }

    /// The maintained stakeholder file as stored in the ledger bucket.
    pub fn maintained(&self, dataset: &str) -> Result<Path, KeyError> {
        path(
            self.stakeholders
                .read_key(&StakeholdersKey { dataset }, &stakeholders::Maintained),
        )
    }
}

/// The compacted Parquet file of one dataset and month (`YYYY-MM`), under the compactor's grant.
pub fn compacted_part(
    compacted: Prefix<keys::Compacted, Write>,
    dataset: &str,
    month: &str,
) -> Result<Path, KeyError> {
    path(compacted.write_key(
        &CompactedKey { dataset, month },
        &compacted::Part { part: 0 },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_round_trip() {
        let l = Locations {
            events: prefixes::process::events(),
            stakeholders: prefixes::process::stakeholders(),
        };
        let key = l.event("la311", "abc123").unwrap();
        assert_eq!(key.as_ref(), "events/la311/abc123.json");
        assert_eq!(l.event_id_of(&key), Some("abc123"));
        assert_eq!(l.event_id_of(&Path::from("events/la311/x/abc.json")), None);
        let d = l.derived("la311", "7").unwrap();
        assert_eq!(d.as_ref(), "stakeholders/la311/derived/cd=7.json");
        assert!(d.prefix_matches(&l.derived_of("la311").unwrap()));
        assert!(l.is_derived(&d));
        assert!(!l.is_derived(&l.maintained("la311").unwrap()));
        assert_eq!(
            compacted_part(prefixes::ledger_api::compacted().into(), "la311", "2024-01")
                .unwrap()
                .as_ref(),
            "compacted/dataset=la311/month=2024-01/part-00000.parquet"
        );
    }
}
