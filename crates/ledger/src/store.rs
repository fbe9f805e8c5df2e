//! Ledger storage on the ledger bucket: idempotent create-only append, lookup by id and filtered listing.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, path::Path};

use crate::event::Event;
use crate::locations::Locations;
use crate::query::{Cursor, EventFilter, Page, page};

/// How many objects are read concurrently while listing.
const READ_CONCURRENCY: usize = 32;

/// Errors of the ledger storage.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// An event with the same id but a different finding is already stored.
    #[error("event {event_id} already exists at {key} with different content")]
    Conflict {
        /// The id both events share.
        event_id: String,
        /// Where the stored event is.
        key: String,
        /// The stored event.
        existing: Box<Event>,
    },
    /// The object store failed.
    #[error("object store error at {key}: {source}")]
    Store {
        /// The key being read or written.
        key: String,
        /// The underlying error.
        #[source]
        source: object_store::Error,
    },
    /// A stored object is not a valid event.
    #[error("stored object {key} is not a valid event: {source}")]
    Corrupt {
        /// The key of the object.
        key: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A value cannot be part of a key.
    #[error("key: {0}")]
    Key(#[from] prefixes::KeyError),
    /// Writing the compacted Parquet failed.
    #[error("compaction of {key} failed: {message}")]
    Compact {
        /// The Parquet key being written.
        key: String,
        /// What went wrong.
        message: String,
    },
}

/// Result of an append.
#[derive(Debug, Clone, PartialEq)]
pub enum Appended {
    /// The event was new and is now stored.
    Created(Event),
    /// The same finding was already stored; the stored event (with its original `created_at`) is returned.
    Duplicate(Event),
}

impl Appended {
    /// The stored event.
    pub fn event(&self) -> &Event {
        match self {
            Appended::Created(e) | Appended::Duplicate(e) => e,
        }
    }
}

/// The event ledger over one object store (the ledger bucket).
#[derive(Clone)]
pub struct Ledger {
    store: Arc<dyn ObjectStore>,
    locations: Locations,
}

impl Ledger {
    /// A ledger on `store` (the ledger bucket) under the caller's grants.
    pub fn new(store: Arc<dyn ObjectStore>, locations: Locations) -> Self {
        Ledger { store, locations }
    }

    /// The underlying store.
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The prefixes it uses.
    pub fn locations(&self) -> &Locations {
        &self.locations
    }

    /// Appends `event` with a create-only put keyed by its id. Identical findings are a no-op;
    /// a different finding under the same id is [`LedgerError::Conflict`].
    pub async fn append(&self, event: Event) -> Result<Appended, LedgerError> {
        let key = self.locations.event(&event.dataset, &event.event_id)?;
        let body = serde_json::to_vec_pretty(&event).expect("events serialize");
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&key, PutPayload::from(body), opts)
            .await
        {
            Ok(_) => Ok(Appended::Created(event)),
            Err(object_store::Error::AlreadyExists { .. }) => {
                let existing = self.read(&key).await?;
                if existing.same_finding(&event) {
                    Ok(Appended::Duplicate(existing))
                } else {
                    Err(LedgerError::Conflict {
                        event_id: event.event_id,
                        key: key.to_string(),
                        existing: Box::new(existing),
                    })
                }
            }
            Err(source) => Err(LedgerError::Store {
                key: key.to_string(),
                source,
            }),
        }
    }

    /// The event with id `event_id`, if stored (in any dataset).
    pub async fn get(&self, event_id: &str) -> Result<Option<Event>, LedgerError> {
        let keys = self.event_keys(None).await?;
        match keys
            .into_iter()
            .find(|k| self.locations.event_id_of(k) == Some(event_id))
        {
            Some(key) => self.read(&key).await.map(Some),
            None => Ok(None),
        }
    }

    /// One page of events matching `filter`, in the stable order (window_start, event_id), after `cursor`.
    pub async fn list(
        &self,
        filter: &EventFilter,
        cursor: Option<&Cursor>,
        limit: usize,
    ) -> Result<Page, LedgerError> {
        let events = self.all(filter.dataset.as_deref()).await?;
        Ok(page(events, filter, cursor, limit))
    }

    /// Every stored event (of `dataset`, or of all datasets), in no particular order.
    pub async fn all(&self, dataset: Option<&str>) -> Result<Vec<Event>, LedgerError> {
        let keys = self.event_keys(dataset).await?;
        futures::stream::iter(keys)
            .map(|key| async move { self.read(&key).await })
            .buffer_unordered(READ_CONCURRENCY)
            .try_collect()
            .await
    }

    /// Keys of stored events (of `dataset`, or of all datasets).
    async fn event_keys(&self, dataset: Option<&str>) -> Result<Vec<Path>, LedgerError> {
        let prefix = match dataset {
            Some(d) => self.locations.events_of(d)?,
            None => self.locations.events_root(),
        };
        let metas: Vec<_> =
            self.store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|source| LedgerError::Store {
                    key: prefix.to_string(),
                    source,
                })?;
        Ok(metas
            .into_iter()
            .map(|m| m.location)
            .filter(|k| self.locations.event_id_of(k).is_some())
            .collect())
    }

    async fn read(&self, key: &Path) -> Result<Event, LedgerError> {
        let bytes: Bytes = async { self.store.get(key).await?.bytes().await }
            .await
            .map_err(|source| LedgerError::Store {
                key: key.to_string(),
                source,
            })?;
        serde_json::from_slice(&bytes).map_err(|source| LedgerError::Corrupt {
            key: key.to_string(),
            source,
        })
    }
}
