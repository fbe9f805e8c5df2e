//! Counters of the faults a schedule exercised, summed over a run and checked for coverage.

use std::collections::BTreeMap;
use std::fmt;

use worklist::probe::Point;

/// Counters of what a schedule exercised.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub schedules: u64,
    pub crashes: BTreeMap<String, u64>,
    pub duplicates: u64,
    pub concurrent_redeliveries: u64,
    pub redriven: u64,
    pub dead_lettered_garbage: u64,
    pub claim_checked: u64,
    pub failed_jobs: u64,
    pub retries: u64,
    pub resumed_completions: u64,
    pub steps: u64,
}

impl Stats {
    pub fn add(&mut self, s: &Stats) {
        self.schedules += s.schedules;
        for (k, v) in &s.crashes {
            *self.crashes.entry(k.clone()).or_default() += v;
        }
        self.duplicates += s.duplicates;
        self.concurrent_redeliveries += s.concurrent_redeliveries;
        self.redriven += s.redriven;
        self.dead_lettered_garbage += s.dead_lettered_garbage;
        self.claim_checked += s.claim_checked;
        self.failed_jobs += s.failed_jobs;
        self.retries += s.retries;
        self.resumed_completions += s.resumed_completions;
        self.steps += s.steps;
    }

    pub fn assert_faults_exercised(&self) {
        for point in [
            Point::BeforeRun,
            Point::BeforeDoneMarker,
            Point::AfterDoneMarker,
            Point::BeforeSend,
            Point::AfterSend,
            Point::BeforeLaneMarker,
            Point::BeforeLayerMarker,
            Point::AfterLayerMarker,
            Point::BeforeNextLayer,
        ] {
            let name = format!("{point:?}");
            assert!(
                self.crashes.get(&name).copied().unwrap_or(0) > 0,
                "no crash at {name}: {self}"
            );
        }
        assert!(
            self.crashes.get("BeforeAck").copied().unwrap_or(0) > 0,
            "no crash before ack"
        );
        assert!(
            self.duplicates > 0 && self.concurrent_redeliveries > 0,
            "{self}"
        );
        assert!(
            self.dead_lettered_garbage > 0 && self.claim_checked > 0,
            "{self}"
        );
        assert!(
            self.failed_jobs > 0 && self.retries > 0 && self.redriven > 0,
            "{self}"
        );
        assert!(self.resumed_completions > 0, "{self}");
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "steps={} crashes={:?} duplicates={} concurrent_redeliveries={} redriven={} garbage_dead_lettered={} \
             claim_checked={} failed_jobs={} retries={} resumed_completions={}",
            self.steps,
            self.crashes,
            self.duplicates,
            self.concurrent_redeliveries,
            self.redriven,
            self.dead_lettered_garbage,
            self.claim_checked,
            self.failed_jobs,
            self.retries,
            self.resumed_completions
        )
    }
}
