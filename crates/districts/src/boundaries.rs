//! Boundary sets with their dates in force, loaded from `boundaries.yaml` and the GeoJSON
//! files it names (I/O only in [`Boundaries::load_dir`] and the caller's reader).

use std::path::Path;

use chrono::NaiveDate;
use geo::{Coord, MultiPolygon};
use sha2::{Digest, Sha256};

use crate::error::{Error, Problem};
use crate::index::Index;
use crate::manifest::{Manifest, Source, problem};
use crate::{Lookup, usable};

/// Every boundary set of a manifest, in date order; consecutive sets meet without gap or overlap.
pub struct Boundaries {
    sets: Vec<BoundarySet>,
}

/// One set of district lines, in force on `from..until` (`None` = open-ended), with its index.
pub struct BoundarySet {
    /// Short name, e.g. `"2012"`.
    pub name: String,
    /// Human title.
    pub title: String,
    /// First day in force (inclusive); `None`: since always.
    pub from: Option<NaiveDate>,
    /// First day no longer in force (exclusive); `None`: still in force.
    pub until: Option<NaiveDate>,
    /// The GeoJSON file, as named in the manifest (relative to its folder).
    pub file: String,
    /// Where the file comes from.
    pub source: Source,
    districts: Vec<(u8, MultiPolygon<f64>)>,
    index: Index,
}

impl std::fmt::Debug for BoundarySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BoundarySet")
            .field("name", &self.name)
            .field("from", &self.from)
            .field("until", &self.until)
            .field("file", &self.file)
            .field("districts", &self.district_numbers())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Boundaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.sets).finish()
    }
}

/// The bytes of one boundary file a manifest names.
#[derive(Debug, Clone)]
pub struct BoundaryFile {
    pub bytes: Vec<u8>,
    /// The full sha256 (hex) of the file these bytes were derived from, when they are not that file itself
    /// (the built-in catalog embeds its GeoJSON packed at build time, crates/datasets/build.rs); `None`:
    /// the bytes are the file, and their own digest is checked.
    pub sha256: Option<String>,
}

impl Boundaries {
    /// Load from the manifest's text `yaml` (shown as `path` in errors) and `read`, which
    /// returns the bytes of a file the manifest names, relative to the manifest's folder.
    ///
    /// Reports every problem at once, each located at the manifest's `file:line:col`: a bad
    /// field, overlapping or non-contiguous dates, an unreadable file, a sha256 mismatch, a
    /// feature without a district number, a number used twice in one set.
    pub fn from_yaml(
        yaml: &str,
        path: &str,
        read: impl Fn(&str) -> std::io::Result<Vec<u8>>,
    ) -> Result<Self, Error> {
        Self::from_yaml_files(yaml, path, |file| {
            read(file).map(|bytes| BoundaryFile {
                bytes,
                sha256: None,
            })
        })
    }

    /// [`Boundaries::from_yaml`] over files that may come with the sha256 of the file they were derived from
    /// (a build step's packed copy, [`BoundaryFile::sha256`]): that digest is checked against the manifest
    /// instead of the bytes'.
    pub fn from_yaml_files(
        yaml: &str,
        path: &str,
        read: impl Fn(&str) -> std::io::Result<BoundaryFile>,
    ) -> Result<Self, Error> {
        let manifest = Manifest::parse(yaml, path).map_err(Error::Invalid)?;
        let mut problems = manifest.validate(path);
        let folder = Path::new(path).parent().unwrap_or(Path::new(""));
        let mut sets = Vec::new();
        for entry in manifest.sets {
            let shown = folder.join(&entry.file.value).display().to_string();
            let BoundaryFile { bytes, sha256 } = match read(&entry.file.value) {
                Ok(f) => f,
                Err(e) => {
                    problems.push(problem(
                        path,
                        entry.file.referenced,
                        format!("cannot read {shown}: {e}"),
                    ));
                    continue;
                }
            };
            let digest = sha256.unwrap_or_else(|| hex::encode(Sha256::digest(&bytes)));
            if !digest.starts_with(&entry.sha256.value.to_ascii_lowercase()) {
                problems.push(problem(
                    path,
                    entry.sha256.referenced,
                    format!(
                        "{shown} has sha256 {digest}, not {}; copy the file byte-for-byte \
                         or update sha256",
                        entry.sha256.value
                    ),
                ));
            }
            match crate::features::districts(&bytes, &entry.district_property.value) {
                Ok(districts) => sets.push(BoundarySet::new(
                    entry.name.value,
                    entry.title,
                    entry.from.map(|s| s.value),
                    entry.until.map(|s| s.value),
                    entry.file.value,
                    entry.source,
                    districts,
                )),
                Err(found) => problems.extend(found.into_iter().map(|m| {
                    problem(
                        path,
                        entry.district_property.referenced,
                        format!("{shown}: {m}"),
                    )
                })),
            }
        }
        if problems.is_empty() {
            Ok(Boundaries { sets })
        } else {
            problems.sort_by_key(|p: &Problem| (p.line, p.column));
            Err(Error::Invalid(problems))
        }
    }

    /// Load `<dir>/boundaries.yaml` and the files it names from `dir`.
    pub fn load_dir(dir: &Path) -> Result<Self, Error> {
        let manifest = dir.join("boundaries.yaml");
        let shown = manifest.display().to_string();
        let yaml = std::fs::read_to_string(&manifest).map_err(|source| Error::Io {
            path: shown.clone(),
            source,
        })?;
        Self::from_yaml(&yaml, &shown, |f| std::fs::read(dir.join(f)))
    }

    /// The set in force on `date`, if any.
    pub fn set_for(&self, date: NaiveDate) -> Option<&BoundarySet> {
        self.sets.iter().find(|s| s.in_force(date))
    }

    /// The district at (`lat`, `lon`) by the lines in force on `date`.
    ///
    /// [`Lookup::Missing`] when the coordinates are not usable (see [`Lookup`]) and also when no
    /// set is in force on `date` (only possible when the first set has a `from` date): the row
    /// cannot be placed by any lines, like a row without coordinates.
    #[inline]
    pub fn lookup(&self, date: NaiveDate, lat: f64, lon: f64) -> Lookup {
        if !usable(lat, lon) {
            return Lookup::Missing;
        }
        match self.set_for(date) {
            Some(set) => set.lookup(lat, lon),
            None => Lookup::Missing,
        }
    }

    /// All sets, in date order.
    pub fn sets(&self) -> &[BoundarySet] {
        &self.sets
    }

    /// The set named `name` (e.g. `"2021"`), to force one set regardless of dates.
    pub fn set(&self, name: &str) -> Option<&BoundarySet> {
        self.sets.iter().find(|s| s.name == name)
    }
}

impl BoundarySet {
    fn new(
        name: String,
        title: String,
        from: Option<NaiveDate>,
        until: Option<NaiveDate>,
        file: String,
        source: Source,
        districts: Vec<(u8, MultiPolygon<f64>)>,
    ) -> Self {
        let index = Index::new(&districts);
        BoundarySet {
            name,
            title,
            from,
            until,
            file,
            source,
            districts,
            index,
        }
    }

    /// True when `date` is in `from..until`.
    pub fn in_force(&self, date: NaiveDate) -> bool {
        self.from.is_none_or(|f| f <= date) && self.until.is_none_or(|u| date < u)
    }

    /// The district whose polygon covers (`lat`, `lon`), boundary included; on a shared edge or
    /// vertex (or where polygons overlap), the lowest district number. `None` outside every
    /// district, and for NaN coordinates.
    #[inline]
    pub fn district(&self, lat: f64, lon: f64) -> Option<u8> {
        self.index.district(Coord { x: lon, y: lat })
    }

    /// [`BoundarySet::district`] without the grid: the reference the grid is tested against.
    pub fn district_exact(&self, lat: f64, lon: f64) -> Option<u8> {
        self.index.exact(Coord { x: lon, y: lat })
    }

    /// Like [`Boundaries::lookup`] for this set only (e.g. to force the 2021 lines).
    #[inline]
    pub fn lookup(&self, lat: f64, lon: f64) -> Lookup {
        if !usable(lat, lon) {
            return Lookup::Missing;
        }
        match self.district(lat, lon) {
            Some(d) => Lookup::District(d),
            None => Lookup::Outside,
        }
    }

    /// District numbers, in file order.
    pub fn district_numbers(&self) -> Vec<u8> {
        self.districts.iter().map(|(d, _)| *d).collect()
    }

    /// The shape of district `number` (lon/lat coordinates, x = longitude).
    pub fn shape(&self, number: u8) -> Option<&MultiPolygon<f64>> {
        self.districts
            .iter()
            .find(|(d, _)| *d == number)
            .map(|(_, s)| s)
    }

    /// True when (`lat`, `lon`) lies in a grid cell crossed by a boundary, so
    /// [`BoundarySet::district`] runs the exact test there (a diagnostic for benchmarks).
    pub fn in_boundary_cell(&self, lat: f64, lon: f64) -> bool {
        self.index.needs_exact(Coord { x: lon, y: lat })
    }

    /// Share of the grid's cells that fall back to the exact test.
    pub fn boundary_cell_share(&self) -> f64 {
        self.index.mixed_share()
    }
}
