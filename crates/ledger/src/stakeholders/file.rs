//! The maintained stakeholder file (`datasets/<dataset>/stakeholders.yaml`): typed loader with located errors.

use chrono::NaiveDate;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakeholderFile {
    /// File format version; must be 1.
    pub version: u32,
    /// Facts per district. Every field is optional and overrides what the data says.
    #[serde(default)]
    pub districts: Vec<DistrictEntry>,
}

/// Maintained facts of one council district.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DistrictEntry {
    /// Council district number.
    pub council_district: u8,
    /// Council member (overrides the member derived from the data).
    pub council_member: Option<String>,
    /// Date the member took office.
    pub member_since: Option<NaiveDate>,
    /// District office website.
    pub website: Option<String>,
    /// Office phone.
    pub phone: Option<String>,
    /// Office e-mail.
    pub email: Option<String>,
    /// Office postal address.
    pub office_address: Option<String>,
    /// Neighborhood council names (overrides the councils seen in the data).
    pub neighborhood_councils: Option<Vec<String>>,
}

/// Errors loading a catalog YAML file (the stakeholder file; `analysis` reuses it for its thresholds).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The YAML is malformed or does not fit the model (message carries line and column).
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The located parse error.
        message: String,
    },
    /// The content is well-formed but wrong.
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong, naming the entry.
        message: String,
    },
}

impl StakeholderFile {
    /// Reads and validates the file at `path`.
    pub fn load(path: &std::path::Path) -> Result<Self, FileError> {
        let text = std::fs::read_to_string(path).map_err(|source| FileError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Parses and validates `text`; `path` is used in messages.
    pub fn parse(path: &str, text: &str) -> Result<Self, FileError> {
        let file: StakeholderFile = serde_saphyr::from_str(text).map_err(|e| FileError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |message: String| FileError::Invalid {
            path: path.to_owned(),
            message,
        };
        if file.version != 1 {
            return Err(invalid(format!(
                "version {} is not supported (expected 1)",
                file.version
            )));
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, d) in file.districts.iter().enumerate() {
            if !(1..=15).contains(&d.council_district) {
                return Err(invalid(format!(
                    "districts[{i}].council_district: {} is not an LA council district (1..=15)",
                    d.council_district
                )));
            }
            if !seen.insert(d.council_district) {
                return Err(invalid(format!(
                    "districts[{i}].council_district: district {} is listed twice",
                    d.council_district
                )));
            }
        }
        Ok(file)
    }

    /// The entry of `district`, if any.
    pub fn district(&self, district: u8) -> Option<&DistrictEntry> {
        self.districts
            .iter()
            .find(|d| d.council_district == district)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_located() {
        let err = StakeholderFile::parse(
            "s.yaml",
            "version: 1\ndistricts:\n  - council_district: 1\n    mayor: x\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("s.yaml: "), "{err}");
        assert!(err.contains("mayor"), "{err}");
        assert!(err.contains('4'), "line number expected: {err}");
    }

    #[test]
    fn duplicates_and_range_are_rejected() {
        let dup = "version: 1\ndistricts:\n  - council_district: 1\n  - council_district: 1\n";
        assert!(
            StakeholderFile::parse("s.yaml", dup)
                .unwrap_err()
                .to_string()
                .contains("listed twice")
        );
        let range = "version: 1\ndistricts:\n  - council_district: 16\n";
        assert!(
            StakeholderFile::parse("s.yaml", range)
                .unwrap_err()
                .to_string()
                .contains("districts[0]")
        );
    }
}
