//! Object-store sink for Parquet writers: buffers encoded bytes until a part is full, then uploads
//! it as one multipart part (awaited, so the memory is freed at once); a small file is one `put`.
//! The bytes it holds are published through a shared counter for the memory budget.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::errors::ParquetError;

/// S3's minimum size of every multipart part but the last.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// An [`AsyncFileWriter`] writing one object, multipart when it outgrows `part_bytes`.
pub struct ObjectSink {
    store: Arc<dyn ObjectStore>,
    path: Path,
    part_bytes: usize,
    chunks: Vec<Bytes>,
    buffered: usize,
    upload: Option<Box<dyn MultipartUpload>>,
    held: Arc<AtomicUsize>,
}

impl ObjectSink {
    /// A sink for `key`; `part_bytes` is the multipart part size (use [`MIN_PART_BYTES`] or more on S3).
    pub fn new(store: Arc<dyn ObjectStore>, key: &str, part_bytes: usize) -> Self {
        ObjectSink {
            store,
            path: Path::from(key),
            part_bytes: part_bytes.max(1),
            chunks: Vec::new(),
            buffered: 0,
            upload: None,
            held: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Shared counter of the bytes this sink currently holds in memory.
    pub fn held(&self) -> Arc<AtomicUsize> {
        self.held.clone()
    }

    fn take_payload(&mut self) -> PutPayload {
        self.buffered = 0;
        self.held.store(0, Ordering::Relaxed);
        PutPayload::from_iter(std::mem::take(&mut self.chunks))
    }

    async fn upload_part(&mut self) -> object_store::Result<()> {
        if self.upload.is_none() {
            self.upload = Some(self.store.put_multipart(&self.path).await?);
        }
        let payload = self.take_payload();
        let upload = self.upload.as_mut().expect("started above");
        if let Err(e) = upload.put_part(payload).await {
            let _ = upload.abort().await;
            return Err(e);
        }
        Ok(())
    }

    async fn finish(&mut self) -> object_store::Result<()> {
        match self.upload.take() {
            None => {
                let payload = self.take_payload();
                self.store.put(&self.path, payload).await?;
            }
            Some(mut upload) => {
                if self.buffered > 0 {
                    let payload = self.take_payload();
                    if let Err(e) = upload.put_part(payload).await {
                        let _ = upload.abort().await;
                        return Err(e);
                    }
                }
                if let Err(e) = upload.complete().await {
                    let _ = upload.abort().await;
                    return Err(e);
                }
            }
        }
        Ok(())
    }
}

fn external(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileWriter for ObjectSink {
    fn write(&mut self, bs: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async move {
            // The writer hands over its whole growth buffer (capacity can be twice the length);
            // keep a compact copy so what is held is what is accounted.
            let bs = if bs.len() < 64 * 1024 {
                bs
            } else {
                Bytes::copy_from_slice(&bs)
            };
            self.buffered += bs.len();
            self.chunks.push(bs);
            self.held.store(self.buffered, Ordering::Relaxed);
            if self.buffered >= self.part_bytes {
                self.upload_part().await.map_err(external)?;
            }
            Ok(())
        }
        .boxed()
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        async move { self.finish().await.map_err(external) }.boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn small_object_is_one_put_and_large_is_multipart() {
        let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let mut small = ObjectSink::new(store.clone(), "a/small", 100);
        small.write(Bytes::from_static(b"hello")).await.unwrap();
        assert_eq!(small.held().load(Ordering::Relaxed), 5);
        small.complete().await.unwrap();
        let got = store
            .get(&Path::from("a/small"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&got[..], b"hello");

        let mut big = ObjectSink::new(store.clone(), "a/big", 4);
        let held = big.held();
        for chunk in [&b"abc"[..], b"defg", b"h"] {
            big.write(Bytes::copy_from_slice(chunk)).await.unwrap();
            assert!(
                held.load(Ordering::Relaxed) < 4,
                "a full part is uploaded at once"
            );
        }
        big.complete().await.unwrap();
        let got = store
            .get(&Path::from("a/big"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&got[..], b"abcdefgh");
        assert_eq!(held.load(Ordering::Relaxed), 0);
    }
}
