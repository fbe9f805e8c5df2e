//! The invariants checked after every schedule (the "no redo" invariant is checked by the runner as each job
//! starts, see `fakes::SimRunner`). Every check reports a [`Violation`] of a [`Kind`] and goes on, so a test
//! can assert that a broken consumer trips the specific invariant it breaks.
//!
//! "Nothing lost", precisely, once the work queue is empty, no delivery is running and the DLQ has been
//! persisted into the store: walking the layers in chain order,
//! - a layer with a completion marker has exactly one terminal record per job, listed in the marker under its
//!   status, a report of all of them, and the next layer was started on every lane by the marker's owner —
//!   or the owner's message is in the DLQ (its redrive resumes the completion and starts the next layer);
//! - a layer without one is pending in the DLQ: each lane has its lane-done marker or a dead-lettered message
//!   of that lane, every job without a terminal record is in the remaining list of a dead-lettered message of
//!   its lane, and when every lane is done a dead-lettered message of the layer exists (it completes the layer
//!   on redrive) — unless the previous layer's completing message is in the DLQ (its redrive restarts this
//!   layer on every lane); the layers after it have no state at all;
//! - the DLQ holds, besides the bad messages (each with a reason), only good messages the queue's redrive
//!   policy moved there; they are counted (`Stats::dlq_good_left`). The consumer never refuses a good message.

use std::collections::{BTreeMap, BTreeSet};

use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

use worklist::WorkMessage;
use worklist::codec;
use worklist::consumer::body_token;
use worklist::markers::{JobRecord, JobStatus, LayerMarker, read_json};
use worklist::message::SQS_MAX_MESSAGE_BYTES;
use worklist::status::dead_letters;

use super::fakes::{Behaviour, World, output_key};
use super::keys::{self, SimKeys};
use super::*;

/// Which invariant a violation breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A delivery executed a job whose terminal record it could have seen (it read the record key after the
    /// record was written, or never read it): finished work redone.
    RedoneAfterTerminal,
    /// A layer's completion marker was written more than once, or more than one delivery reported creating it.
    LayerMarkerNotOnce,
    /// A job's terminal record was written more than once.
    JobRecordNotOnce,
    /// The next layer was started by a message other than the completion marker's owner, or on a lane with
    /// other jobs than the marker's done list dealt to it, or with more than one distinct first message a lane.
    NextLayerNotOnce,
    /// Work that is neither finished nor in the DLQ (see the module doc).
    Lost,
    /// KNOWN GAP in `fanin.rs` (not fixed here): a layer's completion marker exists but the completion never
    /// finished (no report, or the next layer not started on every lane), because the marker's owner message
    /// was acknowledged by another delivery of the same body that took a different path (a concurrent
    /// redelivery that retried the job, or saw a lane not yet done), so the owner's failure is never
    /// redelivered, and every other message finds the marker and stops (`AlreadyComplete`).
    StrandedCompletion,
    /// A layer has state although the layer before it never completed.
    RanAhead,
    /// The consumer refused a good message, or a bad message is not in the DLQ with a reason.
    DeadLetters,
    /// A recorded outcome contradicts the job's behaviour, or marker, report and records disagree.
    Outcome,
    /// A message over its hop ceiling or attempt budget was sent.
    Bounds,
    /// The schedule did not end.
    NoTermination,
}

/// One broken invariant.
#[derive(Debug, Clone)]
pub struct Violation {
    pub kind: Kind,
    pub detail: String,
}

/// Everything the checks read at the end of a schedule.
pub struct Ending<'a> {
    pub world: &'a World,
    /// The store without faults.
    pub inner: &'a InMemory,
    pub keys: &'a SimKeys,
    pub sched: &'a Schedule,
    pub jobs: &'a [String],
    pub garbage: &'a [String],
    /// Layer -> deliveries that reported creating its completion marker.
    pub completions: &'a BTreeMap<String, u32>,
}

/// A good message in the DLQ.
struct Letter {
    msg: WorkMessage,
    remaining: Vec<String>,
    token: String,
}

struct Checker<'a> {
    e: &'a Ending<'a>,
    out: Vec<Violation>,
}

impl Checker<'_> {
    fn v(&mut self, kind: Kind, detail: String) {
        self.out.push(Violation { kind, detail });
    }

    fn writes(&self, key: &Path) -> usize {
        self.e.world.writes.get(key.as_ref()).map_or(0, Vec::len)
    }

    fn store(&self) -> &dyn ObjectStore {
        self.e.inner
    }

    /// The jobs of each lane when `jobs` start `layer`, as the first messages deal them.
    fn dealt(&self, layer: &str, jobs: &[String]) -> Vec<Vec<String>> {
        WorkMessage::first_of_layer_with(
            DATASET,
            RUN,
            layer,
            jobs.to_vec(),
            self.e.sched.lanes,
            self.e.sched.max_attempts,
        )
        .iter()
        .map(|m| block_on(codec::remaining_jobs(m, self.store(), &keys::grants())).unwrap())
        .collect()
    }
}

pub fn check(e: &Ending<'_>, stats: &mut Stats) -> Vec<Violation> {
    let mut c = Checker { e, out: Vec::new() };
    let w = e.world;
    let s = e.inner;

    // Dead letters: the consumer refuses only bad messages; every bad message ends in the DLQ with a reason.
    for body in &w.refused {
        if !e.garbage.contains(body) {
            c.v(
                Kind::DeadLetters,
                format!("the consumer refused a good message: {body}"),
            );
        }
    }
    let mut good: Vec<Letter> = Vec::new();
    let mut bad_seen = BTreeSet::new();
    for entry in block_on(dead_letters(s, &keys::grants(), DATASET, RUN)).unwrap() {
        if entry.letter.reason.is_empty() {
            c.v(
                Kind::DeadLetters,
                format!("dead letter {} without a reason", entry.key),
            );
        }
        if e.garbage.contains(&entry.letter.body) {
            bad_seen.insert(entry.letter.body.clone());
            continue;
        }
        match codec::decode(&entry.letter.body, SQS_MAX_MESSAGE_BYTES) {
            Ok(msg) => {
                let remaining =
                    block_on(codec::remaining_jobs(&msg, s, &keys::grants())).unwrap_or_default();
                good.push(Letter {
                    token: body_token(&entry.letter.body),
                    msg,
                    remaining,
                });
            }
            Err(err) => c.v(
                Kind::DeadLetters,
                format!(
                    "dead letter {} is neither a known bad message nor a good one: {err}",
                    entry.key
                ),
            ),
        }
    }
    for g in e.garbage {
        if !bad_seen.contains(g) {
            c.v(
                Kind::DeadLetters,
                format!("bad message not in the DLQ: {g}"),
            );
        }
    }
    stats.dlq_good_left += good.len() as u64;

    // The hop counter never exceeds its ceiling; attempts never exceed the budget (the bad messages, which
    // the operator's redrive re-sends, aside).
    let mut sent: Vec<(Option<&String>, WorkMessage, Vec<String>)> = Vec::new();
    for m in w.sent.iter().filter(|m| !e.garbage.contains(&m.body)) {
        let msg: WorkMessage = match serde_json::from_str(&m.body) {
            Ok(msg) => msg,
            Err(err) => {
                c.v(
                    Kind::Bounds,
                    format!("sent unparseable ({err}): {}", m.body),
                );
                continue;
            }
        };
        if msg.hop > msg.max_hops {
            c.v(
                Kind::Bounds,
                format!("hop {} over ceiling {}", msg.hop, msg.max_hops),
            );
        }
        if msg.attempts.values().any(|a| *a >= msg.max_attempts) {
            c.v(Kind::Bounds, format!("attempts over budget in {}", m.body));
        }
        let remaining =
            block_on(codec::remaining_jobs(&msg, s, &keys::grants())).unwrap_or_default();
        sent.push((m.by_token.as_ref(), msg, remaining));
    }

    let lanes = e.sched.lanes;
    // The jobs of the layer being walked; `None` once a layer did not complete.
    let mut expected: Option<Vec<String>> = Some(e.jobs.to_vec());
    // The previous layer's completing message is in the DLQ: its redrive starts this layer on every lane.
    let mut restart_pending = false;
    for (i, layer) in LAYERS.iter().copied().enumerate() {
        let record_keys: Vec<Path> = block_on(
            s.list(Some(&e.keys.jobs_prefix(layer)))
                .map_ok(|m| m.location)
                .try_collect::<Vec<_>>(),
        )
        .unwrap()
        .into_iter()
        .filter(|k| e.keys.is_record_of(layer, k))
        .collect();
        let Some(exp) = expected.take() else {
            let firsts = sent
                .iter()
                .filter(|(_, m, _)| m.layer == layer && m.hop == 0)
                .count();
            if c.writes(&e.keys.complete(layer)) > 0 || !record_keys.is_empty() || firsts > 0 {
                c.v(
                    Kind::RanAhead,
                    format!(
                        "{layer} has state ({} records, {firsts} first messages) though the layer before it \
                         did not complete",
                        record_keys.len()
                    ),
                );
            }
            continue;
        };
        let pending_restart = std::mem::take(&mut restart_pending);

        // Exactly once: the completion marker, each job's terminal record.
        let marker_writes = c.writes(&e.keys.complete(layer));
        if marker_writes > 1 {
            c.v(
                Kind::LayerMarkerNotOnce,
                format!("{layer} completion marker written {marker_writes} times"),
            );
        }
        let creators = e.completions.get(layer).copied().unwrap_or(0);
        if creators > 1 {
            c.v(
                Kind::LayerMarkerNotOnce,
                format!("{creators} deliveries reported creating the {layer} completion marker"),
            );
        }
        for job in e.jobs {
            let n = c.writes(&e.keys.record(layer, job));
            if n > 1 {
                c.v(
                    Kind::JobRecordNotOnce,
                    format!("{layer}/{job} terminal record written {n} times"),
                );
            }
        }
        for key in &record_keys {
            let known = exp.iter().any(|j| &e.keys.record(layer, j) == key);
            if !known {
                c.v(
                    Kind::Outcome,
                    format!("record {key} for a job that is not in {layer}"),
                );
            }
        }

        let marker: Option<LayerMarker> = block_on(read_json(s, &e.keys.complete(layer))).unwrap();
        let report = block_on(worklist::report::read(
            s,
            prefixes::process::runs().into(),
            DATASET,
            RUN,
            layer,
        ))
        .unwrap();
        let mut missing: BTreeSet<String> = BTreeSet::new();
        for job in &exp {
            let record: Option<JobRecord> =
                block_on(read_json(s, &e.keys.record(layer, job))).unwrap();
            let Some(record) = record else {
                missing.insert(job.clone());
                continue;
            };
            check_record(&mut c, layer, job, &record);
            if let Some(marker) = &marker {
                let done = record.status == JobStatus::Done;
                let listed = if done { &marker.done } else { &marker.failed };
                if !listed.contains(job) {
                    c.v(
                        Kind::Outcome,
                        format!(
                            "{layer}/{job} ({:?}) missing from the completion marker's list",
                            record.status
                        ),
                    );
                }
                let in_report = report
                    .as_ref()
                    .map(|r| r.jobs.iter().filter(|j| &j.job == job).count());
                if in_report.is_some_and(|n| n != 1) {
                    c.v(
                        Kind::Outcome,
                        format!("{layer}/{job} appears {in_report:?} times in the report"),
                    );
                }
            }
        }

        let Some(marker) = marker else {
            // Not complete: the rest of the layer must be in the DLQ.
            stats.layers_pending += 1;
            if !pending_restart {
                let here: Vec<&Letter> = good.iter().filter(|l| l.msg.layer == layer).collect();
                let mut all_lanes_done = true;
                for (lane, lane_jobs) in c.dealt(layer, &exp).into_iter().enumerate() {
                    let lane_done = block_on(s.head(&e.keys.lane(layer, lane as u32))).is_ok();
                    all_lanes_done &= lane_done;
                    let letters: Vec<&&Letter> =
                        here.iter().filter(|l| l.msg.lane == lane as u32).collect();
                    if !lane_done && letters.is_empty() {
                        c.v(
                            Kind::Lost,
                            format!(
                                "{layer} lane {lane} is not done and no message of it is in the DLQ \
                                 (jobs without a record: {:?})",
                                lane_jobs.iter().filter(|j| missing.contains(*j)).collect::<Vec<_>>()
                            ),
                        );
                        continue;
                    }
                    for job in lane_jobs.iter().filter(|j| missing.contains(*j)) {
                        if !letters.iter().any(|l| l.remaining.contains(job)) {
                            c.v(
                                Kind::Lost,
                                format!(
                                    "{layer}/{job} has no terminal record and is in no dead-lettered \
                                     message (lane {lane} done: {lane_done})"
                                ),
                            );
                        }
                    }
                }
                if all_lanes_done && here.is_empty() {
                    c.v(
                        Kind::Lost,
                        format!("every lane of {layer} is done, but it never completed and no message of it is in the DLQ"),
                    );
                }
            }
            continue;
        };

        // Complete.
        let owner_in_dlq = good.iter().any(|l| l.token == marker.owner);
        let stranded = !owner_in_dlq && w.acked_without_completing.contains(&marker.owner);
        if !missing.is_empty() {
            c.v(
                Kind::Lost,
                format!("{layer} completed without a terminal record of {missing:?}"),
            );
        }
        let mut listed: Vec<String> = marker.done.iter().chain(&marker.failed).cloned().collect();
        listed.sort();
        let mut want = exp.clone();
        want.sort();
        if listed != want {
            c.v(
                Kind::Outcome,
                format!("{layer} marker lists {listed:?}, the layer had {want:?}"),
            );
        }
        match &report {
            Some(r) if r.jobs_total == exp.len() => {}
            Some(r) => c.v(
                Kind::Outcome,
                format!(
                    "{layer}: report has {} jobs, the layer had {}",
                    r.jobs_total,
                    exp.len()
                ),
            ),
            None => {
                // The completing delivery dies between the marker and the report only if it is redelivered.
                if !owner_in_dlq {
                    let kind = if stranded {
                        Kind::StrandedCompletion
                    } else {
                        Kind::Lost
                    };
                    c.v(kind, format!("{layer} completed without a report"));
                }
            }
        }
        let Some(next) = LAYERS.get(i + 1).copied() else {
            if marker.next_layer.is_some() {
                c.v(
                    Kind::Outcome,
                    format!(
                        "{layer} is the last layer but starts {:?}",
                        marker.next_layer
                    ),
                );
            }
            continue;
        };
        if marker.next_layer.as_deref() != Some(next) {
            c.v(
                Kind::Outcome,
                format!("{layer} starts {:?}, not {next}", marker.next_layer),
            );
        }
        // The next layer starts once: only the owner sends its first messages, one per lane, with the
        // marker's done jobs dealt over the lanes (re-sends of the same bodies by the operator's redrive and
        // by redeliveries of the owner are the same start).
        let firsts: Vec<&(Option<&String>, WorkMessage, Vec<String>)> = sent
            .iter()
            .filter(|(_, m, _)| m.layer == next && m.hop == 0)
            .collect();
        let foreign: BTreeSet<&String> = firsts
            .iter()
            .filter_map(|(by, _, _)| *by)
            .filter(|t| **t != marker.owner)
            .collect();
        if !foreign.is_empty() {
            c.v(
                Kind::NextLayerNotOnce,
                format!(
                    "{next} was started by {} message(s) besides the {layer} marker's owner",
                    foreign.len()
                ),
            );
        }
        let dealt = c.dealt(next, &marker.done);
        let mut per_lane: BTreeMap<u32, BTreeSet<&Vec<String>>> = BTreeMap::new();
        for (_, m, remaining) in &firsts {
            per_lane.entry(m.lane).or_default().insert(remaining);
        }
        for (lane, lists) in &per_lane {
            let want = dealt.get(*lane as usize);
            if lists.len() > 1 || want.is_none_or(|w| !lists.contains(w)) {
                c.v(
                    Kind::NextLayerNotOnce,
                    format!("{next} lane {lane} started with {lists:?}, want {want:?}"),
                );
            }
        }
        let owner_sent = firsts.iter().any(|(by, _, _)| *by == Some(&marker.owner));
        if per_lane.len() == lanes as usize && owner_sent {
            // Started.
        } else if owner_in_dlq {
            restart_pending = true;
            stats.layers_pending += 1;
        } else if stranded {
            // Reported once (below); the next layer's completeness is then not checked.
            restart_pending = true;
            c.v(
                Kind::StrandedCompletion,
                format!(
                    "{layer} completed and {next} was started on {} of {lanes} lanes; the owner's message was \
                     acknowledged by a delivery that did not finish the completion",
                    per_lane.len()
                ),
            );
        } else {
            c.v(
                Kind::Lost,
                format!(
                    "{layer} completed and {next} was started on {} of {lanes} lanes, but the completing \
                     message is not in the DLQ",
                    per_lane.len()
                ),
            );
        }
        expected = Some(marker.done.clone());
    }

    // No output for anything but jobs of the run.
    let outputs: Vec<_> =
        block_on(s.list(Some(&Path::from("out"))).try_collect::<Vec<_>>()).unwrap();
    for meta in outputs {
        let name = meta
            .location
            .filename()
            .unwrap()
            .trim_end_matches(".txt")
            .to_owned();
        if !e.jobs.contains(&name) {
            c.v(
                Kind::Outcome,
                format!("unexpected output {}", meta.location),
            );
        }
    }
    c.out
}

/// A terminal record agrees with the job's behaviour and the attempt budget.
fn check_record(c: &mut Checker<'_>, layer: &str, job: &str, record: &JobRecord) {
    let e = c.e;
    let done = record.status == JobStatus::Done;
    let output = block_on(e.inner.head(&output_key(layer, job))).is_ok();
    if done && !output {
        c.v(
            Kind::Outcome,
            format!("{layer}/{job} is recorded done but its output is missing"),
        );
    }
    if !done
        && record.attempts != e.sched.max_attempts
        && !record.error.as_deref().unwrap_or("").contains("fatal")
    {
        c.v(
            Kind::Outcome,
            format!(
                "{layer}/{job} failed after {} attempts, budget {}",
                record.attempts, e.sched.max_attempts
            ),
        );
    }
    let key = (layer.to_owned(), job.to_owned());
    let b = e.world.behaviours[&key];
    let must_succeed = match b {
        Behaviour::Ok => true,
        Behaviour::Transient(k) => k < e.sched.max_attempts,
        _ => false,
    } && !e.world.fault_hit_jobs.contains(&key);
    if must_succeed && !done {
        c.v(
            Kind::Outcome,
            format!("{layer}/{job} ({b:?}) should have succeeded"),
        );
    }
    if matches!(b, Behaviour::Permanent | Behaviour::Fatal) && (done || output) {
        c.v(
            Kind::Outcome,
            format!("{layer}/{job} ({b:?}) cannot be done or have output"),
        );
    }
}
