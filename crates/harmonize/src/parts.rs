//! Canonical part files of one partition: zstd Parquet through `AsyncArrowWriter` + `BufWriter`,
//! rolled at a row count, with stale parts of an earlier attempt removed at the end.

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use futures::TryStreamExt;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::locations::Locations;
use crate::partition::TransformError;

/// Sizes that bound the memory of one partition's transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransformOptions {
    /// Raw rows decoded per batch.
    pub batch_rows: usize,
    /// Canonical rows per Parquet row group (bounds the writer's buffer).
    pub row_group_rows: usize,
    /// Canonical rows per part file before rolling to the next one.
    pub file_rows: u64,
}

impl Default for TransformOptions {
    fn default() -> Self {
        TransformOptions {
            batch_rows: 16_384,
            row_group_rows: 65_536,
            file_rows: 2_000_000,
        }
    }
}

/// Dictionary page limit of the canonical writer (parquet's default is 1 MiB).
const DICTIONARY_PAGE_BYTES: usize = 16 * 1024;

/// A year as the canonical key holds it (`year={year:u16}`).
fn key_year(year: i32) -> Result<u16, TransformError> {
    u16::try_from(year).map_err(|_| {
        TransformError::Key(prefixes::KeyError {
            placeholder: "year".into(),
            value: year.to_string(),
            reason: "not a year between 0 and 65535",
        })
    })
}

/// The canonical part files of one partition, rolled every `file_rows` rows.
pub(crate) struct PartWriter {
    pub(crate) opts: TransformOptions,
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(crate) locations: Locations,
    pub(crate) schema: arrow::datatypes::SchemaRef,
    pub(crate) dataset: String,
    pub(crate) year: Option<i32>,
    pub(crate) partition: String,
    pub(crate) current: Option<(AsyncArrowWriter<BufWriter>, u64)>,
    pub(crate) keys: Vec<Path>,
}

impl PartWriter {
    pub(crate) async fn write(&mut self, batch: &RecordBatch) -> Result<(), TransformError> {
        if self
            .current
            .as_ref()
            .is_some_and(|(_, rows)| *rows >= self.opts.file_rows)
        {
            self.close_current().await?;
        }
        if self.current.is_none() {
            let year = self.year.expect("a canonical row implies a known year");
            let key = self.locations.canonical_part(
                &self.dataset,
                key_year(year)?,
                &self.partition,
                self.keys.len() as u32,
            )?;
            let props = WriterProperties::builder()
                .set_compression(Compression::ZSTD(ZstdLevel::default()))
                .set_max_row_group_row_count(Some(self.opts.row_group_rows))
                // As in ingestion: low-cardinality columns (status, request type, district) stay
                // dictionary-encoded, high-cardinality ones (ids, addresses, timestamps, coordinates) fall
                // back to plain pages at once. Interning every unique value into a dictionary was the
                // largest part of encoding in the profile (ARCHITECTURE.md, transform).
                .set_dictionary_page_size_limit(DICTIONARY_PAGE_BYTES)
                .build();
            let sink = BufWriter::new(self.store.clone(), key.clone());
            let w = AsyncArrowWriter::try_new(sink, self.schema.clone(), Some(props)).map_err(
                |source| TransformError::Parquet {
                    key: key.to_string(),
                    source,
                },
            )?;
            self.keys.push(key);
            self.current = Some((w, 0));
        }
        let key = self.keys.last().expect("opened above").to_string();
        let (w, rows) = self.current.as_mut().expect("opened above");
        w.write(batch)
            .await
            .map_err(|source| TransformError::Parquet { key, source })?;
        *rows += batch.num_rows() as u64;
        Ok(())
    }

    async fn close_current(&mut self) -> Result<(), TransformError> {
        if let Some((w, _)) = self.current.take() {
            let key = self.keys.last().expect("open writer has a key").to_string();
            w.close()
                .await
                .map_err(|source| TransformError::Parquet { key, source })?;
        }
        Ok(())
    }

    /// Close the last file and delete part files a previous attempt left beyond the ones written now.
    pub(crate) async fn finish(mut self) -> Result<Vec<String>, TransformError> {
        self.close_current().await?;
        let Some(year) = self.year else {
            return Ok(Vec::new());
        };
        let prefix = self.locations.canonical_partition_dir(
            &self.dataset,
            key_year(year)?,
            &self.partition,
        )?;
        let existing: Vec<_> =
            self.store
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|source| TransformError::Store {
                    key: prefix.to_string(),
                    source,
                })?;
        for meta in existing {
            if !self.keys.contains(&meta.location) {
                self.store.delete(&meta.location).await.map_err(|source| {
                    TransformError::Store {
                        key: meta.location.to_string(),
                        source,
                    }
                })?;
            }
        }
        Ok(self.keys.iter().map(|k| k.to_string()).collect())
    }
}
