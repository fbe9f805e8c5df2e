//! Per-partition and per-run transform reports (rows in = rows out + rows quarantined, by reason).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What one partition's transform did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionReport {
    pub dataset: String,
    pub run_id: String,
    pub partition: String,
    /// Catalog era used for the mapping.
    pub era: String,
    /// Source year written to `canonical/.../year=` (None when the partition produced no row and the
    /// manifest has no year).
    pub year: Option<i32>,
    /// The year came from the rows' `year_column` because the manifest names no year or known dataset id.
    pub year_inferred: bool,
    pub rows_in: u64,
    pub rows_out: u64,
    pub rows_quarantined: u64,
    /// Quarantined rows by the reason of their first problem (sums to `rows_quarantined`).
    pub quarantined_by_reason: BTreeMap<String, u64>,
    /// Quarantined rows by the canonical column of their first problem.
    pub quarantined_by_column: BTreeMap<String, u64>,
    /// Values changed for a stated reason (e.g. coordinates given lon-first and un-swapped).
    pub corrections: BTreeMap<String, u64>,
    pub canonical_keys: Vec<String>,
    /// Quarantine JSON lines of this partition (None when no row was quarantined).
    pub quarantine_key: Option<String>,
}

impl PartitionReport {
    /// Whether the counts add up.
    pub fn balanced(&self) -> bool {
        self.rows_in == self.rows_out + self.rows_quarantined
            && self.quarantined_by_reason.values().sum::<u64>() == self.rows_quarantined
    }
}

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
