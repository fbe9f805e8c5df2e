//! A fake SQS standard queue on the simulated clock, meaner than the embedded one:
//! - visible messages are handed out in a random (seeded) order, not in send order;
//! - at-least-once: a receive may also hand out a message that is already in flight — the same message id
//!   with receive count + 1 and a new receipt handle — besides the redelivery after the visibility timeout;
//! - every call except `counts` can fail (seeded): a send or delete before or after it took effect, a receive
//!   whose answer is lost (the messages stay hidden for their visibility timeout and come back with receive
//!   count + 1), a visibility change;
//! - sends to the work queue get a random extra delay (reordering across lanes) and are sometimes duplicated
//!   as a second message (a producer retry whose first attempt had landed);
//! - the redrive policy moves a message received `max_receives` times to the DLQ on its next receive, as SQS does.
//!
//! Deleting with a stale receipt (the message was received again since) succeeds without deleting, as in SQS.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng;
use rand::seq::SliceRandom;

use worklist::clock::{Clock, ManualClock};
use worklist::{DeadLetter, Queue, QueueCounts, QueueError, Received};

use super::fakes::{Sent, Shared, lock};

#[derive(Debug)]
struct Entry {
    id: String,
    body: String,
    visible_at: Duration,
    receive_count: u32,
    /// Number of the current delivery; 0 = never received (a delayed message, not in flight).
    delivery: u32,
}

#[derive(Debug, Default)]
struct State {
    next_seq: u64,
    entries: BTreeMap<u64, Entry>,
}

/// Which queue this is: the work queue (with a redrive policy) or its DLQ.
pub enum Role {
    Work {
        dlq: Arc<SimQueue>,
        max_receives: u32,
    },
    Dlq,
}

pub struct SimQueue {
    name: String,
    role: Role,
    world: Shared,
    clock: Arc<ManualClock>,
    state: Mutex<State>,
}

fn injected(op: &str, after: bool) -> QueueError {
    let when = if after {
        "after it took effect"
    } else {
        "before it took effect"
    };
    QueueError::Backend(format!("injected {op} failure ({when})"))
}

impl SimQueue {
    pub fn new(name: &str, role: Role, world: Shared, clock: Arc<ManualClock>) -> Self {
        Self {
            name: name.to_owned(),
            role,
            world,
            clock,
            state: Mutex::new(State::default()),
        }
    }

    /// Put a message in without faults, delays or duplicates (setup, and the redrive policy's move to the DLQ).
    pub fn push(&self, body: &str, delay: Duration) -> String {
        let now = self.clock.now();
        let mut state = self.state.lock().expect("queue lock");
        let seq = state.next_seq;
        state.next_seq += 1;
        let id = format!("{}-{seq}", self.name);
        state.entries.insert(
            seq,
            Entry {
                id: id.clone(),
                body: body.to_owned(),
                visible_at: now + delay,
                receive_count: 0,
                delivery: 0,
            },
        );
        id
    }

    /// Messages held in any state.
    pub fn len(&self) -> usize {
        self.state.lock().expect("queue lock").entries.len()
    }

    fn receipt(&self, seq: u64, delivery: u32) -> String {
        format!("{}/{seq}/{delivery}", self.name)
    }

    fn parse_receipt(&self, handle: &str) -> Result<(u64, u32), QueueError> {
        let invalid = || QueueError::InvalidReceipt(handle.to_owned());
        let rest = handle
            .strip_prefix(&self.name)
            .and_then(|r| r.strip_prefix('/'))
            .ok_or_else(invalid)?;
        let (seq, delivery) = rest.split_once('/').ok_or_else(invalid)?;
        Ok((
            seq.parse().map_err(|_| invalid())?,
            delivery.parse().map_err(|_| invalid())?,
        ))
    }

    /// The DLQ stamps a consumer's dead letter with simulated time instead of the wall clock, so a replayed
    /// seed persists byte-identical letters (their keys are hashes of the body) and redrives them in the same order.
    fn on_dlq_send(&self, body: &str) -> String {
        match serde_json::from_str::<DeadLetter>(body) {
            Ok(mut letter) => {
                lock(&self.world).refused.push(letter.body.clone());
                letter.at = format!("sim+{}ms", self.clock.now().as_millis());
                serde_json::to_string(&letter).expect("dead letter serializes")
            }
            Err(_) => body.to_owned(),
        }
    }
}

#[async_trait]
impl Queue for SimQueue {
    async fn send(&self, body: &str, delay: Option<Duration>) -> Result<String, QueueError> {
        if delay.is_some_and(|d| d > worklist::queue::MAX_DELAY) {
            return Err(QueueError::InvalidRequest(format!("delay {delay:?}")));
        }
        let (fail_before, fail_after, extra, dup) = {
            let mut w = lock(&self.world);
            let fail_before = w.fault("send_before");
            let fail_after = !fail_before && w.fault("send_after");
            let (extra, dup) = match self.role {
                Role::Work { .. } => {
                    let extra = Duration::from_millis(w.rng.random_range(0..4_000));
                    let p = w.p_dup;
                    let dup = w
                        .rng
                        .random_bool(p)
                        .then(|| Duration::from_millis(w.rng.random_range(0..60_000)));
                    (extra, dup)
                }
                Role::Dlq => (Duration::ZERO, None),
            };
            (fail_before, fail_after, extra, dup)
        };
        if fail_before {
            return Err(injected("send", false));
        }
        let body = match self.role {
            Role::Work { .. } => {
                let mut w = lock(&self.world);
                let by_token = w.current_delivery().map(|d| d.token.clone());
                w.sent.push(Sent {
                    body: body.to_owned(),
                    by_token,
                });
                if dup.is_some() {
                    w.stats.duplicates += 1;
                }
                body.to_owned()
            }
            Role::Dlq => self.on_dlq_send(body),
        };
        let delay = (delay.unwrap_or_default() + extra).min(worklist::queue::MAX_DELAY);
        let id = self.push(&body, delay);
        lock(&self.world).trace(|| {
            format!(
                "send {id} (fails after: {fail_after}, dup: {}): {body}",
                dup.is_some()
            )
        });
        if let Some(dup_delay) = dup {
            self.push(&body, dup_delay);
        }
        if fail_after {
            return Err(injected("send", true));
        }
        Ok(id)
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        _wait: Duration,
    ) -> Result<Vec<Received>, QueueError> {
        let now = self.clock.now();
        let (fail_before, lose_answer, order) = {
            let mut w = lock(&self.world);
            let fail_before = w.fault("receive_before");
            let lose_answer = !fail_before && w.fault("receive_after");
            let p = w.p_redeliver;
            let redeliver = w.rng.random_bool(p);
            let state = self.state.lock().expect("queue lock");
            let mut visible: Vec<u64> = state
                .entries
                .iter()
                .filter(|(_, e)| e.visible_at <= now)
                .map(|(seq, _)| *seq)
                .collect();
            let oldest = visible.first().copied();
            visible.shuffle(&mut w.rng);
            if visible.first().copied() != oldest {
                w.stats.out_of_order_receives += 1;
            }
            // At-least-once: one message already in flight is handed out again.
            if redeliver {
                let in_flight: Vec<u64> = state
                    .entries
                    .iter()
                    .filter(|(_, e)| e.visible_at > now && e.delivery > 0)
                    .map(|(seq, _)| *seq)
                    .collect();
                if !in_flight.is_empty() {
                    let pick = in_flight[w.rng.random_range(0..in_flight.len())];
                    let at = w.rng.random_range(0..=visible.len());
                    visible.insert(at, pick);
                    w.stats.in_flight_redeliveries += 1;
                }
            }
            (fail_before, lose_answer, visible)
        };
        if fail_before {
            return Err(injected("receive", false));
        }
        let mut out = Vec::new();
        let mut dead = Vec::new();
        {
            let mut state = self.state.lock().expect("queue lock");
            for seq in order {
                if out.len() as u32 >= max {
                    break;
                }
                let Some(entry) = state.entries.get_mut(&seq) else {
                    continue;
                };
                if let Role::Work { max_receives, .. } = &self.role
                    && entry.receive_count >= *max_receives
                {
                    let entry = state.entries.remove(&seq).expect("listed entry");
                    dead.push(entry.body);
                    continue;
                }
                entry.receive_count += 1;
                entry.delivery += 1;
                entry.visible_at = now + visibility;
                out.push(Received {
                    message_id: entry.id.clone(),
                    receipt_handle: self.receipt(seq, entry.delivery),
                    body: entry.body.clone(),
                    receive_count: entry.receive_count,
                });
            }
        }
        if let Role::Work { dlq, .. } = &self.role {
            for body in dead {
                let mut w = lock(&self.world);
                w.stats.queue_redrives += 1;
                w.trace(|| format!("redrive policy: to the DLQ: {body}"));
                drop(w);
                dlq.push(&body, Duration::ZERO);
            }
        }
        if lose_answer {
            return Err(injected("receive", true));
        }
        Ok(out)
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        let (seq, delivery) = self.parse_receipt(receipt_handle)?;
        let (fail_before, fail_after) = {
            let mut w = lock(&self.world);
            let before = w.fault("delete_before");
            (before, !before && w.fault("delete_after"))
        };
        if fail_before {
            return Err(injected("delete", false));
        }
        let mut state = self.state.lock().expect("queue lock");
        if seq >= state.next_seq {
            return Err(QueueError::InvalidReceipt(receipt_handle.to_owned()));
        }
        if let Some(entry) = state.entries.get(&seq)
            && entry.delivery == delivery
        {
            state.entries.remove(&seq);
        }
        if fail_after {
            return Err(injected("delete", true));
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        let (seq, delivery) = self.parse_receipt(receipt_handle)?;
        if lock(&self.world).fault("change_visibility") {
            return Err(injected("change_visibility", false));
        }
        let now = self.clock.now();
        let mut state = self.state.lock().expect("queue lock");
        match state.entries.get_mut(&seq) {
            Some(entry) if entry.delivery == delivery => {
                entry.visible_at = now + visibility;
                Ok(())
            }
            _ => Err(QueueError::InvalidReceipt(receipt_handle.to_owned())),
        }
    }

    async fn counts(&self) -> Result<QueueCounts, QueueError> {
        let now = self.clock.now();
        let state = self.state.lock().expect("queue lock");
        let mut counts = QueueCounts::default();
        for entry in state.entries.values() {
            if entry.visible_at <= now {
                counts.visible += 1;
            } else if entry.delivery > 0 {
                counts.in_flight += 1;
            } else {
                counts.delayed += 1;
            }
        }
        Ok(counts)
    }
}
