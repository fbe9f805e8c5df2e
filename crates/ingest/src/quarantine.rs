//! Quarantine of bad rows: JSON lines (line, row, reason, raw bytes) under
//! `quarantine/{dataset}/run={run_id}/ingest/part-NNNNN.jsonl`, rolled at a fixed size.

use std::sync::Arc;

use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde::Serialize;
use tokio::runtime::Handle;

use crate::error::{Error, Result};
use crate::locations::Locations;

/// Size at which a quarantine file is written out and the next one started.
pub const ROLL_BYTES: usize = 1024 * 1024;

/// One quarantined row, as written (one JSON object per line).
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct QuarantinedRow {
    /// 1-based line in the source where the record starts (header is line 1 of a file source).
    pub line: u64,
    /// 1-based data row number (header excluded), the same numbering as `_source_row`.
    pub row: u64,
    /// Why the row was not used.
    pub reason: String,
    /// Number of fields found.
    pub fields: usize,
    /// The record re-encoded as CSV, when it is valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub raw: Option<String>,
    /// The record re-encoded as CSV with every non-UTF-8/non-printable byte escaped as `\xNN`,
    /// when it is not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub raw_escaped: Option<String>,
}

impl QuarantinedRow {
    /// Describe a bad record.
    pub fn new(line: u64, row: u64, reason: String, record: &csv::ByteRecord) -> Self {
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        let encoded = w.write_byte_record(record).is_ok() && w.flush().is_ok();
        let mut bytes = if encoded {
            w.get_ref().clone()
        } else {
            record.as_slice().to_vec()
        };
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
        }
        let (raw, raw_escaped) = match String::from_utf8(bytes) {
            Ok(s) => (Some(s), None),
            Err(e) => (None, Some(e.into_bytes().escape_ascii().to_string())),
        };
        QuarantinedRow {
            line,
            row,
            reason,
            fields: record.len(),
            raw,
            raw_escaped,
        }
    }
}

/// Buffers quarantined rows and writes them out in rolled files.
pub struct Quarantine {
    store: Arc<dyn ObjectStore>,
    loc: Locations,
    dataset: String,
    run_id: String,
    rt: Handle,
    buf: Vec<u8>,
    next_part: u32,
    rows: u64,
    keys: Vec<String>,
}

impl Quarantine {
    pub fn new(
        store: Arc<dyn ObjectStore>,
        loc: Locations,
        dataset: &str,
        run_id: &str,
        rt: Handle,
    ) -> Self {
        Quarantine {
            store,
            loc,
            dataset: dataset.into(),
            run_id: run_id.into(),
            rt,
            buf: Vec::new(),
            next_part: 0,
            rows: 0,
            keys: Vec::new(),
        }
    }

    /// Record one bad row.
    pub fn add(&mut self, row: &QuarantinedRow) -> Result<()> {
        tracing::debug!(line = row.line, row = row.row, reason = %row.reason, "row quarantined");
        serde_json::to_writer(&mut self.buf, row).expect("serialising a plain struct");
        self.buf.push(b'\n');
        self.rows += 1;
        if self.buf.len() >= ROLL_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Continue a run's quarantine after a checkpoint: its files so far and their row count.
    pub fn resume(&mut self, keys: Vec<String>, rows: u64) {
        self.next_part = keys.len() as u32;
        self.keys = keys;
        self.rows = rows;
    }

    /// Rows quarantined so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let key = self
            .loc
            .quarantine_part(&self.dataset, &self.run_id, self.next_part)?;
        self.next_part += 1;
        let payload = PutPayload::from(std::mem::take(&mut self.buf));
        self.rt
            .block_on(self.store.put(&Path::from(key.as_str()), payload))
            .map_err(|e| Error::store(&key, e))?;
        self.keys.push(key);
        Ok(())
    }

    /// Write what is left and return the keys written.
    pub fn finish(mut self) -> Result<Vec<String>> {
        self.flush()?;
        Ok(self.keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_is_kept_escaped() {
        let rec = csv::ByteRecord::from(vec![&b"a"[..], b"caf\xe9", b"x,y"]);
        let q = QuarantinedRow::new(3, 2, "invalid UTF-8".into(), &rec);
        assert_eq!(q.raw, None);
        assert_eq!(q.raw_escaped.as_deref(), Some(r#"a,caf\xe9,\"x,y\""#));
        let ok = csv::ByteRecord::from(vec!["a", "x,y"]);
        let q = QuarantinedRow::new(3, 2, "r".into(), &ok);
        assert_eq!(q.raw.as_deref(), Some(r#"a,"x,y""#));
    }
}
