//! The typed model of `datasets/<dataset>/canonical.yaml`: canonical columns, tables and per-era mappings.
//!
//! Parsing lives in [`crate::load`]; this module only declares the shapes (all `deny_unknown_fields`).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

/// The whole canonical catalog of one dataset.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalog {
    /// Format version of the file (only 1 exists).
    pub version: u32,
    /// Dataset id, e.g. `la311`.
    pub dataset: String,
    /// IANA time zone the source writes local timestamps in.
    pub timezone: Spanned<String>,
    /// Which canonical columns hold the coordinates, and the box they must fall in.
    pub geo: Geo,
    /// The council district derived from the coordinates, by the boundary lines in force on each row's date.
    #[serde(default)]
    pub districts: Option<Districts>,
    /// Timestamp column whose local year places a partition under `year=` when the run manifest
    /// names neither a year nor a known dataset id (e.g. a plain file ingest).
    pub year_column: Spanned<String>,
    /// Formats (chrono syntax, tried in order) of every timestamp mapping that lists none; without this
    /// list, [`crate::datetime::DEFAULT_FORMATS`].
    #[serde(default)]
    pub timestamp_formats: Option<Spanned<Vec<String>>>,
    /// Canonical columns, in Arrow schema order.
    pub columns: Vec<CanonicalColumn>,
    /// Value normalization tables, referenced by name from era mappings.
    #[serde(default)]
    pub tables: IndexMap<String, Table>,
    /// Source schema eras, oldest first.
    pub eras: Vec<Era>,
    /// The boundary sets named by `districts.boundaries`, loaded from the dataset catalog.
    #[serde(skip)]
    pub boundaries: Option<LoadedBoundaries>,
}

/// The boundary sets `districts.boundaries` names, loaded on first use (a transform plan), not when the catalog
/// is parsed: the drift check of every ingestion parses the catalog and needs no geometry.
#[derive(Clone)]
pub struct LoadedBoundaries {
    name: String,
    files: std::sync::Arc<std::borrow::Cow<'static, datasets::Catalog>>,
    loaded: std::sync::Arc<std::sync::OnceLock<std::sync::Arc<districts::Boundaries>>>,
}

impl LoadedBoundaries {
    /// The sets `name` of `files`, not loaded yet.
    pub fn new(name: &str, files: std::borrow::Cow<'static, datasets::Catalog>) -> Self {
        LoadedBoundaries {
            name: name.to_owned(),
            files: std::sync::Arc::new(files),
            loaded: Default::default(),
        }
    }

    /// Whether a plan has loaded the sets yet.
    pub fn is_loaded(&self) -> bool {
        self.loaded.get().is_some()
    }

    /// The sets, parsed and indexed once (the built-in catalog caches them per process).
    pub fn get(&self) -> Result<std::sync::Arc<districts::Boundaries>, datasets::Error> {
        if let Some(b) = self.loaded.get() {
            return Ok(b.clone());
        }
        let b = self.files.boundaries(&self.name)?;
        Ok(self.loaded.get_or_init(|| b).clone())
    }
}

impl std::fmt::Debug for LoadedBoundaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "boundaries {:?} of {}", self.name, self.files.origin())
    }
}

/// Coordinates and the bounding box used to validate (and un-swap) them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Geo {
    pub latitude: Spanned<String>,
    pub longitude: Spanned<String>,
    pub bbox: BBox,
}

/// The district derived from the coordinates (`council_district_geo`): which boundary sets, which timestamp
/// picks the set in force (its local date), and where the result goes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Districts {
    /// Boundary sets under `datasets/geo/<boundaries>/boundaries.yaml`.
    pub boundaries: Spanned<String>,
    /// Timestamp column whose local date chooses the lines in force.
    pub date_column: Spanned<String>,
    /// Int16 column that receives the derived district (null without coordinates or outside every district).
    pub into: Spanned<String>,
    /// Int16 column of the published district: filled with the derived one when the era has no source for
    /// it, and compared with it (the agreement rate in the partition report) when it has.
    pub published: Spanned<String>,
}

/// A latitude/longitude box (degrees, inclusive).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct BBox {
    pub min_lat: f64,
    pub max_lat: f64,
    pub min_lon: f64,
    pub max_lon: f64,
}

/// Physical type of a canonical column.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ColumnType {
    /// UTF-8 text.
    String,
    /// Instant in UTC, microseconds (converted from the catalog's local time zone).
    Timestamp,
    /// Signed 16-bit integer.
    Int16,
    /// 64-bit float.
    Float64,
    /// Boolean parsed from the column's `true_values` / `false_values`.
    Bool,
    /// Unsigned 64-bit integer.
    Uint64,
}

/// Lineage values filled from the run rather than from a source column.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Lineage {
    /// The source dataset year.
    Year,
    /// The source dataset id (Socrata 4x4) or, failing that, the source URI.
    Dataset,
    /// The ingestion run id.
    Run,
    /// The 1-based data row number in the source (`_source_row`).
    Row,
}

/// One canonical column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanonicalColumn {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub ty: ColumnType,
    /// What the column means (kept for documentation and `--help`-like listings).
    pub doc: String,
    /// A row without a value here is quarantined.
    #[serde(default)]
    pub required: bool,
    /// Inclusive range for integer columns; values outside are quarantined.
    #[serde(default)]
    pub range: Option<[i64; 2]>,
    /// Text values meaning `true` (bool columns), compared case-insensitively.
    #[serde(default)]
    pub true_values: Vec<String>,
    /// Text values meaning `false` (bool columns), compared case-insensitively.
    #[serde(default)]
    pub false_values: Vec<String>,
    /// Filled from the run instead of from a source column.
    #[serde(default)]
    pub lineage: Option<Lineage>,
}

/// A value normalization table: source spelling -> canonical value.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub doc: String,
    /// Values not in the table are quarantined (`true`) or kept after clean-up (`false`).
    #[serde(default)]
    pub strict: bool,
    /// Prefixes removed from values not found in the table (case-insensitive).
    #[serde(default)]
    pub strip_prefixes: Vec<String>,
    /// Suffixes removed from values not found in the table (case-insensitive).
    #[serde(default)]
    pub strip_suffixes: Vec<String>,
    /// Known source values (matched case-insensitively, trimmed) and their canonical value.
    pub values: IndexMap<String, String>,
}

/// One source schema era: which source columns feed which canonical columns.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Era {
    pub name: Spanned<String>,
    pub doc: String,
    /// Source years of this era and their dataset id (Socrata 4x4).
    #[serde(default)]
    pub years: IndexMap<i32, String>,
    /// Canonical column -> how to get it from this era's source.
    pub columns: IndexMap<Spanned<String>, ColumnMap>,
    /// A point column used when the latitude/longitude columns are empty.
    #[serde(default)]
    pub location: Option<LocationMap>,
    /// Source columns known to carry nothing the canonical schema keeps (drift does not flag them).
    #[serde(default)]
    pub ignore: Vec<String>,
}

/// How one canonical column is read in one era.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ColumnMap {
    /// Source column name (matched case-insensitively).
    #[serde(default)]
    pub from: Option<String>,
    /// The source may lack this column; the canonical value is then `default` (or null). Only needed
    /// on a required canonical column: a column that is not required may always be absent (see
    /// [`Catalog::needs`]).
    #[serde(default)]
    pub optional: bool,
    /// Raw text used when the source column is absent or the era has no source for it.
    #[serde(default)]
    pub default: Option<String>,
    /// Accepted chrono formats (timestamp columns), tried in order, local time unless the format has `%z`;
    /// when empty, the catalog's `timestamp_formats` (see [`Catalog::formats`]).
    #[serde(default)]
    pub formats: Vec<String>,
    /// Normalization table applied to the value.
    #[serde(default)]
    pub table: Option<Spanned<String>>,
    /// Timestamp columns: the time of day comes from this source column (`HHMM`, e.g. LAPD `TIME OCC`
    /// `0030`), the date from `from`'s leading date (any time there is ignored).
    #[serde(default)]
    pub time_from: Option<String>,
    /// Look the table up with this source column's value instead (e.g. NC name by NC code);
    /// falls back to the cleaned `from` value when the key is not in the table.
    #[serde(default)]
    pub key: Option<String>,
}

/// The point column of an era.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationMap {
    /// Source column name (matched case-insensitively).
    pub from: String,
}

impl Catalog {
    /// The canonical column named `name`.
    pub fn column(&self, name: &str) -> Option<&CanonicalColumn> {
        self.columns.iter().find(|c| c.name.value == name)
    }

    /// The era named `name`.
    pub fn era(&self, name: &str) -> Option<&Era> {
        self.eras.iter().find(|e| e.name.value == name)
    }

    /// The era that declares `year`, with the year's dataset id.
    pub fn era_for_year(&self, year: i32) -> Option<(&Era, &str)> {
        self.eras
            .iter()
            .find_map(|e| e.years.get(&year).map(|id| (e, id.as_str())))
    }

    /// The year and era of a dataset id (Socrata 4x4).
    pub fn year_for_dataset_id(&self, id: &str) -> Option<(i32, &Era)> {
        self.eras.iter().find_map(|e| {
            e.years
                .iter()
                .find(|(_, d)| d.eq_ignore_ascii_case(id))
                .map(|(y, _)| (*y, e))
        })
    }

    /// The formats a timestamp mapping accepts: its own, else the catalog's `timestamp_formats`, else
    /// [`crate::datetime::DEFAULT_FORMATS`].
    pub fn formats(&self, m: &ColumnMap) -> Vec<String> {
        if !m.formats.is_empty() {
            return m.formats.clone();
        }
        match &self.timestamp_formats {
            Some(f) => f.value.clone(),
            None => crate::datetime::default_formats(),
        }
    }

    /// Whether a source must hold the column mapped to canonical column `canonical` for its era to
    /// apply: only a required canonical column's, unless the mapping is `optional`. Any other mapped
    /// column may be absent (a file re-saved with a column subset): the canonical value is then the
    /// mapping's `default` or null, and the drift and partition reports list the column.
    pub fn needs(&self, canonical: &str, m: &ColumnMap) -> bool {
        !m.optional && self.column(canonical).is_some_and(|c| c.required)
    }

    /// Keep only the named eras (used to test drift against an older mapping).
    pub fn restricted_to(&self, eras: &[&str]) -> Catalog {
        let mut c = self.clone();
        c.eras.retain(|e| eras.contains(&e.name.value.as_str()));
        c
    }
}

impl Era {
    /// The mapping for canonical column `name`, if this era maps it.
    pub fn mapping(&self, name: &str) -> Option<&ColumnMap> {
        self.columns
            .iter()
            .find(|(k, _)| k.value == name)
            .map(|(_, v)| v)
    }

    /// Every source column name this era reads (lower-cased), with the canonical column it feeds.
    pub fn source_columns(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (canon, m) in &self.columns {
            for src in m.from.iter().chain(m.key.iter()).chain(m.time_from.iter()) {
                out.push((src.to_lowercase(), canon.value.clone()));
            }
        }
        if let Some(loc) = &self.location {
            out.push((loc.from.to_lowercase(), "location".to_string()));
        }
        out
    }
}
