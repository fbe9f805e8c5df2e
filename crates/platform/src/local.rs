//! The local platform `civic` runs functions on: a fixed set of variables per function, each bucket a folder
//! of the local store (by physical name), each queue an embedded queue (by URL), the SSM parameters the topology
//! provides (none by default: there is no SSM locally), and self-invocations kept in process until the caller
//! runs them ([`Local::next_invocation`]). Optionally every write through its buckets is recorded
//! ([`Local::with_write_log`]).

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use worklist::Queue;

use crate::write_log::{Log, Logged};
use crate::{Error, Platform, Write};

/// Self-invocations asked for, per function, oldest first.
type Invocations = Arc<Mutex<BTreeMap<String, VecDeque<serde_json::Value>>>>;

/// Variables, bucket folders, queues and parameters; [`Local::for_function`] gives each function its own
/// variables over the shared buckets, queues, parameters, pending invocations and write log.
#[derive(Clone, Default)]
pub struct Local {
    function: Option<String>,
    env: BTreeMap<String, String>,
    buckets: BTreeMap<String, PathBuf>,
    queues: BTreeMap<String, Arc<dyn Queue>>,
    parameters: BTreeMap<String, String>,
    invocations: Invocations,
    writes: Option<Log>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("function", &self.function)
            .field("env", &self.env)
            .field("buckets", &self.buckets)
            .field("queues", &self.queues.keys().collect::<Vec<_>>())
            // Names only: parameter values are secrets.
            .field("parameters", &self.parameters.keys().collect::<Vec<_>>())
            .field("write_log", &self.writes.is_some())
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Local {
    /// No variables, buckets, queues or parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve the bucket `physical_name` from the folder `dir` (created when opened).
    pub fn map_bucket(&mut self, physical_name: &str, dir: impl Into<PathBuf>) -> &mut Self {
        self.buckets.insert(physical_name.to_owned(), dir.into());
        self
    }

    /// Serve the queue at `url` with `queue`.
    pub fn map_queue(&mut self, url: &str, queue: Arc<dyn Queue>) -> &mut Self {
        self.queues.insert(url.to_owned(), queue);
        self
    }

    /// Give the parameter with this physical name a value (what an operator's `put-parameter` does in AWS).
    pub fn set_parameter(&mut self, physical_name: &str, value: impl Into<String>) -> &mut Self {
        self.parameters
            .insert(physical_name.to_owned(), value.into());
        self
    }

    /// Record every object written through the buckets of this platform and of every platform made from it
    /// afterwards ([`Local::for_function`], [`Local::with_env`]); read them with [`Local::writes`].
    pub fn with_write_log(&mut self) -> &mut Self {
        self.writes.get_or_insert_with(Log::default);
        self
    }

    /// Every write recorded so far, in the order attempted (empty without [`Local::with_write_log`]).
    pub fn writes(&self) -> Vec<Write> {
        self.writes
            .as_ref()
            .map(|log| lock(log).clone())
            .unwrap_or_default()
    }

    /// The same buckets and queues with exactly these variables, for no particular function.
    pub fn with_env(&self, env: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            function: None,
            env: env.into_iter().collect(),
            ..self.clone()
        }
    }

    /// The platform of `function`: exactly these variables over the shared resources; its self-invocations
    /// and writes are recorded under its name.
    pub fn for_function(
        &self,
        function: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Self {
        Self {
            function: Some(function.to_owned()),
            ..self.with_env(env)
        }
    }

    /// The function this platform serves, if any.
    pub fn function(&self) -> Option<&str> {
        self.function.as_deref()
    }

    /// The variables this platform gives its function.
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }

    /// The oldest self-invocation of this platform's function not yet taken: the payload to run it with next
    /// (as Lambda would start the asynchronous invocation).
    pub fn next_invocation(&self) -> Option<serde_json::Value> {
        let function = self.function.as_deref()?;
        lock(&self.invocations).get_mut(function)?.pop_front()
    }
}

fn known<V>(map: &BTreeMap<String, V>) -> String {
    if map.is_empty() {
        "none".into()
    } else {
        map.keys().cloned().collect::<Vec<_>>().join(", ")
    }
}

impl Platform for Local {
    fn var(&self, name: &str) -> Option<String> {
        self.env.get(name).cloned()
    }

    fn open_bucket(&self, physical_name: &str) -> Result<Arc<dyn ObjectStore>, Error> {
        let err = |reason: String| Error::Bucket {
            bucket: physical_name.to_owned(),
            reason,
        };
        let dir = self
            .buckets
            .get(physical_name)
            .ok_or_else(|| err(format!("no local folder (known: {})", known(&self.buckets))))?;
        std::fs::create_dir_all(dir)
            .map_err(|e| err(format!("creating {}: {e}", dir.display())))?;
        let store: Arc<dyn ObjectStore> =
            Arc::new(LocalFileSystem::new_with_prefix(dir).map_err(|e| err(e.to_string()))?);
        Ok(match &self.writes {
            Some(log) => Logged::wrap(
                store,
                self.function.as_deref().unwrap_or_default(),
                physical_name,
                log.clone(),
            ),
            None => store,
        })
    }

    fn open_queue(&self, url: &str) -> Result<Arc<dyn Queue>, Error> {
        self.queues.get(url).cloned().ok_or_else(|| Error::Queue {
            url: url.to_owned(),
            reason: format!("no local queue (known: {})", known(&self.queues)),
        })
    }

    fn parameter<'a>(
        &'a self,
        physical_name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, Error>> {
        Box::pin(async move { Ok(self.parameters.get(physical_name).cloned()) })
    }

    fn invoke_self<'a>(
        &'a self,
        payload: &'a serde_json::Value,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            let function = self.function.as_deref().ok_or_else(|| Error::Invoke {
                function: "(none)".into(),
                reason: "this local platform serves no function (make it with Local::for_function)"
                    .into(),
            })?;
            lock(&self.invocations)
                .entry(function.to_owned())
                .or_default()
                .push_back(payload.clone());
            Ok(())
        })
    }
}
