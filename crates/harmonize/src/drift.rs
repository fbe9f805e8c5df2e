//! Schema drift: does an era mapping of the catalog cover a source's header and sampled values?
//!
//! Pure over (catalog, header, sample rows); ingestion can store the serialized report in its run manifest.

use std::collections::BTreeMap;
use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::catalog::{Catalog, ColumnType, Era};
use crate::datetime;
use crate::plan::{CompiledTable, header_fit};
pub use crate::shape::{Shape, alnum, expected_shape_fits, shape_of};
pub use ingest_core::header::{HeaderChange, HeaderChangeKind};

/// How a header name differs from the mapped name it was matched to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenameKind {
    /// Only letter case differs (covered: matching is case-insensitive).
    Case,
    /// The same letters and digits with other separators (not covered).
    Separators,
    /// A similar name with a fitting value shape (not covered).
    Similar,
}

impl RenameKind {
    pub fn as_str(self) -> &'static str {
        match self {
            RenameKind::Case => "case",
            RenameKind::Separators => "separators",
            RenameKind::Similar => "similar",
        }
    }
}

/// A header column that looks like a renamed mapped column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rename {
    /// Name in the source header.
    pub source: String,
    /// Name in the era mapping.
    pub mapped: String,
    pub canonical: String,
    /// `case` (covered: matching is case-insensitive), `separators` or `similar` (not covered).
    pub kind: RenameKind,
    pub covered: bool,
    /// Normalized Levenshtein similarity of the alphanumeric, lower-cased names.
    pub similarity: f64,
    pub shape: Shape,
}

/// A header column the mapping does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewColumn {
    pub name: String,
    pub shape: Shape,
    pub examples: Vec<String>,
}

/// A mapped source column the header lacks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissingColumn {
    pub name: String,
    pub canonical: String,
    /// The transform fills it with the era's default or null (not a coverage failure): every mapped
    /// column but a required canonical column's (see `Catalog::needs`).
    pub optional: bool,
}

/// Sampled dates of a column that match none of the accepted formats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DateDrift {
    pub column: String,
    pub canonical: String,
    pub unparsed: u64,
    pub examples: Vec<String>,
    pub accepted_formats: Vec<String>,
}

/// Sampled values of a categorical column that its normalization table does not know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueDrift {
    pub column: String,
    pub canonical: String,
    pub table: String,
    /// The transform quarantines unknown values of strict tables (a coverage failure).
    pub strict: bool,
    pub values: BTreeMap<String, u64>,
}

/// The drift report of one source against one era of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftReport {
    pub dataset: String,
    pub era: String,
    pub sampled_rows: usize,
    /// Sampled records whose field count differs from the header's (malformed rows ingestion
    /// quarantines); their values are not judged.
    pub malformed_rows: usize,
    pub new_columns: Vec<NewColumn>,
    pub missing_columns: Vec<MissingColumn>,
    pub renamed: Vec<Rename>,
    pub ignored_columns: Vec<String>,
    pub unparsed_dates: Vec<DateDrift>,
    pub new_values: Vec<ValueDrift>,
    /// Columns ingestion keeps under another name than the source's: an unnamed column (`_index`,
    /// ignored by the mapping) or a repeated name (`Name__2`, a warning: the mapping reads the first).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub header_changes: Vec<HeaderChange>,
    /// The mapping covers the source: no new, uncovered renamed or non-optional missing columns, no
    /// repeated column name, every sampled date parses, and no value outside a strict table.
    pub covered: bool,
}

/// Header and up to `max_rows` records of a CSV source (short or long records are kept as they are).
pub fn sample_csv(
    input: impl Read,
    max_rows: usize,
) -> Result<(Vec<String>, Vec<Vec<String>>), csv::Error> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let header = r
        .headers()?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_string())
        .collect();
    let mut rows = Vec::new();
    for rec in r.records().take(max_rows) {
        rows.push(rec?.iter().map(String::from).collect());
    }
    Ok((header, rows))
}

/// The era to compare against: the declared one (dataset id, then year), else the best header fit.
pub fn era_for<'c>(
    catalog: &'c Catalog,
    header: &[String],
    dataset_id: Option<&str>,
    year: Option<i32>,
) -> Option<&'c Era> {
    dataset_id
        .and_then(|id| catalog.year_for_dataset_id(id).map(|(_, e)| e))
        .or_else(|| year.and_then(|y| catalog.era_for_year(y).map(|(e, _)| e)))
        .or_else(|| {
            catalog
                .eras
                .iter()
                .max_by_key(|e| header_fit(catalog, e, header))
        })
}

/// Drift of a source against the era it declares (dataset id, then year) or best fits: the entry point
/// for ingestion, which can store the serialized report in its run manifest.
/// The drift check ingestion runs on a source's header and first records (see
/// `ingest_core::run::DriftCheck`); its report is stored in the run manifest. None when the catalog has
/// no mapping for `dataset`.
pub fn ingest_check(dataset: &str) -> Option<ingest_core::run::DriftCheck> {
    let catalog = crate::builtin(dataset).ok()?;
    Some(std::sync::Arc::new(
        move |header: &[String],
              changes: &[HeaderChange],
              rows: &[Vec<String>],
              id: Option<&str>,
              year: Option<i32>| {
            era_for(&catalog, header, id, year)
                .map(|era| check_with_changes(&catalog, era, header, changes, rows))
                .and_then(|r| serde_json::to_value(r).ok())
        },
    ))
}

pub fn check_source(
    catalog: &Catalog,
    header: &[String],
    rows: &[Vec<String>],
    dataset_id: Option<&str>,
    year: Option<i32>,
) -> Option<DriftReport> {
    era_for(catalog, header, dataset_id, year).map(|era| check(catalog, era, header, rows))
}

/// Compare `header` and sampled `rows` with `era` of `catalog`.
pub fn check(catalog: &Catalog, era: &Era, header: &[String], rows: &[Vec<String>]) -> DriftReport {
    check_with_changes(catalog, era, header, &[], rows)
}

/// [`check`] of a header ingestion normalized (`ingest_core::header`): `changes` are its renamed
/// columns. An unnamed column is listed as ignored, a repeated one only under `header_changes`.
pub fn check_with_changes(
    catalog: &Catalog,
    era: &Era,
    header: &[String],
    changes: &[HeaderChange],
    rows: &[Vec<String>],
) -> DriftReport {
    let sampled_rows = rows.len();
    let rows: Vec<&Vec<String>> = rows.iter().filter(|r| r.len() == header.len()).collect();
    let malformed_rows = sampled_rows - rows.len();
    let tz = catalog.timezone.value.parse().expect("validated time zone");
    let is_timestamp =
        |canon: &str| catalog.column(canon).map(|c| c.ty) == Some(ColumnType::Timestamp);
    let mut all_formats: Vec<String> = Vec::new();
    for e in &catalog.eras {
        for (canon, m) in &e.columns {
            if is_timestamp(&canon.value) {
                for f in catalog.formats(m) {
                    if !all_formats.contains(&f) {
                        all_formats.push(f);
                    }
                }
            }
        }
    }
    let column_values = |i: usize| {
        rows.iter()
            .filter_map(move |r| r.get(i).map(String::as_str))
    };
    let shape = |i: usize| shape_of(column_values(i), catalog, &all_formats);

    // Mapped source columns: (name as mapped, canonical, optional, canonical type or None for location).
    let mut mapped: Vec<(String, String, bool, Option<ColumnType>)> = Vec::new();
    for (canon, m) in &era.columns {
        let ty = catalog.column(&canon.value).map(|c| c.ty);
        for src in m.from.iter().chain(m.key.iter()) {
            if !mapped.iter().any(|(n, ..)| n.eq_ignore_ascii_case(src)) {
                let optional = !catalog.needs(&canon.value, m);
                mapped.push((src.clone(), canon.value.clone(), optional, ty));
            }
        }
    }
    if let Some(l) = &era.location {
        mapped.push((l.from.clone(), "latitude/longitude".into(), true, None));
    }

    let mut matched_header = vec![false; header.len()];
    let mut matched_mapping = vec![false; mapped.len()];
    let mut renamed = Vec::new();
    let mut ignored_columns = Vec::new();
    // Columns ingestion named: unnamed ones carry nothing the mapping reads; repeated ones are reported
    // as header changes (never as new columns or rename candidates).
    for c in changes {
        if let Some(hi) = header.iter().position(|h| *h == c.raw) {
            matched_header[hi] = true;
            if c.kind == HeaderChangeKind::Unnamed {
                ignored_columns.push(c.raw.clone());
            }
        }
    }
    for (hi, h) in header.iter().enumerate() {
        if matched_header[hi] {
            continue;
        }
        if let Some(mi) = mapped
            .iter()
            .position(|(n, ..)| n.eq_ignore_ascii_case(h.trim()))
        {
            matched_header[hi] = true;
            matched_mapping[mi] = true;
            if mapped[mi].0 != h.trim() {
                renamed.push(Rename {
                    source: h.clone(),
                    mapped: mapped[mi].0.clone(),
                    canonical: mapped[mi].1.clone(),
                    kind: RenameKind::Case,
                    covered: true,
                    similarity: 1.0,
                    shape: shape(hi),
                });
            }
        } else if era.ignore.iter().any(|i| i.eq_ignore_ascii_case(h.trim())) {
            matched_header[hi] = true;
            ignored_columns.push(h.clone());
        }
    }
    // Rename candidates among the leftovers: same letters with other separators, or similar name + shape.
    for (hi, h) in header.iter().enumerate() {
        if matched_header[hi] {
            continue;
        }
        let hs = shape(hi);
        let best = mapped
            .iter()
            .enumerate()
            .filter(|(mi, _)| !matched_mapping[*mi])
            .map(|(mi, (n, _, _, ty))| {
                (
                    mi,
                    strsim::normalized_levenshtein(&alnum(h), &alnum(n)),
                    *ty,
                )
            })
            .filter(|(_, sim, ty)| *sim >= 0.75 && expected_shape_fits(*ty, hs))
            .max_by(|a, b| a.1.total_cmp(&b.1));
        if let Some((mi, sim, _)) = best {
            matched_header[hi] = true;
            matched_mapping[mi] = true;
            renamed.push(Rename {
                source: h.clone(),
                mapped: mapped[mi].0.clone(),
                canonical: mapped[mi].1.clone(),
                kind: if sim == 1.0 {
                    RenameKind::Separators
                } else {
                    RenameKind::Similar
                },
                covered: false,
                similarity: sim,
                shape: hs,
            });
        }
    }
    let new_columns: Vec<NewColumn> = header
        .iter()
        .enumerate()
        .filter(|(i, _)| !matched_header[*i])
        .map(|(i, h)| {
            let mut examples: Vec<String> = column_values(i)
                .filter(|v| !v.trim().is_empty())
                .map(String::from)
                .collect();
            examples.sort();
            examples.dedup();
            examples.truncate(5);
            NewColumn {
                name: h.clone(),
                shape: shape(i),
                examples,
            }
        })
        .collect();
    let missing_columns: Vec<MissingColumn> = mapped
        .iter()
        .enumerate()
        .filter(|(i, _)| !matched_mapping[*i])
        .map(|(_, (n, c, optional, _))| MissingColumn {
            name: n.clone(),
            canonical: c.clone(),
            optional: *optional,
        })
        .collect();

    // Values of columns present under their mapped name (case-insensitively).
    let index_of = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let mut unparsed_dates = Vec::new();
    let mut new_values = Vec::new();
    for (canon, m) in &era.columns {
        let Some(i) = m.from.as_deref().and_then(index_of) else {
            continue;
        };
        if is_timestamp(&canon.value) {
            let formats = catalog.formats(m);
            let bad: Vec<&str> = column_values(i)
                .map(str::trim)
                .filter(|v| !v.is_empty() && datetime::parse_any(tz, &formats, v).is_none())
                .collect();
            if !bad.is_empty() {
                let mut examples: Vec<String> = bad.iter().map(|s| s.to_string()).collect();
                examples.dedup();
                examples.truncate(5);
                unparsed_dates.push(DateDrift {
                    column: header[i].clone(),
                    canonical: canon.value.clone(),
                    unparsed: bad.len() as u64,
                    examples,
                    accepted_formats: formats,
                });
            }
        }
        if let (Some(t), None) = (&m.table, &m.key) {
            let table = CompiledTable::new(&t.value, &catalog.tables[&t.value]);
            let mut values = BTreeMap::new();
            for v in column_values(i)
                .map(str::trim)
                .filter(|v| !v.is_empty() && table.get(v).is_none())
            {
                *values.entry(v.to_string()).or_insert(0u64) += 1;
            }
            if !values.is_empty() {
                new_values.push(ValueDrift {
                    column: header[i].clone(),
                    canonical: canon.value.clone(),
                    table: t.value.clone(),
                    strict: table.strict,
                    values,
                });
            }
        }
    }
    let covered = new_columns.is_empty()
        && renamed.iter().all(|r| r.covered)
        && missing_columns.iter().all(|m| m.optional)
        && unparsed_dates.is_empty()
        && new_values.iter().all(|v| !v.strict)
        && changes
            .iter()
            .all(|c| c.kind != HeaderChangeKind::Duplicate);
    DriftReport {
        dataset: catalog.dataset.clone(),
        era: era.name.value.clone(),
        sampled_rows,
        malformed_rows,
        new_columns,
        missing_columns,
        renamed,
        ignored_columns,
        unparsed_dates,
        new_values,
        header_changes: changes.to_vec(),
        covered,
    }
}

impl DriftReport {
    /// A human-readable rendering for the CLI.
    pub fn render(&self) -> String {
        let mut s = format!(
            "schema drift: dataset {} vs era {} ({} sampled rows, {} malformed and not judged)\n",
            self.dataset, self.era, self.sampled_rows, self.malformed_rows
        );
        for c in &self.new_columns {
            s += &format!(
                "  NEW      {} ({:?}; e.g. {})\n",
                c.name,
                c.shape,
                c.examples.join(" | ")
            );
        }
        for m in &self.missing_columns {
            s += &format!(
                "  MISSING  {} (-> {}){}\n",
                m.name,
                m.canonical,
                if m.optional { " [optional]" } else { "" }
            );
        }
        for r in &self.renamed {
            let note = if r.covered {
                "covered: mapping is case-insensitive"
            } else {
                "NOT covered"
            };
            s += &format!(
                "  RENAMED  {} <- {} ({}, similarity {:.2}; {note})\n",
                r.source,
                r.mapped,
                r.kind.as_str(),
                r.similarity
            );
        }
        for c in &self.header_changes {
            s += &format!("  HEADER   {c}\n");
        }
        for c in &self.ignored_columns {
            s += &format!("  ignored  {c}\n");
        }
        for d in &self.unparsed_dates {
            s += &format!(
                "  DATES    {}: {} values match no accepted format, e.g. {} (accepted: {})\n",
                d.column,
                d.unparsed,
                d.examples.join(" | "),
                d.accepted_formats.join(" | ")
            );
        }
        for v in &self.new_values {
            let vals: Vec<String> = v.values.iter().map(|(k, n)| format!("{k:?}x{n}")).collect();
            s += &format!(
                "  VALUES   {} (table {}{}): {}\n",
                v.column,
                v.table,
                if v.strict { ", strict" } else { "" },
                vals.join(", ")
            );
        }
        s += if self.covered {
            "covered: yes\n"
        } else if self
            .header_changes
            .iter()
            .any(|c| c.kind == HeaderChangeKind::Duplicate)
        {
            "covered: NO (rename the source's repeated column, or update datasets/<dataset>/canonical.yaml)\n"
        } else {
            "covered: NO (update datasets/<dataset>/canonical.yaml)\n"
        };
        s
    }
}
