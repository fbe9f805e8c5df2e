//! CSV record stream over any `Read`: header first, flexible field counts (bad rows are judged by
//! the caller), byte records so invalid UTF-8 never stops the stream.

use std::io::Read;

use super::{Position, RecordSource};
use crate::error::{Error, Result};

/// CSV records from a byte stream.
pub struct CsvStream<R: Read> {
    reader: csv::Reader<R>,
    header: csv::ByteRecord,
    uri: String,
    total: Option<u64>,
    /// Where `input` starts in the whole (decompressed) CSV: zero for a fresh read, the checkpoint's
    /// position for a resumed one (the header was read by an earlier segment).
    base: CsvPosition,
    compressed: bool,
}

/// A record boundary in a CSV byte stream (decompressed bytes, 1-based line of the next record,
/// records read including the header).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CsvPosition {
    pub byte: u64,
    pub line: u64,
    pub record: u64,
}

impl<R: Read + Send> CsvStream<R> {
    /// Read the header; an empty stream is an error.
    pub fn new(input: R, uri: &str, total: Option<u64>) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        let mut header = csv::ByteRecord::new();
        let found = reader
            .read_byte_record(&mut header)
            .map_err(|e| Error::Csv {
                uri: uri.to_string(),
                line: 1,
                message: e.to_string(),
            })?;
        if !found {
            return Err(Error::Header {
                uri: uri.to_string(),
                message: "empty input: no header line".into(),
            });
        }
        Ok(CsvStream {
            reader,
            header,
            uri: uri.to_string(),
            total,
            base: CsvPosition::default(),
            compressed: false,
        })
    }

    /// Continue a stream whose header was read earlier: `input` starts exactly at `base`, the
    /// record boundary a checkpoint recorded. Lines, records and bytes go on from there.
    pub fn resume(
        input: R,
        uri: &str,
        total: Option<u64>,
        header: csv::ByteRecord,
        base: CsvPosition,
    ) -> Self {
        let reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .buffer_capacity(1 << 16)
            .from_reader(input);
        CsvStream {
            reader,
            header,
            uri: uri.to_string(),
            total,
            base,
            compressed: false,
        }
    }

    /// Mark the stream as decompressed from gzip (a resume must then re-read from the start).
    pub fn compressed(mut self, yes: bool) -> Self {
        self.compressed = yes;
        self
    }

    fn absolute(&self, p: &csv::Position) -> CsvPosition {
        let line_base = self.base.line.max(1) - 1;
        CsvPosition {
            byte: self.base.byte + p.byte(),
            line: line_base + p.line(),
            record: self.base.record + p.record(),
        }
    }
}

impl<R: Read + Send> RecordSource for CsvStream<R> {
    fn header(&self) -> &csv::ByteRecord {
        &self.header
    }

    fn next_record(&mut self, rec: &mut csv::ByteRecord) -> Result<Option<u64>> {
        match self.reader.read_byte_record(rec) {
            Ok(true) => Ok(Some(rec.position().map_or(0, |p| self.absolute(p).line))),
            Ok(false) => Ok(None),
            Err(e) => Err(Error::Csv {
                uri: self.uri.clone(),
                line: self.absolute(self.reader.position()).line,
                message: e.to_string(),
            }),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.base.byte + self.reader.position().byte()
    }

    fn position(&self) -> Position {
        Position::Csv {
            at: self.absolute(self.reader.position()),
            gzip: self.compressed,
        }
    }

    fn total_bytes(&self) -> Option<u64> {
        self.total
    }
}
