//! Where ingestion writes: the prefix handles its caller (the `ingest` function) was granted, and the keys
//! built from them (never formatted here); plus validation of the values used in keys and run ids.

use prefixes::access::{ReadWrite, Write};
use prefixes::keys::{self, QuarantineKey, RawKey, RunsKey, quarantine, raw, runs};
use prefixes::{CanRead, Prefix};

use crate::error::{Error, Result};

fn key(k: std::result::Result<prefixes::ObjectKey, prefixes::KeyError>) -> Result<String> {
    k.map(prefixes::ObjectKey::into_string)
        .map_err(|e| Error::Invalid(e.to_string()))
}

/// Ingestion's grants.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    /// Raw partitions.
    pub raw: Prefix<keys::Raw, Write>,
    /// Rows that could not be used.
    pub quarantine: Prefix<keys::Quarantine, Write>,
    /// The run manifest and the checkpoint (read back to continue a run).
    pub runs: Prefix<keys::Runs, ReadWrite>,
}

impl Locations {
    /// Key of a raw Parquet part file of one partition.
    pub fn raw_part(
        &self,
        dataset: &str,
        run_id: &str,
        partition: &str,
        part: u32,
    ) -> Result<String> {
        key(self.raw.write_key(
            &RawKey {
                dataset,
                run_id,
                partition,
            },
            &raw::Part { part },
        ))
    }

    /// Key of an ingest-stage quarantine file.
    pub fn quarantine_part(&self, dataset: &str, run_id: &str, part: u32) -> Result<String> {
        key(self.quarantine.write_key(
            &QuarantineKey { dataset, run_id },
            &quarantine::IngestPart { part },
        ))
    }

    /// Key of the run manifest.
    pub fn run_manifest(&self, dataset: &str, run_id: &str) -> Result<String> {
        key(self
            .runs
            .write_key(&RunsKey { dataset, run_id }, &runs::Manifest))
    }

    /// Key of a suspended run's checkpoint.
    pub fn run_checkpoint(&self, dataset: &str, run_id: &str) -> Result<String> {
        key(self
            .runs
            .write_key(&RunsKey { dataset, run_id }, &runs::Checkpoint))
    }
}

/// Key of the run manifest for a reader of `runs` (later layers, tests).
pub fn run_manifest_for_reading<A: CanRead>(
    runs: Prefix<keys::Runs, A>,
    dataset: &str,
    run_id: &str,
) -> Result<String> {
    key(runs.read_key(&RunsKey { dataset, run_id }, &runs::Manifest))
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

    fn loc() -> Locations {
        Locations {
            raw: prefixes::ingest::raw(),
            quarantine: prefixes::ingest::quarantine(),
            runs: prefixes::ingest::runs(),
        }
    }

    #[test]
    fn keys_follow_prefixes_yaml() {
        let l = loc();
        assert_eq!(
            l.raw_part("la311", "r1", "7", 3).unwrap(),
            "raw/la311/run=r1/cd=7/part-00003.parquet"
        );
        assert_eq!(
            l.quarantine_part("la311", "r1", 0).unwrap(),
            "quarantine/la311/run=r1/ingest/part-00000.jsonl"
        );
        assert_eq!(
            l.run_manifest("la311", "r1").unwrap(),
            "runs/la311/run=r1/manifest.json"
        );
        assert_eq!(
            run_manifest_for_reading(prefixes::process::runs(), "la311", "r1").unwrap(),
            l.run_manifest("la311", "r1").unwrap()
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
