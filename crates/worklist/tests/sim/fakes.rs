//! The simulated world: shared seeded state, a yield point, the crash/fault dice, and the probe and job runner.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::Rng;
use rand::rngs::StdRng;

use worklist::probe::{Crashed, Point, Probe};
use worklist::{JobContext, JobError, JobRunner};

use super::invariants::{Kind, Violation};
use super::keys::SimKeys;
use super::*;

/// How a job behaves, per layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    Ok,
    /// Fails (retryably) on its first k executions anywhere, then succeeds.
    Transient(u32),
    /// Always fails retryably.
    Permanent,
    /// Fails with a fatal error.
    Fatal,
}

/// A deliberately broken consumer (a knob of the harness; production code is untouched). Each one must make a
/// specific invariant report a violation, which `tests/worklist_simulation.rs` asserts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broken {
    /// The step does not see the head job's terminal record when it checks for it (the store hides the first
    /// read of the head's record a delivery makes), so finished jobs run again.
    SkipDoneCheck,
    /// Create-only puts are plain overwriting puts (the consumer "forgot" the condition): every racer wins.
    BlindPut,
    /// The driver acknowledges (deletes) a message even when its step returned an error.
    AckOnError,
}

/// One delivery (one received message being stepped): the harness's notion of "who" makes a store or queue call.
#[derive(Debug, Default)]
pub struct Delivery {
    /// `body_token` of the delivered body (the identity the layer marker's owner uses).
    pub token: String,
    /// Terminal-record key of the message's head job, when its list is not empty.
    pub head_record: Option<String>,
    /// Key -> logical time of this delivery's last read of it (reads the store answered, found or not).
    pub reads: BTreeMap<String, u64>,
    /// Reads of the head record hidden by [`Broken::SkipDoneCheck`].
    pub hidden_reads: u32,
}

/// A message sent to the work queue, and the delivery that sent it (`None`: the harness or the operator).
#[derive(Debug, Clone)]
pub struct Sent {
    pub body: String,
    pub by_token: Option<String>,
}

/// Shared, single-threaded world state (behind a mutex only because the traits require Send + Sync).
pub struct World {
    pub rng: StdRng,
    pub p_crash: f64,
    pub crash_budget: u32,
    /// Probability that one store or queue call fails.
    pub p_fault: f64,
    pub fault_budget: u32,
    /// Probability that a send is duplicated as a second message (a producer retry whose first send landed).
    pub p_dup: f64,
    /// Probability that a receive also hands out a message already in flight (same id, receive count + 1).
    pub p_redeliver: f64,
    pub broken: Option<Broken>,
    pub keys: Arc<SimKeys>,
    pub behaviours: BTreeMap<(String, String), Behaviour>,
    pub executions: BTreeMap<(String, String), u32>,
    /// Jobs that had an attempt fail because an injected store fault hit the runner's output write.
    pub fault_hit_jobs: BTreeSet<(String, String)>,
    /// Logical time: bumped by every store call the world observes.
    pub seq: u64,
    /// The delivery whose future is being polled right now.
    pub current: Option<usize>,
    pub deliveries: Vec<Delivery>,
    /// Tracked key -> logical times of its successful writes (any put mode).
    pub writes: BTreeMap<String, Vec<u64>>,
    /// Every body sent to the work queue, with its sender.
    pub sent: Vec<Sent>,
    /// Bodies the consumer itself refused (sent to the DLQ wrapped in a `DeadLetter`).
    pub refused: Vec<String>,
    /// Tokens of bodies a delivery stepped with `Ok` (and so acknowledged) without finishing a layer completion.
    pub acked_without_completing: BTreeSet<String>,
    /// Violations seen while running (the end-of-run checks add theirs).
    pub violations: Vec<Violation>,
    pub stats: Stats,
    /// `SIM_TRACE` set: print what happens (for replaying one seed).
    pub trace: bool,
}

pub type Shared = Arc<Mutex<World>>;

pub fn lock(w: &Shared) -> std::sync::MutexGuard<'_, World> {
    w.lock().expect("world lock")
}

impl World {
    pub fn tick(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    pub fn current_delivery(&mut self) -> Option<&mut Delivery> {
        let i = self.current?;
        self.deliveries.get_mut(i)
    }

    /// Decide (and count) an injected failure of the store or queue call `op`.
    pub fn fault(&mut self, op: &str) -> bool {
        if self.fault_budget == 0 || self.p_fault == 0.0 {
            return false;
        }
        let p = self.p_fault;
        if self.rng.random_bool(p) {
            self.fault_budget -= 1;
            *self.stats.faults.entry(op.to_owned()).or_default() += 1;
            true
        } else {
            false
        }
    }

    pub fn trace(&self, what: impl FnOnce() -> String) {
        if self.trace {
            eprintln!("[t={} d={:?}] {}", self.seq, self.current, what());
        }
    }

    pub fn violation(&mut self, kind: Kind, detail: String) {
        self.violations.push(Violation { kind, detail });
    }
}

/// A future that is Pending exactly once: a point where the scheduler may run something else.
pub struct YieldOnce(pub bool);

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
pub fn maybe_crash(world: &Shared, name: &str) -> bool {
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

pub struct SimProbe(pub Shared);

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

/// The job runner: counts executions, and at the moment it starts checks the invariant "no job is executed by
/// a delivery that could have seen its terminal record": if the record exists already, this delivery must have
/// read the record key (and found nothing) before the record was written — an overlapping delivery, which
/// at-least-once delivery allows and which is counted — else it is a redo of finished work.
pub struct SimRunner {
    pub world: Shared,
    /// The consumer's (fault-injecting) store: the output write can fail like any other.
    pub store: Arc<dyn ObjectStore>,
}

pub fn output_key(layer: &str, job: &str) -> Path {
    Path::from(format!("out/{layer}/{job}.txt"))
}

#[async_trait]
impl JobRunner for SimRunner {
    async fn run(&self, ctx: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        let key = (ctx.layer.to_owned(), ctx.job.to_owned());
        let (behaviour, n, pauses) = {
            let mut w = lock(&self.world);
            let now = w.tick();
            let record = w.keys.record(ctx.layer, ctx.job).to_string();
            let written = w.writes.get(&record).and_then(|t| t.first()).copied();
            let read = w
                .current_delivery()
                .and_then(|d| d.reads.get(&record))
                .copied();
            if let Some(written) = written {
                match read {
                    Some(read) if read < written => w.stats.overlapping_reruns += 1,
                    _ => {
                        let detail = format!(
                            "{}/{} executed at t={now} (attempt {}) although its terminal record exists since \
                             t={written} and this delivery's last read of it was at {read:?}",
                            ctx.layer, ctx.job, ctx.attempt
                        );
                        w.violation(Kind::RedoneAfterTerminal, detail);
                    }
                }
            }
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
        if let Err(e) = self
            .store
            .put(
                &output_key(ctx.layer, ctx.job),
                PutPayload::from(body.into_bytes()),
            )
            .await
        {
            lock(&self.world).fault_hit_jobs.insert(key);
            return Err(JobError::Retryable(e.to_string()));
        }
        YieldOnce(false).await;
        Ok(serde_json::json!({"rows": 1}))
    }
}
