//! The dataset catalog as files: every `datasets/<id>/` folder (`dataset.yaml`, `canonical.yaml`,
//! `analysis.yaml`, `stakeholders.yaml`) and the boundary sets under `datasets/geo/`.
//!
//! [`Catalog::builtin`] is the repository's catalog compiled into the binary by `build.rs` (checked there:
//! one `dataset.yaml` per folder whose `id` names the folder, well-formed YAML, no stray files), so a built
//! or installed binary needs no source tree. [`Catalog::from_dir`] reads the same layout from another
//! directory (`civic ... --catalog DIR`), so a user can try a new dataset without rebuilding.
//!
//! This crate only holds the texts and their display paths; each file's model and semantic validation
//! belong to the crate that reads it (`ingest_core::DatasetSpec`, `harmonize::Catalog`,
//! `analysis::AnalysisConfig`, `ledger::stakeholders::StakeholderFile`, `districts::Boundaries`).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// The file names a dataset folder may hold.
pub const FILES: &[&str] = &[
    "dataset.yaml",
    "canonical.yaml",
    "analysis.yaml",
    "stakeholders.yaml",
];

/// Errors finding a dataset or one of its files.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog has no folder for this id.
    #[error("unknown dataset {id:?} (the catalog {origin} has: {known})")]
    UnknownDataset {
        id: String,
        origin: String,
        known: String,
    },
    /// The dataset folder lacks a file its consumer needs.
    #[error("{path}: missing (the dataset {id:?} needs it for {purpose})")]
    MissingFile {
        id: String,
        path: String,
        purpose: String,
    },
    /// Reading a catalog directory failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// The directory does not have the catalog's layout.
    #[error("{path}: {message}")]
    Layout { path: String, message: String },
    /// A boundary set file is invalid (the message carries its own `file:line:col`).
    #[error("{0}")]
    Boundaries(String),
}

/// One file of the catalog: its text and the path shown in messages (`datasets/la311/dataset.yaml` for the
/// built-in catalog, the real path for a directory).
#[derive(Debug, Clone, Copy)]
pub struct File<'a> {
    pub path: &'a str,
    pub text: &'a str,
}

/// One dataset folder.
#[derive(Debug, Clone)]
pub struct Dataset {
    id: String,
    /// Display path of the folder, e.g. `datasets/la311`.
    dir: String,
    files: BTreeMap<String, (String, Cow<'static, str>)>,
}

impl Dataset {
    /// The dataset id (the folder name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The folder's display path.
    pub fn dir(&self) -> &str {
        &self.dir
    }

    /// `name` (one of [`FILES`]) when the folder has it.
    pub fn file(&self, name: &str) -> Option<File<'_>> {
        self.files.get(name).map(|(path, text)| File {
            path,
            text: text.as_ref(),
        })
    }

    /// `name`, or an error saying which consumer needs it.
    pub fn require(&self, name: &str, purpose: &str) -> Result<File<'_>, Error> {
        self.file(name).ok_or_else(|| Error::MissingFile {
            id: self.id.clone(),
            path: format!("{}/{name}", self.dir),
            purpose: purpose.to_string(),
        })
    }
}

/// Where the boundary files come from.
#[derive(Debug, Clone)]
enum Geo {
    Builtin,
    Dir(PathBuf),
}

/// A whole catalog: its dataset folders by id, and the boundary files.
#[derive(Debug, Clone)]
pub struct Catalog {
    origin: String,
    datasets: BTreeMap<String, Dataset>,
    geo: Geo,
}

impl Catalog {
    /// The repository's `datasets/`, compiled in.
    pub fn builtin() -> &'static Catalog {
        static BUILTIN: OnceLock<Catalog> = OnceLock::new();
        BUILTIN.get_or_init(|| {
            let datasets = embedded::DATASETS
                .iter()
                .map(|(id, files)| {
                    let dir = format!("datasets/{id}");
                    let files = files
                        .iter()
                        .map(|(name, text)| {
                            (
                                name.to_string(),
                                (format!("{dir}/{name}"), Cow::Borrowed(*text)),
                            )
                        })
                        .collect();
                    (
                        id.to_string(),
                        Dataset {
                            id: id.to_string(),
                            dir,
                            files,
                        },
                    )
                })
                .collect();
            Catalog {
                origin: "built into this binary".into(),
                datasets,
                geo: Geo::Builtin,
            }
        })
    }

    /// The catalog in `dir`: one folder per dataset holding `dataset.yaml` (and the other [`FILES`]); the
    /// boundary sets come from `dir/geo/` when it exists, else from the built-in catalog.
    pub fn from_dir(dir: &Path) -> Result<Catalog, Error> {
        let io = |path: &Path, source| Error::Io {
            path: path.display().to_string(),
            source,
        };
        let mut datasets = BTreeMap::new();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_dir() && !p.ends_with("geo"))
            .collect();
        entries.sort();
        for folder in entries {
            if !folder.join("dataset.yaml").is_file() {
                continue;
            }
            let id = folder
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let mut files = BTreeMap::new();
            for name in FILES {
                let path = folder.join(name);
                if path.is_file() {
                    let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
                    files.insert(
                        name.to_string(),
                        (path.display().to_string(), Cow::Owned(text)),
                    );
                }
            }
            datasets.insert(
                id.clone(),
                Dataset {
                    id,
                    dir: folder.display().to_string(),
                    files,
                },
            );
        }
        if datasets.is_empty() {
            return Err(Error::Layout {
                path: dir.display().to_string(),
                message: "no dataset folder here (a catalog holds <id>/dataset.yaml folders, like \
                          the repository's datasets/)"
                    .into(),
            });
        }
        let geo = if dir.join("geo").is_dir() {
            Geo::Dir(dir.join("geo"))
        } else {
            Geo::Builtin
        };
        Ok(Catalog {
            origin: dir.display().to_string(),
            datasets,
            geo,
        })
    }

    /// The catalog at `dir`, or the built-in one.
    pub fn from_option(dir: Option<&Path>) -> Result<Cow<'static, Catalog>, Error> {
        match dir {
            Some(d) => Ok(Cow::Owned(Catalog::from_dir(d)?)),
            None => Ok(Cow::Borrowed(Catalog::builtin())),
        }
    }

    /// Where the catalog comes from (for messages).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Dataset ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.datasets.keys().map(String::as_str)
    }

    /// Every dataset, sorted by id.
    pub fn datasets(&self) -> impl Iterator<Item = &Dataset> {
        self.datasets.values()
    }

    /// The dataset `id`.
    pub fn dataset(&self, id: &str) -> Result<&Dataset, Error> {
        self.datasets.get(id).ok_or_else(|| Error::UnknownDataset {
            id: id.to_string(),
            origin: self.origin.clone(),
            known: self.ids().collect::<Vec<_>>().join(", "),
        })
    }

    /// A boundary file by its path under `geo/` (e.g. `council_districts/boundaries.yaml`); built-in GeoJSON
    /// comes packed (see [`Catalog::geo_file_derived_from`]).
    pub fn geo_file(&self, rel: &str) -> std::io::Result<Cow<'static, [u8]>> {
        match &self.geo {
            Geo::Builtin => embedded::GEO
                .iter()
                .find(|(p, _, _)| *p == rel)
                .map(|(_, b, _)| Cow::Borrowed(*b))
                .ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("datasets/geo/{rel}: not in the built-in catalog"),
                    )
                }),
            Geo::Dir(d) => std::fs::read(d.join(rel)).map(Cow::Owned),
        }
    }

    /// For a built-in boundary file embedded in a derived form ([`Catalog::geo_file`] returns those bytes:
    /// GeoJSON packed by `districts::packed`, coordinates kept to 7 decimals), the sha256 of the repository file it was
    /// made from; `None` for a file embedded as it is and for a catalog directory's files.
    pub fn geo_file_derived_from(&self, rel: &str) -> Option<&'static str> {
        match &self.geo {
            Geo::Builtin => embedded::GEO
                .iter()
                .find(|(p, _, _)| *p == rel)
                .and_then(|(_, _, sha)| *sha),
            Geo::Dir(_) => None,
        }
    }

    /// The boundary sets `datasets/geo/<name>/boundaries.yaml` (parsed and indexed once per process for the
    /// built-in catalog).
    pub fn boundaries(&self, name: &str) -> Result<Arc<districts::Boundaries>, Error> {
        static BUILTIN: OnceLock<Mutex<BTreeMap<String, Arc<districts::Boundaries>>>> =
            OnceLock::new();
        let load = || -> Result<Arc<districts::Boundaries>, Error> {
            let rel = format!("{name}/boundaries.yaml");
            let path = self.geo_path(&rel);
            let bytes = self.geo_file(&rel).map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            let text = String::from_utf8_lossy(&bytes);
            let b = districts::Boundaries::from_yaml_files(&text, &path, |file| {
                let rel = format!("{name}/{file}");
                Ok(districts::BoundaryFile {
                    bytes: self.geo_file(&rel)?.into_owned(),
                    sha256: self.geo_file_derived_from(&rel).map(str::to_owned),
                })
            })
            .map_err(|e| Error::Boundaries(e.to_string()))?;
            Ok(Arc::new(b))
        };
        match self.geo {
            Geo::Builtin => {
                let cache = BUILTIN.get_or_init(Default::default);
                let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(b) = cache.get(name) {
                    return Ok(b.clone());
                }
                let b = load()?;
                cache.insert(name.to_owned(), b.clone());
                Ok(b)
            }
            Geo::Dir(_) => load(),
        }
    }

    /// The display path of a boundary file.
    pub fn geo_path(&self, rel: &str) -> String {
        match &self.geo {
            Geo::Builtin => format!("datasets/geo/{rel}"),
            Geo::Dir(d) => d.join(rel).display().to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_holds_every_repository_folder() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets");
        let mut on_disk: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().join("dataset.yaml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let builtin: Vec<&str> = Catalog::builtin().ids().collect();
        assert_eq!(builtin, on_disk);
        let la311 = Catalog::builtin().dataset("la311").unwrap();
        let file = la311.file("dataset.yaml").unwrap();
        assert_eq!(file.path, "datasets/la311/dataset.yaml");
        assert_eq!(
            file.text,
            std::fs::read_to_string(root.join("la311/dataset.yaml")).unwrap()
        );
    }

    #[test]
    fn unknown_dataset_names_the_known_ones() {
        let err = Catalog::builtin().dataset("nope").unwrap_err().to_string();
        assert!(err.contains("unknown dataset \"nope\""), "{err}");
        assert!(err.contains("la311"), "{err}");
    }

    #[test]
    fn a_directory_catalog_reads_the_same_layout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("mine")).unwrap();
        std::fs::write(dir.path().join("mine/dataset.yaml"), "id: mine\n").unwrap();
        std::fs::create_dir(dir.path().join("notes")).unwrap();
        let cat = Catalog::from_dir(dir.path()).unwrap();
        assert_eq!(cat.ids().collect::<Vec<_>>(), ["mine"]);
        let ds = cat.dataset("mine").unwrap();
        assert_eq!(ds.file("dataset.yaml").unwrap().text, "id: mine\n");
        let err = ds.require("canonical.yaml", "the transform").unwrap_err();
        assert!(
            err.to_string().ends_with(
                "mine/canonical.yaml: missing (the dataset \"mine\" needs it for the transform)"
            ),
            "{err}"
        );
        let empty = tempfile::tempdir().unwrap();
        assert!(Catalog::from_dir(empty.path()).is_err());
    }
}
