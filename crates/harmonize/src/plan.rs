//! Resolving an era's mapping against a concrete source header: which raw column feeds which canonical column.
//!
//! Also picks the era of a source (dataset id, then year, then best header match). Names match trimmed and
//! case-insensitively, in any order; a header may hold a subset of an era's columns as long as it has the
//! ones the era needs ([`Catalog::needs`]).

use std::collections::{BTreeMap, HashMap};

use chrono_tz::Tz;
use serde::Serialize;

use crate::catalog::{BBox, Catalog, ColumnType, Era, Lineage, Table};

/// A normalization table ready for lookups (keys trimmed and lower-cased).
#[derive(Debug, Clone)]
pub struct CompiledTable {
    pub name: String,
    pub strict: bool,
    values: HashMap<String, String>,
    strip_prefixes: Vec<String>,
    strip_suffixes: Vec<String>,
}

impl CompiledTable {
    pub fn new(name: &str, t: &Table) -> Self {
        CompiledTable {
            name: name.to_string(),
            strict: t.strict,
            values: t
                .values
                .iter()
                .map(|(k, v)| (k.trim().to_lowercase(), v.clone()))
                .collect(),
            strip_prefixes: t.strip_prefixes.iter().map(|s| s.to_lowercase()).collect(),
            strip_suffixes: t.strip_suffixes.iter().map(|s| s.to_lowercase()).collect(),
        }
    }

    /// The canonical value of a known source value.
    pub fn get(&self, value: &str) -> Option<&str> {
        let v = value.trim();
        // Short ASCII keys (nearly all) are lower-cased on the stack: no allocation per lookup.
        let mut buf = [0u8; 64];
        if v.len() <= buf.len() && v.is_ascii() {
            let b = &mut buf[..v.len()];
            b.copy_from_slice(v.as_bytes());
            b.make_ascii_lowercase();
            let key = std::str::from_utf8(b).expect("ASCII is UTF-8");
            return self.values.get(key).map(String::as_str);
        }
        self.values.get(&v.to_lowercase()).map(String::as_str)
    }

    /// `value` with the table's decorations (prefixes/suffixes) removed and whitespace collapsed.
    pub fn clean(&self, value: &str) -> String {
        let mut v = value.split_whitespace().collect::<Vec<_>>().join(" ");
        for p in &self.strip_prefixes {
            if v.to_lowercase().starts_with(p.as_str()) && v.len() > p.len() {
                v = v[p.len()..].trim().to_string();
            }
        }
        for s in &self.strip_suffixes {
            if v.to_lowercase().ends_with(s.as_str()) && v.len() > s.len() {
                v = v[..v.len() - s.len()].trim().to_string();
            }
        }
        v
    }
}

/// Where one canonical column's value comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Raw column at this index.
    Column(usize),
    /// A constant raw text (era default).
    Default(String),
    /// Not available in this era: null.
    Null,
    /// Filled from the run.
    Lineage(Lineage),
}

/// One canonical column, resolved.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub name: String,
    pub ty: ColumnType,
    pub required: bool,
    pub range: Option<[i64; 2]>,
    pub true_values: Vec<String>,
    pub false_values: Vec<String>,
    pub source: Source,
    /// Raw column name, for quarantine records.
    pub source_name: Option<String>,
    pub formats: Vec<String>,
    pub table: Option<CompiledTable>,
    /// Raw column whose value is the table key (e.g. NC code for the NC name).
    pub key: Option<usize>,
    /// Timestamp columns: raw column holding the time of day as `HHMM` (the date comes from `source`).
    pub time_of_day: Option<usize>,
}

/// The derived district of a plan (see `Catalog::districts`): column positions in `Plan::columns`.
#[derive(Debug, Clone)]
pub struct DistrictPlan {
    pub boundaries: std::sync::Arc<districts::Boundaries>,
    /// The timestamp whose local date picks the boundary set.
    pub date: usize,
    /// The derived district column.
    pub into: usize,
    /// The published district column.
    pub published: usize,
    /// The era has no source for the published column: it takes the derived value.
    pub fill_published: bool,
}

/// Lineage values of one partition.
#[derive(Debug, Clone)]
pub struct LineageValues {
    pub year: i16,
    pub dataset: String,
    pub run: String,
}

/// A catalog era resolved against one raw header.
#[derive(Debug, Clone)]
pub struct Plan {
    pub era: String,
    pub tz: Tz,
    pub bbox: BBox,
    pub columns: Vec<ColumnPlan>,
    pub header: Vec<String>,
    pub location: Option<usize>,
    pub lat: usize,
    pub lon: usize,
    /// Canonical columns whose mapped source column the header lacks (canonical -> source column): they
    /// are the mapping's default or null.
    pub missing: BTreeMap<String, String>,
    pub lineage: LineageValues,
    /// The district derived from the coordinates, when the catalog declares one.
    pub districts: Option<DistrictPlan>,
}

/// The mapping cannot be applied to this header.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PlanError {
    #[error("the district boundary sets could not be loaded: {0}")]
    NoBoundaries(String),
    #[error(
        "era {era}: source column '{column}' (for canonical '{canonical}') is not in the header; run `civic schema-drift` on this source"
    )]
    MissingColumn {
        era: String,
        column: String,
        canonical: String,
    },
    #[error("{0}")]
    NoEra(Box<NoEra>),
}

/// Why no era of a catalog fits a header: the columns none of them maps, and what each era lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoEra {
    pub dataset: String,
    pub header: Vec<String>,
    /// Header columns that no era maps or ignores (in header order).
    pub unmapped: Vec<String>,
    /// Each era with the source columns it needs that the header lacks.
    pub eras: Vec<EraMisfit>,
}

/// The needed source columns one era misses in a header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EraMisfit {
    pub era: String,
    /// `source column (canonical column)` for each needed column the header lacks.
    pub missing: Vec<String>,
}

impl std::fmt::Display for NoEra {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no era of the {} catalog matches the header ({} columns); columns no era maps: {}",
            self.dataset,
            self.header.len(),
            if self.unmapped.is_empty() {
                "none".to_string()
            } else {
                self.unmapped.join(", ")
            }
        )?;
        for e in &self.eras {
            write!(f, "; era {} lacks {}", e.era, e.missing.join(", "))?;
        }
        write!(
            f,
            "; run `civic schema-drift` on the source, or add an era to datasets/{}/canonical.yaml",
            self.dataset
        )
    }
}

fn find(header: &[String], name: &str) -> Option<usize> {
    header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name.trim()))
}

/// The source columns (`from` and `key`) of `era`'s mappings: (source, canonical, needed).
fn sources<'e>(catalog: &Catalog, era: &'e Era) -> Vec<(&'e str, &'e str, bool)> {
    let mut out = Vec::new();
    for (canon, m) in &era.columns {
        let needed = catalog.needs(&canon.value, m);
        for src in m.from.iter().chain(m.key.iter()) {
            out.push((src.as_str(), canon.value.as_str(), needed));
        }
    }
    out
}

/// How well `era` fits `header`: (every needed source present, present - missing). A needed source is
/// one of a required canonical column ([`Catalog::needs`]); the others may be absent.
pub fn header_fit(catalog: &Catalog, era: &Era, header: &[String]) -> (bool, i64) {
    let mut present = 0i64;
    let mut missing = 0i64;
    let mut complete = true;
    for (src, _, needed) in sources(catalog, era) {
        if find(header, src).is_some() {
            present += 1;
        } else {
            missing += 1;
            complete &= !needed;
        }
    }
    (complete, present - missing)
}

/// The era of a source: by dataset id, then year, then the best-fitting complete header match.
/// An era chosen by id or year that does not fit the header falls back to the header match. When no
/// era fits, the error names the header columns no era maps and what each era lacks.
pub fn choose_era<'c>(
    catalog: &'c Catalog,
    dataset_id: Option<&str>,
    year: Option<i32>,
    header: &[String],
) -> Result<&'c Era, PlanError> {
    let declared = dataset_id
        .and_then(|id| catalog.year_for_dataset_id(id).map(|(_, e)| e))
        .or_else(|| year.and_then(|y| catalog.era_for_year(y).map(|(e, _)| e)));
    if let Some(e) = declared
        && header_fit(catalog, e, header).0
    {
        return Ok(e);
    }
    catalog
        .eras
        .iter()
        .map(|e| (e, header_fit(catalog, e, header)))
        .filter(|(_, (complete, _))| *complete)
        .max_by_key(|(_, (_, score))| *score)
        .map(|(e, _)| e)
        .ok_or_else(|| PlanError::NoEra(Box::new(no_era(catalog, header))))
}

/// The report of a header that no era fits.
fn no_era(catalog: &Catalog, header: &[String]) -> NoEra {
    let known = |h: &str| {
        catalog.eras.iter().any(|e| {
            sources(catalog, e)
                .iter()
                .any(|(s, ..)| s.trim().eq_ignore_ascii_case(h.trim()))
                || e.location
                    .as_ref()
                    .is_some_and(|l| l.from.trim().eq_ignore_ascii_case(h.trim()))
                || e.ignore
                    .iter()
                    .any(|i| i.trim().eq_ignore_ascii_case(h.trim()))
        })
    };
    NoEra {
        dataset: catalog.dataset.clone(),
        header: header.to_vec(),
        unmapped: header.iter().filter(|h| !known(h)).cloned().collect(),
        eras: catalog
            .eras
            .iter()
            .map(|e| EraMisfit {
                era: e.name.value.clone(),
                missing: sources(catalog, e)
                    .into_iter()
                    .filter(|(s, _, needed)| *needed && find(header, s).is_none())
                    .map(|(s, c, _)| format!("{s} ({c})"))
                    .collect(),
            })
            .collect(),
    }
}

impl Plan {
    /// Resolve `era` against `header` (raw column names, without `_source_row`).
    pub fn new(
        catalog: &Catalog,
        era: &Era,
        header: &[String],
        lineage: LineageValues,
    ) -> Result<Plan, PlanError> {
        let era_name = era.name.value.clone();
        let mut columns = Vec::with_capacity(catalog.columns.len());
        let mut missing = BTreeMap::new();
        for col in &catalog.columns {
            let name = col.name.value.clone();
            let m = era.mapping(&name);
            let mut source_name = None;
            let mut key = None;
            let mut time_of_day = None;
            let source = match (col.lineage, m) {
                (Some(l), _) => Source::Lineage(l),
                (None, None) => Source::Null,
                (None, Some(m)) => {
                    let needed = catalog.needs(&name, m);
                    let idx = m.from.as_deref().and_then(|f| find(header, f));
                    if let (Some(from), None) = (&m.from, idx) {
                        if needed {
                            return Err(PlanError::MissingColumn {
                                era: era_name,
                                column: from.clone(),
                                canonical: name,
                            });
                        }
                        missing.insert(name.clone(), from.clone());
                    }
                    if let Some(k) = &m.key {
                        key = find(header, k);
                        if key.is_none() {
                            if needed {
                                return Err(PlanError::MissingColumn {
                                    era: era_name,
                                    column: k.clone(),
                                    canonical: name,
                                });
                            }
                            missing.entry(name.clone()).or_insert_with(|| k.clone());
                        }
                    }
                    if let Some(t) = &m.time_from {
                        time_of_day = find(header, t);
                        if time_of_day.is_none() && !m.optional {
                            return Err(PlanError::MissingColumn {
                                era: era_name,
                                column: t.clone(),
                                canonical: name,
                            });
                        }
                    }
                    source_name = idx.map(|i| header[i].clone());
                    match (idx, &m.default) {
                        (Some(i), _) => Source::Column(i),
                        (None, Some(d)) => Source::Default(d.clone()),
                        (None, None) => Source::Null,
                    }
                }
            };
            let m = m.cloned().unwrap_or_default();
            columns.push(ColumnPlan {
                name,
                ty: col.ty,
                required: col.required,
                range: col.range,
                true_values: col.true_values.iter().map(|v| v.to_lowercase()).collect(),
                false_values: col.false_values.iter().map(|v| v.to_lowercase()).collect(),
                source,
                source_name,
                formats: if col.ty == ColumnType::Timestamp {
                    catalog.formats(&m)
                } else {
                    Vec::new()
                },
                table: m
                    .table
                    .as_ref()
                    .map(|t| CompiledTable::new(&t.value, &catalog.tables[&t.value])),
                key,
                time_of_day,
            });
        }
        let pos = |n: &str| {
            columns
                .iter()
                .position(|c| c.name == n)
                .expect("validated geo column")
        };
        let districts = match (&catalog.districts, &catalog.boundaries) {
            (Some(d), Some(b)) => {
                let published = pos(&d.published.value);
                Some(DistrictPlan {
                    boundaries: b
                        .get()
                        .map_err(|e| PlanError::NoBoundaries(e.to_string()))?,
                    date: pos(&d.date_column.value),
                    into: pos(&d.into.value),
                    published,
                    fill_published: matches!(columns[published].source, Source::Null),
                })
            }
            (Some(d), None) => {
                return Err(PlanError::NoBoundaries(d.boundaries.value.clone()));
            }
            _ => None,
        };
        Ok(Plan {
            districts,
            era: era_name,
            tz: catalog.timezone.value.parse().expect("validated time zone"),
            bbox: catalog.geo.bbox,
            lat: pos(&catalog.geo.latitude.value),
            lon: pos(&catalog.geo.longitude.value),
            location: era.location.as_ref().and_then(|l| find(header, &l.from)),
            columns,
            header: header.to_vec(),
            missing,
            lineage,
        })
    }
}
