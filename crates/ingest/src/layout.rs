//! Every object key this crate writes, built by the generated `prefixes` handles of the `ingest`
//! function (raw partitions, quarantine, run manifest), plus validation of the segments used in keys.

use prefixes::keys::{QuarantineKey, RawKey, RunsKey};

use crate::error::{Error, Result};

fn key(k: std::result::Result<prefixes::ObjectKey, prefixes::KeyError>) -> Result<String> {
    k.map(prefixes::ObjectKey::into_string)
        .map_err(|e| Error::Invalid(e.to_string()))
}

/// Key of a raw Parquet part file:
/// `raw/{dataset}/run={run_id}/cd={partition}/part-NNNNN.parquet`.
pub fn raw_part(dataset: &str, run_id: &str, partition: &str, part: u32) -> Result<String> {
    key(prefixes::ingest::raw().write_key(
        &RawKey {
            dataset,
            run_id,
            partition,
        },
        &format!("part-{part:05}.parquet"),
    ))
}

/// Key of an ingest-stage quarantine file: `quarantine/{dataset}/run={run_id}/ingest/part-NNNNN.jsonl`.
pub fn quarantine_part(dataset: &str, run_id: &str, part: u32) -> Result<String> {
    key(prefixes::ingest::quarantine().write_key(
        &QuarantineKey { dataset, run_id },
        &format!("ingest/part-{part:05}.jsonl"),
    ))
}

/// Key of the run manifest as ingestion writes it: `runs/{dataset}/run={run_id}/manifest.json`.
pub fn run_manifest(dataset: &str, run_id: &str) -> Result<String> {
    key(prefixes::ingest::runs().write_key(&RunsKey { dataset, run_id }, "manifest.json"))
}

/// Key of a suspended run's checkpoint: `runs/{dataset}/run={run_id}/checkpoint.json`.
pub fn run_checkpoint(dataset: &str, run_id: &str) -> Result<String> {
    key(prefixes::ingest::runs().write_key(&RunsKey { dataset, run_id }, "checkpoint.json"))
}

/// Key of the run manifest as later layers read it (the `process` function's read handle).
pub fn run_manifest_for_reading(dataset: &str, run_id: &str) -> Result<String> {
    key(prefixes::process::runs().read_key(&RunsKey { dataset, run_id }, "manifest.json"))
}

/// True when `s` can be used verbatim as one key segment value (hive style `name=value`).
pub fn is_key_safe(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s != "."
        && s != ".."
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Check a run id or dataset id before it is put into a key.
pub fn check_segment(what: &str, s: &str) -> Result<()> {
    if is_key_safe(s) {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "{what} {s:?} must be 1-128 characters of A-Z a-z 0-9 - _ ."
        )))
    }
}

/// A fresh run id: UTC timestamp plus 8 random hex digits, e.g. `20261125T204012Z-3f9a0c1e`.
pub fn new_run_id() -> String {
    let now = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{now}-{}", &id[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_layout_contract() {
        assert_eq!(
            raw_part("la311", "r1", "7", 3).unwrap(),
            "raw/la311/run=r1/cd=7/part-00003.parquet"
        );
        assert_eq!(
            quarantine_part("la311", "r1", 0).unwrap(),
            "quarantine/la311/run=r1/ingest/part-00000.jsonl"
        );
        assert_eq!(
            run_manifest("la311", "r1").unwrap(),
            "runs/la311/run=r1/manifest.json"
        );
        assert_eq!(
            run_manifest_for_reading("la311", "r1").unwrap(),
            run_manifest("la311", "r1").unwrap()
        );
    }

    #[test]
    fn unsafe_segments_are_rejected() {
        assert!(is_key_safe("__missing__"));
        assert!(is_key_safe(new_run_id().as_str()));
        for bad in ["", "a/b", "..", "x y", "cd=1", "é"] {
            assert!(check_segment("run id", bad).is_err(), "{bad}");
        }
    }
}
