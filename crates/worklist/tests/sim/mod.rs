//! The simulation world: a seeded scheduler that interleaves consumer steps by polling their futures in random
//! order, fault-injecting probe / runner / queue wrappers, and the invariant checks run after each schedule.

mod counting_store;
mod fakes;
mod invariants;
mod stats;

use counting_store::CountingStore;
use fakes::*;
use invariants::check_invariants;
pub use stats::Stats;
use std::collections::BTreeMap;
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
use worklist::layout::RunKeys;
use worklist::queue::embedded::Redrive;
use worklist::{Config, Consumer, DeadLetter, EmbeddedQueue, FanIn, Queue, Registry, WorkMessage};

const DATASET: &str = "sim";
const RUN: &str = "R1";
const LAYERS: [&str; 2] = ["transform", "analyze"];
const VIS: Duration = Duration::from_secs(30);
const MAX_RECEIVES: u32 = 6;
const MAX_ITERATIONS: u64 = 200_000;

/// Parameters of one schedule, drawn from its seed.
#[derive(Debug, Default, Clone)]
pub struct Schedule {
    jobs: usize,
    lanes: u32,
    max_attempts: u32,
    inline_limit: usize,
    p_crash: f64,
    p_dup: f64,
    crash_budget: u32,
}

type Task = Pin<Box<dyn Future<Output = TaskEnd>>>;

enum TaskEnd {
    Acked(Box<worklist::StepReport>),
    Crashed,
}

fn draw_schedule(rng: &mut StdRng) -> Schedule {
    Schedule {
        jobs: rng.random_range(1..=6),
        lanes: rng.random_range(1..=3),
        max_attempts: rng.random_range(1..=3),
        inline_limit: if rng.random_bool(0.3) { 200 } else { 1 << 20 },
        p_crash: [0.0, 0.02, 0.08][rng.random_range(0..3)],
        p_dup: [0.0, 0.05, 0.2][rng.random_range(0..3)],
        crash_budget: rng.random_range(0..12),
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

/// Run one schedule; `Err` describes the violated invariant.
pub fn run_schedule(seed: u64) -> Result<Stats, String> {
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
    let world: Shared = Arc::new(Mutex::new(World {
        rng,
        p_crash: sched.p_crash,
        p_dup: sched.p_dup,
        crash_budget: sched.crash_budget,
        behaviours: behaviours.clone(),
        executions: BTreeMap::new(),
        sent: Vec::new(),
        stats: Stats {
            schedules: 1,
            ..Stats::default()
        },
    }));

    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let store: Arc<dyn ObjectStore> = counting.clone();
    let clock = Arc::new(ManualClock::new());
    let dlq = Arc::new(EmbeddedQueue::with_clock("dlq", clock.clone(), None));
    let work = Arc::new(EmbeddedQueue::with_clock(
        "work",
        clock.clone(),
        Some(Redrive {
            dlq: dlq.clone(),
            max_receives: MAX_RECEIVES,
        }),
    ));
    let queue: Arc<dyn Queue> = Arc::new(SimQueue {
        inner: work.clone(),
        world: world.clone(),
    });
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
        queue: queue.clone(),
        dlq: dlq.clone(),
        runners,
        config,
        probe: Arc::new(SimProbe(world.clone())),
    });

    block_on(async {
        let manifest = serde_json::json!({
            "version": 1, "dataset": DATASET, "run_id": RUN,
            "partitions": jobs.iter().map(|j| serde_json::json!({"value": j, "rows": 1})).collect::<Vec<_>>(),
        });
        store
            .put(
                &RunKeys::new(DATASET, RUN).manifest(),
                PutPayload::from(manifest.to_string()),
            )
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
            let body = worklist::codec::encode(&m, store.as_ref(), sched.inline_limit)
                .await
                .unwrap();
            queue.send(&body, None).await.unwrap();
        }
        for g in &garbage_bodies {
            work.send(g, None).await.unwrap();
        }
    });

    let mut tasks: Vec<(Task, String)> = Vec::new();
    let mut completions: BTreeMap<String, u32> = BTreeMap::new();
    let mut in_progress: BTreeMap<String, u32> = BTreeMap::new();
    let waker = futures::task::noop_waker();
    let mut cx = Context::from_waker(&waker);
    let mut iterations = 0u64;
    loop {
        iterations += 1;
        if iterations > MAX_ITERATIONS {
            let counts = block_on(work.counts()).unwrap();
            return Err(format!(
                "no termination after {MAX_ITERATIONS} iterations; {sched:?}; tasks={} counts={counts:?} \
                 first queued={:?}",
                tasks.len(),
                work.bodies().iter().take(3).collect::<Vec<_>>()
            ));
        }
        let counts = block_on(work.counts()).unwrap();
        if tasks.is_empty() && counts.total() == 0 {
            // Operator redrive: valid messages the queue dead-lettered after too many receives go back.
            let mut dead = Vec::new();
            loop {
                let got = block_on(dlq.receive(10, VIS, Duration::ZERO)).unwrap();
                if got.is_empty() {
                    break;
                }
                dead.extend(got);
            }
            let mut redriven = false;
            for d in &dead {
                if serde_json::from_str::<DeadLetter>(&d.body).is_err() {
                    block_on(work.send(&d.body, None)).unwrap();
                    block_on(dlq.delete(&d.receipt_handle)).unwrap();
                    lock(&world).stats.redriven += 1;
                    redriven = true;
                } else {
                    block_on(dlq.change_visibility(&d.receipt_handle, Duration::ZERO)).unwrap();
                }
            }
            if !redriven {
                break;
            }
            continue;
        }
        let action = lock(&world).rng.random_range(0..10);
        match action {
            0..=3 if tasks.len() < 3 && counts.visible > 0 => {
                let got = block_on(work.receive(1, VIS, Duration::ZERO)).unwrap();
                for r in got {
                    let in_flight = in_progress.entry(r.message_id.clone()).or_default();
                    if *in_flight > 0 {
                        lock(&world).stats.concurrent_redeliveries += 1;
                    }
                    *in_flight += 1;
                    let consumer = consumer.clone();
                    let world = world.clone();
                    let work = work.clone();
                    let id = r.message_id.clone();
                    let task: Task = Box::pin(async move {
                        match consumer.step(&r.body, r.receive_count).await {
                            Ok(report) => {
                                YieldOnce(false).await;
                                if maybe_crash(&world, "BeforeAck") {
                                    return TaskEnd::Crashed;
                                }
                                work.delete(&r.receipt_handle).await.unwrap();
                                TaskEnd::Acked(Box::new(report))
                            }
                            Err(_) => TaskEnd::Crashed,
                        }
                    });
                    tasks.push((task, id));
                }
            }
            0..=7 if !tasks.is_empty() => {
                let i = lock(&world).rng.random_range(0..tasks.len());
                if let Poll::Ready(end) = tasks[i].0.as_mut().poll(&mut cx) {
                    let (_, id) = tasks.swap_remove(i);
                    *in_progress.get_mut(&id).unwrap() -= 1;
                    if let TaskEnd::Acked(report) = end {
                        let mut w = lock(&world);
                        w.stats.steps += 1;
                        if report.dead_letter.is_some() {
                            w.stats.dead_lettered_garbage += 1;
                        }
                        if let Some(j) = &report.job
                            && matches!(j.outcome, worklist::JobOutcome::Failed { .. })
                        {
                            w.stats.failed_jobs += 1;
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
    let stats = lock(&world).stats.clone();
    let sent = lock(&world).sent.clone();
    check_invariants(
        &counting,
        &store,
        &dlq,
        &sched,
        &jobs,
        &behaviours,
        &garbage_bodies,
        &completions,
        &sent,
    )
    .map_err(|e| format!("{e}\n{sched:?}"))?;
    let mut stats = stats;
    if sent.iter().any(|b| b.contains("\"kind\":\"stored\"")) {
        stats.claim_checked += 1;
    }
    Ok(stats)
}

/// Run a future that never waits on anything outside the simulation to completion.
fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
