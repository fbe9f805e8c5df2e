//! The object store the consumer sees: an in-memory store behind seeded failures of every call (a put may fail
//! before or after it took effect, create-only puts included), which logs, in the world's logical time, every
//! write of a tracked key and every read of a job record by the delivery that made it.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{
    CopyOptions, Error, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta,
    ObjectStore, PutMode, PutMultipartOptions, PutOptions, PutPayload, PutResult, Result,
};

use super::fakes::{Broken, Shared, lock};

pub struct SimStore {
    /// The real state; the harness reads it directly (no faults) for its own decisions and checks.
    pub inner: Arc<InMemory>,
    pub world: Shared,
}

fn injected(op: &str, location: &str, after: bool) -> Error {
    let when = if after {
        "after it took effect"
    } else {
        "before it took effect"
    };
    Error::Generic {
        store: "sim",
        source: format!("injected {op} failure on {location} ({when})").into(),
    }
}

impl fmt::Debug for SimStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimStore")
    }
}

impl fmt::Display for SimStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimStore")
    }
}

#[async_trait]
impl ObjectStore for SimStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        mut opts: PutOptions,
    ) -> Result<PutResult> {
        let create = matches!(opts.mode, PutMode::Create);
        let op = if create { "put_create" } else { "put" };
        {
            let mut w = lock(&self.world);
            if w.fault(&format!("{op}_before")) {
                return Err(injected(op, location.as_ref(), false));
            }
            if create && w.broken == Some(Broken::BlindPut) {
                opts.mode = PutMode::Overwrite;
            }
        }
        let result = self.inner.put_opts(location, payload, opts).await;
        let mut w = lock(&self.world);
        if result.is_ok() && w.keys.tracked(location).is_some() {
            let t = w.tick();
            w.writes.entry(location.to_string()).or_default().push(t);
        }
        if result.is_ok() && w.fault(&format!("{op}_after")) {
            return Err(injected(op, location.as_ref(), true));
        }
        result
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        let op = if options.head { "head" } else { "get" };
        {
            let mut w = lock(&self.world);
            if w.fault(op) {
                return Err(injected(op, location.as_ref(), false));
            }
            let key = location.to_string();
            let is_record = matches!(
                w.keys.tracked(location),
                Some(super::keys::Tracked::Record { .. })
            );
            if is_record && !options.head {
                let skip = w.broken == Some(Broken::SkipDoneCheck);
                let t = w.tick();
                if let Some(d) = w.current_delivery() {
                    // The broken consumer's first look at its head job's record comes back empty.
                    if skip && d.head_record.as_deref() == Some(key.as_str()) && d.hidden_reads == 0
                    {
                        d.hidden_reads += 1;
                        return Err(Error::NotFound {
                            path: key,
                            source: "hidden by Broken::SkipDoneCheck".into(),
                        });
                    }
                    d.reads.insert(key, t);
                }
            }
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let world = self.world.clone();
        let inner = self.inner.clone();
        locations
            .then(move |location| {
                let world = world.clone();
                let inner = inner.clone();
                async move {
                    let location = location?;
                    if lock(&world).fault("delete") {
                        return Err(injected("delete", location.as_ref(), false));
                    }
                    let mut one =
                        inner.delete_stream(futures::stream::iter([Ok(location)]).boxed());
                    one.next()
                        .await
                        .unwrap_or_else(|| Err(injected("delete", "(no answer)", false)))
                }
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        if lock(&self.world).fault("list") {
            let at = prefix.map(|p| p.to_string()).unwrap_or_default();
            return futures::stream::iter([Err(injected("list", &at, false))]).boxed();
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        if lock(&self.world).fault("list") {
            let at = prefix.map(|p| p.to_string()).unwrap_or_default();
            return Err(injected("list", &at, false));
        }
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        if lock(&self.world).fault("copy") {
            return Err(injected("copy", from.as_ref(), false));
        }
        self.inner.copy_opts(from, to, options).await
    }
}
