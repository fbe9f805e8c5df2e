//! The worklist's object keys, from the prefix handles its caller was granted (never formatted here).
//!
//! Bucket "data", prefixes `runs` and `worklist` of prefixes.yaml, objects as declared there:
//! - `runs`: `manifest` (read: the run manifest ingestion wrote), `layer-report` (write);
//! - `worklist`: `job-record` (create-only terminal record: done or failed), `lane-done` (create-only),
//!   `layer-complete` (create-only), `job-list` (claim-check lists, content addressed), `dead-letter`
//!   (persisted by the local runner).

use object_store::path::Path;
use prefixes::access::{ReadWrite, Write};
use prefixes::keys::{self, RunsKey, WorklistKey, runs, worklist};
use prefixes::{KeyError, ObjectKey, Prefix};

/// The prefixes the worklist consumer reads and writes, as granted to the function that runs it
/// (`process`: `Locations::new(prefixes::process::runs(), prefixes::process::worklist())`).
#[derive(Debug, Clone, Copy)]
pub struct Locations {
    /// Run manifests and layer reports.
    pub runs: Prefix<keys::Runs, ReadWrite>,
    /// Markers, claim-check lists and dead letters.
    pub worklist: Prefix<keys::Worklist, ReadWrite>,
}

impl Locations {
    /// The two grants.
    pub const fn new(
        runs: Prefix<keys::Runs, ReadWrite>,
        worklist: Prefix<keys::Worklist, ReadWrite>,
    ) -> Self {
        Self { runs, worklist }
    }

    /// The keys of one run of one dataset.
    pub fn run<'a>(&self, dataset: &'a str, run_id: &'a str) -> RunKeys<'a> {
        RunKeys {
            loc: *self,
            dataset,
            run_id,
        }
    }
}

/// An object-store path from a key the handles built.
pub fn path(key: Result<ObjectKey, KeyError>) -> Result<Path, KeyError> {
    key.map(|k| Path::from(k.into_string()))
}

/// Keys of one run of one dataset.
#[derive(Debug, Clone, Copy)]
pub struct RunKeys<'a> {
    loc: Locations,
    dataset: &'a str,
    run_id: &'a str,
}

/// A key value the store cannot hold, as a store error (the caller's input was bad).
pub fn key_error(e: KeyError) -> object_store::Error {
    object_store::Error::Generic {
        store: "worklist",
        source: Box::new(e),
    }
}

impl RunKeys<'_> {
    /// The dataset id.
    pub fn dataset(&self) -> &str {
        self.dataset
    }

    /// The run id.
    pub fn run_id(&self) -> &str {
        self.run_id
    }

    fn r(&self) -> RunsKey<'_> {
        RunsKey {
            dataset: self.dataset,
            run_id: self.run_id,
        }
    }

    fn w(&self) -> WorklistKey<'_> {
        WorklistKey {
            dataset: self.dataset,
            run_id: self.run_id,
        }
    }

    /// The run manifest written by ingestion.
    pub fn manifest(&self) -> Result<Path, KeyError> {
        path(self.loc.runs.read_key(&self.r(), &runs::Manifest))
    }

    /// The report of one layer.
    pub fn layer_report(&self, layer: &str) -> Result<Path, KeyError> {
        path(
            self.loc
                .runs
                .write_key(&self.r(), &runs::LayerReport { layer }),
        )
    }

    /// Prefix of all worklist state of this run.
    pub fn worklist_prefix(&self) -> Result<Path, KeyError> {
        path(self.loc.worklist.list_prefix(&self.w()))
    }

    /// Folder of the terminal job records of `layer`.
    pub fn jobs_prefix(&self, layer: &str) -> Result<Path, KeyError> {
        path(
            self.loc
                .worklist
                .list_dir::<worklist::JobRecord>(&self.w(), &[layer]),
        )
    }

    /// The terminal record (done or failed) of one job: created once, first writer wins.
    pub fn job_record(&self, layer: &str, job: &str) -> Result<Path, KeyError> {
        path(
            self.loc
                .worklist
                .write_key(&self.w(), &worklist::JobRecord { layer, job }),
        )
    }

    /// Folder of the lane-done markers of `layer`.
    pub fn lanes_prefix(&self, layer: &str) -> Result<Path, KeyError> {
        path(
            self.loc
                .worklist
                .list_dir::<worklist::LaneDone>(&self.w(), &[layer]),
        )
    }

    /// The lane-done marker of one lane.
    pub fn lane_done(&self, layer: &str, lane: u32) -> Result<Path, KeyError> {
        path(
            self.loc
                .worklist
                .write_key(&self.w(), &worklist::LaneDone { layer, lane }),
        )
    }

    /// The layer completion marker (created exactly once).
    pub fn layer_complete(&self, layer: &str) -> Result<Path, KeyError> {
        path(
            self.loc
                .worklist
                .write_key(&self.w(), &worklist::LayerComplete { layer }),
        )
    }

    /// Folder of persisted dead letters of this run.
    pub fn dlq_prefix(&self) -> Result<Path, KeyError> {
        path(
            self.loc
                .worklist
                .list_dir::<worklist::DeadLetter>(&self.w(), &[]),
        )
    }

    /// One persisted dead letter (`id` is a hex digest: message ids may hold `/`).
    pub fn dlq_record(&self, id: &str) -> Result<Path, KeyError> {
        path(
            self.loc
                .worklist
                .write_key(&self.w(), &worklist::DeadLetter { id }),
        )
    }
}

/// A claim-check job list, addressed by the hex sha256 of its content (written by whoever sends the
/// message: ingestion's hand-off holds only this write grant on `worklist`).
pub fn job_list(
    worklist: Prefix<keys::Worklist, Write>,
    dataset: &str,
    run_id: &str,
    layer: &str,
    sha256: &str,
) -> Result<Path, KeyError> {
    path(worklist.write_key(
        &WorklistKey { dataset, run_id },
        &worklist::JobList { layer, sha256 },
    ))
}

/// The name of the object a listed key under a folder of markers names (`.../jobs/{job}.json` ->
/// `job`, `.../lanes/{lane}.json` -> `lane`): the last placeholder value of its object template.
pub fn marker_name(loc: &Locations, key: &Path) -> Option<String> {
    let (_, rest) = loc.worklist.parse_key(key.as_ref())?;
    if let Some(r) = <worklist::JobRecord as prefixes::ParseObject>::parse(rest) {
        return Some(r.job.to_owned());
    }
    if let Some(l) = <worklist::LaneDone as prefixes::ParseObject>::parse(rest) {
        return Some(l.lane.to_string());
    }
    <worklist::DeadLetter as prefixes::ParseObject>::parse(rest).map(|d| d.id.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc() -> Locations {
        Locations::new(prefixes::process::runs(), prefixes::process::worklist())
    }

    #[test]
    fn keys_follow_prefixes_yaml() {
        let l = loc();
        let k = l.run("la311", "R1");
        assert_eq!(
            k.manifest().unwrap().as_ref(),
            "runs/la311/run=R1/manifest.json"
        );
        assert_eq!(
            k.layer_report("transform").unwrap().as_ref(),
            "runs/la311/run=R1/layer-transform.json"
        );
        let rec = k.job_record("transform", "__missing__").unwrap();
        assert_eq!(
            rec.as_ref(),
            "worklist/la311/run=R1/layer=transform/jobs/__missing__.json"
        );
        assert!(rec.prefix_matches(&k.jobs_prefix("transform").unwrap()));
        assert_eq!(marker_name(&l, &rec).as_deref(), Some("__missing__"));
        let lane = k.lane_done("analyze", 2).unwrap();
        assert!(lane.prefix_matches(&k.lanes_prefix("analyze").unwrap()));
        assert_eq!(marker_name(&l, &lane).as_deref(), Some("2"));
        assert_eq!(
            k.layer_complete("analyze").unwrap().as_ref(),
            "worklist/la311/run=R1/layer=analyze/complete.json"
        );
        assert!(k.dlq_record("a/b").is_err(), "a message id is one segment");
    }
}
