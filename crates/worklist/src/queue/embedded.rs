//! In-process queue with SQS semantics: visibility timeout, receive counts, delayed delivery, and redrive to a
//! dead-letter queue after `max_receives`, driven by an injectable [`Clock`] so simulations are deterministic.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;

use super::{Queue, QueueCounts, QueueError, Received, check_delay, check_receive};
use crate::clock::{Clock, SystemClock};

/// Where a queue sends messages received too often.
#[derive(Debug, Clone)]
pub struct Redrive {
    /// The dead-letter queue.
    pub dlq: Arc<EmbeddedQueue>,
    /// A message received this many times without being deleted moves to `dlq` on its next receive.
    pub max_receives: u32,
}

#[derive(Debug)]
struct Entry {
    id: String,
    body: String,
    visible_at: Duration,
    receive_count: u32,
    /// Delivery number of the current receipt (receipts of older deliveries are stale).
    delivery: Option<u32>,
}

#[derive(Debug, Default)]
struct State {
    next_seq: u64,
    /// By sequence number: iteration order is send order.
    entries: BTreeMap<u64, Entry>,
}

/// An in-memory queue; cheap to share behind `Arc`.
#[derive(Debug)]
pub struct EmbeddedQueue {
    name: String,
    clock: Arc<dyn Clock>,
    redrive: Option<Redrive>,
    state: Mutex<State>,
}

impl EmbeddedQueue {
    /// A queue named `name` on the system clock, without a DLQ.
    pub fn new(name: &str) -> Self {
        Self::with_clock(name, Arc::new(SystemClock), None)
    }

    /// A queue on `clock`, optionally redriving to a DLQ.
    pub fn with_clock(name: &str, clock: Arc<dyn Clock>, redrive: Option<Redrive>) -> Self {
        Self {
            name: name.to_owned(),
            clock,
            redrive,
            state: Mutex::new(State::default()),
        }
    }

    /// The queue's name (appears in message ids and receipt handles).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Bodies of every message currently held (any state), in send order. For inspection and tests.
    pub fn bodies(&self) -> Vec<String> {
        let state = self.state.lock().expect("queue lock");
        state.entries.values().map(|e| e.body.clone()).collect()
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
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn send(&self, body: &str, delay: Option<Duration>) -> Result<String, QueueError> {
        check_delay(delay)?;
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
                visible_at: now + delay.unwrap_or_default(),
                receive_count: 0,
                delivery: None,
            },
        );
        Ok(id)
    }

    async fn receive(
        &self,
        max: u32,
        visibility: Duration,
        _wait: Duration,
    ) -> Result<Vec<Received>, QueueError> {
        check_receive(max, visibility)?;
        let now = self.clock.now();
        let mut out = Vec::new();
        let mut dead = Vec::new();
        {
            let mut state = self.state.lock().expect("queue lock");
            let visible: Vec<u64> = state
                .entries
                .iter()
                .filter(|(_, e)| e.visible_at <= now)
                .map(|(seq, _)| *seq)
                .collect();
            for seq in visible {
                if out.len() as u32 >= max {
                    break;
                }
                let entry = state.entries.get_mut(&seq).expect("listed entry");
                if let Some(redrive) = &self.redrive
                    && entry.receive_count >= redrive.max_receives
                {
                    let entry = state.entries.remove(&seq).expect("listed entry");
                    dead.push(entry.body);
                    continue;
                }
                entry.receive_count += 1;
                let delivery = entry.delivery.map_or(1, |d| d + 1);
                entry.delivery = Some(delivery);
                entry.visible_at = now + visibility;
                out.push(Received {
                    message_id: entry.id.clone(),
                    receipt_handle: self.receipt(seq, delivery),
                    body: entry.body.clone(),
                    receive_count: entry.receive_count,
                });
            }
        }
        if let Some(redrive) = &self.redrive {
            for body in dead {
                redrive.dlq.send(&body, None).await?;
            }
        }
        Ok(out)
    }

    async fn delete(&self, receipt_handle: &str) -> Result<(), QueueError> {
        let (seq, delivery) = self.parse_receipt(receipt_handle)?;
        let mut state = self.state.lock().expect("queue lock");
        if seq >= state.next_seq {
            return Err(QueueError::InvalidReceipt(receipt_handle.to_owned()));
        }
        // Like SQS: a stale receipt (the message was received again since) succeeds without deleting,
        // and deleting an already deleted message succeeds.
        if let Some(entry) = state.entries.get(&seq)
            && entry.delivery == Some(delivery)
        {
            state.entries.remove(&seq);
        }
        Ok(())
    }

    async fn change_visibility(
        &self,
        receipt_handle: &str,
        visibility: Duration,
    ) -> Result<(), QueueError> {
        if visibility > super::MAX_VISIBILITY {
            return Err(QueueError::InvalidRequest(format!(
                "visibility {visibility:?} exceeds the maximum"
            )));
        }
        let (seq, delivery) = self.parse_receipt(receipt_handle)?;
        let now = self.clock.now();
        let mut state = self.state.lock().expect("queue lock");
        match state.entries.get_mut(&seq) {
            Some(entry) if entry.delivery == Some(delivery) => {
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
            } else if entry.delivery.is_some() {
                counts.in_flight += 1;
            } else {
                counts.delayed += 1;
            }
        }
        Ok(counts)
    }
}
