//! Per-partition (the contract's transform summary) and per-run transform reports (rows in = rows out +
//! rows quarantined, by reason).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What one partition's transform did: the transform job's summary ([`contract::TransformSummary`]).
pub use contract::TransformSummary as PartitionReport;

/// The transform report of a whole run (`runs/{dataset}/run={run}/transform-report.json`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub version: u32,
    pub dataset: String,
    pub run_id: String,
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_quarantined: u64,
    pub quarantined_by_reason: BTreeMap<String, u64>,
    pub partitions: Vec<PartitionReport>,
}

impl RunReport {
    /// Sum of the partition reports.
    pub fn from_partitions(dataset: &str, run_id: &str, partitions: Vec<PartitionReport>) -> Self {
        let mut r = RunReport {
            version: 1,
            dataset: dataset.into(),
            run_id: run_id.into(),
            ..Default::default()
        };
        for p in &partitions {
            r.rows_in += p.rows_in;
            r.rows_out += p.rows_out;
            r.rows_quarantined += p.rows_quarantined;
            for (k, v) in &p.quarantined_by_reason {
                *r.quarantined_by_reason.entry(k.clone()).or_default() += v;
            }
        }
        r.partitions = partitions;
        r
    }
}
