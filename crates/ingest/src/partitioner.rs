//! Partitioner: routes validated rows into per-partition Arrow builders and one zstd Parquet writer
//! per partition value, keeping the memory of ALL partitions under one global budget.
//!
//! Rows are buffered as Arrow builders (accounted by capacity) and a partition's buffer is encoded
//! as one whole row group at a time (write + flush), so at most one partition has live column
//! writers at any moment. That matters: every Parquet column writer owns a zstd compression and
//! decompression context (about 150 KiB per column together) that no writer statistic reports, so
//! keeping a row group open per partition cost 16 x 35 columns x 150 KiB = 80 MiB of invisible
//! memory on MyLA311. Encoded row groups wait in the partition's sink until a multipart part is
//! full. When builders + sinks + the encoding headroom reach the budget, the largest partition is
//! relieved: its builders are spilled to local disk ([`crate::spill`], lz4 Arrow IPC) while its rows
//! are fewer than a row group, or else encoded, with its spilled batches first, as ONE row group of
//! `row_group_rows` rows; or its part file is closed. A partition whose spilled and buffered rows reach
//! `row_group_rows` is written at once, so row groups are full however many partitions share the
//! budget. Spill files never outlive the partitioner: `finish` (also at a checkpoint) writes them all.
//! Row groups are encoded on an encoder thread of the partitioner, one at a time, while rows go on
//! arriving: a partition's files (`Files`) move to that thread with the job and come back. A partition
//! that reaches a full row group while the encoder is busy does not wait for it: its rows go to spill
//! files and the row group is queued (oldest first), so routing never stops for the encoder.
//! The encoder shares each row group's columns out among `encode_threads` threads
//! ([`crate::parallel_writer`]): the same column writers, so the same memory and the same bytes, on every core.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{ArrayRef, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use object_store::ObjectStore;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use tokio::runtime::Handle;

use crate::error::{Error, Result};
use crate::locations::Locations;
use crate::parallel_writer::ParallelArrowWriter;
use crate::sink::ObjectSink;
use crate::spill::{SpillDir, SpillFile};

/// Name of the provenance column appended to every raw file.
pub const SOURCE_ROW: &str = "_source_row";

/// Memory of an ingest process that is not the partitioner's: the runtime and binary, the source
/// reader's buffers (CSV 64 KiB, file 1 MiB, https channel, one Socrata page), the quarantine buffer
/// and allocator slack. `PartitionerConfig::for_process` subtracts it from a whole-process budget.
pub const PROCESS_RESERVE: usize = 32 * 1024 * 1024;

/// Memory of the council district boundary sets a `geo` partition rule loads (both sets' polygons, R-trees and
/// grids, and what parsing the GeoJSON leaves in the allocator): measured as the peak-RSS difference of a
/// la311 ingest with and without them, 32 MiB. A run with a `geo` rule takes it off the partitioner's budget.
pub const GEO_RESERVE: usize = 32 * 1024 * 1024;

/// Unreported memory of one Parquet column writer while it encodes: its zstd compression and
/// decompression contexts (parquet-rs keeps both per column; measured with heaptrack at about
/// 100 KiB + 40-60 KiB at level 1).
pub const CODEC_BYTES_PER_COLUMN: usize = 192 * 1024;

/// Tuning of the partitioner. `memory_budget` is the partitioner's global cap.
#[derive(Debug, Clone)]
pub struct PartitionerConfig {
    /// Global cap on the partitioner's memory: builders, sinks waiting for a multipart part, and the
    /// encoding headroom of one row group.
    pub memory_budget: usize,
    /// Rows per Parquet row group: a partition is written as one row group once this many of its rows
    /// wait (in its builders and spill files); fewer only at the end, at a checkpoint, when the spill
    /// cap is reached, or when the encoded row group would outgrow its share of the budget.
    pub row_group_rows: usize,
    /// Multipart part size of the object sink.
    pub part_bytes: usize,
    /// zstd level.
    pub zstd_level: i32,
    /// A part file is closed (and `part-NNNNN+1` started) after this many row groups: the
    /// writer keeps every row group's metadata and page indexes until the footer, which the
    /// budget cannot see, so files are rolled to keep memory flat however long the input.
    pub max_row_groups_per_file: usize,
    /// Dictionary page limit per column chunk (a column falls back to plain pages beyond it).
    pub dictionary_page_bytes: usize,
    /// Largest data page (smaller under tiny budgets: `memory_budget / 256`, at least 4 KiB).
    pub max_page_bytes: usize,
    /// Directory of the spill files (`None`: `std::env::temp_dir()`); the partitioner makes its own
    /// subdirectory and removes it on finish and on error.
    pub spill_dir: Option<PathBuf>,
    /// Most bytes of spill files on disk at once (Lambda's `/tmp` is 512 MB by default); beyond it the
    /// partition with the largest spill is written as a (smaller) row group. 0 disables spilling:
    /// every relief encodes a row group at once.
    pub spill_bytes_cap: u64,
    /// Threads that encode a row group's columns (the encoder thread and its helpers; default: the
    /// cores available, at most [`MAX_ENCODE_THREADS`]). More threads hold no more memory: the one row
    /// group in progress has one column writer per column whichever thread runs it.
    pub encode_threads: usize,
}

/// Most threads encoding one row group's columns by default (35 columns share out well among 4).
pub const MAX_ENCODE_THREADS: usize = 4;

/// The default of [`PartitionerConfig::encode_threads`]: the cores available, 1 to [`MAX_ENCODE_THREADS`].
pub fn default_encode_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_ENCODE_THREADS)
}

/// DuckDB's row group size, and ours: 120 x 1,024 rows.
pub const ROW_GROUP_ROWS: usize = 122_880;

/// Default cap on the spill files on disk: half of Lambda's default 512 MB `/tmp`.
pub const SPILL_BYTES_CAP: u64 = 256 * 1024 * 1024;

impl Default for PartitionerConfig {
    /// The settings for a 128 MiB ingest process.
    fn default() -> Self {
        Self::for_process(128 * 1024 * 1024)
    }
}

impl PartitionerConfig {
    /// Settings for an ingest process whose whole memory (peak RSS) should stay within `total`:
    /// the partitioner gets `total` minus [`PROCESS_RESERVE`] (at least half of `total`).
    pub fn for_process(total: usize) -> Self {
        PartitionerConfig {
            memory_budget: total.saturating_sub(PROCESS_RESERVE).max(total / 2),
            row_group_rows: ROW_GROUP_ROWS,
            part_bytes: crate::sink::MIN_PART_BYTES,
            zstd_level: 1,
            max_row_groups_per_file: 16,
            dictionary_page_bytes: 32 * 1024,
            max_page_bytes: 256 * 1024,
            spill_dir: None,
            spill_bytes_cap: SPILL_BYTES_CAP,
            encode_threads: default_encode_threads(),
        }
    }

    /// Data page size: 128 KiB (smaller under tiny budgets). Pages bound the plain encoder's
    /// buffer per column; 64-512 KiB pages compress the same within 1% on MyLA311.
    fn page_bytes(&self) -> usize {
        (self.memory_budget / 256).clamp(4096, self.max_page_bytes.max(4096))
    }
}

/// What one partition produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionOutcome {
    pub value: String,
    pub rows: u64,
    pub bytes: u64,
    pub keys: Vec<String>,
}

/// Counters of the partitioner's own memory accounting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BudgetStats {
    /// Highest total of accounted bytes ever observed (including the encoding headroom in use).
    pub peak_buffered_bytes: usize,
    /// Largest single row added (the peak may exceed the budget by at most one row).
    pub max_row_bytes: usize,
    /// Times the budget was reached.
    pub evictions: u64,
    /// Part files closed early because of the budget.
    pub early_closes: u64,
    /// Row groups written.
    pub row_groups: u64,
    /// Bytes kept free for encoding one row group (codec contexts, pages, the encoded copy).
    pub encode_headroom: usize,
    /// Batches spilled to local disk, and the bytes of those read back (all, after `finish`).
    pub spilled_batches: u64,
    pub spilled_bytes: u64,
    /// Most bytes of spill files on disk at once.
    pub spill_peak_bytes: u64,
    /// Row groups flushed before `row_group_rows` because their encoded size reached its share of
    /// the budget, and spills written early because of `spill_bytes_cap`.
    pub row_groups_cut: u64,
    pub spill_cap_writes: u64,
    /// Full row groups queued for the encoder (it was busy) instead of waited for.
    pub row_groups_queued: u64,
}

struct OpenPart {
    writer: ParallelArrowWriter<ObjectSink>,
    held: Arc<AtomicUsize>,
    key: String,
}

/// A partition's Parquet files: the part being written and what is done. It moves to the encoder thread
/// with a row group to write and comes back when that is written.
struct Files {
    value: String,
    open: Option<OpenPart>,
    next_part: u32,
    outcome: PartitionOutcome,
}

impl Files {
    /// Memory of the open part: the writer's buffers and the sink's bytes waiting for a multipart part.
    fn bytes(&self) -> usize {
        self.open.as_ref().map_or(0, |o| {
            o.writer.memory_size() + o.held.load(Ordering::Relaxed)
        })
    }
}

struct PartitionState {
    value: String,
    strings: Vec<StringBuilder>,
    rows_col: UInt64Builder,
    buffered_rows: usize,
    builder_bytes: usize,
    /// Batches on disk, oldest first; they precede the builders' rows.
    spilled: Vec<SpillFile>,
    spilled_rows: usize,
    /// Memory of the spilled batches (the largest spill is written first when the cap is reached).
    spilled_bytes: u64,
    /// None while the encoder thread writes a row group of this partition.
    files: Option<Box<Files>>,
    /// The open part's memory when `files` was last here.
    files_bytes: usize,
    accounted: usize,
}

impl PartitionState {
    fn account(&self) -> usize {
        self.builder_bytes + self.files.as_ref().map_or(self.files_bytes, |f| f.bytes())
    }
}

/// Row-group counters of the encoding, added to [`BudgetStats`] when a job comes back.
#[derive(Debug, Default, Clone, Copy)]
struct EncodeStats {
    row_groups: u64,
    row_groups_cut: u64,
    spilled_bytes: u64,
}

/// What the encoder needs of the partitioner (shared with its thread).
struct EncodeCtx {
    store: Arc<dyn ObjectStore>,
    loc: Locations,
    dataset: String,
    run_id: String,
    schema: SchemaRef,
    props: WriterProperties,
    rt: Handle,
    part_bytes: usize,
    max_row_groups_per_file: usize,
    encoded_cap: usize,
    encode_threads: usize,
    on_disk: Option<Arc<std::sync::atomic::AtomicU64>>,
}

impl EncodeCtx {
    /// Write `spilled` (read back) then `tail` as one row group of `f` (cut early only when the encoded
    /// row group reaches its share of the budget); close the part when full, or when `close`.
    fn write_row_group(
        &self,
        f: &mut Files,
        spilled: Vec<SpillFile>,
        tail: Option<RecordBatch>,
        close: bool,
        s: &mut EncodeStats,
    ) -> Result<()> {
        for file in spilled {
            let on_disk = self.on_disk.as_ref().expect("spilled");
            let (batch, bytes) = file.read(on_disk)?;
            s.spilled_bytes += bytes;
            self.encode(f, batch, s)?;
        }
        if let Some(batch) = tail {
            self.encode(f, batch, s)?;
        }
        self.flush_row_group(f, s)?;
        self.roll_if_full(f)?;
        if close {
            self.close_part(f)?;
        }
        Ok(())
    }

    fn encode(&self, f: &mut Files, batch: RecordBatch, s: &mut EncodeStats) -> Result<()> {
        if f.open.is_none() {
            self.open_part(f)?;
        }
        f.outcome.rows += batch.num_rows() as u64;
        let open = f.open.as_mut().expect("opened above");
        let before = open.writer.flushed_row_groups().len();
        self.rt
            .block_on(open.writer.write(&batch))
            .map_err(|e| Error::parquet(&open.key, e))?;
        // The writer flushes by itself on reaching `row_group_rows`.
        s.row_groups += (open.writer.flushed_row_groups().len() - before) as u64;
        drop(batch);
        if open.writer.memory_size() >= self.encoded_cap {
            s.row_groups_cut += 1;
            self.flush_row_group(f, s)?;
            self.roll_if_full(f)?;
        }
        Ok(())
    }

    fn flush_row_group(&self, f: &mut Files, s: &mut EncodeStats) -> Result<()> {
        let Some(open) = f.open.as_mut() else {
            return Ok(());
        };
        if open.writer.in_progress_rows() == 0 {
            return Ok(());
        }
        self.rt
            .block_on(open.writer.flush())
            .map_err(|e| Error::parquet(&open.key, e))?;
        s.row_groups += 1;
        Ok(())
    }

    /// Close the part file when it holds `max_row_groups_per_file` row groups.
    fn roll_if_full(&self, f: &mut Files) -> Result<()> {
        let full = f
            .open
            .as_ref()
            .is_some_and(|o| o.writer.flushed_row_groups().len() >= self.max_row_groups_per_file);
        if full {
            self.close_part(f)?;
        }
        Ok(())
    }

    fn open_part(&self, f: &mut Files) -> Result<()> {
        let key = self
            .loc
            .raw_part(&self.dataset, &self.run_id, &f.value, f.next_part)?;
        f.next_part += 1;
        let sink = ObjectSink::new(self.store.clone(), &key, self.part_bytes);
        let held = sink.held();
        let writer = ParallelArrowWriter::try_new(
            sink,
            self.schema.clone(),
            self.props.clone(),
            self.encode_threads,
        )
        .map_err(|e| Error::parquet(&key, e))?;
        f.open = Some(OpenPart { writer, held, key });
        Ok(())
    }

    /// Finish the current part file (footer written, upload completed).
    fn close_part(&self, f: &mut Files) -> Result<()> {
        if let Some(mut open) = f.open.take() {
            self.rt
                .block_on(open.writer.finish())
                .map_err(|e| Error::parquet(&open.key, e))?;
            f.outcome.bytes += open.writer.bytes_written() as u64;
            f.outcome.keys.push(open.key);
        }
        Ok(())
    }
}

struct Job {
    idx: usize,
    files: Box<Files>,
    spilled: Vec<SpillFile>,
    tail: Option<RecordBatch>,
    close: bool,
}

type Done = (usize, Box<Files>, EncodeStats, Result<()>);

/// The encoder thread: writes one row group at a time while the partitioner goes on parsing and routing.
/// At most one job is in flight (its memory is the partitioner's encoding headroom).
struct Encoder {
    tx: Option<std::sync::mpsc::SyncSender<Job>>,
    rx: std::sync::mpsc::Receiver<Done>,
    worker: Option<std::thread::JoinHandle<()>>,
    /// The partition whose job is in flight, and the memory that job started with.
    inflight: Option<(usize, usize)>,
}

impl Encoder {
    fn start(ctx: Arc<EncodeCtx>) -> Result<Encoder> {
        let (tx, jobs) = std::sync::mpsc::sync_channel::<Job>(1);
        let (done, rx) = std::sync::mpsc::sync_channel::<Done>(1);
        let worker = std::thread::Builder::new()
            .name("ingest-encode".into())
            .spawn(move || {
                for mut job in jobs {
                    let mut s = EncodeStats::default();
                    let got = ctx.write_row_group(
                        &mut job.files,
                        job.spilled,
                        job.tail,
                        job.close,
                        &mut s,
                    );
                    if done.send((job.idx, job.files, s, got)).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| Error::Io {
                path: "ingest-encode thread".into(),
                source: e,
            })?;
        Ok(Encoder {
            tx: Some(tx),
            rx,
            worker: Some(worker),
            inflight: None,
        })
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Writes raw rows into `raw/{dataset}/run={run}/cd={value}/part-NNNNN.parquet` under a budget.
/// Async I/O is driven with `Handle::block_on`, so it must run on a blocking thread.
pub struct Partitioner {
    ctx: Arc<EncodeCtx>,
    schema: SchemaRef,
    cfg: PartitionerConfig,
    index: HashMap<String, usize>,
    states: Vec<PartitionState>,
    total: usize,
    /// Largest raw size of the builders of one partition (relieved at this size at the latest).
    row_group_cap: usize,
    /// The encoder thread (declared before `spill`: it is joined before the spill files are removed).
    encoder: Encoder,
    /// Full row groups waiting for the encoder, oldest first: the partition and its spill files
    /// (`row_group_rows` rows; they precede the partition's later spills and builders).
    queued: VecDeque<(usize, Vec<SpillFile>)>,
    /// Spill files (None when spilling is disabled).
    spill: Option<SpillDir>,
    stats: BudgetStats,
}

impl Partitioner {
    /// A partitioner for rows with the given header (a `_source_row` column is appended).
    pub fn new(
        store: Arc<dyn ObjectStore>,
        loc: Locations,
        dataset: &str,
        run_id: &str,
        header: &[String],
        cfg: PartitionerConfig,
        rt: Handle,
    ) -> Result<Self> {
        let mut fields: Vec<Field> = header
            .iter()
            .map(|h| Field::new(h, DataType::Utf8, false))
            .collect();
        fields.push(Field::new(SOURCE_ROW, DataType::UInt64, false));
        let level = ZstdLevel::try_new(cfg.zstd_level).map_err(|e| Error::parquet("-", e))?;
        let page = cfg.page_bytes();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(cfg.row_group_rows))
            .set_data_page_size_limit(page)
            // A small dictionary limit: low-cardinality text (status, request type, neighbourhood
            // council) stays dictionary-encoded, high-cardinality text (ids, addresses, dates,
            // coordinates) falls back to plain pages at once, which zstd compresses far better
            // than a dictionary of unique values plus its index pages.
            .set_dictionary_page_size_limit(cfg.dictionary_page_bytes)
            // Row numbers rise within a partition: delta encoding, no dictionary.
            .set_column_dictionary_enabled(ColumnPath::from(SOURCE_ROW), false)
            .set_column_encoding(ColumnPath::from(SOURCE_ROW), Encoding::DELTA_BINARY_PACKED)
            .build();
        let ncols = fields.len();
        let budget = cfg.memory_budget;
        // Encoding one row group needs: every column's codec contexts and page buffer, and the
        // encoded row group (at most the raw size) while it moves into the sink.
        let fixed = ncols * (CODEC_BYTES_PER_COLUMN + page);
        if budget < 2 * fixed {
            return Err(Error::Invalid(format!(
                "memory budget of {budget} bytes is too small for {ncols} columns: encoding one row \
                 group needs about {fixed} bytes, so the partitioner needs at least {} bytes \
                 (raise --memory-budget)",
                2 * fixed
            )));
        }
        let avail = budget.saturating_sub(fixed);
        let (row_group_cap, encoded_cap, headroom, spill) = if cfg.spill_bytes_cap > 0 {
            // Writing a row group from spill files holds, besides the codecs and pages: one decoded
            // batch (at most the builder cap), the encoded row group in progress, and its copy while
            // it is flushed into the sink.
            // Meanwhile the spill thread may be writing one batch (and its compressed body) with one
            // more batch waiting for it.
            let cap = (avail / 12).max(64 * 1024);
            let encoded = (avail / 6).max(64 * 1024);
            let parent = cfg.spill_dir.clone().unwrap_or_else(std::env::temp_dir);
            let dir = SpillDir::new(&parent, run_id)?;
            (cap, encoded, fixed + 4 * cap + 2 * encoded, Some(dir))
        } else {
            let cap = (avail / 6).max(64 * 1024);
            (cap, usize::MAX, fixed + cap, None)
        };
        let stats = BudgetStats {
            encode_headroom: headroom,
            ..Default::default()
        };
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let ctx = Arc::new(EncodeCtx {
            store,
            loc,
            dataset: dataset.to_string(),
            run_id: run_id.to_string(),
            schema: schema.clone(),
            props,
            rt,
            part_bytes: cfg.part_bytes,
            max_row_groups_per_file: cfg.max_row_groups_per_file,
            encoded_cap,
            encode_threads: cfg.encode_threads,
            on_disk: spill.as_ref().map(SpillDir::on_disk_counter),
        });
        let encoder = Encoder::start(ctx.clone())?;
        Ok(Partitioner {
            ctx,
            schema,
            cfg,
            index: HashMap::new(),
            states: Vec::new(),
            total: 0,
            row_group_cap,
            encoder,
            queued: VecDeque::new(),
            spill,
            stats,
        })
    }

    /// Continue after a checkpoint: each partition's complete files so far (part numbers go on
    /// from the number of files).
    pub fn resume(&mut self, prior: Vec<PartitionOutcome>) {
        for o in prior {
            let idx = self.add_partition(&o.value);
            let f = self.states[idx].files.as_mut().expect("no job yet");
            f.next_part = o.keys.len() as u32;
            f.outcome = o;
        }
    }

    /// The memory accounting so far.
    pub fn stats(&self) -> BudgetStats {
        self.stats
    }

    /// Bytes currently accounted across all partitions.
    pub fn buffered_bytes(&self) -> usize {
        self.total
    }

    /// Add one row (its fields in header order) to `partition`.
    pub fn push(
        &mut self,
        partition: &str,
        fields: &csv::StringRecord,
        source_row: u64,
    ) -> Result<()> {
        let idx = match self.index.get(partition) {
            Some(&i) => i,
            None => self.add_partition(partition),
        };
        let ncols = self.schema.fields().len() - 1;
        let st = &mut self.states[idx];
        let mut row_bytes = 8;
        for (i, b) in st.strings.iter_mut().enumerate().take(ncols) {
            let v = fields.get(i).unwrap_or("");
            b.append_value(v);
            row_bytes += v.len() + 4;
        }
        st.rows_col.append_value(source_row);
        st.buffered_rows += 1;
        // Account what the builders have allocated (capacity), not just what they hold.
        st.builder_bytes = builder_capacity(&st.strings, &st.rows_col);
        self.stats.max_row_bytes = self.stats.max_row_bytes.max(row_bytes);
        self.settle(idx);
        let st = &self.states[idx];
        if st.buffered_rows + st.spilled_rows >= self.cfg.row_group_rows
            || st.builder_bytes >= self.row_group_cap
        {
            self.relieve(idx)?;
        }
        if self.total + self.stats.encode_headroom >= self.cfg.memory_budget {
            self.evict()?;
        }
        if !self.queued.is_empty() {
            self.pump()?;
        }
        Ok(())
    }

    fn add_partition(&mut self, value: &str) -> usize {
        let ncols = self.schema.fields().len() - 1;
        self.states.push(PartitionState {
            value: value.to_string(),
            strings: (0..ncols)
                .map(|_| StringBuilder::with_capacity(0, 0))
                .collect(),
            rows_col: UInt64Builder::with_capacity(0),
            buffered_rows: 0,
            builder_bytes: 0,
            spilled: Vec::new(),
            spilled_rows: 0,
            spilled_bytes: 0,
            files: Some(Box::new(Files {
                value: value.to_string(),
                open: None,
                next_part: 0,
                outcome: PartitionOutcome {
                    value: value.to_string(),
                    rows: 0,
                    bytes: 0,
                    keys: Vec::new(),
                },
            })),
            files_bytes: 0,
            accounted: 0,
        });
        self.index.insert(value.to_string(), self.states.len() - 1);
        self.states.len() - 1
    }

    /// Re-account partition `idx` (plus `extra` transient bytes) and update the total and the peak
    /// (which counts the job in flight on the encoder thread).
    fn settle_with(&mut self, idx: usize, extra: usize) {
        let st = &mut self.states[idx];
        let now = st.account();
        self.total = self.total + now - st.accounted;
        st.accounted = now;
        let inflight = self.encoder.inflight.map_or(0, |(_, b)| b);
        self.stats.peak_buffered_bytes = self
            .stats
            .peak_buffered_bytes
            .max(self.total + extra + inflight);
    }

    fn settle(&mut self, idx: usize) {
        self.settle_with(idx, 0)
    }

    /// Wait for the job in flight (if any): its partition's files come back and are accounted again.
    fn wait(&mut self) -> Result<()> {
        let Some((idx, _)) = self.encoder.inflight else {
            return Ok(());
        };
        let done = self.encoder.rx.recv().map_err(|_| {
            Error::parquet(&self.states[idx].value, "the encoder thread has stopped")
        })?;
        self.restore(done)
    }

    /// The job in flight is done: its partition's files are back and accounted again.
    fn restore(&mut self, (idx, files, s, got): Done) -> Result<()> {
        debug_assert_eq!(self.encoder.inflight.map(|(i, _)| i), Some(idx));
        self.encoder.inflight = None;
        self.stats.row_groups += s.row_groups;
        self.stats.row_groups_cut += s.row_groups_cut;
        self.stats.spilled_bytes += s.spilled_bytes;
        let st = &mut self.states[idx];
        st.files_bytes = files.bytes();
        st.files = Some(files);
        self.settle(idx);
        got
    }

    /// Without waiting: take the job in flight back when it is done, and give the encoder the oldest
    /// queued row group when it is free.
    fn pump(&mut self) -> Result<()> {
        if self.encoder.inflight.is_some() {
            match self.encoder.rx.try_recv() {
                Ok(done) => self.restore(done)?,
                Err(std::sync::mpsc::TryRecvError::Empty) => return Ok(()),
                Err(std::sync::mpsc::TryRecvError::Disconnected) => {
                    return Err(Error::parquet("-", "the encoder thread has stopped"));
                }
            }
        }
        if let Some((idx, spilled)) = self.queued.pop_front() {
            self.submit(idx, spilled, None, false)?;
        }
        Ok(())
    }

    /// Hand every queued row group of `idx` (all of them when None) to the encoder, in order, waiting
    /// for it in between: they precede any later row group of the partition.
    fn drain_queued(&mut self, idx: Option<usize>) -> Result<()> {
        while let Some(pos) = self
            .queued
            .iter()
            .position(|(i, _)| idx.is_none_or(|want| *i == want))
        {
            let (i, spilled) = self.queued.remove(pos).expect("found above");
            self.wait()?;
            self.submit(i, spilled, None, false)?;
        }
        Ok(())
    }

    /// Free the builders of `idx`: spill them while the partition's rows are fewer than a row group
    /// (then write the largest spill while the spill files exceed their cap), else write its row group.
    fn relieve(&mut self, idx: usize) -> Result<()> {
        let st = &self.states[idx];
        let full = st.buffered_rows + st.spilled_rows >= self.cfg.row_group_rows;
        if self.spill.is_none() || (full && self.encoder.inflight.is_none()) {
            return self.write_row_group(idx, false);
        }
        self.spill_builders(idx)?;
        if full {
            // The encoder is busy: queue the row group instead of waiting for it.
            let st = &mut self.states[idx];
            let spilled = std::mem::take(&mut st.spilled);
            st.spilled_rows = 0;
            st.spilled_bytes = 0;
            self.queued.push_back((idx, spilled));
            self.stats.row_groups_queued += 1;
        }
        while self
            .spill
            .as_ref()
            .is_some_and(|s| s.on_disk() > self.cfg.spill_bytes_cap)
        {
            if !self.queued.is_empty() {
                // The queued row groups are the oldest spills: write them first (they are full).
                let (i, spilled) = self.queued.pop_front().expect("not empty");
                self.wait()?;
                self.submit(i, spilled, None, false)?;
                self.wait()?;
                continue;
            }
            let Some(big) = (0..self.states.len())
                .filter(|&i| !self.states[i].spilled.is_empty())
                .max_by_key(|&i| self.states[i].spilled_bytes)
            else {
                break;
            };
            self.stats.spill_cap_writes += 1;
            self.write_row_group(big, false)?;
            // The files on disk shrink as the encoder reads them back: wait for it before looking again.
            self.wait()?;
        }
        Ok(())
    }

    /// The builders of `idx` as one batch (None when empty); the builders start over.
    fn take_batch(&mut self, idx: usize) -> Result<Option<RecordBatch>> {
        let st = &mut self.states[idx];
        if st.buffered_rows == 0 {
            return Ok(None);
        }
        // The builders start again at half of what this batch holds: one reallocation per column to
        // reach a batch of the same size instead of a dozen doublings from nothing (each a `realloc`
        // under the allocator's arena lock, which the spill thread's frees also take).
        let rows = st.buffered_rows;
        let mut cols: Vec<ArrayRef> = st
            .strings
            .iter_mut()
            .map(|b| {
                let values = b.values_slice().len();
                let array = b.finish();
                *b = StringBuilder::with_capacity(rows / 2, values / 2);
                Arc::new(array) as ArrayRef
            })
            .collect();
        cols.push(Arc::new(st.rows_col.finish()));
        st.rows_col = UInt64Builder::with_capacity(rows / 2);
        let batch = RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| Error::parquet(&st.value, e))?;
        st.buffered_rows = 0;
        st.builder_bytes = builder_capacity(&st.strings, &st.rows_col);
        Ok(Some(batch))
    }

    /// Write the builders of `idx` to a spill file.
    fn spill_builders(&mut self, idx: usize) -> Result<()> {
        let Some(batch) = self.take_batch(idx)? else {
            return Ok(());
        };
        let bytes = batch.get_array_memory_size();
        // Handed over when the spill thread has room; until then the batch is held here. The one
        // being written (batch and compressed body) and the one waiting are in the encoding headroom.
        self.settle_with(idx, bytes);
        let spill = self.spill.as_mut().expect("spilling is enabled");
        let file = spill.write(batch)?;
        self.stats.spilled_batches += 1;
        self.stats.spill_peak_bytes = self.stats.spill_peak_bytes.max(spill.on_disk());
        let st = &mut self.states[idx];
        st.spilled_rows += file.rows;
        st.spilled_bytes += file.memory as u64;
        st.spilled.push(file);
        self.settle(idx);
        Ok(())
    }

    /// Hand the rows of `idx` (spilled batches first, then the builders) to the encoder thread as one
    /// row group (after the job in flight is done); with `close`, its part file is closed after it.
    fn write_row_group(&mut self, idx: usize, close: bool) -> Result<()> {
        let st = &self.states[idx];
        let has_open = st.files.as_ref().is_none_or(|f| f.open.is_some());
        if st.buffered_rows == 0 && st.spilled.is_empty() && !(close && has_open) {
            return Ok(());
        }
        self.drain_queued(Some(idx))?;
        self.wait()?;
        let tail = self.take_batch(idx)?;
        let st = &mut self.states[idx];
        let spilled = std::mem::take(&mut st.spilled);
        st.spilled_rows = 0;
        st.spilled_bytes = 0;
        self.submit(idx, spilled, tail, close)
    }

    /// Send one row group of `idx` to the (free) encoder.
    fn submit(
        &mut self,
        idx: usize,
        spilled: Vec<SpillFile>,
        tail: Option<RecordBatch>,
        close: bool,
    ) -> Result<()> {
        debug_assert!(self.encoder.inflight.is_none());
        let largest = spilled.iter().map(|f| f.memory).max().unwrap_or(0);
        let tail_bytes = tail.as_ref().map_or(0, RecordBatch::get_array_memory_size);
        let st = &mut self.states[idx];
        let files = st.files.take().expect("no job in flight");
        let codecs = self.schema.fields().len() * CODEC_BYTES_PER_COLUMN;
        self.encoder.inflight = Some((idx, tail_bytes + 2 * largest + codecs));
        self.settle(idx);
        let job = Job {
            idx,
            files,
            spilled,
            tail,
            close,
        };
        self.encoder
            .tx
            .as_ref()
            .expect("running")
            .send(job)
            .map_err(|_| Error::parquet(&self.states[idx].value, "the encoder thread has stopped"))
    }

    /// Finish the current part file of `idx` (footer written, upload completed).
    fn close_part(&mut self, idx: usize) -> Result<()> {
        self.drain_queued(Some(idx))?;
        if self.encoder.inflight.is_some_and(|(i, _)| i == idx) {
            self.wait()?;
        }
        let f = self.states[idx].files.as_mut().expect("waited above");
        self.ctx.close_part(f)?;
        self.states[idx].files_bytes = 0;
        self.settle(idx);
        Ok(())
    }

    /// Budget reached: relieve the largest partitions until the total plus the encoding headroom
    /// is below 3/4 of the budget.
    fn evict(&mut self) -> Result<()> {
        self.stats.evictions += 1;
        let low = (self.cfg.memory_budget / 4 * 3).saturating_sub(self.stats.encode_headroom);
        while self.total > low {
            let Some(idx) = (0..self.states.len()).max_by_key(|&i| self.states[i].accounted) else {
                break;
            };
            if self.encoder.inflight.is_some_and(|(i, _)| i == idx) {
                // Its files are on the encoder thread: see what they hold once back.
                self.wait()?;
                continue;
            }
            let st = &self.states[idx];
            if st.accounted == 0 {
                break;
            }
            let open = st.files.as_ref().is_some_and(|f| f.open.is_some());
            let held = st.accounted.saturating_sub(st.builder_bytes);
            if st.buffered_rows > 0 && (st.builder_bytes >= held || !open) {
                self.relieve(idx)?;
            } else if open {
                self.stats.early_closes += 1;
                self.close_part(idx)?;
            } else {
                // Only the residual capacity of empty builders is left: nothing to relieve.
                break;
            }
        }
        Ok(())
    }

    /// Encode (spill files included) and close everything; the spill directory is removed.
    /// Outcomes sorted by partition value (numbers numerically).
    pub fn finish(mut self) -> Result<(Vec<PartitionOutcome>, BudgetStats)> {
        self.drain_queued(None)?;
        for idx in 0..self.states.len() {
            self.write_row_group(idx, true)?;
        }
        self.wait()?;
        drop(self.spill.take());
        let mut out: Vec<PartitionOutcome> = std::mem::take(&mut self.states)
            .into_iter()
            .map(|s| s.files.expect("every job is done").outcome)
            .collect();
        out.sort_by(|a, b| partition_order(&a.value, &b.value));
        Ok((out, self.stats))
    }
}

/// Bytes allocated by a partition's builders (values, offsets, validity).
fn builder_capacity(strings: &[StringBuilder], rows: &UInt64Builder) -> usize {
    strings
        .iter()
        .map(|b| b.values_capacity() + b.offsets_capacity() * 4 + b.validity_capacity() / 8)
        .sum::<usize>()
        + rows.capacity() * 8
}

/// Order partition values: integers numerically first, then text.
pub fn partition_order(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<i64>(), b.parse::<i64>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        _ => a.cmp(b),
    }
}
