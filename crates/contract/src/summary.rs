//! Job summaries: what a layer runner records for each done job (the `summary` of its job record, carried
//! into the layer report). The transform and analyze runners write these types; readers read them back as
//! the same types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A job summary that is not of the expected type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("layer {layer}, job {job}: the summary is not a {kind}: {reason}")]
pub struct SummaryError {
    pub layer: String,
    pub job: String,
    pub kind: &'static str,
    pub reason: String,
}

/// What one partition's transform did (rows in = rows out + rows quarantined, by reason).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransformSummary {
    pub dataset: String,
    pub run_id: String,
    pub partition: String,
    /// Catalog era used for the mapping.
    pub era: String,
    /// Mapped columns the source lacks (canonical column -> source column), filled with the era's
    /// default or null: a file re-saved with a subset of the era's columns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub missing_columns: BTreeMap<String, String>,
    /// Source year of the canonical `year=` partition (None when the partition produced no row and
    /// the manifest has no year).
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
    /// The canonical part files written.
    pub canonical_keys: Vec<String>,
    /// Quarantine JSON lines of this partition (None when no row was quarantined).
    pub quarantine_key: Option<String>,
    /// The district derived from the coordinates, against the published one (None when the dataset derives none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub districts: Option<DistrictAgreement>,
}

/// How the district derived from the coordinates compares with the published district, over the rows written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictAgreement {
    /// Rows with usable coordinates inside a district (a derived district).
    pub derived: u64,
    /// Rows with coordinates inside no district (outside the city).
    pub outside: u64,
    /// Rows without usable coordinates.
    pub unlocated: u64,
    /// Rows with both a published and a derived district.
    pub compared: u64,
    /// Of those, rows where the two agree.
    pub agreed: u64,
    /// Rows whose district column is the derived one because the source publishes none.
    pub filled: u64,
}

impl DistrictAgreement {
    /// The share of compared rows that agree (None when nothing was compared).
    pub fn rate(&self) -> Option<f64> {
        (self.compared > 0).then(|| self.agreed as f64 / self.compared as f64)
    }

    /// Add another partition's counts.
    pub fn add(&mut self, o: &DistrictAgreement) {
        self.derived += o.derived;
        self.outside += o.outside;
        self.unlocated += o.unlocated;
        self.compared += o.compared;
        self.agreed += o.agreed;
        self.filled += o.filled;
    }
}

impl TransformSummary {
    /// Whether the counts add up.
    pub fn balanced(&self) -> bool {
        self.rows_in == self.rows_out + self.rows_quarantined
            && self.quarantined_by_reason.values().sum::<u64>() == self.rows_quarantined
    }
}

/// Rows an analyze job read, and how many it could use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeRows {
    /// Canonical rows read.
    pub rows: u64,
    /// Rows with a district and a creation time.
    pub used: u64,
    pub without_district: u64,
    pub without_created: u64,
}

/// What one partition's analysis did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzeSummary {
    pub rows: AnalyzeRows,
    /// Rows of the weekly table written.
    pub weekly_rows: usize,
    /// Findings of the partition.
    pub findings: usize,
    /// Ledger events appended, already present (same finding), and refused (same id, other finding).
    pub events_created: usize,
    pub events_duplicate: usize,
    pub events_conflicting: usize,
    /// The weekly table written.
    pub table_key: Option<String>,
}
