//! The platform a function runs on: its environment variables, its buckets (by physical name) as
//! `Arc<dyn ObjectStore>` and its queues (by URL) as `Arc<dyn worklist::Queue>`.
//!
//! Each function crate wires itself from a `&dyn Platform` (reading the generated env var names, exactly as
//! the templates set them), so its `main.rs` passes [`Aws`] and `civic` passes a [`Local`] platform built from
//! the same manifests: nothing in function code knows where it runs.

use std::sync::Arc;

use object_store::ObjectStore;
use worklist::Queue;

pub mod aws;
pub mod local;

pub use aws::Aws;
pub use local::Local;

/// Why a function could not reach a resource.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A variable the templates set is absent.
    #[error(transparent)]
    MissingEnv(#[from] prefixes::MissingEnv),
    /// The bucket could not be opened.
    #[error("opening bucket {bucket}: {reason}")]
    Bucket {
        /// Physical name.
        bucket: String,
        /// Why.
        reason: String,
    },
    /// The queue could not be opened.
    #[error("opening queue {url}: {reason}")]
    Queue {
        /// Queue URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// How a function reaches its resources. Implementations: [`Aws`] (Lambda), [`Local`] (`civic`).
pub trait Platform: Send + Sync {
    /// An environment variable of the function.
    fn var(&self, name: &str) -> Option<String>;
    /// The bucket with this physical name.
    fn open_bucket(&self, physical_name: &str) -> Result<Arc<dyn ObjectStore>, Error>;
    /// The queue at this URL.
    fn open_queue(&self, url: &str) -> Result<Arc<dyn Queue>, Error>;

    /// A variable the templates set; names it when absent or empty.
    fn required(&self, name: &'static str) -> Result<String, Error> {
        self.var(name)
            .filter(|v| !v.is_empty())
            .ok_or(Error::MissingEnv(prefixes::MissingEnv(name)))
    }

    /// A bucket of the generated crate, through the variable carrying its physical name.
    fn bucket(&self, bucket: prefixes::Bucket) -> Result<Arc<dyn ObjectStore>, Error> {
        self.open_bucket(&self.required(bucket.env)?)
    }

    /// The URL of a queue of the generated crate.
    fn queue_url(&self, queue: prefixes::Queue) -> Result<String, Error> {
        self.required(queue.env)
    }

    /// The URL of that queue's dead-letter queue (set for its consumer).
    fn dlq_url(&self, queue: prefixes::Queue) -> Result<String, Error> {
        match queue.dlq_env {
            Some(name) => self.required(name),
            None => Err(Error::Queue {
                url: queue.name.to_owned(),
                reason: "the queue declares no dead-letter queue".into(),
            }),
        }
    }

    /// A queue of the generated crate.
    fn queue(&self, queue: prefixes::Queue) -> Result<Arc<dyn Queue>, Error> {
        self.open_queue(&self.queue_url(queue)?)
    }
}
