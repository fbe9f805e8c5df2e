//! The analysis thresholds (`datasets/<dataset>/analysis.yaml`): typed loader with located errors.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalysisConfig {
    /// File format version; must be 1.
    pub version: u32,
    /// Which canonical columns are the event time, the category and the close time.
    pub columns: Columns,
    /// Trailing baseline of the weekly comparison.
    pub baseline: Baseline,
    /// Weekly spike and drop detection.
    pub spike: Spike,
    /// Time to close far above the city-wide median.
    pub slow_close: SlowClose,
}

/// The canonical columns the analysis reads, by role.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// The event timestamp that places a row in its ISO week (`created_at`, `occurred_at`, `issued_at`).
    pub time: String,
    /// The text column whose values are compared week by week (request type, crime group, permit type).
    pub category: String,
    /// The timestamp at which an event was closed; without one, no time-to-close and no slow-close findings.
    #[serde(default)]
    pub closed: Option<String>,
}

impl Columns {
    /// The canonical column behind each of [`crate::job::COLUMNS`], in that order (None: the dataset has none).
    pub fn sources(&self) -> [Option<String>; 4] {
        [
            Some("council_district".to_string()),
            Some(self.category.clone()),
            Some(self.time.clone()),
            self.closed.clone(),
        ]
    }

    /// `batch` with its role columns under the aggregation's names (an all-null close time when the dataset
    /// has none); other columns pass through.
    pub fn rename(
        &self,
        batch: &arrow::record_batch::RecordBatch,
    ) -> Result<arrow::record_batch::RecordBatch, crate::aggregate::AggregateError> {
        use arrow::array::{ArrayRef, new_null_array};
        use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
        use std::sync::Arc;
        let sources = self.sources();
        let mut fields: Vec<Field> = Vec::new();
        let mut cols: Vec<ArrayRef> = Vec::new();
        for (target, source) in crate::job::COLUMNS.iter().zip(sources.iter()) {
            match source.as_deref().and_then(|s| batch.column_by_name(s)) {
                Some(col) => {
                    fields.push(Field::new(*target, col.data_type().clone(), true));
                    cols.push(col.clone());
                }
                None if source.is_none() => {
                    let ty = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
                    fields.push(Field::new(*target, ty.clone(), true));
                    cols.push(new_null_array(&ty, batch.num_rows()));
                }
                None => {
                    let role = match *target {
                        "request_type" => "category (columns.category)",
                        "created_at" => "event time (columns.time)",
                        "closed_at" => "close time (columns.closed)",
                        _ => "district",
                    };
                    return Err(crate::aggregate::AggregateError::MissingRoleColumn {
                        role,
                        column: source.clone().unwrap_or_default(),
                    });
                }
            }
        }
        let schema = batch.schema();
        for (i, f) in schema.fields().iter().enumerate() {
            if !crate::job::COLUMNS.contains(&f.name().as_str())
                && !sources
                    .iter()
                    .any(|s| s.as_deref() == Some(f.name().as_str()))
            {
                fields.push(f.as_ref().clone());
                cols.push(batch.column(i).clone());
            }
        }
        arrow::record_batch::RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
            .map_err(|e| crate::aggregate::AggregateError::Arrow(e.to_string()))
    }
}

/// Trailing baseline window.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Fewest trailing weeks needed before a week is judged.
    pub min_weeks: usize,
    /// Most trailing weeks used.
    pub max_weeks: usize,
}

/// Weekly count departures.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spike {
    /// Robust z-score from which a departure is a warning.
    pub z_warning: f64,
    /// Robust z-score from which a departure is critical.
    pub z_critical: f64,
    /// Lower bound of the MAD (avoids infinite scores on flat baselines).
    pub mad_floor: f64,
    /// The week must also be at least this factor above (or below) the baseline median.
    pub min_ratio: f64,
    /// Fewest requests in a spike week, and smallest baseline median for a drop.
    pub min_count: f64,
}

/// Slow-close comparison.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlowClose {
    /// District median / city-wide median from which it is a warning.
    pub ratio_warning: f64,
    /// ... and critical.
    pub ratio_critical: f64,
    /// Fewest closed requests of the district and type.
    pub min_closed: u64,
    /// Smallest city-wide median (hours) compared with.
    pub min_city_median_hours: f64,
}

/// Errors loading the file: the same shape as every located YAML file of the catalog
/// (I/O, parse with line and column, invalid values naming the field).
pub use ledger::stakeholders::file::FileError as ConfigError;

impl AnalysisConfig {
    /// Reads and validates the file at `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// The `analysis.yaml` of `dataset` in `files` (the built-in catalog or a `--catalog DIR`).
    pub fn from_catalog(files: &datasets::Catalog, dataset: &str) -> Result<Self, ConfigError> {
        let missing = |e: datasets::Error| ConfigError::Invalid {
            path: format!("datasets/{dataset}/analysis.yaml"),
            message: e.to_string(),
        };
        let file = files
            .dataset(dataset)
            .map_err(missing)?
            .require("analysis.yaml", "the analyze layer")
            .map_err(missing)?;
        Self::parse(file.path, file.text)
    }

    /// Parses and validates `text`; `path` names it in messages.
    pub fn parse(path: &str, text: &str) -> Result<Self, ConfigError> {
        let config: AnalysisConfig =
            serde_saphyr::from_str(text).map_err(|e| ConfigError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            })?;
        let problems = config.problems();
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::Invalid {
                path: path.to_owned(),
                message: problems.join("; "),
            })
        }
    }

    fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.version != 1 {
            p.push(format!(
                "version: {} is not supported (expected 1)",
                self.version
            ));
        }
        if self.baseline.min_weeks < 3 || self.baseline.max_weeks < self.baseline.min_weeks {
            p.push("baseline: need 3 <= min_weeks <= max_weeks".into());
        }
        if !(self.spike.z_warning > 0.0 && self.spike.z_critical >= self.spike.z_warning) {
            p.push("spike: need 0 < z_warning <= z_critical".into());
        }
        if !is_at_least(self.spike.mad_floor, f64::MIN_POSITIVE) {
            p.push("spike.mad_floor: must be > 0".into());
        }
        if !is_at_least(self.spike.min_ratio, 1.0) {
            p.push("spike.min_ratio: must be >= 1".into());
        }
        if !(self.slow_close.ratio_warning > 1.0
            && self.slow_close.ratio_critical >= self.slow_close.ratio_warning)
        {
            p.push("slow_close: need 1 < ratio_warning <= ratio_critical".into());
        }
        p
    }
}

/// `x >= min`, false for NaN.
fn is_at_least(x: f64, min: f64) -> bool {
    x >= min
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_file_loads() {
        let config = AnalysisConfig::from_catalog(datasets::Catalog::builtin(), "la311").unwrap();
        assert_eq!(config.columns.time, "created_at");
        assert_eq!(
            (config.baseline.min_weeks, config.baseline.max_weeks),
            (8, 12)
        );
    }

    #[test]
    fn bad_files_are_reported_with_place() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../datasets/la311/analysis.yaml");
        let good = std::fs::read_to_string(path).unwrap();
        let unknown = good.replace("  z_critical: 6.0", "  z_critical: 6.0\n  z_extreme: 9");
        let err = AnalysisConfig::parse("a.yaml", &unknown)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("a.yaml: ") && err.contains("z_extreme"),
            "{err}"
        );
        let inconsistent = good.replace("max_weeks: 12", "max_weeks: 4");
        let err = AnalysisConfig::parse("a.yaml", &inconsistent)
            .unwrap_err()
            .to_string();
        assert!(err.contains("baseline"), "{err}");
    }
}
