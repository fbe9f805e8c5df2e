//! The simulation world: a seeded scheduler that interleaves consumer steps by polling their futures in random
//! order, fault-injecting probe / runner / queue wrappers, and the invariant checks run after each schedule.

mod counting_store;

use counting_store::CountingStore;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use worklist::clock::ManualClock;
use worklist::layout::RunKeys;
use worklist::markers::{JobRecord, JobStatus, LayerMarker, read_json};
use worklist::probe::{Crashed, Point, Probe};
use worklist::queue::embedded::Redrive;
use worklist::{
    Config, Consumer, DeadLetter, EmbeddedQueue, FanIn, JobContext, JobError, JobRunner, Queue,
    QueueCounts, QueueError, Received, Registry, WorkMessage,
};

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

/// How a job behaves, per layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    Ok,
    /// Fails (retryably) on its first k executions anywhere, then succeeds.
    Transient(u32),
    /// Always fails retryably.
    Permanent,
    /// Fails with a fatal error.
    Fatal,
}

/// Counters of what a schedule exercised.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    schedules: u64,
    crashes: BTreeMap<String, u64>,
    duplicates: u64,
    concurrent_redeliveries: u64,
    redriven: u64,
    dead_lettered_garbage: u64,
    claim_checked: u64,
    failed_jobs: u64,
    retries: u64,
    resumed_completions: u64,
    steps: u64,
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

/// Shared, single-threaded world state (behind a mutex only because the traits require Send + Sync).
struct World {
    rng: StdRng,
    p_crash: f64,
    p_dup: f64,
    crash_budget: u32,
    behaviours: BTreeMap<(String, String), Behaviour>,
    executions: BTreeMap<(String, String), u32>,
    sent: Vec<String>,
    stats: Stats,
}

type Shared = Arc<Mutex<World>>;

fn lock(w: &Shared) -> std::sync::MutexGuard<'_, World> {
    w.lock().expect("world lock")
}

/// A future that is Pending exactly once: a point where the scheduler may run something else.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

/// Decide (and count) a crash at `name`.
fn maybe_crash(world: &Shared, name: &str) -> bool {
    let mut w = lock(world);
    if w.crash_budget == 0 {
        return false;
    }
    let p = w.p_crash;
    if w.rng.random_bool(p) {
        w.crash_budget -= 1;
        *w.stats.crashes.entry(name.to_owned()).or_default() += 1;
        true
    } else {
        false
    }
}

struct SimProbe(Shared);

#[async_trait]
impl Probe for SimProbe {
    async fn at(&self, point: Point) -> Result<(), Crashed> {
        YieldOnce(false).await;
        if maybe_crash(&self.0, &format!("{point:?}")) {
            Err(Crashed(point))
        } else {
            Ok(())
        }
    }
}

struct SimRunner {
    world: Shared,
    store: Arc<dyn ObjectStore>,
}

fn output_key(layer: &str, job: &str) -> Path {
    Path::from(format!("out/{layer}/{job}.txt"))
}

#[async_trait]
impl JobRunner for SimRunner {
    async fn run(&self, ctx: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        let key = (ctx.layer.to_owned(), ctx.job.to_owned());
        let (behaviour, n, pauses) = {
            let mut w = lock(&self.world);
            let n = {
                let e = w.executions.entry(key.clone()).or_default();
                *e += 1;
                *e
            };
            let pauses = w.rng.random_range(0..4);
            (w.behaviours[&key], n, pauses)
        };
        // A long-running job: the scheduler may advance time past the visibility timeout meanwhile.
        for _ in 0..pauses {
            YieldOnce(false).await;
        }
        match behaviour {
            Behaviour::Transient(k) if n <= k => {
                lock(&self.world).stats.retries += 1;
                return Err(JobError::Retryable(format!("transient failure {n}/{k}")));
            }
            Behaviour::Permanent => {
                lock(&self.world).stats.retries += 1;
                return Err(JobError::Retryable("always failing".into()));
            }
            Behaviour::Fatal => return Err(JobError::Fatal("bad input".into())),
            _ => {}
        }
        let body = format!("{}:{}", ctx.layer, ctx.job);
        self.store
            .put(
                &output_key(ctx.layer, ctx.job),
                PutPayload::from(body.into_bytes()),
            )
            .await
            .map_err(|e| JobError::Retryable(e.to_string()))?;
        YieldOnce(false).await;
        Ok(serde_json::json!({"rows": 1}))
    }
}

/// Wraps the work queue: random delays on send (reordering across lanes) and duplicate sends (SQS at-least-once).
struct SimQueue {
    inner: Arc<EmbeddedQueue>,
    world: Shared,
}

#[async_trait]
impl Queue for SimQueue {
    async fn send(&self, body: &str, delay: Option<Duration>) -> Result<String, QueueError> {
        let (extra, dup, dup_delay) = {
            let mut w = lock(&self.world);
            w.sent.push(body.to_owned());
            let extra = Duration::from_millis(w.rng.random_range(0..4_000));
            let p = w.p_dup;
            let dup = w.rng.random_bool(p);
            let dup_delay = Duration::from_millis(w.rng.random_range(0..60_000));
            if dup {
                w.stats.duplicates += 1;
            }
            (extra, dup, dup_delay)
        };
        let delay = (delay.unwrap_or_default() + extra).min(worklist::queue::MAX_DELAY);
        let id = self.inner.send(body, Some(delay)).await?;
        if dup {
            self.inner.send(body, Some(dup_delay)).await?;
        }
        Ok(id)
    }
    async fn receive(
        &self,
        max: u32,
        v: Duration,
        w: Duration,
    ) -> Result<Vec<Received>, QueueError> {
        self.inner.receive(max, v, w).await
    }
    async fn delete(&self, r: &str) -> Result<(), QueueError> {
        self.inner.delete(r).await
    }
    async fn change_visibility(&self, r: &str, v: Duration) -> Result<(), QueueError> {
        self.inner.change_visibility(r, v).await
    }
    async fn counts(&self) -> Result<QueueCounts, QueueError> {
        self.inner.counts().await
    }
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

#[allow(clippy::too_many_arguments)]
fn check_invariants(
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

/// Run a future that never waits on anything outside the simulation to completion.
fn block_on<F: Future>(f: F) -> F::Output {
    futures::executor::block_on(f)
}
