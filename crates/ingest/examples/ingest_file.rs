//! Minimal driver for experiments:
//! `ingest_file CSV STORE_DIR [PROCESS_BUDGET_MIB] [ZSTD_LEVEL] [DICTIONARY_KIB] [SPILL_CAP_MIB (0: no spill)] [ROW_GROUP_ROWS] [PAGE_KIB]`
//! (the operator CLI is `civic ingest`; this exists to tune the partitioner in isolation).
use std::sync::Arc;

use ingest_core::partitioner::PartitionerConfig;
use ingest_core::{Catalog, IngestOptions, SourceSpec, ingest};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (csv, dir) = (&args[1], &args[2]);
    let budget: usize = args.get(3).map_or(Ok(128), |s| s.parse())?;
    let level: i32 = args.get(4).map_or(Ok(1), |s| s.parse())?;
    let defaults = PartitionerConfig::for_process(budget << 20);
    let dictionary: usize = args
        .get(5)
        .map_or(Ok(defaults.dictionary_page_bytes >> 10), |s| s.parse())?;
    let spill: u64 = args
        .get(6)
        .map_or(Ok(defaults.spill_bytes_cap >> 20), |s| s.parse())?;
    let rows: usize = args
        .get(7)
        .map_or(Ok(defaults.row_group_rows), |s| s.parse())?;
    let page: usize = args
        .get(8)
        .map_or(Ok(defaults.max_page_bytes >> 10), |s| s.parse())?;
    std::fs::create_dir_all(dir)?;
    let store = Arc::new(object_store::local::LocalFileSystem::new_with_prefix(dir)?);
    let spec = Catalog::builtin().load("la311")?;
    let opts = IngestOptions {
        drift: None,
        run_id: Some("x".into()),
        partitioner: PartitionerConfig {
            zstd_level: level,
            dictionary_page_bytes: dictionary << 10,
            spill_bytes_cap: spill << 20,
            row_group_rows: rows,
            max_page_bytes: page << 10,
            ..defaults
        },
        progress: None,
        deadline: None,
    };
    let t = std::time::Instant::now();
    let r = ingest(
        store,
        grants(),
        &spec,
        SourceSpec::File { path: csv.into() },
        opts,
    )
    .await?;
    let bytes: u64 = r.manifest.partitions.iter().map(|p| p.bytes).sum();
    let files: usize = r.manifest.partitions.iter().map(|p| p.keys.len()).sum();
    eprintln!(
        "{:.2}s rows {} out {} bytes in {} files; {:?}",
        t.elapsed().as_secs_f64(),
        r.manifest.rows_read,
        bytes,
        files,
        r.budget
    );
    Ok(())
}

/// The `ingest` function's grants, which these tests act as.
#[allow(dead_code)]
fn grants() -> ingest_core::Locations {
    ingest_core::Locations {
        raw: prefixes::ingest::raw(),
        quarantine: prefixes::ingest::quarantine(),
        runs: prefixes::ingest::runs(),
    }
}
