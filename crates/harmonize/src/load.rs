//! Loading and validating `canonical.yaml`: one parse, every problem reported with `file:line:col`.

use std::path::Path;

use serde_saphyr::Spanned;

use crate::catalog::{Catalog, ColumnType};

/// The built-in MyLA311 catalog text (the same file [`builtin`] reads; tests edit copies of it).
pub const LA311_CANONICAL_YAML: &str = include_str!("../../../datasets/la311/canonical.yaml");

/// A catalog that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{}", .issues.iter().map(|i| format!("{path}:{i}")).collect::<Vec<_>>().join("\n"))]
    Invalid { path: String, issues: Vec<Issue> },
    /// The dataset catalog has no such dataset, or the dataset no `canonical.yaml`.
    #[error("{0}")]
    UnknownDataset(String),
}

/// One semantic problem in a catalog, at a position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

impl std::fmt::Display for Issue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// The canonical catalog of `dataset` in the catalog compiled into this binary (`datasets/<id>/canonical.yaml`).
pub fn builtin(dataset: &str) -> Result<Catalog, CatalogError> {
    from_catalog(datasets::Catalog::builtin(), dataset)
}

/// The canonical catalog of `dataset` in `files` (the built-in catalog or a `--catalog DIR`); its
/// `dataset:` must name the folder.
pub fn from_catalog(files: &datasets::Catalog, dataset: &str) -> Result<Catalog, CatalogError> {
    let folder = files
        .dataset(dataset)
        .map_err(|e| CatalogError::UnknownDataset(e.to_string()))?;
    let file = folder
        .require("canonical.yaml", "the transform (harmonize)")
        .map_err(|e| CatalogError::UnknownDataset(e.to_string()))?;
    let mut catalog = parse_only(file.path, file.text)?;
    attach_boundaries(
        &mut catalog,
        std::borrow::Cow::Owned(files.clone()),
        file.path,
    )?;
    if catalog.dataset != dataset {
        return Err(CatalogError::Invalid {
            path: file.path.to_string(),
            issues: vec![Issue {
                line: 1,
                column: 1,
                message: format!(
                    "dataset {:?} does not match its folder {dataset:?}",
                    catalog.dataset
                ),
            }],
        });
    }
    Ok(catalog)
}

/// Read and validate a catalog file.
pub fn load(path: &Path) -> Result<Catalog, CatalogError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CatalogError::Read {
        path: shown.clone(),
        source,
    })?;
    parse(&shown, &text)
}

/// Parse and validate catalog text; `path` is only used in messages. Boundary sets come from the built-in
/// dataset catalog.
pub fn parse(path: &str, text: &str) -> Result<Catalog, CatalogError> {
    let mut catalog = parse_only(path, text)?;
    attach_boundaries(
        &mut catalog,
        std::borrow::Cow::Borrowed(datasets::Catalog::builtin()),
        path,
    )?;
    Ok(catalog)
}

/// The boundary sets `districts.boundaries` names in `files` (loaded when a plan first needs them); a name
/// without `<name>/boundaries.yaml` is an error at its line.
fn attach_boundaries(
    catalog: &mut Catalog,
    files: std::borrow::Cow<'static, datasets::Catalog>,
    path: &str,
) -> Result<(), CatalogError> {
    let Some(d) = &catalog.districts else {
        return Ok(());
    };
    let manifest = format!("{}/boundaries.yaml", d.boundaries.value);
    if let Err(e) = files.geo_file(&manifest) {
        return Err(CatalogError::Invalid {
            path: path.to_string(),
            issues: vec![issue(
                &d.boundaries,
                format!(
                    "districts.boundaries '{}': {}: {e}",
                    d.boundaries.value,
                    files.geo_path(&manifest)
                ),
            )],
        });
    }
    catalog.boundaries = Some(crate::catalog::LoadedBoundaries::new(
        &d.boundaries.value,
        files,
    ));
    Ok(())
}

fn parse_only(path: &str, text: &str) -> Result<Catalog, CatalogError> {
    let catalog: Catalog = serde_saphyr::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        CatalogError::Parse {
            path: path.to_string(),
            line,
            column,
            message: e.to_string(),
        }
    })?;
    let issues = validate(&catalog);
    if issues.is_empty() {
        Ok(catalog)
    } else {
        Err(CatalogError::Invalid {
            path: path.to_string(),
            issues,
        })
    }
}

fn issue<T>(at: &Spanned<T>, message: String) -> Issue {
    Issue {
        line: at.referenced.line(),
        column: at.referenced.column(),
        message,
    }
}

/// Every semantic problem of a parsed catalog (empty when valid).
pub fn validate(c: &Catalog) -> Vec<Issue> {
    let mut out = Vec::new();
    if c.timezone.value.parse::<chrono_tz::Tz>().is_err() {
        out.push(issue(
            &c.timezone,
            format!("unknown time zone '{}'", c.timezone.value),
        ));
    }
    let names: Vec<&str> = c.columns.iter().map(|c| c.name.value.as_str()).collect();
    for (i, col) in c.columns.iter().enumerate() {
        let name = &col.name.value;
        if names[..i].contains(&name.as_str()) {
            out.push(issue(
                &col.name,
                format!("duplicate canonical column '{name}'"),
            ));
        }
        if col.range.is_some() && col.ty != ColumnType::Int16 {
            out.push(issue(
                &col.name,
                format!("'{name}': range is only allowed on int16 columns"),
            ));
        }
        if col.ty == ColumnType::Bool && (col.true_values.is_empty() || col.false_values.is_empty())
        {
            out.push(issue(
                &col.name,
                format!("'{name}': bool columns need true_values and false_values"),
            ));
        }
    }
    for geo in [&c.geo.latitude, &c.geo.longitude] {
        match c.column(&geo.value) {
            Some(col) if col.ty == ColumnType::Float64 => {}
            Some(_) => out.push(issue(
                geo,
                format!("geo column '{}' must be float64", geo.value),
            )),
            None => out.push(issue(
                geo,
                format!("geo column '{}' is not a canonical column", geo.value),
            )),
        }
    }
    if let Some(d) = &c.districts {
        for (at, want, what) in [
            (
                &d.date_column,
                ColumnType::Timestamp,
                "districts.date_column",
            ),
            (&d.into, ColumnType::Int16, "districts.into"),
            (&d.published, ColumnType::Int16, "districts.published"),
        ] {
            match c.column(&at.value) {
                Some(col) if col.ty == want && col.lineage.is_none() => {}
                _ => out.push(issue(
                    at,
                    format!("{what} '{}' must be a {want:?} canonical column", at.value),
                )),
            }
        }
        if d.into.value == d.published.value {
            out.push(issue(
                &d.into,
                "districts.into and districts.published must be different columns".into(),
            ));
        }
        for era in &c.eras {
            if era.mapping(&d.into.value).is_some() {
                out.push(issue(
                    &era.name,
                    format!(
                        "era {}: '{}' is derived from the coordinates (districts.into); do not map it",
                        era.name.value, d.into.value
                    ),
                ));
            }
        }
    }
    match c.column(&c.year_column.value) {
        Some(col) if col.ty == ColumnType::Timestamp && col.required => {}
        _ => out.push(issue(
            &c.year_column,
            format!(
                "year_column '{}' must be a required timestamp canonical column",
                c.year_column.value
            ),
        )),
    }
    if let Some(f) = &c.timestamp_formats
        && f.value.is_empty()
    {
        out.push(issue(
            f,
            "timestamp_formats is empty: list at least one format, or leave it out for the defaults"
                .into(),
        ));
    }
    for era in &c.eras {
        let era_name = &era.name.value;
        for (canon, m) in &era.columns {
            let Some(col) = c.column(&canon.value) else {
                out.push(issue(
                    canon,
                    format!(
                        "era {era_name}: unknown canonical column '{}' (known: {})",
                        canon.value,
                        names.join(", ")
                    ),
                ));
                continue;
            };
            if col.lineage.is_some() {
                out.push(issue(
                    canon,
                    format!(
                        "era {era_name}: '{}' is a lineage column, filled from the run",
                        canon.value
                    ),
                ));
            }
            if m.from.is_none() && m.default.is_none() {
                out.push(issue(
                    canon,
                    format!(
                        "era {era_name}: '{}' needs `from` or `default`",
                        canon.value
                    ),
                ));
            }
            if col.ty != ColumnType::Timestamp && !m.formats.is_empty() {
                out.push(issue(
                    canon,
                    format!(
                        "era {era_name}: formats on non-timestamp column '{}'",
                        canon.value
                    ),
                ));
            }
            if m.key.is_some() && m.table.is_none() {
                out.push(issue(
                    canon,
                    format!("era {era_name}: '{}' has `key` but no `table`", canon.value),
                ));
            }
            if let Some(t) = &m.table
                && !c.tables.contains_key(&t.value)
            {
                let known: Vec<&str> = c.tables.keys().map(String::as_str).collect();
                out.push(issue(
                    t,
                    format!("unknown table '{}' (known: {})", t.value, known.join(", ")),
                ));
            }
        }
        for col in &c.columns {
            if col.required && col.lineage.is_none() && era.mapping(&col.name.value).is_none() {
                out.push(issue(
                    &era.name,
                    format!(
                        "era {era_name}: required column '{}' is not mapped",
                        col.name.value
                    ),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_la311_catalog_is_valid() {
        let c = builtin("la311").expect("built-in catalog loads");
        assert_eq!(c.dataset, "la311");
        assert!(c.era("A").is_some() && c.era("B").is_some());
    }

    #[test]
    fn timestamp_formats_replace_the_defaults_and_must_not_be_empty() {
        let c = builtin("la311").unwrap();
        let created = c.era("A").unwrap().mapping("created_at").unwrap();
        assert_eq!(c.formats(created), crate::datetime::default_formats());
        let own = LA311_CANONICAL_YAML.replacen(
            "year_column:",
            "timestamp_formats: [\"%d.%m.%Y %H:%M\"]\nyear_column:",
            1,
        );
        let c = parse("c.yaml", &own).unwrap();
        let created = c.era("A").unwrap().mapping("created_at").unwrap();
        assert_eq!(c.formats(created), ["%d.%m.%Y %H:%M"]);
        let empty =
            LA311_CANONICAL_YAML.replacen("year_column:", "timestamp_formats: []\nyear_column:", 1);
        let err = parse("c.yaml", &empty).unwrap_err().to_string();
        assert!(err.contains("timestamp_formats is empty"), "{err}");
    }

    #[test]
    fn boundary_sets_load_with_the_first_plan_not_with_the_catalog() {
        // Ingestion's drift check parses the catalog of every run; only a transform needs the geometry.
        let c = builtin("la311").unwrap();
        let b = c.boundaries.clone().expect("la311 derives districts");
        assert!(!b.is_loaded());
        let era = c.era("B").unwrap();
        let header: Vec<String> = era
            .source_columns()
            .into_iter()
            .map(|(src, _)| src)
            .collect();
        let lineage = crate::plan::LineageValues {
            year: 2023,
            dataset: "x".into(),
            run: "r".into(),
        };
        crate::plan::Plan::new(&c, era, &header, lineage).unwrap();
        assert!(
            b.is_loaded(),
            "a plan loads the sets (shared by the catalog's clones)"
        );
    }

    #[test]
    fn unknown_field_is_reported_with_position() {
        let bad = LA311_CANONICAL_YAML.replacen("timezone:", "timezone_typo: x\ntimezone:", 1);
        let err = parse("canonical.yaml", &bad).unwrap_err().to_string();
        assert!(err.starts_with("canonical.yaml:"), "{err}");
        assert!(err.contains("timezone_typo"), "{err}");
    }

    #[test]
    fn unknown_table_and_column_are_reported_with_line() {
        let bad = LA311_CANONICAL_YAML
            .replacen("table: agency", "table: agencies_typo", 1)
            .replacen("      sr_number:", "      sr_numbr:", 1);
        let err = parse("c.yaml", &bad).unwrap_err();
        let CatalogError::Invalid { issues, .. } = &err else {
            panic!("{err}")
        };
        assert!(
            issues
                .iter()
                .any(|i| i.message.contains("unknown table 'agencies_typo'") && i.line > 0),
            "{err}"
        );
        assert!(
            issues
                .iter()
                .any(|i| i.message.contains("unknown canonical column 'sr_numbr'")),
            "{err}"
        );
        assert!(
            issues.iter().any(|i| i
                .message
                .contains("required column 'sr_number' is not mapped")),
            "{err}"
        );
    }
}
