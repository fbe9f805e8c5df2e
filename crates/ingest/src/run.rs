//! One ingestion run: open the source, judge every row (field count, UTF-8, partition value),
//! route good rows to the partitioner and bad ones to quarantine, then write the manifest last.

use std::sync::Arc;

use object_store::ObjectStore;
use tokio::runtime::Handle;

use crate::catalog::DatasetSpec;
use crate::checkpoint::Checkpoint;
use crate::error::{Error, Result};
use crate::geo_route::GeoRouted;
use crate::header::{Header, HeaderChange};
use crate::locations::{self, Locations};
use crate::manifest::{MANIFEST_VERSION, ManifestPartition, ManifestSource, RunManifest};
use crate::partition_value::{Routed, route};
use crate::partitioner::{BudgetStats, GEO_RESERVE, Partitioner, PartitionerConfig};
use crate::quarantine::{Quarantine, QuarantinedRow};
use crate::source::{self, SourceSpec};

/// Receives progress of a run (the CLI draws a bar; Lambda logs).
pub trait Progress: Send + Sync {
    /// Called once the source is open; `total_bytes` when the size is known.
    fn start(&self, total_bytes: Option<u64>);
    /// Rows read and source bytes consumed so far.
    fn update(&self, rows: u64, bytes: u64);
    /// Called when all rows are read.
    fn finish(&self);
}

/// Progress as structured log lines (for Lambda and non-terminal runs): one `info` event per
/// `every_rows` rows.
pub struct LogProgress {
    pub every_rows: u64,
    last: std::sync::atomic::AtomicU64,
}

impl LogProgress {
    pub fn new(every_rows: u64) -> Self {
        LogProgress {
            every_rows: every_rows.max(1),
            last: Default::default(),
        }
    }
}

impl Progress for LogProgress {
    fn start(&self, total_bytes: Option<u64>) {
        tracing::info!(?total_bytes, "source open");
    }
    fn update(&self, rows: u64, bytes: u64) {
        use std::sync::atomic::Ordering;
        if rows / self.every_rows > self.last.load(Ordering::Relaxed) {
            self.last.store(rows / self.every_rows, Ordering::Relaxed);
            tracing::info!(rows, bytes, "ingest progress");
        }
    }
    fn finish(&self) {
        tracing::info!("source read to the end");
    }
}

/// Compares a source's header and first rows with the dataset's mapping (the harmonization layer's
/// schema-drift check, injected so this crate does not depend on it). Arguments: header (as the raw
/// layer names the columns), the names changed from the source's (repeated, unnamed), sampled records,
/// Socrata dataset id, year. The report is stored in the run manifest as `drift`.
pub type DriftCheck = Arc<
    dyn Fn(
            &[String],
            &[HeaderChange],
            &[Vec<String>],
            Option<&str>,
            Option<i32>,
        ) -> Option<serde_json::Value>
        + Send
        + Sync,
>;

/// Records sampled from the start of a source for the drift check.
pub const DRIFT_SAMPLE_ROWS: usize = 2_000;

/// Options of a run.
#[derive(Clone, Default)]
pub struct IngestOptions {
    /// Schema-drift check run on the header and the first [`DRIFT_SAMPLE_ROWS`] records.
    pub drift: Option<DriftCheck>,
    /// Run id (a fresh one when None).
    pub run_id: Option<String>,
    /// Memory budget and encoding settings.
    pub partitioner: PartitionerConfig,
    /// Progress receiver.
    pub progress: Option<Arc<dyn Progress>>,
    /// Stop at the first record boundary after this instant (checked every
    /// [`DEADLINE_CHECK_ROWS`] rows) and write a checkpoint instead of a manifest; only
    /// [`ingest_segment`] honours it (a Lambda invocation's time limit).
    pub deadline: Option<std::time::Instant>,
}

/// Rows between two deadline checks.
pub const DEADLINE_CHECK_ROWS: u64 = 1024;

/// How a segment of a run ended.
#[derive(Debug, Clone)]
pub enum Segment {
    /// The source was read to the end; the manifest is written.
    Complete(Box<IngestReport>),
    /// The deadline came first; the checkpoint is written and the same call with the same run id
    /// continues the run.
    Suspended {
        checkpoint: Box<Checkpoint>,
        key: String,
        budget: BudgetStats,
    },
}

/// Result of a run: the manifest as written, its key, and the memory accounting.
#[derive(Debug, Clone)]
pub struct IngestReport {
    pub manifest: RunManifest,
    pub manifest_key: String,
    pub budget: BudgetStats,
}

/// Ingest `source` into the `data` store as dataset `spec`, to the end (any deadline in `opts` is
/// ignored); the manifest is written last. A run id with a checkpoint is continued from it.
///
/// `loc` is the caller's grants (the `ingest` function's: raw, quarantine and runs).
pub async fn ingest(
    store: Arc<dyn ObjectStore>,
    loc: Locations,
    spec: &DatasetSpec,
    source: SourceSpec,
    opts: IngestOptions,
) -> Result<IngestReport> {
    let opts = IngestOptions {
        deadline: None,
        ..opts
    };
    match ingest_segment(store, loc, spec, source, opts).await? {
        Segment::Complete(report) => Ok(*report),
        Segment::Suspended { key, .. } => Err(Error::Invalid(format!(
            "run suspended without a deadline (checkpoint {key})"
        ))),
    }
}

/// One segment of a run: continue from the run's checkpoint when it has one, read until the end of
/// the source (write the manifest, remove the checkpoint) or until `opts.deadline` (close every part
/// file and write the checkpoint).
pub async fn ingest_segment(
    store: Arc<dyn ObjectStore>,
    loc: Locations,
    spec: &DatasetSpec,
    source: SourceSpec,
    opts: IngestOptions,
) -> Result<Segment> {
    let run_id = opts.run_id.clone().unwrap_or_else(locations::new_run_id);
    locations::check_segment("run id", &run_id)?;
    locations::check_segment("dataset id", &spec.id)?;
    let mut resume = Checkpoint::load(&store, &loc, &spec.id, &run_id).await?;
    if let Some(cp) = &resume
        && let Ok(done) = crate::manifest::read(&store, loc.runs, &spec.id, &run_id).await
        && done.started_at == cp.started_at
    {
        // The attempt that wrote this checkpoint completed (its manifest carries the same start)
        // but the checkpoint could not be removed (the Lambda role may write `runs/` but not
        // delete): a rerun starts over, as without a checkpoint. A rerun's own checkpoint has a
        // later start and is continued.
        tracing::info!(run = %run_id, "the run is complete: ignoring its leftover checkpoint");
        resume = None;
    }
    if let Some(cp) = &resume {
        if cp.source.kind != source.kind() || cp.source.uri != source.uri() {
            return Err(Error::Invalid(format!(
                "run {run_id} has a checkpoint for source {} {}, not {} {}: continue it with the \
                 same source, or use another run id",
                cp.source.kind,
                cp.source.uri,
                source.kind(),
                source.uri()
            )));
        }
        tracing::info!(run = %run_id, segment = cp.segments + 1, rows = cp.rows_read, "continuing from the checkpoint");
    }
    let started_at = resume.as_ref().map_or_else(
        || chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        |cp| cp.started_at.clone(),
    );
    let rt = Handle::current();
    let (store2, spec2, run2) = (store.clone(), spec.clone(), run_id.clone());
    let ended = tokio::task::spawn_blocking(move || {
        run_blocking(store2, loc, &spec2, &source, &run2, &opts, rt, resume)
    })
    .await
    .map_err(|e| Error::Invalid(format!("ingestion task failed: {e}")))??;
    match ended {
        Ended::Done(mut manifest, budget) => {
            manifest.started_at = started_at;
            manifest.finished_at =
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            let manifest_key = crate::manifest::write(&manifest, &store, &loc).await?;
            if let Err(e) = Checkpoint::remove(&store, &loc, &spec.id, &run_id).await {
                // Harmless: a checkpoint next to a manifest is ignored.
                tracing::warn!(run = %run_id, error = %e, "could not remove the checkpoint");
            }
            tracing::info!(key = %manifest_key, rows = manifest.rows_read, "run manifest written");
            Ok(Segment::Complete(Box::new(IngestReport {
                manifest: *manifest,
                manifest_key,
                budget,
            })))
        }
        Ended::Suspended(mut checkpoint, budget) => {
            checkpoint.started_at = started_at;
            let key = checkpoint.write(&store, &loc).await?;
            tracing::info!(%key, rows = checkpoint.rows_read, segment = checkpoint.segments, "deadline reached: checkpoint written");
            Ok(Segment::Suspended {
                checkpoint,
                key,
                budget,
            })
        }
    }
}

/// How the blocking part of a segment ended.
enum Ended {
    Done(Box<RunManifest>, BudgetStats),
    Suspended(Box<Checkpoint>, BudgetStats),
}

/// Records parsed ahead of routing, with the source's state after the last of them.
struct Chunk {
    records: Vec<(u64, csv::ByteRecord)>,
    position: source::Position,
    bytes_read: u64,
}

/// Records per chunk: one deadline check each.
const CHUNK_ROWS: usize = DEADLINE_CHECK_ROWS as usize;

/// Chunks parsed ahead (bounds the read-ahead memory to a few thousand rows).
const READ_AHEAD_CHUNKS: usize = 2;

/// Parse the source into chunks until its end, an error, or the receiver hanging up.
/// Handled chunks come back on `back` and their records are parsed into again.
fn read_chunks(
    mut src: Box<dyn source::RecordSource>,
    tx: std::sync::mpsc::SyncSender<Result<Chunk>>,
    back: std::sync::mpsc::Receiver<Vec<(u64, csv::ByteRecord)>>,
) {
    loop {
        let mut records = back
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(CHUNK_ROWS));
        let mut n = 0;
        while n < CHUNK_ROWS {
            if n == records.len() {
                records.push((0, csv::ByteRecord::new()));
            }
            match src.next_record(&mut records[n].1) {
                Ok(Some(line)) => records[n].0 = line,
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
            n += 1;
        }
        records.truncate(n);
        let last = n < CHUNK_ROWS;
        let chunk = Chunk {
            records,
            position: src.position(),
            bytes_read: src.bytes_read(),
        };
        if tx.send(Ok(chunk)).is_err() || last {
            return;
        }
    }
}

/// How a row's partition is found.
enum Router {
    /// The published partition column at this index.
    Column(usize),
    /// The district of the row's coordinates on its date.
    Geo(Box<crate::geo_route::GeoRouter>),
}

/// Check the header and find the partition column. Names are made unique and non-empty first
/// ([`crate::header::normalize`]: a repeated name is kept as `Name__2`, an unnamed first column as
/// `_index`); the changed names are returned for the drift report.
fn read_header(
    spec: &DatasetSpec,
    header: &csv::ByteRecord,
    uri: &str,
) -> Result<(Vec<String>, Router, Vec<HeaderChange>)> {
    let bad = |message: String| Error::Header {
        uri: uri.to_string(),
        message,
    };
    let mut source = Vec::with_capacity(header.len());
    for (i, f) in header.iter().enumerate() {
        let name = std::str::from_utf8(f)
            .map_err(|_| bad(format!("column {} name is not UTF-8", i + 1)))?;
        if name.trim() == crate::partitioner::SOURCE_ROW {
            return Err(bad(format!("column name {name:?} is reserved")));
        }
        source.push(name);
    }
    let Header { names, changes } = crate::header::normalize(&source);
    for c in &changes {
        tracing::warn!(%uri, "header: {c}");
    }
    if let Some(geo) = &spec.partition.geo {
        let boundaries = spec.boundaries.as_ref().ok_or_else(|| {
            bad(format!(
                "the geo partition's boundary sets {:?} were not loaded with the dataset",
                geo.boundaries
            ))
        })?;
        let router = crate::geo_route::GeoRouter::new(spec, geo, &names, boundaries.0.clone())
            .map_err(bad)?;
        return Ok((names, Router::Geo(Box::new(router)), changes));
    }
    let found: Vec<usize> = (0..names.len())
        .filter(|&i| spec.is_partition_header(&names[i]))
        .collect();
    match found.as_slice() {
        [one] => Ok((names, Router::Column(*one), changes)),
        [] => Err(bad(format!(
            "partition column {} (or {:?}) not found among {} columns: {}",
            spec.partition.column,
            spec.partition.aliases,
            names.len(),
            names.join(",")
        ))),
        _ => Err(bad(format!(
            "partition column {} matches several columns",
            spec.partition.column
        ))),
    }
}

/// The partitioner's settings for `spec`: a `geo` rule's boundary sets take [`GEO_RESERVE`] off the budget (at
/// most half of it), so the whole process stays within its memory target.
fn partitioner_config(spec: &DatasetSpec, cfg: &PartitionerConfig) -> PartitionerConfig {
    let mut cfg = cfg.clone();
    if spec.boundaries.is_some() {
        cfg.memory_budget = cfg
            .memory_budget
            .saturating_sub(GEO_RESERVE)
            .max(cfg.memory_budget / 2);
    }
    cfg
}

#[allow(clippy::too_many_arguments)]
fn run_blocking(
    store: Arc<dyn ObjectStore>,
    loc: Locations,
    spec: &DatasetSpec,
    source: &SourceSpec,
    run_id: &str,
    opts: &IngestOptions,
    rt: Handle,
    resume: Option<Checkpoint>,
) -> Result<Ended> {
    let uri = source.uri();
    let (src, schema, pcol, header_changes) = match &resume {
        None => {
            let src = source::open(source, &rt)?;
            let (schema, pcol, changes) = read_header(spec, src.header(), &uri)?;
            (src, schema, pcol, changes)
        }
        Some(cp) => {
            // The checkpoint holds the header as normalized: its changes are in the checkpoint's drift.
            let header = csv::ByteRecord::from(cp.header.clone());
            let (schema, pcol, changes) = read_header(spec, &header, &uri)?;
            (
                source::open_at(source, &rt, header, &cp.position)?,
                schema,
                pcol,
                changes,
            )
        }
    };
    let ncols = schema.len();
    let mut parts = Partitioner::new(
        store.clone(),
        loc,
        &spec.id,
        run_id,
        &schema,
        partitioner_config(spec, &opts.partitioner),
        rt.clone(),
    )?;
    let mut quarantine = Quarantine::new(store, loc, &spec.id, run_id, rt);
    let mut rows_read = 0u64;
    if let Some(cp) = &resume {
        parts.resume(
            cp.partitions
                .iter()
                .map(|p| crate::partitioner::PartitionOutcome {
                    value: p.value.clone(),
                    rows: p.rows,
                    bytes: p.bytes,
                    keys: p.keys.clone(),
                })
                .collect(),
        );
        quarantine.resume(cp.quarantine_keys.clone(), cp.rows_quarantined);
        rows_read = cp.rows_read;
    }
    if let Some(p) = &opts.progress {
        p.start(src.total_bytes());
    }
    let mut suspended = false;
    let mut sample: Vec<Vec<String>> = Vec::new();
    // Where the source stands after the last chunk handled (a checkpoint's position).
    let mut position = None;
    let mut bytes_read = 0;
    std::thread::scope(|scope| -> Result<()> {
        // CSV parsing runs on its own thread, a few chunks ahead of routing and encoding.
        // Handled chunks go back to the reader, which parses into the same records (no allocation
        // per row, and no memory freed on another thread than the one that allocated it).
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk>>(READ_AHEAD_CHUNKS);
        let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<(u64, csv::ByteRecord)>>();
        scope.spawn(move || read_chunks(src, tx, back_rx));
        for chunk in rx {
            let mut chunk = chunk?;
            let full = chunk.records.len() == CHUNK_ROWS;
            for (line, slot) in chunk.records.iter_mut() {
                let (line, rec) = (*line, std::mem::take(slot));
                rows_read += 1;
                let row = rows_read;
                if resume.is_none() && opts.drift.is_some() && sample.len() < DRIFT_SAMPLE_ROWS {
                    sample.push(
                        rec.iter()
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .collect(),
                    );
                }
                if rec.len() != ncols {
                    let reason =
                        format!("wrong field count: expected {ncols}, found {}", rec.len());
                    quarantine.add(&QuarantinedRow::new(line, row, reason, &rec))?;
                    *slot = rec;
                    continue;
                }
                *slot = match csv::StringRecord::from_byte_record(rec) {
                    Err(e) => {
                        let field = e.utf8_error().field() + 1;
                        let bytes = e.into_byte_record();
                        let name = &schema[field - 1];
                        let reason = format!("invalid UTF-8 in field {field} ({name})");
                        quarantine.add(&QuarantinedRow::new(line, row, reason, &bytes))?;
                        bytes
                    }
                    Ok(srec) => {
                        match &pcol {
                            Router::Column(pcol) => {
                                match route(&spec.partition, srec.get(*pcol).unwrap_or("")) {
                                    Routed::Value(v) => parts.push(&v, &srec, row)?,
                                    Routed::Missing => {
                                        parts.push(&spec.partition.missing, &srec, row)?
                                    }
                                    Routed::Invalid(reason) => {
                                        quarantine.add(&QuarantinedRow::new(
                                            line,
                                            row,
                                            reason,
                                            srec.as_byte_record(),
                                        ))?
                                    }
                                }
                            }
                            Router::Geo(geo) => match geo.route(&srec) {
                                GeoRouted::Partition(p) => parts.push(p, &srec, row)?,
                                GeoRouted::Invalid(reason) => quarantine.add(
                                    &QuarantinedRow::new(line, row, reason, srec.as_byte_record()),
                                )?,
                            },
                        }
                        srec.into_byte_record()
                    }
                };
            }
            let _ = back_tx.send(chunk.records);
            bytes_read = chunk.bytes_read;
            position = Some(chunk.position);
            if let Some(p) = &opts.progress {
                p.update(rows_read, bytes_read);
            }
            // Chunks are DEADLINE_CHECK_ROWS long: the deadline is checked at each boundary.
            if full
                && opts
                    .deadline
                    .is_some_and(|d| std::time::Instant::now() >= d)
            {
                suspended = true;
                break;
            }
        }
        Ok(())
    })?;
    if let Some(p) = &opts.progress {
        p.update(rows_read, bytes_read);
        p.finish();
    }
    let rows_quarantined = quarantine.rows();
    let quarantine_keys = quarantine.finish()?;
    let (outcomes, budget) = parts.finish()?;
    let rows_written = outcomes.iter().map(|o| o.rows).sum();
    let (year, dataset_id) = match source {
        SourceSpec::Socrata(s) => (s.year, Some(s.dataset_id.clone())),
        _ => (None, None),
    };
    let drift = match &resume {
        Some(cp) => cp.drift.clone(),
        None => opts.drift.as_ref().and_then(|check| {
            check(
                &schema,
                &header_changes,
                &sample,
                dataset_id.as_deref(),
                year,
            )
        }),
    };
    let partitions: Vec<ManifestPartition> = outcomes
        .into_iter()
        .map(|o| ManifestPartition {
            value: o.value,
            rows: o.rows,
            bytes: o.bytes,
            keys: o.keys,
        })
        .collect();
    let manifest_source = ManifestSource {
        kind: source.kind().to_string(),
        uri,
        year,
        dataset_id,
    };
    if suspended {
        let checkpoint = Checkpoint {
            version: crate::checkpoint::CHECKPOINT_VERSION,
            dataset: spec.id.clone(),
            run_id: run_id.to_string(),
            source: manifest_source,
            started_at: String::new(),
            segments: resume.as_ref().map_or(0, |cp| cp.segments) + 1,
            header: schema,
            position: position.expect("a suspended segment handled at least one chunk"),
            rows_read,
            rows_written,
            rows_quarantined,
            partitions,
            quarantine_keys,
            drift,
        };
        return Ok(Ended::Suspended(Box::new(checkpoint), budget));
    }
    let manifest = RunManifest {
        version: MANIFEST_VERSION,
        dataset: spec.id.clone(),
        run_id: run_id.to_string(),
        source: manifest_source,
        started_at: String::new(),
        finished_at: String::new(),
        schema,
        partition_column: match &spec.partition.geo {
            Some(g) => format!("geo:{}", g.boundaries),
            None => spec.partition.column.clone(),
        },
        rows_read,
        rows_written,
        rows_quarantined,
        partitions,
        quarantine_keys,
        drift,
        layers: None,
        lanes: None,
    };
    manifest.check_accounting()?;
    Ok(Ended::Done(Box::new(manifest), budget))
}
