//! The simulation world: a seeded scheduler that interleaves deliveries by polling their futures in random
//! order over a fake SQS queue and a fault-injecting store, an operator who persists and redrives the DLQ with
//! the production functions, and the invariant checks run after each schedule.
//!
//! Everything is deterministic in the seed: one `StdRng` drives the schedule, the faults, the queue's order and
//! the scheduler; time is a `ManualClock`; the DLQ stamps dead letters with simulated time.

mod fakes;
mod invariants;
mod keys;
mod queue;
mod stats;
mod store;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use worklist::clock::ManualClock;
use worklist::consumer::body_token;
use worklist::local::persist_dead_letters;
use worklist::message::SQS_MAX_MESSAGE_BYTES;
use worklist::redrive::redrive_dead_letters;
use worklist::{Config, Consumer, FanIn, JobOutcome, Queue, Registry, StepError, WorkMessage};

pub use fakes::Broken;
use fakes::*;
pub use invariants::{Kind, Violation};
use keys::SimKeys;
use queue::{Role, SimQueue};
pub use stats::Stats;
use store::SimStore;

const DATASET: &str = "sim";
const RUN: &str = "R1";
const LAYERS: [&str; 2] = ["transform", "analyze"];
const VIS: Duration = Duration::from_secs(30);
const MAX_RECEIVES: u32 = 6;
const MAX_TASKS: usize = 3;
const MAX_ITERATIONS: u64 = 200_000;
/// Attempts the operator makes at one call (persist, redrive) before giving up on the schedule.
const OPERATOR_TRIES: u32 = 1_000;

/// Parameters of one schedule, drawn from its seed.
#[derive(Debug, Default, Clone)]
pub struct Schedule {
    pub jobs: usize,
    pub lanes: u32,
    pub max_attempts: u32,
    pub inline_limit: usize,
    pub p_crash: f64,
    pub crash_budget: u32,
    pub p_fault: f64,
    pub fault_budget: u32,
    pub p_dup: f64,
    pub p_redeliver: f64,
    /// How many times the operator redrives the DLQ before leaving what is there.
    pub operator_rounds: u32,
}

/// What one schedule did and every invariant it violated.
pub struct Run {
    pub sched: Schedule,
    pub stats: Stats,
    pub violations: Vec<Violation>,
}

impl Run {
    /// The violations of `kind`.
    pub fn of(&self, kind: Kind) -> Vec<&Violation> {
        self.violations.iter().filter(|v| v.kind == kind).collect()
    }
}

type Task = Pin<Box<dyn Future<Output = TaskEnd>>>;

enum TaskEnd {
    /// The step returned `Ok`; `acked` says whether the delete succeeded.
    Stepped {
        report: Box<worklist::StepReport>,
        acked: bool,
    },
    /// The step returned `Err` (left for redelivery).
    Failed(String),
    /// The process died.
    Crashed,
}

struct Running {
    task: Task,
    delivery: usize,
    message_id: String,
    /// The message id had already been stepped with `Ok` before this delivery.
    after_ok: bool,
}

fn draw_schedule(rng: &mut StdRng) -> Schedule {
    Schedule {
        jobs: rng.random_range(1..=6),
        lanes: rng.random_range(1..=3),
        max_attempts: rng.random_range(1..=3),
        inline_limit: if rng.random_bool(0.3) { 200 } else { 1 << 20 },
        p_crash: [0.0, 0.02, 0.08][rng.random_range(0..3)],
        crash_budget: rng.random_range(0..12),
        p_fault: [0.0, 0.01, 0.03, 0.08][rng.random_range(0..4)],
        fault_budget: rng.random_range(0..40),
        p_dup: [0.0, 0.05, 0.2][rng.random_range(0..3)],
        p_redeliver: [0.0, 0.05, 0.15][rng.random_range(0..3)],
        operator_rounds: if rng.random_bool(0.25) {
            0
        } else {
            rng.random_range(1..=6)
        },
    }
}

fn garbage(rng: &mut StdRng, lanes: u32) -> Vec<String> {
    let mut out = Vec::new();
    if rng.random_bool(0.15) {
        out.push("{not json".to_owned());
    }
    if rng.random_bool(0.1) {
        let mut m =
            WorkMessage::first_of_layer(DATASET, RUN, LAYERS[0], vec!["ghost".into()], lanes)
                .remove(0);
        m.lane = 0;
        out.push(serde_json::to_string(&m).unwrap());
    }
    if rng.random_bool(0.1) {
        let mut m =
            WorkMessage::first_of_layer(DATASET, RUN, LAYERS[0], vec!["j0".into()], 1).remove(0);
        m.hop = m.max_hops + 5;
        out.push(serde_json::to_string(&m).unwrap());
    }
    out
}

/// Run one schedule of the correct consumer; `Err` lists the violated invariants. Violations of the known gap
/// [`Kind::StrandedCompletion`] are counted in the stats (`stranded_completions`), not failed on.
pub fn run_schedule(seed: u64) -> Result<Stats, String> {
    let mut run = simulate(seed, None);
    let stranded = run.of(Kind::StrandedCompletion).len();
    run.stats.stranded_completions += stranded.min(1) as u64;
    run.violations
        .retain(|v| v.kind != Kind::StrandedCompletion);
    if run.violations.is_empty() {
        Ok(run.stats)
    } else {
        let lines: Vec<String> = run
            .violations
            .iter()
            .map(|v| format!("  {:?}: {}", v.kind, v.detail))
            .collect();
        Err(format!("{}\n{:?}", lines.join("\n"), run.sched))
    }
}

/// Run the schedule of `seed`, with the consumer deliberately `broken` or not.
pub fn simulate(seed: u64, broken: Option<Broken>) -> Run {
    let mut rng = StdRng::seed_from_u64(seed);
    let sched = draw_schedule(&mut rng);
    let jobs: Vec<String> = (0..sched.jobs).map(|i| format!("j{i}")).collect();
    let mut behaviours = BTreeMap::new();
    for layer in LAYERS {
        for job in &jobs {
            let b = match rng.random_range(0..10) {
                0..=5 => Behaviour::Ok,
                6 | 7 => Behaviour::Transient(rng.random_range(1..=3)),
                8 => Behaviour::Permanent,
                _ => Behaviour::Fatal,
            };
            behaviours.insert((layer.to_owned(), job.clone()), b);
        }
    }
    let garbage_bodies = garbage(&mut rng, sched.lanes);
    let keys = Arc::new(SimKeys::new(&jobs));
    let world: Shared = Arc::new(Mutex::new(World {
        rng,
        p_crash: sched.p_crash,
        crash_budget: sched.crash_budget,
        p_fault: sched.p_fault,
        fault_budget: sched.fault_budget,
        p_dup: sched.p_dup,
        p_redeliver: sched.p_redeliver,
        broken,
        keys: keys.clone(),
        behaviours: behaviours.clone(),
        executions: BTreeMap::new(),
        fault_hit_jobs: BTreeSet::new(),
        seq: 0,
        current: None,
        deliveries: Vec::new(),
        writes: BTreeMap::new(),
        sent: Vec::new(),
        refused: Vec::new(),
        acked_without_completing: BTreeSet::new(),
        violations: Vec::new(),
        stats: Stats {
            schedules: 1,
            ..Stats::default()
        },
        trace: std::env::var_os("SIM_TRACE").is_some(),
    }));

    let inner = Arc::new(InMemory::new());
    let store: Arc<dyn ObjectStore> = Arc::new(SimStore {
        inner: inner.clone(),
        world: world.clone(),
    });
    let clock = Arc::new(ManualClock::new());
    let dlq = Arc::new(SimQueue::new(
        "dlq",
        Role::Dlq,
        world.clone(),
        clock.clone(),
    ));
    let work = Arc::new(SimQueue::new(
        "work",
        Role::Work {
            dlq: dlq.clone(),
            max_receives: MAX_RECEIVES,
        },
        world.clone(),
        clock.clone(),
    ));
    let mut runners = Registry::new();
    let runner = Arc::new(SimRunner {
        world: world.clone(),
        store: store.clone(),
    });
    for layer in LAYERS {
        runners.register(layer, runner.clone());
    }
    let mut config = Config::new(LAYERS.iter().map(|s| s.to_string()).collect());
    config.max_body_bytes = sched.inline_limit;
    config.retry_delay = Duration::from_secs(5);
    let consumer = Arc::new(Consumer {
        store: store.clone(),
        locations: keys::grants(),
        queue: work.clone(),
        dlq: dlq.clone(),
        runners,
        config,
        probe: Arc::new(SimProbe(world.clone())),
    });

    // Setup without faults: the manifest, the first layer's messages (as ingestion sends them) and the garbage.
    block_on(async {
        let manifest =
            serde_json::to_value(contract::RunManifest::of_jobs(DATASET, RUN, &jobs)).unwrap();
        inner
            .put(&keys.manifest(), PutPayload::from(manifest.to_string()))
            .await
            .unwrap();
        let firsts = WorkMessage::first_of_layer_with(
            DATASET,
            RUN,
            LAYERS[0],
            jobs.clone(),
            sched.lanes,
            sched.max_attempts,
        );
        for m in firsts {
            let body = worklist::codec::encode(
                &m,
                inner.as_ref(),
                keys::grants().worklist.into(),
                sched.inline_limit,
            )
            .await
            .unwrap();
            work.push(&body, Duration::ZERO);
            lock(&world).sent.push(Sent {
                body,
                by_token: None,
            });
        }
        for g in &garbage_bodies {
            work.push(g, Duration::ZERO);
        }
    });

    let mut tasks: Vec<Running> = Vec::new();
    let mut completions: BTreeMap<String, u32> = BTreeMap::new();
    let mut in_progress: BTreeMap<String, u32> = BTreeMap::new();
    let mut stepped_ok: BTreeSet<String> = BTreeSet::new();
    let mut rounds_left = sched.operator_rounds;
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut iterations = 0u64;
    let mut terminated = true;
    loop {
        iterations += 1;
        if iterations > MAX_ITERATIONS {
            terminated = false;
            let detail = format!(
                "no termination after {MAX_ITERATIONS} iterations; tasks={} queued={}",
                tasks.len(),
                work.len()
            );
            lock(&world).violation(Kind::NoTermination, detail);
            break;
        }
        let counts = block_on(work.counts()).unwrap();
        if tasks.is_empty() && counts.total() == 0 {
            match operator(
                &store,
                &inner,
                &work,
                &dlq,
                &clock,
                &world,
                &garbage_bodies,
                &mut rounds_left,
            ) {
                Ok(true) => continue,
                Ok(false) => break,
                Err(detail) => {
                    terminated = false;
                    lock(&world).violation(Kind::NoTermination, detail);
                    break;
                }
            }
        }
        let action = lock(&world).rng.random_range(0..10);
        match action {
            0..=3 if tasks.len() < MAX_TASKS && counts.visible > 0 => {
                let max = lock(&world).rng.random_range(1..=2);
                let Ok(got) = block_on(work.receive(max, VIS, Duration::ZERO)) else {
                    continue;
                };
                for r in got {
                    let in_flight = in_progress.entry(r.message_id.clone()).or_default();
                    let after_ok = stepped_ok.contains(&r.message_id);
                    let delivery = {
                        let head_record = head_record(&r.body, inner.as_ref(), &keys);
                        let mut w = lock(&world);
                        if *in_flight > 0 {
                            w.stats.concurrent_redeliveries += 1;
                        }
                        if after_ok {
                            w.stats.redelivered_after_ok += 1;
                        }
                        w.trace(|| {
                            format!(
                                "receive {} #{} as delivery {} (token {}): {}",
                                r.message_id,
                                r.receive_count,
                                w.deliveries.len(),
                                &body_token(&r.body)[..8],
                                r.body
                            )
                        });
                        w.deliveries.push(Delivery {
                            token: body_token(&r.body),
                            head_record,
                            ..Delivery::default()
                        });
                        w.deliveries.len() - 1
                    };
                    *in_flight += 1;
                    let consumer = consumer.clone();
                    let world = world.clone();
                    let work = work.clone();
                    let message_id = r.message_id.clone();
                    let task: Task = Box::pin(async move {
                        let result = consumer.step(&r.body, r.receive_count).await;
                        YieldOnce(false).await;
                        match result {
                            Ok(report) => {
                                if maybe_crash(&world, "BeforeAck") {
                                    return TaskEnd::Crashed;
                                }
                                let acked = work.delete(&r.receipt_handle).await.is_ok();
                                TaskEnd::Stepped {
                                    report: Box::new(report),
                                    acked,
                                }
                            }
                            Err(StepError::Crashed(_)) => TaskEnd::Crashed,
                            Err(err) => {
                                let (broken, hurry) = {
                                    let mut w = lock(&world);
                                    (w.broken, w.rng.random_bool(0.5))
                                };
                                if broken == Some(Broken::AckOnError) {
                                    let _ = work.delete(&r.receipt_handle).await;
                                } else if hurry {
                                    // As the local runner does: retry soon, not after the visibility timeout.
                                    let _ = work
                                        .change_visibility(&r.receipt_handle, Duration::ZERO)
                                        .await;
                                }
                                TaskEnd::Failed(err.to_string())
                            }
                        }
                    });
                    tasks.push(Running {
                        task,
                        delivery,
                        message_id,
                        after_ok,
                    });
                }
            }
            0..=7 if !tasks.is_empty() => {
                let i = lock(&world).rng.random_range(0..tasks.len());
                lock(&world).current = Some(tasks[i].delivery);
                let polled = tasks[i].task.as_mut().poll(&mut cx);
                lock(&world).current = None;
                let Poll::Ready(end) = polled else {
                    continue;
                };
                let done = tasks.swap_remove(i);
                *in_progress.get_mut(&done.message_id).unwrap() -= 1;
                lock(&world).trace(|| match &end {
                    TaskEnd::Stepped { report, acked } => format!(
                        "delivery {} of {}: {} job={:?} fan_in={:?} acked={acked}",
                        done.delivery,
                        done.message_id,
                        report.outcome(),
                        report.job,
                        report.fan_in
                    ),
                    TaskEnd::Failed(err) => {
                        format!(
                            "delivery {} of {}: error {err}",
                            done.delivery, done.message_id
                        )
                    }
                    TaskEnd::Crashed => {
                        format!("delivery {} of {}: crashed", done.delivery, done.message_id)
                    }
                });
                let TaskEnd::Stepped { report, acked } = end else {
                    continue;
                };
                stepped_ok.insert(done.message_id.clone());
                let mut w = lock(&world);
                if !matches!(report.fan_in, Some(FanIn::Completed { .. })) {
                    let token = w.deliveries[done.delivery].token.clone();
                    w.acked_without_completing.insert(token);
                }
                w.stats.steps += 1;
                if !acked {
                    w.stats.failed_acks += 1;
                }
                if report.dead_letter.is_some() {
                    w.stats.dead_lettered_garbage += 1;
                }
                if let Some(j) = &report.job {
                    match j.outcome {
                        JobOutcome::Failed { .. } => w.stats.failed_jobs += 1,
                        JobOutcome::Skipped if done.after_ok => w.stats.skipped_on_redelivery += 1,
                        _ => {}
                    }
                }
                match report.fan_in {
                    Some(FanIn::Completed { resumed: false, .. }) => {
                        *completions.entry(report.layer.clone()).or_default() += 1;
                    }
                    Some(FanIn::Completed { resumed: true, .. }) => {
                        w.stats.resumed_completions += 1
                    }
                    _ => {}
                }
            }
            _ => {
                // Mostly short steps; sometimes a jump past the visibility timeout (a job "runs long").
                let mut w = lock(&world);
                let ms = if w.rng.random_bool(0.03) {
                    w.rng.random_range(30_000..45_000)
                } else {
                    w.rng.random_range(100..3_000)
                };
                drop(w);
                clock.advance(Duration::from_millis(ms));
            }
        }
    }

    let mut w = lock(&world);
    let mut stats = w.stats.clone();
    if w.sent
        .iter()
        .any(|s| s.body.contains("\"kind\":\"stored\""))
    {
        stats.claim_checked += 1;
    }
    let mut violations = std::mem::take(&mut w.violations);
    if terminated {
        let ending = invariants::Ending {
            world: &w,
            inner: inner.as_ref(),
            keys: &keys,
            sched: &sched,
            jobs: &jobs,
            garbage: &garbage_bodies,
            completions: &completions,
        };
        violations.extend(invariants::check(&ending, &mut stats));
    }
    Run {
        sched,
        stats,
        violations,
    }
}

/// The terminal-record key of the head job of `body`, if it is a message with jobs left.
fn head_record(body: &str, inner: &InMemory, keys: &SimKeys) -> Option<String> {
    let msg = worklist::codec::decode(body, SQS_MAX_MESSAGE_BYTES).ok()?;
    let jobs = block_on(worklist::codec::remaining_jobs(
        &msg,
        inner,
        &keys::grants(),
    ))
    .ok()?;
    jobs.first()
        .map(|job| keys.record(&msg.layer, job).to_string())
}

/// The operator, once the work queue is empty: move the DLQ into the store (`persist_dead_letters`, as
/// `civic process` does), and while rounds are left and a dead letter other than the known-bad messages is
/// there, re-send them all with `redrive_dead_letters` (as `civic worklist redrive` does). `Ok(true)`: the
/// work queue has messages again. Both calls meet injected faults and are retried.
#[allow(clippy::too_many_arguments)]
fn operator(
    store: &Arc<dyn ObjectStore>,
    inner: &Arc<InMemory>,
    work: &Arc<SimQueue>,
    dlq: &Arc<SimQueue>,
    clock: &ManualClock,
    world: &Shared,
    garbage: &[String],
    rounds_left: &mut u32,
) -> Result<bool, String> {
    let mut tries = 0;
    while dlq.len() > 0 {
        tries += 1;
        if tries > OPERATOR_TRIES {
            return Err(format!(
                "the DLQ could not be persisted ({} left)",
                dlq.len()
            ));
        }
        if block_on(persist_dead_letters(
            store.as_ref(),
            &keys::grants(),
            dlq.as_ref(),
            DATASET,
            RUN,
        ))
        .is_err()
        {
            // Messages whose receive answer was lost stay hidden for persist's visibility (60 s).
            clock.advance(Duration::from_secs(61));
        } else if dlq.len() > 0 {
            clock.advance(Duration::from_secs(61));
        }
    }
    if *rounds_left == 0 {
        return Ok(false);
    }
    let letters = block_on(worklist::status::dead_letters(
        inner.as_ref(),
        &keys::grants(),
        DATASET,
        RUN,
    ))
    .expect("no faults");
    if letters.iter().all(|l| garbage.contains(&l.letter.body)) {
        return Ok(false);
    }
    *rounds_left -= 1;
    for _ in 0..OPERATOR_TRIES {
        if let Ok(n) = block_on(redrive_dead_letters(
            store.as_ref(),
            &keys::grants(),
            work.as_ref(),
            DATASET,
            RUN,
        )) {
            lock(world).stats.redriven += n as u64;
            lock(world).trace(|| format!("operator redrove {n} dead letter(s)"));
            return Ok(true);
        }
    }
    Err("the dead letters could not be redriven".into())
}

/// Run a future that never waits on anything outside the simulation to completion.
fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
