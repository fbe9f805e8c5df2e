//! Every object key of the ledger bucket, in one place (to be switched to the generated `prefixes` handles).
//!
//! - `events/{dataset}/{event_id}.json`                               one object per event (create-only)
//! - `compacted/dataset={dataset}/month={YYYY-MM}/part-00000.parquet` analytics copy (rewritten by `compact`)
//! - `stakeholders/{dataset}/derived/cd={partition}.json`             stakeholders derived from the data
//! - `stakeholders/{dataset}/stakeholders.yaml`                       the maintained file (optional)

use object_store::path::Path;

/// Prefix of all events.
pub fn events_root() -> Path {
    Path::from("events")
}

/// Prefix of one dataset's events.
pub fn events_prefix(dataset: &str) -> Path {
    Path::from(format!("events/{dataset}"))
}

/// Key of one event.
pub fn event_key(dataset: &str, event_id: &str) -> Path {
    Path::from(format!("events/{dataset}/{event_id}.json"))
}

/// The event id of an event key, when `key` is one.
pub fn event_id_of(key: &Path) -> Option<&str> {
    let rest = key.as_ref().strip_prefix("events/")?;
    let (_dataset, file) = rest.split_once('/')?;
    if file.contains('/') {
        return None;
    }
    file.strip_suffix(".json")
}

/// Key of the compacted Parquet file of one dataset and month (`YYYY-MM`).
pub fn compacted_key(dataset: &str, month: &str) -> Path {
    Path::from(format!(
        "compacted/dataset={dataset}/month={month}/part-00000.parquet"
    ))
}

/// Prefix of one dataset's compacted files.
pub fn compacted_prefix(dataset: &str) -> Path {
    Path::from(format!("compacted/dataset={dataset}"))
}

/// Key of the stakeholders derived from one partition (or named slice) of a dataset.
pub fn derived_stakeholders_key(dataset: &str, partition: &str) -> Path {
    Path::from(format!(
        "stakeholders/{dataset}/derived/cd={partition}.json"
    ))
}

/// Prefix of every derived-stakeholder document of a dataset.
pub fn derived_stakeholders_prefix(dataset: &str) -> Path {
    Path::from(format!("stakeholders/{dataset}/derived"))
}

/// Key of the maintained stakeholder file as stored in the ledger bucket.
pub fn stakeholder_file_key(dataset: &str) -> Path {
    Path::from(format!("stakeholders/{dataset}/stakeholders.yaml"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_keys_round_trip() {
        let key = event_key("la311", "abc123");
        assert_eq!(key.as_ref(), "events/la311/abc123.json");
        assert_eq!(event_id_of(&key), Some("abc123"));
        assert_eq!(event_id_of(&Path::from("events/la311/x/abc.json")), None);
        assert_eq!(
            event_id_of(&Path::from("stakeholders/la311/derived.json")),
            None
        );
    }
}
