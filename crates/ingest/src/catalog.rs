//! Dataset catalog: typed model and loader of `datasets/<id>/dataset.yaml` (id, title, partition
//! column and its value rules, one source per year). Errors carry `file:line:col`.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::locations::is_key_safe;

/// One dataset as declared in `datasets/<id>/dataset.yaml`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Dataset id, equal to its directory name and used in every key.
    pub id: String,
    /// Human title.
    pub title: String,
    /// Socrata host serving this dataset's sources, e.g. `data.lacity.org`.
    #[serde(default)]
    pub socrata_domain: Option<String>,
    /// The column the raw layer is partitioned by.
    pub partition: PartitionSpec,
    /// Sources, one per year.
    pub sources: Vec<SourceEntry>,
}

/// The partition column, its header aliases and the rules for its values.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    /// Column name as in the export header (matched case-insensitively).
    pub column: String,
    /// Other accepted header names (e.g. SODA API field names).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// How a value is validated and normalised.
    pub values: PartitionValues,
    /// Partition that receives rows with an empty value.
    pub missing: String,
}

/// Validation of partition values.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum PartitionValues {
    /// An integer in `min..=max`, written without leading zeros ("01" and "1.0" become "1").
    IntegerRange { min: i64, max: i64 },
    /// Any trimmed text made only of key-safe characters (A-Z a-z 0-9 - _ .).
    Text,
}

/// One source of a dataset.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceEntry {
    /// Data year this source holds.
    pub year: i32,
    /// Kind of source.
    pub kind: SourceKind,
    /// Socrata 4x4 id (kind `socrata`).
    #[serde(default)]
    pub dataset_id: Option<String>,
    /// Direct URL (kind `https`).
    #[serde(default)]
    pub url: Option<String>,
}

/// Kinds of catalogued sources.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// SODA resource endpoint, paged by `:id`.
    Socrata,
    /// A CSV (optionally gzip) at an https URL.
    Https,
}

impl DatasetSpec {
    /// Parse and validate a catalog file's text; `path` is only used in messages.
    pub fn from_yaml(text: &str, path: &str) -> Result<Self> {
        let spec: DatasetSpec = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e
                .location()
                .map(|l| (l.line(), l.column()))
                .unwrap_or((0, 0));
            Error::Catalog {
                path: path.to_string(),
                line,
                column,
                message: e.to_string(),
            }
        })?;
        spec.validate(text, path)?;
        Ok(spec)
    }

    /// All semantic problems at once, each located at the first line mentioning the culprit.
    fn validate(&self, text: &str, path: &str) -> Result<()> {
        let mut problems: Vec<(String, String)> = Vec::new();
        if !is_key_safe(&self.id) {
            problems.push((self.id.clone(), format!("id {:?} is not key-safe", self.id)));
        }
        if !is_key_safe(&self.partition.missing) {
            problems.push((
                self.partition.missing.clone(),
                "partition.missing must be key-safe (A-Z a-z 0-9 - _ .)".into(),
            ));
        }
        if let PartitionValues::IntegerRange { min, max } = self.partition.values
            && min > max
        {
            problems.push(("min:".into(), format!("partition min {min} > max {max}")));
        }
        let mut years = std::collections::BTreeSet::new();
        for s in &self.sources {
            if !years.insert(s.year) {
                problems.push((s.year.to_string(), format!("year {} listed twice", s.year)));
            }
            match s.kind {
                SourceKind::Socrata => match &s.dataset_id {
                    Some(id) if is_socrata_id(id) => {}
                    Some(id) => problems.push((
                        id.clone(),
                        format!("dataset_id {id:?} is not a Socrata 4x4 id (like d4vt-q4t5)"),
                    )),
                    None => problems.push((
                        s.year.to_string(),
                        format!("year {}: kind socrata needs dataset_id", s.year),
                    )),
                },
                SourceKind::Https => {
                    if !s.url.as_deref().is_some_and(|u| u.starts_with("https://")) {
                        problems.push((
                            s.year.to_string(),
                            format!("year {}: kind https needs an https:// url", s.year),
                        ));
                    }
                }
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let (needle, _) = &problems[0];
        let (line, column) = locate(text, needle);
        let message = problems
            .iter()
            .map(|(n, m)| {
                let (l, c) = locate(text, n);
                format!("{m} (at {path}:{l}:{c})")
            })
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Catalog {
            path: path.to_string(),
            line,
            column,
            message,
        })
    }

    /// The catalogued source for `year`.
    pub fn source_for_year(&self, year: i32) -> Option<&SourceEntry> {
        self.sources.iter().find(|s| s.year == year)
    }

    /// True when a header name denotes the partition column (case-insensitive, aliases included).
    pub fn is_partition_header(&self, name: &str) -> bool {
        let name = name.trim();
        std::iter::once(&self.partition.column)
            .chain(&self.partition.aliases)
            .any(|c| c.eq_ignore_ascii_case(name))
    }
}

fn is_socrata_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 9
        && b[4] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// 1-based line and column of the first occurrence of `needle` in `text` (0:0 when absent).
fn locate(text: &str, needle: &str) -> (u64, u64) {
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = line.find(needle) {
            return (i as u64 + 1, c as u64 + 1);
        }
    }
    (0, 0)
}

/// The catalog directory: one folder per dataset holding `dataset.yaml`.
#[derive(Debug, Clone)]
pub struct Catalog {
    root: PathBuf,
}

impl Catalog {
    /// A catalog rooted at `root` (usually `<repo>/datasets`).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Catalog { root: root.into() }
    }

    /// The repository's own `datasets/` directory (for tests and the local CLI).
    pub fn in_repo() -> Self {
        Catalog::new(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets"))
    }

    /// Load and validate `<root>/<id>/dataset.yaml`; its `id` must equal the folder name.
    pub fn load(&self, id: &str) -> Result<DatasetSpec> {
        crate::locations::check_segment("dataset id", id)?;
        let path = self.root.join(id).join("dataset.yaml");
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        let spec = DatasetSpec::from_yaml(&text, &shown)?;
        if spec.id != id {
            let (line, column) = locate(&text, &spec.id);
            return Err(Error::Catalog {
                path: shown,
                line,
                column,
                message: format!("id {:?} does not match its folder {id:?}", spec.id),
            });
        }
        Ok(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id: t
title: Test
partition:
  column: CD
  aliases: [cd]
  values: { kind: integer_range, min: 1, max: 15 }
  missing: __missing__
sources:
  - { year: 2017, kind: socrata, dataset_id: d4vt-q4t5 }
"#;

    #[test]
    fn good_spec_parses() {
        let s = DatasetSpec::from_yaml(GOOD, "t.yaml").unwrap();
        assert_eq!(
            s.source_for_year(2017).unwrap().dataset_id.as_deref(),
            Some("d4vt-q4t5")
        );
        assert!(s.is_partition_header("cd") && s.is_partition_header("Cd"));
        assert!(!s.is_partition_header("CDMember"));
    }

    #[test]
    fn unknown_field_reports_file_line_col() {
        let text = GOOD.replace("title: Test", "title: Test\ncolour: red");
        let err = DatasetSpec::from_yaml(&text, "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:4:"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn semantic_problems_are_all_reported_with_lines() {
        let text = GOOD.replace(
            "d4vt-q4t5 }",
            "D4VT_Q4T5 }\n  - { year: 2017, kind: https }",
        );
        let err = DatasetSpec::from_yaml(&text, "t.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.yaml:10:"), "{err}");
        assert!(err.contains("not a Socrata 4x4 id"), "{err}");
        assert!(err.contains("year 2017 listed twice"), "{err}");
        assert!(err.contains("needs an https:// url"), "{err}");
    }

    #[test]
    fn repo_catalog_lists_every_year() {
        let spec = Catalog::in_repo().load("la311").unwrap();
        assert_eq!(spec.partition.column, "CD");
        let years: Vec<i32> = spec.sources.iter().map(|s| s.year).collect();
        assert_eq!(years, (2015..=2025).collect::<Vec<_>>());
        assert_eq!(
            spec.source_for_year(2023).unwrap().dataset_id.as_deref(),
            Some("4a4x-mna2")
        );
    }
}
