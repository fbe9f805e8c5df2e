//! A Parquet writer that encodes the columns of each batch on several threads: the same file as
//! parquet's `AsyncArrowWriter` with the same properties (byte for byte; tested), but a row group's
//! columns are shared out among `threads` scoped threads, each taking the next unencoded column, so
//! encoding and zstd compression use every core. Memory is the same as the single-threaded writer's:
//! one column writer per column of the one row group in progress (their codec contexts included),
//! whichever thread runs it. Bytes reach the [`AsyncFileWriter`] when a row group is flushed and at
//! `finish`, as with `AsyncArrowWriter`.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::new_empty_array;
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::errors::{ParquetError, Result};
use parquet::file::metadata::RowGroupMetaData;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;

/// Column-parallel Parquet writer into an [`AsyncFileWriter`].
pub struct ParallelArrowWriter<W> {
    file: SerializedFileWriter<Vec<u8>>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    /// Leaf columns of each field, in order (1 for a flat field).
    leaves: Vec<usize>,
    /// The row group in progress: one writer per leaf column (empty between row groups).
    columns: Vec<ArrowColumnWriter>,
    rows: usize,
    max_rows: usize,
    threads: usize,
    sink: W,
}

impl<W: AsyncFileWriter> ParallelArrowWriter<W> {
    /// A writer of `schema` with `props` (its `max_row_group_row_count` splits row groups as
    /// `ArrowWriter` does), encoding on up to `threads` threads (at least 1).
    pub fn try_new(
        sink: W,
        schema: SchemaRef,
        props: WriterProperties,
        threads: usize,
    ) -> Result<Self> {
        if props.max_row_group_bytes().is_some() || props.content_defined_chunking().is_some() {
            return Err(ParquetError::General(
                "ParallelArrowWriter splits row groups by row count only: unset max_row_group_bytes \
                 and content-defined chunking"
                    .into(),
            ));
        }
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let leaves = schema
            .fields()
            .iter()
            .map(|f| compute_leaves(f, &new_empty_array(f.data_type())).map(|l| l.len()))
            .collect::<Result<Vec<_>>>()?;
        // ArrowWriter sets up the file (magic, the embedded Arrow schema) exactly as it would write it.
        let (file, factory) = ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))?
            .into_serialized_writer()?;
        Ok(ParallelArrowWriter {
            file,
            factory,
            schema,
            leaves,
            columns: Vec::new(),
            rows: 0,
            max_rows,
            threads: threads.max(1),
            sink,
        })
    }

    /// Metadata of the row groups flushed so far.
    pub fn flushed_row_groups(&self) -> &[RowGroupMetaData] {
        self.file.flushed_row_groups()
    }

    /// Memory of the row group in progress (`ArrowWriter::memory_size`).
    pub fn memory_size(&self) -> usize {
        self.columns.iter().map(|c| c.memory_size()).sum()
    }

    /// Rows of the row group in progress.
    pub fn in_progress_rows(&self) -> usize {
        self.rows
    }

    /// Bytes of the file written so far (flushed row groups, and the footer after `finish`).
    pub fn bytes_written(&self) -> usize {
        self.file.bytes_written()
    }

    /// Encode `batch`, flushing a row group each time it reaches the row limit.
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.schema().fields() != self.schema.fields() {
            return Err(ParquetError::General(format!(
                "batch schema {:?} differs from the writer's {:?}",
                batch.schema(),
                self.schema
            )));
        }
        let mut at = 0;
        while at < batch.num_rows() {
            if self.columns.is_empty() {
                self.columns = self
                    .factory
                    .create_column_writers(self.file.flushed_row_groups().len())?;
            }
            let take = (batch.num_rows() - at).min(self.max_rows - self.rows);
            self.encode(&batch.slice(at, take))?;
            self.rows += take;
            at += take;
            if self.rows >= self.max_rows {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Flush the rows in progress as one row group and hand its bytes to the sink.
    pub async fn flush(&mut self) -> Result<()> {
        if self.columns.is_empty() {
            return Ok(());
        }
        let columns = std::mem::take(&mut self.columns);
        self.rows = 0;
        let chunks = self.close_columns(columns)?;
        let mut rg = self.file.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut rg)?;
        }
        rg.close()?;
        self.drain().await
    }

    /// Flush, write the footer and complete the sink.
    pub async fn finish(&mut self) -> Result<()> {
        self.flush().await?;
        self.file.finish()?;
        self.drain().await?;
        self.sink.complete().await
    }

    async fn drain(&mut self) -> Result<()> {
        let buf = std::mem::take(self.file.inner_mut());
        if buf.is_empty() {
            return Ok(());
        }
        self.sink.write(Bytes::from(buf)).await
    }

    /// Write each field's leaves into its writers, fields shared out among the threads.
    fn encode(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut slots = Vec::with_capacity(self.leaves.len());
        let mut rest = &mut self.columns[..];
        for &n in &self.leaves {
            let (mine, tail) = rest.split_at_mut(n);
            slots.push(Mutex::new(mine));
            rest = tail;
        }
        let fields = self.schema.fields();
        let work = |i: usize| -> Result<()> {
            let mut writers = slots[i].lock().expect("one thread per column");
            let leaves = compute_leaves(&fields[i], batch.column(i))?;
            for (w, leaf) in writers.iter_mut().zip(&leaves) {
                w.write(leaf)?;
            }
            Ok(())
        };
        share(slots.len(), self.threads, work)
    }

    /// Close every column writer (the last page and the dictionary page of each), in parallel.
    fn close_columns(&self, columns: Vec<ArrowColumnWriter>) -> Result<Vec<ArrowColumnChunk>> {
        let n = columns.len();
        let slots: Vec<Mutex<Option<ArrowColumnWriter>>> =
            columns.into_iter().map(|c| Mutex::new(Some(c))).collect();
        let done: Vec<Mutex<Option<ArrowColumnChunk>>> = (0..n).map(|_| Mutex::new(None)).collect();
        share(n, self.threads, |i| {
            let w = slots[i].lock().expect("one thread per column").take();
            let chunk = w.expect("closed once").close()?;
            *done[i].lock().expect("one thread per column") = Some(chunk);
            Ok(())
        })?;
        Ok(done
            .into_iter()
            .map(|c| c.into_inner().expect("not poisoned").expect("closed"))
            .collect())
    }
}

/// Run `work(0..n)` on up to `threads` threads (this one included), each taking the next index;
/// the first error wins and stops the others from starting new items.
fn share(n: usize, threads: usize, work: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(None::<ParquetError>);
    let run = || {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= n {
                return;
            }
            if let Err(e) = work(i) {
                next.store(n, Ordering::Relaxed);
                failed.lock().expect("not poisoned").get_or_insert(e);
                return;
            }
        }
    };
    let helpers = threads.min(n).saturating_sub(1);
    if helpers == 0 {
        run();
    } else {
        std::thread::scope(|s| {
            for _ in 0..helpers {
                s.spawn(run);
            }
            run();
        });
    }
    match failed.into_inner().expect("not poisoned") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{ArrayRef, StringArray, UInt64Array};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::AsyncArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::basic::{Compression, ZstdLevel};

    /// Collects what it is given (the test's sink).
    #[derive(Default)]
    struct Collect {
        bytes: Vec<u8>,
        completed: bool,
    }

    impl AsyncFileWriter for Collect {
        fn write(&mut self, bs: Bytes) -> futures::future::BoxFuture<'_, Result<()>> {
            self.bytes.extend_from_slice(&bs);
            Box::pin(async { Ok(()) })
        }
        fn complete(&mut self) -> futures::future::BoxFuture<'_, Result<()>> {
            self.completed = true;
            Box::pin(async { Ok(()) })
        }
    }

    fn batches() -> (SchemaRef, Vec<RecordBatch>) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("status", DataType::Utf8, true),
            Field::new("address", DataType::Utf8, false),
            Field::new("_source_row", DataType::UInt64, false),
        ]));
        let mut out = Vec::new();
        let mut row = 0u64;
        for size in [1, 700, 3000, 2500, 0, 4100] {
            let ids: Vec<String> = (0..size).map(|i| format!("1-{}", row + i)).collect();
            let status: Vec<Option<&str>> = (0..size)
                .map(|i| ["Closed", "Open", ""].get((row + i) as usize % 4).copied())
                .collect();
            let addr: Vec<String> = (0..size)
                .map(|i| format!("{} MAIN ST, 9{:04}", (row + i) * 7919 % 22000, i % 900))
                .collect();
            let cols: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(ids)),
                Arc::new(StringArray::from(status)),
                Arc::new(StringArray::from(addr)),
                Arc::new(UInt64Array::from_iter_values(row..row + size)),
            ];
            out.push(RecordBatch::try_new(schema.clone(), cols).unwrap());
            row += size;
        }
        (schema, out)
    }

    fn props() -> WriterProperties {
        WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(1).unwrap()))
            .set_max_row_group_row_count(Some(2048))
            .set_data_page_size_limit(4096)
            .set_dictionary_page_size_limit(1024)
            .build()
    }

    #[tokio::test]
    async fn same_bytes_as_async_arrow_writer_on_any_thread_count() {
        let (schema, batches) = batches();
        let mut want = Vec::new();
        let mut w = AsyncArrowWriter::try_new(&mut want, schema.clone(), Some(props())).unwrap();
        for b in &batches {
            w.write(b).await.unwrap();
        }
        w.flush().await.unwrap(); // a flush with nothing in progress is a no-op on both
        w.close().await.unwrap();
        for threads in [1, 2, 3, 8] {
            let mut p =
                ParallelArrowWriter::try_new(Collect::default(), schema.clone(), props(), threads)
                    .unwrap();
            for b in &batches {
                p.write(b).await.unwrap();
            }
            p.flush().await.unwrap();
            assert_eq!(
                p.flushed_row_groups().len(),
                6,
                "10,301 rows in 2,048-row groups"
            );
            p.finish().await.unwrap();
            assert_eq!(p.bytes_written(), want.len());
            assert!(p.sink.completed);
            assert!(p.sink.bytes == want, "{threads} threads: bytes differ");
        }
        let read = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(want))
            .unwrap()
            .build()
            .unwrap()
            .map(|b| b.unwrap().num_rows())
            .sum::<usize>();
        assert_eq!(read, 10_301);
    }

    #[tokio::test]
    async fn a_batch_of_another_schema_is_refused_and_an_early_flush_cuts_a_group() {
        let (schema, batches) = batches();
        let mut p =
            ParallelArrowWriter::try_new(Collect::default(), schema.clone(), props(), 2).unwrap();
        p.write(&batches[1]).await.unwrap();
        assert_eq!(p.in_progress_rows(), 700);
        assert!(p.memory_size() > 0);
        p.flush().await.unwrap();
        assert_eq!((p.in_progress_rows(), p.memory_size()), (0, 0));
        assert_eq!(p.flushed_row_groups()[0].num_rows(), 700);
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![Field::new("x", DataType::UInt64, false)])),
            vec![Arc::new(UInt64Array::from(vec![1u64]))],
        )
        .unwrap();
        let err = p.write(&other).await.unwrap_err().to_string();
        assert!(err.contains("differs from the writer's"), "{err}");
    }
}
