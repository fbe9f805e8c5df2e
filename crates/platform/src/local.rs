//! The local platform `civic` runs functions on: a fixed set of variables per function, each bucket a folder
//! of the local store (by physical name), each queue an embedded queue (by URL).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use worklist::Queue;

use crate::{Error, Platform};

/// Variables, bucket folders and queues; [`Local::with_env`] gives each function its own variables over the
/// shared buckets and queues.
#[derive(Clone, Default)]
pub struct Local {
    env: BTreeMap<String, String>,
    buckets: BTreeMap<String, PathBuf>,
    queues: BTreeMap<String, Arc<dyn Queue>>,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("env", &self.env)
            .field("buckets", &self.buckets)
            .field("queues", &self.queues.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Local {
    /// No variables, buckets or queues.
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

    /// The same buckets and queues with exactly these variables (one function's environment).
    pub fn with_env(&self, env: impl IntoIterator<Item = (String, String)>) -> Self {
        Self {
            env: env.into_iter().collect(),
            ..self.clone()
        }
    }

    /// The variables this platform gives its function.
    pub fn env(&self) -> &BTreeMap<String, String> {
        &self.env
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
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| err(e.to_string()))?;
        Ok(Arc::new(store))
    }

    fn open_queue(&self, url: &str) -> Result<Arc<dyn Queue>, Error> {
        self.queues.get(url).cloned().ok_or_else(|| Error::Queue {
            url: url.to_owned(),
            reason: format!("no local queue (known: {})", known(&self.queues)),
        })
    }
}
