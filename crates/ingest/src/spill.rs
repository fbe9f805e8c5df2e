//! Spill files: a partition's buffered rows parked on local disk until they make a full row group.
//!
//! Each spilled batch is one file, an lz4-compressed Arrow IPC stream (schema + one batch), so no file
//! handle or write buffer stays open between spills however many partitions there are. A thread of the
//! directory writes them. The files of a
//! partitioner live in one directory of their own (under `std::env::temp_dir()` unless configured),
//! removed with everything in it when the [`SpillDir`] is dropped: on finish and on any error.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use arrow::ipc::CompressionType;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::{IpcWriteOptions, StreamWriter};
use arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

/// One spilled batch: being written by the spill thread, or on disk.
#[derive(Debug)]
pub struct SpillFile {
    path: PathBuf,
    /// Rows of the batch.
    pub rows: usize,
    /// Memory of the batch as it was written (its buffers' capacity); read back, it takes at most
    /// this plus the file's bytes (the IPC reader may keep buffers that lz4 left uncompressed as
    /// slices of the message body, which `get_array_memory_size` counts once per array).
    pub memory: usize,
    /// The spill thread's answer: the file's bytes, or why it could not be written.
    done: mpsc::Receiver<std::result::Result<u64, String>>,
}

struct Job {
    path: PathBuf,
    batch: RecordBatch,
    done: mpsc::Sender<std::result::Result<u64, String>>,
}

/// The spill directory of one partitioner and its writer thread; removed (with its files) on drop.
///
/// Files are written (lz4 compression and all) on a thread of their own, so the spill costs the
/// partitioner's thread no CPU while the machine has a core to spare; one batch may wait while the
/// previous one is written and the hand-over waits beyond that, so at most two batches are with that
/// thread at any time (their memory is part of the partitioner's encoding headroom).
pub struct SpillDir {
    path: PathBuf,
    created: bool,
    next: u64,
    /// Bytes of the files on disk now (written by the thread, not yet read back).
    on_disk: Arc<AtomicU64>,
    options: IpcWriteOptions,
    tx: Option<mpsc::SyncSender<Job>>,
    worker: Option<std::thread::JoinHandle<()>>,
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Write `batch` to `path` as a compressed IPC stream; the file's bytes.
fn write_file(
    path: &Path,
    batch: &RecordBatch,
    options: &IpcWriteOptions,
) -> std::result::Result<u64, String> {
    let file = File::create(path).map_err(|e| e.to_string())?;
    let text = |e: arrow::error::ArrowError| e.to_string();
    let mut w = StreamWriter::try_new_with_options(
        BufWriter::with_capacity(64 * 1024, file),
        &batch.schema(),
        options.clone(),
    )
    .map_err(text)?;
    w.write(batch).map_err(text)?;
    w.finish().map_err(text)?;
    let mut out = w.into_inner().map_err(text)?;
    out.flush().map_err(|e| e.to_string())?;
    let bytes = out.get_ref().metadata().map_err(|e| e.to_string())?.len();
    Ok(bytes)
}

impl SpillDir {
    /// A spill directory `civic-spill-{run}-{random}` under `parent` (created on first use).
    pub fn new(parent: &Path, run_id: &str) -> Result<Self> {
        let options = IpcWriteOptions::default()
            .try_with_compression(Some(CompressionType::LZ4_FRAME))
            .map_err(|e| Error::parquet("spill", e))?;
        Ok(SpillDir {
            path: parent.join(format!(
                "civic-spill-{run_id}-{}",
                uuid::Uuid::new_v4().simple()
            )),
            created: false,
            next: 0,
            on_disk: Arc::new(AtomicU64::new(0)),
            options,
            tx: None,
            worker: None,
        })
    }

    /// The directory (it exists once a batch was spilled).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the spill files on disk now (a file being written counts once it is complete).
    pub fn on_disk(&self) -> u64 {
        self.on_disk.load(Ordering::Relaxed)
    }

    fn start(&mut self) -> Result<()> {
        std::fs::create_dir_all(&self.path).map_err(|e| io(&self.path, e))?;
        self.created = true;
        // One batch may wait while the previous one is written, so the router hands over and goes on.
        let (tx, rx) = mpsc::sync_channel::<Job>(1);
        let on_disk = self.on_disk.clone();
        let options = self.options.clone();
        let worker = std::thread::Builder::new()
            .name("ingest-spill".into())
            .spawn(move || {
                for job in rx {
                    let got = write_file(&job.path, &job.batch, &options);
                    drop(job.batch);
                    if let Ok(bytes) = got {
                        on_disk.fetch_add(bytes, Ordering::Relaxed);
                    }
                    let _ = job.done.send(got);
                }
            })
            .map_err(|e| io(&self.path, e))?;
        self.tx = Some(tx);
        self.worker = Some(worker);
        Ok(())
    }

    /// Hand `batch` to the spill thread (waiting while it writes one batch and another waits).
    pub fn write(&mut self, batch: RecordBatch) -> Result<SpillFile> {
        if !self.created {
            self.start()?;
        }
        let path = self.path.join(format!("{:08}.arrows", self.next));
        self.next += 1;
        let (done_tx, done) = mpsc::channel();
        let (rows, memory) = (batch.num_rows(), batch.get_array_memory_size());
        let job = Job {
            path: path.clone(),
            batch,
            done: done_tx,
        };
        let tx = self.tx.as_ref().expect("started above");
        tx.send(job).map_err(|_| {
            Error::parquet(path.display().to_string(), "the spill thread has stopped")
        })?;
        Ok(SpillFile {
            path,
            rows,
            memory,
            done,
        })
    }

    /// Read a spill file back (waiting until it is written) and remove it; the batch and the
    /// file's bytes.
    pub fn take(&mut self, file: SpillFile) -> Result<(RecordBatch, u64)> {
        file.read(&self.on_disk)
    }

    /// The counter of bytes on disk, for a thread that reads files back ([`SpillFile::read`]).
    pub fn on_disk_counter(&self) -> Arc<AtomicU64> {
        self.on_disk.clone()
    }
}

impl SpillFile {
    /// Read the file back (waiting until the spill thread wrote it), remove it and take its bytes off
    /// `on_disk` (its directory's [`SpillDir::on_disk_counter`]); the batch and the file's bytes.
    pub fn read(self, on_disk: &AtomicU64) -> Result<(RecordBatch, u64)> {
        let file = self;
        let name = || file.path.display().to_string();
        let bytes = file
            .done
            .recv()
            .map_err(|_| Error::parquet(name(), "the spill thread has stopped"))?
            .map_err(|e| Error::parquet(name(), format!("writing the spill file: {e}")))?;
        let ipc = |e: arrow::error::ArrowError| Error::parquet(name(), e);
        let f = File::open(&file.path).map_err(|e| io(&file.path, e))?;
        let mut reader =
            StreamReader::try_new(BufReader::with_capacity(64 * 1024, f), None).map_err(ipc)?;
        let batch = reader
            .next()
            .transpose()
            .map_err(ipc)?
            .ok_or_else(|| Error::parquet(name(), "empty spill file"))?;
        drop(reader);
        std::fs::remove_file(&file.path).map_err(|e| io(&file.path, e))?;
        on_disk.fetch_sub(bytes, Ordering::Relaxed);
        Ok((batch, bytes))
    }
}

impl Drop for SpillDir {
    fn drop(&mut self) {
        // The thread ends when the channel closes; join it so no file appears after the removal.
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        if self.created
            && let Err(e) = std::fs::remove_dir_all(&self.path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(dir = %self.path.display(), error = %e, "could not remove the spill directory");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
    use std::sync::Arc;

    #[test]
    fn a_batch_round_trips_and_the_directory_is_removed_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("a", DataType::Utf8, false),
            Field::new("n", DataType::UInt64, false),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(StringArray::from(vec!["x", "yy", "x"])),
                Arc::new(UInt64Array::from(vec![1, 2, 3])),
            ],
        )
        .unwrap();
        let mut dir = SpillDir::new(parent.path(), "r").unwrap();
        let f1 = dir.write(batch.clone()).unwrap();
        let f2 = dir.write(batch.slice(1, 2)).unwrap();
        assert_eq!((f1.rows, f2.rows), (3, 2));
        let (back, b1) = dir.take(f1).unwrap();
        assert_eq!(back, batch);
        let (back, b2) = dir.take(f2).unwrap();
        assert_eq!(back, batch.slice(1, 2));
        assert!(b1 > 0 && b2 > 0);
        assert_eq!(dir.on_disk(), 0);
        let _f3 = dir.write(batch.clone()).unwrap();
        let path = dir.path().to_path_buf();
        drop(dir); // with a file not read back

        assert!(!path.exists(), "the spill directory is removed on drop");
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 0);
    }
}
