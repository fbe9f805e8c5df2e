//! The maintained stakeholder file (`datasets/<dataset>/stakeholders.yaml`, version 2): per district its office
//! facts and its list of terms (member, `member_since`, `member_until`, `source`), oldest first; typed loader with
//! located errors.

use chrono::NaiveDate;
use serde::Deserialize;

/// The file format version this loader reads.
pub const FILE_VERSION: u32 = 2;

/// The whole file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakeholderFile {
    /// File format version; must be [`FILE_VERSION`].
    pub version: u32,
    /// Every member in office from this day on is listed: a district's first term, when undated, was in office
    /// on it.
    pub terms_from: Option<NaiveDate>,
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
    /// The district's members, oldest first; the last one is the current member.
    #[serde(default)]
    pub terms: Vec<FileTerm>,
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

/// One member's term as the maintained file states it. Dates are given only where a source dates them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTerm {
    /// Member name, spelled as the data spells it (`CDMember`), so file and data terms meet.
    pub member: String,
    /// First day in office.
    pub member_since: Option<NaiveDate>,
    /// Last day in office (inclusive).
    pub member_until: Option<NaiveDate>,
    /// Where the dates (or the term) come from.
    pub source: Option<String>,
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

/// Only the version, read before the whole model so an old file gets a message about its version.
#[derive(Deserialize)]
struct VersionOnly {
    version: u32,
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
        let parse_err = |e: serde_saphyr::Error| FileError::Parse {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let invalid = |message: String| FileError::Invalid {
            path: path.to_owned(),
            message,
        };
        let VersionOnly { version } = serde_saphyr::from_str(text).map_err(parse_err)?;
        if version != FILE_VERSION {
            return Err(invalid(format!(
                "version {version} is not supported (expected {FILE_VERSION}: each district lists its \
                 `terms`, oldest first, each with `member` and, where a source dates them, `member_since`, \
                 `member_until` and `source`; see datasets/la311/stakeholders.yaml)"
            )));
        }
        let file: StakeholderFile = serde_saphyr::from_str(text).map_err(parse_err)?;
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
            check_terms(&d.terms).map_err(|(j, field, message)| {
                invalid(format!(
                    "districts[{i}].terms[{j}].{field} (district {}): {message}",
                    d.council_district
                ))
            })?;
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

/// Each term names a member, starts no later than it ends, and starts after every date of the terms before it.
fn check_terms(terms: &[FileTerm]) -> Result<(), (usize, &'static str, String)> {
    let mut latest: Option<(NaiveDate, usize)> = None;
    for (j, t) in terms.iter().enumerate() {
        if t.member.trim().is_empty() {
            return Err((j, "member", "is empty".into()));
        }
        if let (Some(since), Some(until)) = (t.member_since, t.member_until)
            && until < since
        {
            return Err((
                j,
                "member_until",
                format!("{until} is before member_since {since}"),
            ));
        }
        for (field, day) in [
            ("member_since", t.member_since),
            ("member_until", t.member_until),
        ] {
            let Some(day) = day else { continue };
            if let Some((before, k)) = latest
                && day <= before
            {
                return Err((
                    j,
                    field,
                    format!(
                        "{day} is not after {before} of terms[{k}] ({}): terms are listed oldest first",
                        terms[k].member
                    ),
                ));
            }
        }
        if let Some(last) = t.member_until.or(t.member_since) {
            latest = Some((last, j));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        StakeholderFile::parse("s.yaml", text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn unknown_fields_are_located() {
        let e = err("version: 2\ndistricts:\n  - council_district: 1\n    mayor: x\n");
        assert!(e.starts_with("s.yaml: "), "{e}");
        assert!(e.contains("mayor"), "{e}");
        assert!(e.contains('4'), "line number expected: {e}");
    }

    #[test]
    fn duplicates_and_range_are_rejected() {
        let dup = "version: 2\ndistricts:\n  - council_district: 1\n  - council_district: 1\n";
        assert!(err(dup).contains("listed twice"));
        let range = "version: 2\ndistricts:\n  - council_district: 16\n";
        assert!(err(range).contains("districts[0]"));
    }

    #[test]
    fn version_1_files_are_told_what_changed() {
        let e = err("version: 1\ndistricts:\n  - council_district: 1\n    council_member: X\n");
        assert!(
            e.starts_with("s.yaml: version 1 is not supported (expected 2"),
            "{e}"
        );
        assert!(e.contains("terms"), "{e}");
    }

    #[test]
    fn terms_parse_in_order_with_optional_dates() {
        let f = StakeholderFile::parse(
            "s.yaml",
            "version: 2\ndistricts:\n  - council_district: 12\n    terms:\n      - member: A\n        member_until: 2018-12-31\n        source: paper\n      - member: B\n      - member: C\n        member_since: 2019-08-30\n",
        )
        .unwrap();
        let terms = &f.district(12).unwrap().terms;
        assert_eq!(terms.len(), 3);
        assert_eq!(terms[0].member_until, NaiveDate::from_ymd_opt(2018, 12, 31));
        assert_eq!(terms[0].source.as_deref(), Some("paper"));
        assert_eq!((terms[1].member_since, terms[1].member_until), (None, None));
    }

    #[test]
    fn terms_out_of_order_or_reversed_are_named() {
        let reversed = "version: 2\ndistricts:\n  - council_district: 3\n    terms:\n      - member: A\n        member_since: 2020-01-02\n        member_until: 2020-01-01\n";
        assert_eq!(
            err(reversed),
            "s.yaml: districts[0].terms[0].member_until (district 3): 2020-01-01 is before member_since 2020-01-02"
        );
        let order = "version: 2\ndistricts:\n  - council_district: 3\n    terms:\n      - member: A\n        member_until: 2020-01-01\n      - member: B\n        member_since: 2019-06-01\n";
        assert_eq!(
            err(order),
            "s.yaml: districts[0].terms[1].member_since (district 3): 2019-06-01 is not after 2020-01-01 of terms[0] (A): terms are listed oldest first"
        );
        let empty =
            "version: 2\ndistricts:\n  - council_district: 3\n    terms:\n      - member: ' '\n";
        assert!(err(empty).contains("terms[0].member (district 3): is empty"));
    }
}
