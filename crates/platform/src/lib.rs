//! The platform a function runs on: its environment variables, its buckets (by physical name) as
//! `Arc<dyn ObjectStore>`, its queues (by URL) as `Arc<dyn worklist::Queue>`, its SSM parameters (by physical
//! name) and the asynchronous invocation of itself that continues a long run.
//!
//! Each function crate wires itself from a `&dyn Platform` (reading the generated env var names, exactly as
//! the templates set them), so its `main.rs` passes [`Aws`] and `civic` passes a [`Local`] platform built from
//! the same manifests: nothing in function code knows where it runs, and no function code reads the process
//! environment itself.

use std::sync::Arc;

use futures::future::BoxFuture;
use object_store::ObjectStore;
use worklist::Queue;

pub mod aws;
pub mod local;
pub mod write_log;

pub use aws::Aws;
pub use local::Local;
pub use write_log::Write;

/// The variable the Lambda runtime sets to the function's own name (the target of [`Platform::invoke_self`]).
pub const ENV_FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// The variable the Lambda runtime sets to the function's memory size in MB.
pub const ENV_FUNCTION_MEMORY_MB: &str = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE";

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
    /// The parameter exists but could not be read (unreachable, denied, no value). The reason never holds the
    /// value.
    #[error("reading parameter {name}: {reason}")]
    Parameter {
        /// Physical name (the SSM path).
        name: String,
        /// Why.
        reason: String,
    },
    /// The function could not invoke itself.
    #[error("invoking {function} to continue: {reason}")]
    Invoke {
        /// The function's name (or what was missing to know it).
        function: String,
        /// Why.
        reason: String,
    },
}

/// How a function reaches its resources. Implementations: [`Aws`] (Lambda), [`Local`] (`civic`).
pub trait Platform: Send + Sync {
    /// An environment variable of the function (the templates' variables and the runtime's own, such as
    /// [`ENV_FUNCTION_MEMORY_MB`]).
    fn var(&self, name: &str) -> Option<String>;
    /// The bucket with this physical name.
    fn open_bucket(&self, physical_name: &str) -> Result<Arc<dyn ObjectStore>, Error>;
    /// The queue at this URL.
    fn open_queue(&self, url: &str) -> Result<Arc<dyn Queue>, Error>;
    /// The (decrypted) value of the SSM parameter with this physical name; `Ok(None)` when it does not exist.
    fn parameter<'a>(
        &'a self,
        physical_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, Error>>;
    /// Invoke this same function again with `payload`, asynchronously (without waiting for it): how a run that
    /// outgrows one invocation goes on.
    fn invoke_self<'a>(
        &'a self,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), Error>>;

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

    /// The physical name of a parameter of the generated crate, from the variable the template sets for it;
    /// `None` when the variable is unset (the function does not run where the parameter is declared).
    fn parameter_name(&self, parameter: &prefixes::Parameter) -> Option<String> {
        self.var(parameter.env).filter(|v| !v.is_empty())
    }
}
