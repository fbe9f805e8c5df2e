//! The simulated world: shared seeded state, a yield point, and the fault-injecting probe, job runner and queue.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use rand::Rng;
use rand::rngs::StdRng;

use worklist::probe::{Crashed, Point, Probe};
use worklist::{
    EmbeddedQueue, JobContext, JobError, JobRunner, Queue, QueueCounts, QueueError, Received,
};

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

/// Shared, single-threaded world state (behind a mutex only because the traits require Send + Sync).
pub struct World {
    pub rng: StdRng,
    pub p_crash: f64,
    pub p_dup: f64,
    pub crash_budget: u32,
    pub behaviours: BTreeMap<(String, String), Behaviour>,
    pub executions: BTreeMap<(String, String), u32>,
    pub sent: Vec<String>,
    pub stats: Stats,
}

pub type Shared = Arc<Mutex<World>>;

pub fn lock(w: &Shared) -> std::sync::MutexGuard<'_, World> {
    w.lock().expect("world lock")
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

pub struct SimRunner {
    pub world: Shared,
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
pub struct SimQueue {
    pub inner: Arc<EmbeddedQueue>,
    pub world: Shared,
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
