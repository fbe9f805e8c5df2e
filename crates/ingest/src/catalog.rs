//! Dataset catalog: typed model and loader of `datasets/<id>/dataset.yaml` (id, title, partition
//! column and its value rules, one source per year). Errors carry `file:line:col`.

use std::path::Path;

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
    /// The boundary sets of a `geo` partition rule, loaded from the catalog.
    #[serde(skip)]
    pub boundaries: Option<SpecBoundaries>,
}

/// Loaded boundary sets (compared by identity).
#[derive(Clone)]
pub struct SpecBoundaries(pub std::sync::Arc<districts::Boundaries>);

impl PartialEq for SpecBoundaries {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl std::fmt::Debug for SpecBoundaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.0.sets().iter().map(|s| &s.name))
            .finish()
    }
}

/// How rows are partitioned: by a published column (`column`, its aliases and value rule), or by the council
/// district their coordinates fall in on their date (`geo`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PartitionSpec {
    /// Column name as in the export header (matched case-insensitively); empty with `geo`.
    #[serde(default)]
    pub column: String,
    /// Other accepted header names (e.g. SODA API field names).
    #[serde(default)]
    pub aliases: Vec<String>,
    /// How a value is validated and normalised (with `column`).
    #[serde(default = "text_values")]
    pub values: PartitionValues,
    /// The district from the coordinates, by the boundary lines in force on the row's date.
    #[serde(default)]
    pub geo: Option<GeoPartition>,
    /// Partition that receives rows with an empty value (with `geo`: rows without usable coordinates).
    pub missing: String,
    /// With `geo`: partition that receives located rows inside no district (outside the city).
    #[serde(default)]
    pub outside: Option<String>,
}

fn text_values() -> PartitionValues {
    PartitionValues::Text
}

/// The `geo` partition rule: which header columns hold the coordinates and the date.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct GeoPartition {
    /// Latitude column (with `longitude`).
    #[serde(default)]
    pub latitude: Option<String>,
    /// Longitude column (with `latitude`).
    #[serde(default)]
    pub longitude: Option<String>,
    /// A point column, `(lat, lon)` or `POINT (lon lat)`, used when the file has no latitude/longitude
    /// columns or they are empty.
    #[serde(default)]
    pub location: Option<String>,
    /// The event date column (its leading date: `MM/DD/YYYY ...`, `M/D/YY ...` or ISO `YYYY-MM-DD...`).
    pub date: String,
    /// Boundary sets: `datasets/geo/<boundaries>/boundaries.yaml`.
    pub boundaries: String,
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
    /// Data year this source holds (the first of them when `until` is given).
    pub year: i32,
    /// Last year this source holds, for a source that covers several (LAPD's 2010-2019 file), or `present`
    /// for one that is still updated; a run for any of them ingests the whole source.
    #[serde(default)]
    pub until: Option<Until>,
    /// Kind of source.
    pub kind: SourceKind,
    /// Socrata 4x4 id (kind `socrata`).
    #[serde(default)]
    pub dataset_id: Option<String>,
    /// Direct URL (kind `https`).
    #[serde(default)]
    pub url: Option<String>,
}

/// The end of a multi-year source.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Until {
    /// The last year it holds.
    Year(i32),
    /// Still updated: it holds every later year.
    Present(Present),
}

/// The word `present`.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Present {
    Present,
}

impl SourceEntry {
    /// The last year this source holds (`i32::MAX` for `present`).
    pub fn last_year(&self) -> i32 {
        match self.until {
            None => self.year,
            Some(Until::Year(y)) => y,
            Some(Until::Present(_)) => i32::MAX,
        }
    }
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
    /// Parse and validate a catalog file's text; `path` is only used in messages. Boundary sets come from
    /// the built-in catalog.
    pub fn from_yaml(text: &str, path: &str) -> Result<Self> {
        Self::from_yaml_in(text, path, datasets::Catalog::builtin())
    }

    /// [`Self::from_yaml`] with the boundary sets of `files`.
    pub fn from_yaml_in(text: &str, path: &str, files: &datasets::Catalog) -> Result<Self> {
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
        let mut spec = spec;
        spec.attach_boundaries(files, text, path)?;
        Ok(spec)
    }

    /// Load the boundary sets a `geo` rule names from `files`.
    fn attach_boundaries(
        &mut self,
        files: &datasets::Catalog,
        text: &str,
        path: &str,
    ) -> Result<()> {
        let Some(geo) = &self.partition.geo else {
            return Ok(());
        };
        let b = files.boundaries(&geo.boundaries).map_err(|e| {
            let (line, column) = locate(text, &geo.boundaries);
            Error::Catalog {
                path: path.to_string(),
                line,
                column,
                message: format!("partition.geo.boundaries {:?}: {e}", geo.boundaries),
            }
        })?;
        self.boundaries = Some(SpecBoundaries(b));
        Ok(())
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
        match (&self.partition.geo, self.partition.column.is_empty()) {
            (Some(_), false) => problems.push((
                "column:".into(),
                "partition: give either `column` or `geo`, not both".into(),
            )),
            (None, true) => problems.push((
                "partition:".into(),
                "partition: give `column` (a published partition column) or `geo` (districts from coordinates)".into(),
            )),
            (Some(g), true) => {
                if g.latitude.is_some() != g.longitude.is_some() {
                    problems.push((
                        "geo:".into(),
                        "partition.geo: latitude and longitude go together".into(),
                    ));
                }
                if g.latitude.is_none() && g.location.is_none() {
                    problems.push((
                        "geo:".into(),
                        "partition.geo needs latitude/longitude or location".into(),
                    ));
                }
                match &self.partition.outside {
                    Some(o) if is_key_safe(o) && o != &self.partition.missing => {}
                    _ => problems.push((
                        "geo:".into(),
                        "partition.geo needs `outside`: a key-safe partition name other than `missing`".into(),
                    )),
                }
            }
            (None, false) => {
                if self.partition.outside.is_some() {
                    problems.push((
                        "outside:".into(),
                        "partition.outside only applies to `geo`".into(),
                    ));
                }
            }
        }
        if let PartitionValues::IntegerRange { min, max } = self.partition.values
            && min > max
        {
            problems.push(("min:".into(), format!("partition min {min} > max {max}")));
        }
        let mut years = std::collections::BTreeSet::new();
        for s in &self.sources {
            let last = s.last_year();
            if last < s.year {
                problems.push((
                    s.year.to_string(),
                    format!("year {}: until {last} is before it", s.year),
                ));
            }
            // Overlaps with earlier entries (years are bounded so `present` does not loop forever).
            for y in s.year..=last.min(s.year.max(2200)) {
                if !years.insert(y) {
                    problems.push((s.year.to_string(), format!("year {y} listed twice")));
                    break;
                }
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

    /// The catalogued source holding `year`.
    pub fn source_for_year(&self, year: i32) -> Option<&SourceEntry> {
        self.sources
            .iter()
            .find(|s| (s.year..=s.last_year()).contains(&year))
    }

    /// True when a header name denotes the partition column (case-insensitive, aliases included).
    pub fn is_partition_header(&self, name: &str) -> bool {
        let name = name.trim();
        if self.partition.column.is_empty() {
            return false;
        }
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

/// The dataset catalog: the repository's `datasets/` compiled in ([`Catalog::builtin`]) or another
/// directory of the same layout ([`Catalog::from_dir`], `civic ... --catalog DIR`).
#[derive(Debug, Clone)]
pub struct Catalog {
    files: std::borrow::Cow<'static, datasets::Catalog>,
}

impl Catalog {
    /// The repository's catalog, compiled into this binary (no file access at run time).
    pub fn builtin() -> Self {
        Catalog {
            files: std::borrow::Cow::Borrowed(datasets::Catalog::builtin()),
        }
    }

    /// The catalog in `dir` (one folder per dataset holding `dataset.yaml`).
    pub fn from_dir(dir: &Path) -> Result<Self> {
        let files = datasets::Catalog::from_dir(dir).map_err(|e| Error::Invalid(e.to_string()))?;
        Ok(Catalog {
            files: std::borrow::Cow::Owned(files),
        })
    }

    /// `dir` when given, else the built-in catalog.
    pub fn from_option(dir: Option<&Path>) -> Result<Self> {
        match dir {
            Some(d) => Self::from_dir(d),
            None => Ok(Self::builtin()),
        }
    }

    /// The files behind this catalog (for the other layers' models).
    pub fn files(&self) -> &datasets::Catalog {
        &self.files
    }

    /// Dataset ids, sorted.
    pub fn ids(&self) -> Vec<String> {
        self.files.ids().map(str::to_owned).collect()
    }

    /// Load and validate `<id>/dataset.yaml`; its `id` must equal the folder name.
    pub fn load(&self, id: &str) -> Result<DatasetSpec> {
        crate::locations::check_segment("dataset id", id)?;
        let dataset = self
            .files
            .dataset(id)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let file = dataset
            .require("dataset.yaml", "ingestion")
            .map_err(|e| Error::Invalid(e.to_string()))?;
        let (text, shown) = (file.text, file.path.to_string());
        let spec = DatasetSpec::from_yaml_in(text, &shown, &self.files)?;
        if spec.id != id {
            let (line, column) = locate(text, &spec.id);
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
        let spec = Catalog::builtin().load("la311").unwrap();
        assert_eq!(spec.partition.column, "CD");
        let years: Vec<i32> = spec.sources.iter().map(|s| s.year).collect();
        assert_eq!(years, (2015..=2026).collect::<Vec<_>>());
        assert_eq!(
            spec.source_for_year(2023).unwrap().dataset_id.as_deref(),
            Some("4a4x-mna2")
        );
    }
}
