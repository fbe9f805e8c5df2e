//! Every object-store key the harmonizer reads or writes (the one place to switch to the `prefixes` crate).

use object_store::path::Path;

/// `runs/{dataset}/run={run_id}/manifest.json` (written by ingestion).
pub fn run_manifest(dataset: &str, run_id: &str) -> Path {
    Path::from(format!("runs/{dataset}/run={run_id}/manifest.json"))
}

/// `runs/{dataset}/run={run_id}/transform-report.json`.
pub fn transform_report(dataset: &str, run_id: &str) -> Path {
    Path::from(format!("runs/{dataset}/run={run_id}/transform-report.json"))
}

/// `canonical/{dataset}/year={year}/cd={partition}/part-NNNNN.parquet`.
pub fn canonical_part(dataset: &str, year: i32, partition: &str, part: usize) -> Path {
    Path::from(format!(
        "canonical/{dataset}/year={year}/cd={partition}/part-{part:05}.parquet"
    ))
}

/// `canonical/{dataset}/year={year}/cd={partition}` (the folder of one partition's part files).
pub fn canonical_partition_dir(dataset: &str, year: i32, partition: &str) -> Path {
    Path::from(format!("canonical/{dataset}/year={year}/cd={partition}"))
}

/// `quarantine/{dataset}/run={run_id}/transform/cd={partition}.jsonl`.
pub fn transform_quarantine(dataset: &str, run_id: &str, partition: &str) -> Path {
    Path::from(format!(
        "quarantine/{dataset}/run={run_id}/transform/cd={partition}.jsonl"
    ))
}

/// `raw/{dataset}/run={run_id}/cd={partition}/part-NNNNN.parquet` (used by tests that play ingestion).
pub fn raw_part(dataset: &str, run_id: &str, partition: &str, part: usize) -> Path {
    Path::from(format!(
        "raw/{dataset}/run={run_id}/cd={partition}/part-{part:05}.parquet"
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_follow_the_layout_contract() {
        assert_eq!(
            super::canonical_part("la311", 2017, "13", 0).as_ref(),
            "canonical/la311/year=2017/cd=13/part-00000.parquet"
        );
        assert_eq!(
            super::transform_quarantine("la311", "r1", "__missing__").as_ref(),
            "quarantine/la311/run=r1/transform/cd=__missing__.jsonl"
        );
        assert_eq!(
            super::run_manifest("la311", "r1").as_ref(),
            "runs/la311/run=r1/manifest.json"
        );
    }
}
