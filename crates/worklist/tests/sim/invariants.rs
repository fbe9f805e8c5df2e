//! The invariants checked after every schedule.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::path::Path;

use worklist::layout::RunKeys;
use worklist::markers::{JobRecord, JobStatus, LayerMarker, read_json};
use worklist::{DeadLetter, EmbeddedQueue, WorkMessage};

use super::*;

use super::counting_store::CountingStore;

#[allow(clippy::too_many_arguments)]
pub fn check_invariants(
    counting: &CountingStore,
    store: &Arc<dyn ObjectStore>,
    dlq: &Arc<EmbeddedQueue>,
    sched: &Schedule,
    jobs: &[String],
    behaviours: &BTreeMap<(String, String), Behaviour>,
    garbage_bodies: &[String],
    completions: &BTreeMap<String, u32>,
    sent: &[String],
) -> Result<(), String> {
    let keys = RunKeys::new(DATASET, RUN);
    let s = store.as_ref();
    // All messages end acknowledged or in the DLQ; the DLQ holds exactly the bad messages, each with a reason.
    let mut dead_bodies = BTreeSet::new();
    for body in dlq.bodies() {
        let letter: DeadLetter = serde_json::from_str(&body)
            .map_err(|_| format!("valid message left in DLQ: {body}"))?;
        if !garbage_bodies.contains(&letter.body) {
            return Err(format!(
                "a good message was dead-lettered: {} ({})",
                letter.body, letter.reason
            ));
        }
        if letter.reason.is_empty() {
            return Err("dead letter without a reason".into());
        }
        dead_bodies.insert(letter.body);
    }
    for g in garbage_bodies {
        if !dead_bodies.contains(g) {
            return Err(format!("bad message not in the DLQ: {g}"));
        }
    }
    // The hop counter never exceeds its ceiling; attempts never exceed the budget.
    for body in sent {
        let m: WorkMessage =
            serde_json::from_str(body).map_err(|e| format!("sent unparseable: {e}"))?;
        if m.hop > m.max_hops {
            return Err(format!("hop {} over ceiling {}", m.hop, m.max_hops));
        }
        if m.attempts.values().any(|a| *a >= m.max_attempts) {
            return Err(format!("attempts over budget in {body}"));
        }
    }
    let mut layer_jobs: Vec<String> = jobs.to_vec();
    for layer in LAYERS {
        let created = counting.creates_of(&keys.layer_complete(layer));
        if created != 1 {
            return Err(format!(
                "layer {layer} completion marker created {created} times (want exactly 1)"
            ));
        }
        if completions.get(layer).copied().unwrap_or(0) > 1 {
            return Err(format!(
                "layer {layer} reported completed {:?} times",
                completions.get(layer)
            ));
        }
        let marker: LayerMarker = block_on(read_json(s, &keys.layer_complete(layer)))
            .unwrap()
            .ok_or_else(|| format!("no completion marker for {layer}"))?;
        let report = block_on(worklist::report::read(s, DATASET, RUN, layer))
            .unwrap()
            .ok_or_else(|| format!("no report for {layer}"))?;
        if report.jobs_total != layer_jobs.len() {
            return Err(format!(
                "{layer}: report has {} jobs, the layer had {}",
                report.jobs_total,
                layer_jobs.len()
            ));
        }
        for job in &layer_jobs {
            let record: Option<JobRecord> =
                block_on(read_json(s, &keys.job_record(layer, job))).unwrap();
            let Some(record) = record else {
                return Err(format!("{layer}/{job} was lost: no terminal record"));
            };
            let done = record.status == JobStatus::Done;
            let output = block_on(worklist::markers::exists(s, &output_key(layer, job))).unwrap();
            if done && !output {
                return Err(format!(
                    "{layer}/{job} is recorded done but its output is missing"
                ));
            }
            if !done
                && record.attempts != sched.max_attempts
                && !record.error.as_deref().unwrap_or("").contains("fatal")
            {
                return Err(format!(
                    "{layer}/{job} failed after {} attempts, budget {}",
                    record.attempts, sched.max_attempts
                ));
            }
            let in_marker = if done { &marker.done } else { &marker.failed };
            if !in_marker.contains(job) {
                return Err(format!(
                    "{layer}/{job} ({:?}) missing from the completion marker's list",
                    record.status
                ));
            }
            let b = behaviours[&(layer.to_owned(), job.clone())];
            let must_succeed = match b {
                Behaviour::Ok => true,
                Behaviour::Transient(k) => k < sched.max_attempts,
                _ => false,
            };
            if must_succeed && !done {
                return Err(format!("{layer}/{job} ({b:?}) should have succeeded"));
            }
            if matches!(b, Behaviour::Permanent | Behaviour::Fatal) && (done || output) {
                return Err(format!(
                    "{layer}/{job} ({b:?}) cannot be done or have output"
                ));
            }
            let in_report = report.jobs.iter().filter(|j| &j.job == job).count();
            if in_report != 1 {
                return Err(format!(
                    "{layer}/{job} appears {in_report} times in the report"
                ));
            }
        }
        // Exactly one start of the next layer: every first message of it is identical per lane.
        if let Some(next) = &marker.next_layer {
            let firsts: BTreeSet<&String> = sent
                .iter()
                .filter(|b| {
                    serde_json::from_str::<WorkMessage>(b)
                        .is_ok_and(|m| &m.layer == next && m.hop == 0)
                })
                .collect();
            if firsts.len() != sched.lanes as usize {
                return Err(format!(
                    "{next} was started with {} distinct first messages",
                    firsts.len()
                ));
            }
            layer_jobs = marker.done.clone();
        }
    }
    // No output for anything but jobs of the run.
    let outputs: Vec<_> = block_on(futures::TryStreamExt::try_collect::<Vec<_>>(
        s.list(Some(&Path::from("out"))),
    ))
    .unwrap();
    for meta in outputs {
        let name = meta
            .location
            .filename()
            .unwrap()
            .trim_end_matches(".txt")
            .to_owned();
        if !jobs.contains(&name) {
            return Err(format!("unexpected output {}", meta.location));
        }
    }
    Ok(())
}
