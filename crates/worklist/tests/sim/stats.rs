//! Counters of the faults a schedule exercised, summed over a run and checked for coverage.

use std::collections::BTreeMap;
use std::fmt;

use worklist::probe::Point;

/// Counters of what a schedule exercised.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub schedules: u64,
    pub crashes: BTreeMap<String, u64>,
    /// Injected store and queue failures, by call (and before/after it took effect).
    pub faults: BTreeMap<String, u64>,
    pub duplicates: u64,
    /// Deliveries of a message id that another delivery was still stepping.
    pub concurrent_redeliveries: u64,
    /// Deliveries of a message id whose earlier delivery's step had returned `Ok` (its delete failed or came
    /// too late).
    pub redelivered_after_ok: u64,
    /// Of those, head jobs the step found settled and skipped.
    pub skipped_on_redelivery: u64,
    /// Receives whose first message was not the oldest visible one.
    pub out_of_order_receives: u64,
    /// Receives that also handed out a message already in flight.
    pub in_flight_redeliveries: u64,
    /// Acknowledgements (deletes) that failed.
    pub failed_acks: u64,
    /// Messages the redrive policy moved to the DLQ after too many receives.
    pub queue_redrives: u64,
    /// Dead letters the operator re-sent with `worklist::redrive::redrive_dead_letters`.
    pub redriven: u64,
    /// Good messages still in the DLQ at the end (the operator gave up): accounted by "nothing lost".
    pub dlq_good_left: u64,
    /// Layers left incomplete with their work in the DLQ.
    pub layers_pending: u64,
    /// Schedules that hit the known gap `Kind::StrandedCompletion` (a completion left unfinished).
    pub stranded_completions: u64,
    /// Executions by a delivery that checked before another delivery wrote the job's record (allowed).
    pub overlapping_reruns: u64,
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
        for (k, v) in &s.faults {
            *self.faults.entry(k.clone()).or_default() += v;
        }
        self.duplicates += s.duplicates;
        self.concurrent_redeliveries += s.concurrent_redeliveries;
        self.redelivered_after_ok += s.redelivered_after_ok;
        self.skipped_on_redelivery += s.skipped_on_redelivery;
        self.out_of_order_receives += s.out_of_order_receives;
        self.in_flight_redeliveries += s.in_flight_redeliveries;
        self.failed_acks += s.failed_acks;
        self.queue_redrives += s.queue_redrives;
        self.redriven += s.redriven;
        self.dlq_good_left += s.dlq_good_left;
        self.layers_pending += s.layers_pending;
        self.overlapping_reruns += s.overlapping_reruns;
        self.stranded_completions += s.stranded_completions;
        self.dead_lettered_garbage += s.dead_lettered_garbage;
        self.claim_checked += s.claim_checked;
        self.failed_jobs += s.failed_jobs;
        self.retries += s.retries;
        self.resumed_completions += s.resumed_completions;
        self.steps += s.steps;
    }

    /// Every fault the simulation claims to inject happened at least once, or the invariants proved nothing.
    pub fn assert_faults_exercised(&self) {
        for point in [
            Point::BeforeRun,
            Point::BeforeDoneMarker,
            Point::AfterDoneMarker,
            Point::BeforeFailedRecord,
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
        for fault in [
            "put_before",
            "put_after",
            "put_create_before",
            "put_create_after",
            "get",
            "head",
            "list",
            "delete",
            "send_before",
            "send_after",
            "receive_before",
            "receive_after",
            "delete_before",
            "delete_after",
            "change_visibility",
        ] {
            assert!(
                self.faults.get(fault).copied().unwrap_or(0) > 0,
                "no injected {fault} failure: {self}"
            );
        }
        for (what, n) in [
            ("duplicate sends", self.duplicates),
            ("concurrent redeliveries", self.concurrent_redeliveries),
            ("redeliveries after an Ok step", self.redelivered_after_ok),
            ("skips on redelivery", self.skipped_on_redelivery),
            ("out-of-order receives", self.out_of_order_receives),
            ("in-flight redeliveries", self.in_flight_redeliveries),
            ("failed acks", self.failed_acks),
            ("queue redrives to the DLQ", self.queue_redrives),
            ("operator redrives", self.redriven),
            ("good messages left in the DLQ", self.dlq_good_left),
            ("overlapping reruns", self.overlapping_reruns),
            ("dead-lettered garbage", self.dead_lettered_garbage),
            ("claim-checked lists", self.claim_checked),
            ("failed jobs", self.failed_jobs),
            ("retries", self.retries),
            ("resumed completions", self.resumed_completions),
        ] {
            assert!(n > 0, "no {what}: {self}");
        }
    }
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "steps={} crashes={:?} faults={:?} duplicates={} concurrent_redeliveries={} redelivered_after_ok={} \
             skipped_on_redelivery={} out_of_order_receives={} in_flight_redeliveries={} failed_acks={} \
             queue_redrives={} redriven={} dlq_good_left={} layers_pending={} stranded_completions={} overlapping_reruns={} \
             garbage_dead_lettered={} claim_checked={} failed_jobs={} retries={} resumed_completions={}",
            self.steps,
            self.crashes,
            self.faults,
            self.duplicates,
            self.concurrent_redeliveries,
            self.redelivered_after_ok,
            self.skipped_on_redelivery,
            self.out_of_order_receives,
            self.in_flight_redeliveries,
            self.failed_acks,
            self.queue_redrives,
            self.redriven,
            self.dlq_good_left,
            self.layers_pending,
            self.stranded_completions,
            self.overlapping_reruns,
            self.dead_lettered_garbage,
            self.claim_checked,
            self.failed_jobs,
            self.retries,
            self.resumed_completions
        )
    }
}
