//! CSV record stream over any `Read`: header first, flexible field counts (bad rows are judged by
//! the caller), byte records so invalid UTF-8 never stops the stream.

use std::io::Read;

use super::RecordSource;
use crate::error::{Error, Result};

/// CSV records from a byte stream.
pub struct CsvStream<R: Read> {
    reader: csv::Reader<R>,
    header: csv::ByteRecord,
    uri: String,
    total: Option<u64>,
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
        })
    }
}

impl<R: Read + Send> RecordSource for CsvStream<R> {
    fn header(&self) -> &csv::ByteRecord {
        &self.header
    }

    fn next_record(&mut self, rec: &mut csv::ByteRecord) -> Result<Option<u64>> {
        match self.reader.read_byte_record(rec) {
            Ok(true) => Ok(Some(rec.position().map_or(0, |p| p.line()))),
            Ok(false) => Ok(None),
            Err(e) => Err(Error::Csv {
                uri: self.uri.clone(),
                line: self.reader.position().line(),
                message: e.to_string(),
            }),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    fn total_bytes(&self) -> Option<u64> {
        self.total
    }
}
