//! Sources outside the functions: the generators' CSV written to a file or stdout (`civic gen`, `civic
//! gen-la311`, the demo's input), and the header and first records of a source read through ingestion's source
//! readers (`civic schema-drift`).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ingest_core::SourceSpec;
use ingest_core::generate::{
    Dataset, DatasetOptions, DatasetStats, GenOptions, GenStats, generate, generate_dataset,
};
use ingest_core::header::Header;
use ingest_core::source::RecordSource;

/// Write `opts`' rows to `out` (gzip when it ends in `.gz`, creating its folder), or to stdout.
pub fn generate_to(out: Option<&Path>, opts: GenOptions) -> anyhow::Result<GenStats> {
    write_to(out, |w| Ok(generate(w, opts)?))
}

/// Write `dataset`'s rows to `out` as [`generate_to`] does (`civic gen`).
pub fn generate_dataset_to(
    out: Option<&Path>,
    dataset: Dataset,
    opts: DatasetOptions,
) -> anyhow::Result<DatasetStats> {
    write_to(out, |w| Ok(generate_dataset(dataset, w, opts)?))
}

/// Run `write` on `out` (gzip when it ends in `.gz`, creating its folder) or on stdout, buffered.
fn write_to<T>(
    out: Option<&Path>,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let Some(path) = out else {
        let mut stdout = std::io::BufWriter::new(std::io::stdout().lock());
        let t = write(&mut stdout)?;
        stdout.flush()?;
        return Ok(t);
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        let t = write(&mut gz)?;
        gz.finish()?.flush()?;
        Ok(t)
    } else {
        let t = write(&mut out)?;
        out.flush()?;
        Ok(t)
    }
}

/// Header and the first `max_rows` records of a source, read through ingestion's source readers
/// (the same decoding of files, gzip and URLs as the `ingest` function); the header's names made unique
/// and non-empty as ingestion keeps them in the raw layer (`ingest_core::header`).
pub fn sample(input: &str, max_rows: usize) -> anyhow::Result<(Header, Vec<Vec<String>>)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let handle = rt.handle().clone();
    let spec = SourceSpec::from_input(input);
    rt.block_on(rt.spawn_blocking(move || -> anyhow::Result<_> {
        let mut src: Box<dyn RecordSource> = ingest_core::source::open(&spec, &handle)?;
        let text = |r: &csv::ByteRecord| {
            r.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect::<Vec<_>>()
        };
        let header = ingest_core::header::normalize(&text(src.header()));
        let mut rows = Vec::new();
        let mut rec = csv::ByteRecord::new();
        while rows.len() < max_rows && src.next_record(&mut rec)?.is_some() {
            rows.push(text(&rec));
        }
        Ok((header, rows))
    }))?
}
