//! Where the transform reads and writes: the prefix handles its caller (the `process` function) was
//! granted, and the keys built from them (never formatted here).

use object_store::path::Path;
use prefixes::access::{Read, ReadWrite, Write};
use prefixes::keys::{self, CanonicalKey, QuarantineKey, RawKey, canonical, quarantine, raw};
use prefixes::{KeyError, ObjectKey, Prefix};

/// The transform's grants.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    /// Raw partitions ingestion wrote.
    pub raw: Prefix<keys::Raw, Read>,
    /// The run manifest (read through [`contract::manifest::read`]).
    pub runs: Prefix<keys::Runs, Read>,
    /// Canonical part files (written, and listed to remove a previous attempt's extra parts).
    pub canonical: Prefix<keys::Canonical, ReadWrite>,
    /// Rows the transform could not use.
    pub quarantine: Prefix<keys::Quarantine, Write>,
}

fn path(key: Result<ObjectKey, KeyError>) -> Result<Path, KeyError> {
    key.map(|k| Path::from(k.into_string()))
}

impl Locations {
    /// Canonical part file `part` of one partition and year.
    pub fn canonical_part(
        &self,
        dataset: &str,
        year: u16,
        partition: &str,
        part: u32,
    ) -> Result<Path, KeyError> {
        path(self.canonical.write_key(
            &CanonicalKey {
                dataset,
                year,
                partition,
            },
            &canonical::Part { part },
        ))
    }

    /// The folder of one partition's canonical part files in one year.
    pub fn canonical_partition_dir(
        &self,
        dataset: &str,
        year: u16,
        partition: &str,
    ) -> Result<Path, KeyError> {
        path(self.canonical.list_prefix(&CanonicalKey {
            dataset,
            year,
            partition,
        }))
    }

    /// The quarantine JSON lines of one partition's transform.
    pub fn transform_quarantine(
        &self,
        dataset: &str,
        run_id: &str,
        partition: &str,
    ) -> Result<Path, KeyError> {
        path(self.quarantine.write_key(
            &QuarantineKey { dataset, run_id },
            &quarantine::TransformPartition { partition },
        ))
    }

    /// Whether `key` (listed in a run manifest) is a raw part file of `dataset` / `run_id` / `partition`.
    pub fn is_raw_part_of(&self, key: &str, dataset: &str, run_id: &str, partition: &str) -> bool {
        self.raw
            .parse_object::<raw::Part>(key)
            .is_some_and(|(k, _)| {
                k == RawKey {
                    dataset,
                    run_id,
                    partition,
                }
            })
    }
}
