//! Where the analysis reads and writes: the prefix handles its caller (the `process` function) was
//! granted, and the keys built from them (never formatted here).

use object_store::path::Path;
use prefixes::access::{Read, ReadWrite};
use prefixes::keys::{
    self, AssociationsKey, CanonicalKey, FeaturesKey, ProcessedKey, associations, canonical,
    features, processed,
};
use prefixes::{CanRead, KeyError, ObjectKey, Prefix};

/// Name of the processed weekly table (the `{table}` of the `processed` prefix).
pub const WEEKLY_TABLE: &str = "weekly_by_type";
/// Per (district, week) over every category.
pub const TOTALS_TABLE: &str = "weekly_total";
/// The weekly findings of each partition.
pub const FINDINGS_TABLE: &str = "findings";
/// Per (category, week) of the whole city, written by the city-wide pass under partition [`CITYWIDE`].
pub const CITYWIDE_TABLE: &str = "weekly_citywide";
/// The partition value of city-wide tables.
pub const CITYWIDE: &str = "all";

/// The analysis' grants.
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    /// Canonical rows of every year.
    pub canonical: Prefix<keys::Canonical, Read>,
    /// Analysis tables (the correlate layer reads every dataset's).
    pub processed: Prefix<keys::Processed, ReadWrite>,
    /// The district-week feature table.
    pub features: Prefix<keys::Features, ReadWrite>,
    /// The association tables of the correlate layer.
    pub associations: Prefix<keys::Associations, ReadWrite>,
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
        self.table(dataset, WEEKLY_TABLE, partition)
    }

    /// The key of processed table `table` of one partition (read or written).
    pub fn table(&self, dataset: &str, table: &str, partition: &str) -> Result<Path, KeyError> {
        let parts = ProcessedKey {
            dataset,
            table,
            partition,
        };
        path(
            self.processed
                .write_key(&parts, &processed::Part { part: 0 }),
        )
    }

    /// The feature table's file of one council district (`partition` as the runs name it, e.g. `07`).
    pub fn feature_part(&self, partition: &str) -> Result<Path, KeyError> {
        path(
            self.features
                .write_key(&FeaturesKey { partition }, &features::Part { part: 0 }),
        )
    }

    /// The folder of the whole feature table (for DuckDB: `<folder>*/*.parquet`).
    pub fn features_root(&self) -> Path {
        // The literal root may end inside the partition segment (`features/district_week/cd=`): keep its folders.
        let root = self.features.root().into_string();
        let folder = root.rfind('/').map_or("", |i| &root[..i]);
        Path::from(folder)
    }

    /// The partial association table a district job of a run's correlate layer writes.
    pub fn association_partial(
        &self,
        dataset: &str,
        run_id: &str,
        partition: &str,
    ) -> Result<Path, KeyError> {
        path(self.associations.write_key(
            &AssociationsKey { dataset, run_id },
            &associations::Partial { partition },
        ))
    }

    /// The run's association table, with q-values (written when the correlate layer fans in).
    pub fn association_table(&self, dataset: &str, run_id: &str) -> Result<Path, KeyError> {
        path(
            self.associations
                .write_key(&AssociationsKey { dataset, run_id }, &associations::Table),
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
            processed: prefixes::process::processed(),
            features: prefixes::process::features(),
            associations: prefixes::process::associations(),
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
