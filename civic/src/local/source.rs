//! Sources outside the functions: the generator's MyLA311-shaped CSV written to a file or stdout (`civic
//! gen-la311`, the demo's input), and the header and first records of a source read through ingestion's source
//! readers (`civic schema-drift`).

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ingest_core::SourceSpec;
use ingest_core::generate::{GenOptions, GenStats, generate};
use ingest_core::header::Header;
use ingest_core::source::RecordSource;

/// Write `opts`' rows to `out` (gzip when it ends in `.gz`, creating its folder), or to stdout.
pub fn generate_to(out: Option<&Path>, opts: GenOptions) -> anyhow::Result<GenStats> {
    let Some(path) = out else {
        return Ok(generate(
            std::io::BufWriter::new(std::io::stdout().lock()),
            opts,
        )?);
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let out = std::io::BufWriter::with_capacity(1 << 20, file);
    Ok(if path.extension().is_some_and(|e| e == "gz") {
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
        let s = generate(&mut gz, opts)?;
        gz.finish()?.flush()?;
        s
    } else {
        generate(out, opts)?
    })
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
