//! The store keys the simulation watches. The harness builds the run's keys in exactly one place
//! ([`run_keys`]), so a change to how the production key builder is constructed touches one line here.

use std::collections::BTreeMap;

use object_store::path::Path;
use worklist::RunKeys;

use super::{DATASET, LAYERS, RUN};

/// The production key builder of the simulated run: the only place the harness constructs it.
pub fn run_keys() -> RunKeys<'static> {
    grants().run(DATASET, RUN)
}

/// The worklist grants of the `process` function, which the simulated consumer runs as.
pub fn grants() -> worklist::Locations {
    worklist::Locations::new(prefixes::process::runs(), prefixes::process::worklist())
}

/// A key whose writes the simulation counts.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Tracked {
    /// A job's terminal record (done or failed).
    Record { layer: String, job: String },
    /// A layer's completion marker.
    Complete { layer: String },
}

/// The keys of the simulated run, by name and by key.
pub struct SimKeys {
    keys: RunKeys<'static>,
    tracked: BTreeMap<String, Tracked>,
}

impl SimKeys {
    /// Keys for the run whose jobs are `jobs` (every layer may hold any of them).
    pub fn new(jobs: &[String]) -> Self {
        let keys = run_keys();
        let mut tracked = BTreeMap::new();
        for layer in LAYERS {
            for job in jobs {
                tracked.insert(
                    keys.job_record(layer, job).unwrap().to_string(),
                    Tracked::Record {
                        layer: layer.to_owned(),
                        job: job.clone(),
                    },
                );
            }
            tracked.insert(
                keys.layer_complete(layer).unwrap().to_string(),
                Tracked::Complete {
                    layer: layer.to_owned(),
                },
            );
        }
        Self { keys, tracked }
    }

    /// What `key` is, when the simulation counts its writes.
    pub fn tracked(&self, key: &Path) -> Option<&Tracked> {
        self.tracked.get(key.as_ref())
    }

    /// True when `key` is a terminal record of any job of `layer` (also ids outside the run).
    pub fn is_record_of(&self, layer: &str, key: &Path) -> bool {
        key.prefix_matches(&self.keys.jobs_prefix(layer).unwrap())
    }

    /// The prefix of the terminal records of `layer`.
    pub fn jobs_prefix(&self, layer: &str) -> Path {
        self.keys.jobs_prefix(layer).unwrap()
    }

    /// The terminal record of `job` in `layer`.
    pub fn record(&self, layer: &str, job: &str) -> Path {
        self.keys.job_record(layer, job).unwrap()
    }

    /// The completion marker of `layer`.
    pub fn complete(&self, layer: &str) -> Path {
        self.keys.layer_complete(layer).unwrap()
    }

    /// The lane-done marker of `lane` in `layer`.
    pub fn lane(&self, layer: &str, lane: u32) -> Path {
        self.keys.lane_done(layer, lane).unwrap()
    }

    /// The run manifest.
    pub fn manifest(&self) -> Path {
        self.keys.manifest().unwrap()
    }
}
