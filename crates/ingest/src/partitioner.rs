//! Partitioner: routes validated rows into per-partition Arrow builders and one zstd Parquet writer
//! per partition value, keeping the buffered bytes of ALL partitions under one global budget by
//! flushing the largest buffers first (builders -> row group -> close the part file).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{ArrayRef, StringBuilder, UInt64Builder};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use object_store::ObjectStore;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use tokio::runtime::Handle;

use crate::error::{Error, Result};
use crate::layout;
use crate::sink::ObjectSink;

/// Name of the provenance column appended to every raw file.
pub const SOURCE_ROW: &str = "_source_row";

/// Tuning of the partitioner. `memory_budget` is the global cap on buffered bytes.
#[derive(Debug, Clone)]
pub struct PartitionerConfig {
    /// Global cap on bytes buffered across all partitions (builders + encoders + upload buffers).
    pub memory_budget: usize,
    /// Rows buffered in a partition's builders before they are encoded.
    pub batch_rows: usize,
    /// Maximum rows per Parquet row group.
    pub row_group_rows: usize,
    /// Multipart part size of the object sink.
    pub part_bytes: usize,
    /// zstd level.
    pub zstd_level: i32,
    /// A part file is closed (and `part-NNNNN+1` started) after this many row groups: the
    /// writer keeps every row group's metadata and page indexes until the footer, which the
    /// budget cannot see, so files are rolled to keep memory flat however long the input.
    pub max_row_groups_per_file: usize,
}

impl Default for PartitionerConfig {
    fn default() -> Self {
        PartitionerConfig {
            memory_budget: 128 * 1024 * 1024,
            batch_rows: 8192,
            row_group_rows: 1 << 20,
            part_bytes: crate::sink::MIN_PART_BYTES,
            zstd_level: 1,
            max_row_groups_per_file: 16,
        }
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
    /// Highest total of accounted bytes ever observed.
    pub peak_buffered_bytes: usize,
    /// Largest single row added (the peak may exceed the budget by at most one row).
    pub max_row_bytes: usize,
    /// Times the budget was reached.
    pub evictions: u64,
    /// Part files closed early because of the budget.
    pub early_closes: u64,
    /// Largest growth of the total caused by one step (a row, an encode, a flush); eviction
    /// starts when `total + max(max_step_bytes, budget/8)` reaches the budget.
    pub max_step_bytes: usize,
}

struct OpenPart {
    writer: AsyncArrowWriter<ObjectSink>,
    held: Arc<AtomicUsize>,
    key: String,
}

struct PartitionState {
    value: String,
    strings: Vec<StringBuilder>,
    rows_col: UInt64Builder,
    buffered_rows: usize,
    builder_bytes: usize,
    open: Option<OpenPart>,
    next_part: u32,
    accounted: usize,
    outcome: PartitionOutcome,
}

impl PartitionState {
    fn account(&self) -> usize {
        self.builder_bytes
            + self.open.as_ref().map_or(0, |o| {
                o.writer.memory_size() + o.held.load(Ordering::Relaxed)
            })
    }
}

/// Writes raw rows into `raw/{dataset}/run={run}/cd={value}/part-NNNNN.parquet` under a budget.
/// Async I/O is driven with `Handle::block_on`, so it must run on a blocking thread.
pub struct Partitioner {
    store: Arc<dyn ObjectStore>,
    dataset: String,
    run_id: String,
    schema: SchemaRef,
    props: WriterProperties,
    cfg: PartitionerConfig,
    rt: Handle,
    index: HashMap<String, usize>,
    states: Vec<PartitionState>,
    total: usize,
    stats: BudgetStats,
}

impl Partitioner {
    /// A partitioner for rows with the given header (a `_source_row` column is appended).
    pub fn new(
        store: Arc<dyn ObjectStore>,
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
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .set_max_row_group_row_count(Some(cfg.row_group_rows))
            // Encoder buffers per column scale with the budget (1 MiB each at 256 MiB and above).
            .set_data_page_size_limit((cfg.memory_budget / 256).clamp(4096, 1 << 20))
            .set_dictionary_page_size_limit((cfg.memory_budget / 256).clamp(4096, 1 << 20))
            // Row numbers rise within a partition: delta encoding, no dictionary.
            .set_column_dictionary_enabled(ColumnPath::from(SOURCE_ROW), false)
            .set_column_encoding(ColumnPath::from(SOURCE_ROW), Encoding::DELTA_BINARY_PACKED)
            .build();
        Ok(Partitioner {
            store,
            dataset: dataset.to_string(),
            run_id: run_id.to_string(),
            schema: Arc::new(Schema::new(fields)),
            props,
            cfg,
            rt,
            index: HashMap::new(),
            states: Vec::new(),
            total: 0,
            stats: BudgetStats::default(),
        })
    }

    /// The memory accounting so far.
    pub fn stats(&self) -> BudgetStats {
        self.stats
    }

    /// Bytes currently accounted across all partitions.
    pub fn buffered_bytes(&self) -> usize {
        self.total
    }

    /// Bytes kept free for the next step: 1.5x the largest step seen, at least 1/8 of the budget.
    /// A batch is encoded at 1/32 of the budget at the latest and encoder pages scale with the
    /// budget, so steps stay small; the peak can only pass the budget if one step is more than
    /// 1.5x larger than every earlier one.
    fn headroom(&self) -> usize {
        (self.stats.max_step_bytes * 3 / 2).max(self.cfg.memory_budget / 8)
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
        if st.buffered_rows >= self.cfg.batch_rows
            || st.builder_bytes >= self.cfg.memory_budget / 32
        {
            self.encode_builders(idx)?;
        }
        if self.total + self.headroom() >= self.cfg.memory_budget {
            self.evict()?;
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
            open: None,
            next_part: 0,
            accounted: 0,
            outcome: PartitionOutcome {
                value: value.to_string(),
                rows: 0,
                bytes: 0,
                keys: Vec::new(),
            },
        });
        self.index.insert(value.to_string(), self.states.len() - 1);
        self.states.len() - 1
    }

    /// Re-account partition `idx` and update the total and the peak.
    fn settle(&mut self, idx: usize) {
        let st = &mut self.states[idx];
        let now = st.account();
        self.stats.max_step_bytes = self
            .stats
            .max_step_bytes
            .max(now.saturating_sub(st.accounted));
        self.total = self.total + now - st.accounted;
        st.accounted = now;
        self.stats.peak_buffered_bytes = self.stats.peak_buffered_bytes.max(self.total);
    }

    /// Encode the builders of `idx` into its Parquet writer (opening a part file when needed).
    fn encode_builders(&mut self, idx: usize) -> Result<()> {
        if self.states[idx].buffered_rows == 0 {
            return Ok(());
        }
        if self.states[idx].open.is_none() {
            self.open_part(idx)?;
        }
        let st = &mut self.states[idx];
        let mut cols: Vec<ArrayRef> = st
            .strings
            .iter_mut()
            .map(|b| Arc::new(b.finish()) as ArrayRef)
            .collect();
        cols.push(Arc::new(st.rows_col.finish()));
        let batch = RecordBatch::try_new(self.schema.clone(), cols)
            .map_err(|e| Error::parquet(&st.value, e))?;
        st.outcome.rows += st.buffered_rows as u64;
        st.buffered_rows = 0;
        st.builder_bytes = builder_capacity(&st.strings, &st.rows_col);
        let open = st.open.as_mut().expect("opened above");
        self.rt
            .block_on(open.writer.write(&batch))
            .map_err(|e| Error::parquet(&open.key, e))?;
        drop(batch);
        self.settle(idx);
        self.roll_if_full(idx)
    }

    /// Close the part file of `idx` when it holds `max_row_groups_per_file` row groups.
    fn roll_if_full(&mut self, idx: usize) -> Result<()> {
        let full = self.states[idx].open.as_ref().is_some_and(|o| {
            o.writer.flushed_row_groups().len() >= self.cfg.max_row_groups_per_file
        });
        if full {
            self.close_part(idx)?;
        }
        Ok(())
    }

    fn open_part(&mut self, idx: usize) -> Result<()> {
        let st = &mut self.states[idx];
        let key = layout::raw_part(&self.dataset, &self.run_id, &st.value, st.next_part)?;
        st.next_part += 1;
        let sink = ObjectSink::new(self.store.clone(), &key, self.cfg.part_bytes);
        let held = sink.held();
        let writer = AsyncArrowWriter::try_new(sink, self.schema.clone(), Some(self.props.clone()))
            .map_err(|e| Error::parquet(&key, e))?;
        st.open = Some(OpenPart { writer, held, key });
        Ok(())
    }

    /// Flush row group of `idx` into its sink.
    fn flush_row_group(&mut self, idx: usize) -> Result<()> {
        if let Some(open) = self.states[idx].open.as_mut() {
            self.rt
                .block_on(open.writer.flush())
                .map_err(|e| Error::parquet(&open.key, e))?;
        }
        self.settle(idx);
        self.roll_if_full(idx)
    }

    /// Finish the current part file of `idx` (footer written, upload completed).
    fn close_part(&mut self, idx: usize) -> Result<()> {
        let st = &mut self.states[idx];
        if let Some(mut open) = st.open.take() {
            self.rt
                .block_on(open.writer.finish())
                .map_err(|e| Error::parquet(&open.key, e))?;
            st.outcome.bytes += open.writer.bytes_written() as u64;
            st.outcome.keys.push(open.key);
        }
        self.settle(idx);
        Ok(())
    }

    /// Budget reached: free the largest buffers until the total plus the headroom is below 3/4
    /// of the budget.
    fn evict(&mut self) -> Result<()> {
        self.stats.evictions += 1;
        let low = (self.cfg.memory_budget / 4 * 3).saturating_sub(self.headroom());
        while self.total > low {
            let Some(idx) = (0..self.states.len()).max_by_key(|&i| self.states[i].accounted) else {
                break;
            };
            let st = &self.states[idx];
            if st.accounted == 0 {
                break;
            }
            if st.buffered_rows > 0 {
                self.encode_builders(idx)?;
            } else if st
                .open
                .as_ref()
                .is_some_and(|o| o.writer.in_progress_rows() > 0)
            {
                self.flush_row_group(idx)?;
            } else {
                self.stats.early_closes += 1;
                self.close_part(idx)?;
            }
        }
        Ok(())
    }

    /// Encode and close everything; outcomes sorted by partition value (numbers numerically).
    pub fn finish(mut self) -> Result<(Vec<PartitionOutcome>, BudgetStats)> {
        for idx in 0..self.states.len() {
            self.encode_builders(idx)?;
            self.close_part(idx)?;
        }
        let mut out: Vec<PartitionOutcome> = self.states.into_iter().map(|s| s.outcome).collect();
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
