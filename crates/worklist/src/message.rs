//! The versioned worklist message: what one hop of a chain carries (jobs left, tallies, hop guard, attempts).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Version written into every message; a reader rejects any other.
pub const PROTOCOL_VERSION: u32 = 1;
/// SQS's largest message body (1 MiB); larger job lists go to the store (claim check).
pub const SQS_MAX_MESSAGE_BYTES: usize = 1_048_576;
/// Attempts a job gets within a chain before it is recorded as failed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// One worklist message: the state of one lane of one layer of one run, at one hop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkMessage {
    /// Always [`PROTOCOL_VERSION`].
    pub version: u32,
    /// Dataset id, e.g. `la311`.
    pub dataset: String,
    /// Ingestion run id.
    pub run_id: String,
    /// Layer this chain works on, e.g. `transform`.
    pub layer: String,
    /// This chain's lane, `0..lanes`.
    pub lane: u32,
    /// Number of lanes the layer's jobs were split into.
    pub lanes: u32,
    /// Jobs still to do, head first.
    pub jobs: JobList,
    /// Jobs this chain finished (informational: reports are built from the store's markers).
    pub done: u64,
    /// Jobs this chain recorded as failed (informational).
    pub failed: u64,
    /// Hops taken so far by this chain; the first message is hop 0.
    pub hop: u64,
    /// Loop guard: a message with `hop > max_hops` is dead-lettered (derived from the lane's job count).
    pub max_hops: u64,
    /// Attempts a job gets before it is recorded as failed.
    pub max_attempts: u32,
    /// Failed attempts so far of jobs still in `jobs` (absent = 0).
    #[serde(default)]
    pub attempts: BTreeMap<String, u32>,
}

/// The remaining jobs: inline, or a claim-check pointer to a JSON array of job ids in the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum JobList {
    /// The job ids themselves.
    Inline {
        /// Remaining job ids, head first.
        ids: Vec<String>,
    },
    /// `ids[start..]` of the list stored at `key` (which holds `len` ids).
    Stored {
        /// Object key of the list (content addressed, immutable).
        key: String,
        /// Index of the head job.
        start: usize,
        /// Length of the stored list.
        len: usize,
    },
}

impl JobList {
    /// Number of jobs left.
    pub fn remaining(&self) -> usize {
        match self {
            JobList::Inline { ids } => ids.len(),
            JobList::Stored { start, len, .. } => len.saturating_sub(*start),
        }
    }
}

impl WorkMessage {
    /// The first messages of a layer, one per lane (jobs dealt round-robin, lane `i % lanes`),
    /// with [`DEFAULT_MAX_ATTEMPTS`]. This is what ingestion sends to start processing.
    pub fn first_of_layer(
        dataset: &str,
        run_id: &str,
        layer: &str,
        job_ids: Vec<String>,
        lanes: u32,
    ) -> Vec<WorkMessage> {
        Self::first_of_layer_with(dataset, run_id, layer, job_ids, lanes, DEFAULT_MAX_ATTEMPTS)
    }

    /// [`WorkMessage::first_of_layer`] with an explicit attempt budget per job.
    pub fn first_of_layer_with(
        dataset: &str,
        run_id: &str,
        layer: &str,
        job_ids: Vec<String>,
        lanes: u32,
        max_attempts: u32,
    ) -> Vec<WorkMessage> {
        let lanes = lanes.max(1);
        let max_attempts = max_attempts.max(1);
        let mut dealt: Vec<Vec<String>> = vec![Vec::new(); lanes as usize];
        for (i, job) in job_ids.into_iter().enumerate() {
            dealt[i % lanes as usize].push(job);
        }
        dealt
            .into_iter()
            .enumerate()
            .map(|(lane, ids)| WorkMessage {
                version: PROTOCOL_VERSION,
                dataset: dataset.to_owned(),
                run_id: run_id.to_owned(),
                layer: layer.to_owned(),
                lane: lane as u32,
                lanes,
                max_hops: hop_ceiling(ids.len(), max_attempts),
                jobs: JobList::Inline { ids },
                done: 0,
                failed: 0,
                hop: 0,
                max_attempts,
                attempts: BTreeMap::new(),
            })
            .collect()
    }

    /// Failed attempts so far of `job`.
    pub fn attempts_of(&self, job: &str) -> u32 {
        self.attempts.get(job).copied().unwrap_or(0)
    }

    /// The next hop after the head job finished (`failed` says how): head dropped, tallies updated.
    pub fn advanced(&self, head: &str, failed: bool) -> WorkMessage {
        let mut next = self.clone();
        next.hop += 1;
        next.attempts.remove(head);
        if failed {
            next.failed += 1;
        } else {
            next.done += 1;
        }
        next.jobs = match &self.jobs {
            JobList::Inline { ids } => JobList::Inline {
                ids: ids.iter().skip(1).cloned().collect(),
            },
            JobList::Stored { key, start, len } => JobList::Stored {
                key: key.clone(),
                start: start + 1,
                len: *len,
            },
        };
        next
    }

    /// The next hop after the head job failed an attempt that will be retried: same list, one more attempt.
    pub fn retried(&self, head: &str) -> WorkMessage {
        let mut next = self.clone();
        next.hop += 1;
        *next.attempts.entry(head.to_owned()).or_insert(0) += 1;
        next
    }

    /// Structural checks a decoded message must pass before anything acts on it.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != PROTOCOL_VERSION {
            return Err(format!(
                "unsupported protocol version {} (this consumer speaks {PROTOCOL_VERSION})",
                self.version
            ));
        }
        for (field, value) in [
            ("dataset", &self.dataset),
            ("run_id", &self.run_id),
            ("layer", &self.layer),
        ] {
            if value.is_empty() || value.contains('/') || value.contains('=') {
                return Err(format!(
                    "field `{field}` is empty or contains '/' or '=': {value:?}"
                ));
            }
        }
        if self.lanes == 0 || self.lane >= self.lanes {
            return Err(format!("lane {} is not in 0..{}", self.lane, self.lanes));
        }
        if self.max_attempts == 0 {
            return Err("max_attempts is 0".into());
        }
        if self.hop > self.max_hops {
            return Err(format!(
                "hop {} exceeds the ceiling {} (loop guard)",
                self.hop, self.max_hops
            ));
        }
        if let JobList::Stored { start, len, .. } = &self.jobs
            && start > len
        {
            return Err(format!(
                "stored list start {start} is past its length {len}"
            ));
        }
        Ok(())
    }
}

/// The hop ceiling of a lane holding `jobs` jobs: every hop either finishes the head job or spends one of its
/// `max_attempts`, so a chain can never legitimately take more than `jobs * max_attempts` hops.
pub fn hop_ceiling(jobs: usize, max_attempts: u32) -> u64 {
    jobs as u64 * u64::from(max_attempts.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (1..=n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn first_of_layer_deals_jobs_round_robin_over_lanes() {
        let msgs = WorkMessage::first_of_layer("la311", "R", "transform", ids(5), 2);
        assert_eq!(msgs.len(), 2);
        assert_eq!(
            msgs[0].jobs,
            JobList::Inline {
                ids: vec!["1".into(), "3".into(), "5".into()]
            }
        );
        assert_eq!(
            msgs[1].jobs,
            JobList::Inline {
                ids: vec!["2".into(), "4".into()]
            }
        );
        assert_eq!(msgs[0].max_hops, 3 * u64::from(DEFAULT_MAX_ATTEMPTS));
        assert!(msgs.iter().all(|m| m.validate().is_ok()));
    }

    #[test]
    fn advancing_and_retrying_move_the_hop_and_attempts() {
        let m = WorkMessage::first_of_layer("d", "r", "l", ids(2), 1).remove(0);
        let r = m.retried("1");
        assert_eq!((r.hop, r.attempts_of("1"), r.jobs.remaining()), (1, 1, 2));
        let a = r.advanced("1", true);
        assert_eq!(
            (a.hop, a.failed, a.attempts_of("1"), a.jobs.remaining()),
            (2, 1, 0, 1)
        );
    }

    #[test]
    fn validation_rejects_hop_past_ceiling_and_bad_lane() {
        let mut m = WorkMessage::first_of_layer("d", "r", "l", ids(1), 1).remove(0);
        m.hop = m.max_hops + 1;
        assert!(m.validate().unwrap_err().contains("loop guard"));
        m.hop = 0;
        m.lane = 1;
        assert!(m.validate().unwrap_err().contains("lane 1"));
    }

    #[test]
    fn wire_format_is_stable() {
        let m = WorkMessage::first_of_layer("la311", "R", "transform", ids(1), 1).remove(0);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"version":1,"dataset":"la311","run_id":"R","layer":"transform","lane":0,"lanes":1,"jobs":{"kind":"inline","ids":["1"]},"done":0,"failed":0,"hop":0,"max_hops":3,"max_attempts":3,"attempts":{}}"#
        );
    }
}
