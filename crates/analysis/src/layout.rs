//! Every object key the analysis reads or writes (data bucket), in one place (to be switched to the generated
//! `prefixes` handles).
//!
//! - reads  `canonical/{dataset}/year={year}/cd={partition}/part-NNNNN.parquet`
//! - writes `processed/{dataset}/weekly_by_type/cd={partition}/part-00000.parquet`

use object_store::path::Path;

/// Name of the processed weekly table.
pub const WEEKLY_TABLE: &str = "weekly_by_type";

/// Prefix of a dataset's canonical data.
pub fn canonical_prefix(dataset: &str) -> Path {
    Path::from(format!("canonical/{dataset}"))
}

/// True when `key` is a canonical Parquet part of `partition` (any year).
pub fn is_canonical_part_of(key: &Path, partition: &str) -> bool {
    let needle = format!("/cd={partition}/");
    key.as_ref().contains(&needle) && key.as_ref().ends_with(".parquet")
}

/// Key of the processed weekly table of one partition.
pub fn weekly_table_key(dataset: &str, partition: &str) -> Path {
    Path::from(format!(
        "processed/{dataset}/{WEEKLY_TABLE}/cd={partition}/part-00000.parquet"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        assert!(is_canonical_part_of(
            &Path::from("canonical/la311/year=2018/cd=7/part-00000.parquet"),
            "7"
        ));
        assert!(!is_canonical_part_of(
            &Path::from("canonical/la311/year=2018/cd=17/part-00000.parquet"),
            "7"
        ));
        assert_eq!(
            weekly_table_key("la311", "7").as_ref(),
            "processed/la311/weekly_by_type/cd=7/part-00000.parquet"
        );
    }
}
