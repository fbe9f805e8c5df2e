//! The opt-in record of writes: an `ObjectStore` wrapper around a bucket's store that notes every object written
//! through it (put, multipart upload, copy and rename targets) with the function and the bucket's physical name,
//! so a test can compare what each function wrote with what the manifests grant it.

use std::fmt;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, RenameOptions, Result,
};

/// One object written through a store the local platform handed out.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Write {
    /// The function whose platform opened the store (`""` for a platform of no function).
    pub function: String,
    /// The bucket's physical name.
    pub bucket: String,
    /// The object key.
    pub key: String,
}

/// Where the writes go; shared by every platform cloned from the one that enabled it.
pub(crate) type Log = Arc<Mutex<Vec<Write>>>;

/// A store that records the keys written through it (a write is recorded when it is attempted).
pub(crate) struct Logged {
    inner: Arc<dyn ObjectStore>,
    function: String,
    bucket: String,
    log: Log,
}

impl Logged {
    pub(crate) fn wrap(
        inner: Arc<dyn ObjectStore>,
        function: &str,
        bucket: &str,
        log: Log,
    ) -> Arc<dyn ObjectStore> {
        Arc::new(Logged {
            inner,
            function: function.to_owned(),
            bucket: bucket.to_owned(),
            log,
        })
    }

    fn note(&self, key: &Path) {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Write {
                function: self.function.clone(),
                bucket: self.bucket.clone(),
                key: key.to_string(),
            });
    }
}

impl fmt::Debug for Logged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Logged({} for {}: {:?})",
            self.bucket, self.function, self.inner
        )
    }
}

impl fmt::Display for Logged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Logged({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Logged {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        self.note(location);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        self.note(location);
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[std::ops::Range<u64>],
    ) -> Result<Vec<bytes::Bytes>> {
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.note(to);
        self.inner.copy_opts(from, to, options).await
    }

    async fn rename_opts(&self, from: &Path, to: &Path, options: RenameOptions) -> Result<()> {
        self.note(to);
        self.inner.rename_opts(from, to, options).await
    }
}
