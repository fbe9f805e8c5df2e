//! The ingest function on a local platform: the data bucket a folder, the worklist an embedded queue, exactly the
//! variables the generated crate names (plus whatever a test adds).

#![allow(dead_code)] // each test binary uses a part of this module

use std::path::Path;
use std::sync::Arc;

use object_store::ObjectStore;
use platform::{Local, Platform};
use worklist::EmbeddedQueue;

pub struct Setup {
    pub platform: Local,
    pub queue: Arc<EmbeddedQueue>,
    pub data: Arc<dyn ObjectStore>,
}

pub fn setup(dir: &Path, extra: &[(&str, &str)]) -> Setup {
    let queue = Arc::new(EmbeddedQueue::new("worklist"));
    let mut shared = Local::new();
    shared
        .map_bucket("phys-data", dir.join("data"))
        .map_queue("url-work", queue.clone());
    let mut env = vec![
        (
            prefixes::buckets::DATA.env.to_owned(),
            "phys-data".to_owned(),
        ),
        (
            prefixes::queues::WORKLIST.env.to_owned(),
            "url-work".to_owned(),
        ),
    ];
    env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let platform = shared.for_function("ingest", env);
    let data = platform.open_bucket("phys-data").unwrap();
    Setup {
        platform,
        queue,
        data,
    }
}

pub fn generated_csv(dir: &Path, rows: u64, seed: u64, year: i32) -> std::path::PathBuf {
    let csv = dir.join("in.csv");
    let out = std::fs::File::create(&csv).unwrap();
    ingest_core::generate::generate(
        out,
        ingest_core::generate::GenOptions::new(rows, seed, year),
    )
    .unwrap();
    csv
}
