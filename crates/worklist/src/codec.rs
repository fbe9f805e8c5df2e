//! Message bodies on the wire: JSON encode with claim check (oversized job lists go to the store), decode, and
//! loading the remaining job ids of a message.

use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};

use prefixes::Prefix;
use prefixes::access::Write;
use prefixes::keys::Worklist;

use crate::keys::{Locations, job_list};
use crate::message::{JobList, WorkMessage};

/// Why a body could not be turned into a usable message (permanent: such a message goes to the DLQ).
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// Not JSON of the message shape.
    #[error("not a worklist message: {0}")]
    Malformed(String),
    /// Parsed, but structurally invalid (version, lane, hop ceiling, ...).
    #[error("invalid worklist message: {0}")]
    Invalid(String),
    /// Larger than the queue allows.
    #[error("message body is {size} bytes, over the {limit}-byte limit")]
    Oversized {
        /// Body size in bytes.
        size: usize,
        /// The limit.
        limit: usize,
    },
}

/// Store failures while encoding or loading a claim-checked list.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// The store failed (retryable).
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    /// A value of the message cannot be part of a key.
    #[error("claim-check key: {0}")]
    Key(#[from] prefixes::KeyError),
    /// The stored list is missing, not a JSON string array, or has another length than the pointer says.
    #[error("claim-check list {key}: {reason}")]
    Corrupt {
        /// The list key.
        key: String,
        /// What is wrong.
        reason: String,
    },
}

/// Parse and validate a body; `limit` is the largest body accepted.
pub fn decode(body: &str, limit: usize) -> Result<WorkMessage, DecodeError> {
    if body.len() > limit {
        return Err(DecodeError::Oversized {
            size: body.len(),
            limit,
        });
    }
    let msg: WorkMessage =
        serde_json::from_str(body).map_err(|e| DecodeError::Malformed(e.to_string()))?;
    msg.validate().map_err(DecodeError::Invalid)?;
    Ok(msg)
}

/// Serialize `msg`; when the body would exceed `limit` bytes, move its inline job list into the store
/// (content-addressed, so duplicate writes are identical) and send a pointer instead.
/// `worklist` is the sender's grant on the prefix the list is written under.
pub async fn encode(
    msg: &WorkMessage,
    store: &dyn ObjectStore,
    worklist: Prefix<Worklist, Write>,
    limit: usize,
) -> Result<String, ListError> {
    let body = serde_json::to_string(msg).expect("WorkMessage serializes");
    let JobList::Inline { ids } = &msg.jobs else {
        return Ok(body);
    };
    if body.len() <= limit {
        return Ok(body);
    }
    let list = serde_json::to_vec(ids).expect("job ids serialize");
    let digest = hex::encode(Sha256::digest(&list));
    let key = job_list(worklist, &msg.dataset, &msg.run_id, &msg.layer, &digest)?;
    store.put(&key, PutPayload::from(list)).await?;
    let mut pointed = msg.clone();
    pointed.jobs = JobList::Stored {
        key: key.to_string(),
        start: 0,
        len: ids.len(),
    };
    Ok(serde_json::to_string(&pointed).expect("WorkMessage serializes"))
}

/// The remaining job ids of `msg`, head first (reads the claim-check list when there is one).
pub async fn remaining_jobs(
    msg: &WorkMessage,
    store: &dyn ObjectStore,
    loc: &Locations,
) -> Result<Vec<String>, ListError> {
    match &msg.jobs {
        JobList::Inline { ids } => Ok(ids.clone()),
        JobList::Stored { key, start, len } => {
            let corrupt = |reason: String| ListError::Corrupt {
                key: key.clone(),
                reason,
            };
            let path = object_store::path::Path::from(key.as_str());
            let expected_prefix = loc.run(&msg.dataset, &msg.run_id).worklist_prefix()?;
            if !path.prefix_matches(&expected_prefix) {
                return Err(corrupt(format!(
                    "is outside this run's prefix {expected_prefix}"
                )));
            }
            let bytes = match store.get(&path).await {
                Ok(got) => got.bytes().await?,
                Err(object_store::Error::NotFound { .. }) => {
                    return Err(corrupt("does not exist".into()));
                }
                Err(e) => return Err(e.into()),
            };
            let ids: Vec<String> = serde_json::from_slice(&bytes)
                .map_err(|e| corrupt(format!("not a JSON array of strings: {e}")))?;
            if ids.len() != *len {
                return Err(corrupt(format!(
                    "holds {} ids, the message says {len}",
                    ids.len()
                )));
            }
            Ok(ids.into_iter().skip(*start).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    fn loc() -> Locations {
        Locations::new(prefixes::process::runs(), prefixes::process::worklist())
    }

    fn msg(n: usize) -> WorkMessage {
        let ids = (0..n).map(|i| format!("job-{i:05}")).collect();
        WorkMessage::first_of_layer("la311", "R", "transform", ids, 1).remove(0)
    }

    #[tokio::test]
    async fn small_lists_stay_inline() {
        let store = InMemory::new();
        let m = msg(3);
        let body = encode(&m, &store, loc().worklist.into(), 10_000)
            .await
            .unwrap();
        assert_eq!(decode(&body, 10_000).unwrap(), m);
    }

    #[tokio::test]
    async fn oversized_lists_are_claim_checked_and_read_back() {
        let store = InMemory::new();
        let m = msg(2_000);
        let body = encode(&m, &store, loc().worklist.into(), 4_096)
            .await
            .unwrap();
        assert!(body.len() < 4_096, "pointer body is {} bytes", body.len());
        let decoded = decode(&body, 4_096).unwrap();
        assert!(matches!(
            decoded.jobs,
            JobList::Stored {
                len: 2000,
                start: 0,
                ..
            }
        ));
        let next = decoded.advanced("job-00000", false);
        let rest = remaining_jobs(&next, &store, &loc()).await.unwrap();
        assert_eq!(rest.len(), 1_999);
        assert_eq!(rest[0], "job-00001");
    }

    #[test]
    fn garbage_and_oversized_bodies_are_rejected_with_reasons() {
        assert!(matches!(
            decode("{not json", 100),
            Err(DecodeError::Malformed(_))
        ));
        assert!(matches!(
            decode(&"x".repeat(101), 100),
            Err(DecodeError::Oversized { size: 101, .. })
        ));
        let mut m = msg(1);
        m.version = 9;
        let err = decode(&serde_json::to_string(&m).unwrap(), 10_000).unwrap_err();
        assert!(err.to_string().contains("version 9"), "{err}");
    }

    #[tokio::test]
    async fn a_missing_claim_check_list_is_reported_as_corrupt() {
        let store = InMemory::new();
        let mut m = msg(1);
        m.jobs = JobList::Stored {
            key: "worklist/la311/run=R/layer=transform/lists/abc.json".into(),
            start: 0,
            len: 1,
        };
        let err = remaining_jobs(&m, &store, &loc()).await.unwrap_err();
        assert!(err.to_string().contains("does not exist"), "{err}");
    }
}
