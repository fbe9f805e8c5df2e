//! Every object-store key the worklist reads or writes, built in one place (switch to `prefixes` handles here).
//!
//! Bucket "data":
//! - `runs/{dataset}/run={run}/manifest.json` (read: the run manifest ingestion wrote)
//! - `runs/{dataset}/run={run}/layer-{layer}.json` (write: layer report)
//! - `worklist/{dataset}/run={run}/{layer}/jobs/{job}.json` (create-only terminal record: done or failed)
//! - `worklist/{dataset}/run={run}/{layer}/lanes/{lane}.json` (create-only lane-done marker)
//! - `worklist/{dataset}/run={run}/{layer}/complete.json` (create-only layer completion marker)
//! - `worklist/{dataset}/run={run}/{layer}/lists/{sha256}.json` (claim-check job lists, content addressed)
//! - `worklist/{dataset}/run={run}/dlq/{id}.json` (dead letters persisted by the local runner)

use object_store::path::Path;

/// Keys of one run of one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunKeys {
    dataset: String,
    run_id: String,
}

impl RunKeys {
    /// Keys for `dataset` / `run_id`.
    pub fn new(dataset: &str, run_id: &str) -> Self {
        Self {
            dataset: dataset.to_owned(),
            run_id: run_id.to_owned(),
        }
    }

    fn runs(&self) -> String {
        format!("runs/{}/run={}", self.dataset, self.run_id)
    }

    fn worklist(&self) -> String {
        format!("worklist/{}/run={}", self.dataset, self.run_id)
    }

    /// The run manifest written by ingestion.
    pub fn manifest(&self) -> Path {
        Path::from(format!("{}/manifest.json", self.runs()))
    }

    /// The report of one layer.
    pub fn layer_report(&self, layer: &str) -> Path {
        Path::from(format!("{}/layer-{layer}.json", self.runs()))
    }

    /// Prefix of all worklist state of this run.
    pub fn worklist_prefix(&self) -> Path {
        Path::from(self.worklist())
    }

    /// Prefix under which the terminal job records of `layer` live.
    pub fn jobs_prefix(&self, layer: &str) -> Path {
        Path::from(format!("{}/{layer}/jobs", self.worklist()))
    }

    /// The terminal record (done or failed) of one job: created once, first writer wins.
    pub fn job_record(&self, layer: &str, job: &str) -> Path {
        Path::from(format!("{}/{layer}/jobs/{job}.json", self.worklist()))
    }

    /// Prefix under which the lane-done markers of `layer` live.
    pub fn lanes_prefix(&self, layer: &str) -> Path {
        Path::from(format!("{}/{layer}/lanes", self.worklist()))
    }

    /// The lane-done marker of one lane.
    pub fn lane_done(&self, layer: &str, lane: u32) -> Path {
        Path::from(format!("{}/{layer}/lanes/{lane}.json", self.worklist()))
    }

    /// The layer completion marker (created exactly once).
    pub fn layer_complete(&self, layer: &str) -> Path {
        Path::from(format!("{}/{layer}/complete.json", self.worklist()))
    }

    /// A claim-check job list, addressed by the hex sha256 of its content.
    pub fn job_list(&self, layer: &str, sha256_hex: &str) -> Path {
        Path::from(format!(
            "{}/{layer}/lists/{sha256_hex}.json",
            self.worklist()
        ))
    }

    /// Prefix of persisted dead letters of this run.
    pub fn dlq_prefix(&self) -> Path {
        Path::from(format!("{}/dlq", self.worklist()))
    }

    /// One persisted dead letter.
    pub fn dlq_record(&self, id: &str) -> Path {
        Path::from(format!("{}/dlq/{id}.json", self.worklist()))
    }
}

/// The job id encoded in a job record key (`.../jobs/{job}.json` -> `job`).
pub fn job_of_marker(key: &Path) -> Option<String> {
    key.filename()?.strip_suffix(".json").map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_layout_contract() {
        let k = RunKeys::new("la311", "R1");
        assert_eq!(k.manifest().as_ref(), "runs/la311/run=R1/manifest.json");
        assert_eq!(
            k.layer_report("transform").as_ref(),
            "runs/la311/run=R1/layer-transform.json"
        );
        assert_eq!(
            k.job_record("transform", "__missing__").as_ref(),
            "worklist/la311/run=R1/transform/jobs/__missing__.json"
        );
        assert_eq!(
            k.layer_complete("analyze").as_ref(),
            "worklist/la311/run=R1/analyze/complete.json"
        );
        assert_eq!(
            k.lane_done("analyze", 2).as_ref(),
            "worklist/la311/run=R1/analyze/lanes/2.json"
        );
        assert_eq!(
            job_of_marker(&k.job_record("t", "12")).as_deref(),
            Some("12")
        );
    }
}
