//! Where the analysis reads and writes: the prefix handles its caller (the `process` function) was
//! granted, and the keys built from them (never formatted here).

use object_store::path::Path;
use prefixes::access::{Read, Write};
use prefixes::keys::{self, CanonicalKey, ProcessedKey, canonical, processed};
use prefixes::{CanRead, KeyError, ObjectKey, Prefix};

/// Name of the processed weekly table (the `{table}` of the `processed` prefix).
pub const WEEKLY_TABLE: &str = "weekly_by_type";

/// The analysis' grants.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    /// Canonical rows of every year.
    pub canonical: Prefix<keys::Canonical, Read>,
    /// Analysis tables.
    pub processed: Prefix<keys::Processed, Write>,
}

fn path(key: Result<ObjectKey, KeyError>) -> Result<Path, KeyError> {
    key.map(|k| Path::from(k.into_string()))
}

impl Locations {
    /// The folder holding every canonical part of `dataset` (all years and partitions).
    pub fn canonical_of(&self, dataset: &str) -> Result<Path, KeyError> {
        path(self.canonical.list_head(&[dataset]))
    }

    /// Whether `key` is a canonical part file of `dataset`, and of `partition` when one is given.
    pub fn is_canonical_part(&self, key: &Path, dataset: &str, partition: Option<&str>) -> bool {
        self.canonical
            .parse_object::<canonical::Part>(key.as_ref())
            .is_some_and(|(k, _): (CanonicalKey<'_>, _)| {
                k.dataset == dataset && partition.is_none_or(|p| k.partition == p)
            })
    }

    /// The key the weekly table of one partition is written to.
    pub fn weekly_table(&self, dataset: &str, partition: &str) -> Result<Path, KeyError> {
        path(
            self.processed
                .write_key(&weekly(dataset, partition), &processed::Part { part: 0 }),
        )
    }
}

fn weekly<'a>(dataset: &'a str, partition: &'a str) -> ProcessedKey<'a> {
    ProcessedKey {
        dataset,
        table: WEEKLY_TABLE,
        partition,
    }
}

/// The key of the weekly table of one partition, for a reader of `processed` (the report, tests).
pub fn weekly_table_key<A: CanRead>(
    processed: Prefix<keys::Processed, A>,
    dataset: &str,
    partition: &str,
) -> Result<Path, KeyError> {
    path(processed.read_key(&weekly(dataset, partition), &processed::Part { part: 0 }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Locations {
        Locations {
            canonical: prefixes::process::canonical().into(),
            processed: prefixes::process::processed().into(),
        }
    }

    #[test]
    fn keys_follow_prefixes_yaml() {
        let l = loc();
        assert!(l.is_canonical_part(
            &Path::from("canonical/la311/year=2018/cd=7/part-00000.parquet"),
            "la311",
            Some("7")
        ));
        assert!(!l.is_canonical_part(
            &Path::from("canonical/la311/year=2018/cd=17/part-00000.parquet"),
            "la311",
            Some("7")
        ));
        assert!(!l.is_canonical_part(
            &Path::from("canonical/la311/year=2018/cd=7/notes.txt"),
            "la311",
            None
        ));
        assert_eq!(l.canonical_of("la311").unwrap().as_ref(), "canonical/la311");
        assert_eq!(
            l.weekly_table("la311", "7").unwrap().as_ref(),
            "processed/la311/weekly_by_type/cd=7/part-00000.parquet"
        );
        assert_eq!(
            weekly_table_key(prefixes::process::processed(), "la311", "7").unwrap(),
            l.weekly_table("la311", "7").unwrap()
        );
    }
}
