//! Shared helpers of the deploy tests: the workspace root and fake function packages.

use std::io::Write;
use std::path::{Path, PathBuf};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A package folder in cargo-lambda's layout (`<crate>/bootstrap.zip` with a `bootstrap` entry);
/// `process_code` stands for the `process` function's code, so a test can change just that one.
pub fn packages(dir: &Path, process_code: &str) {
    for (krate, code) in [
        ("ingest", "ingest v1"),
        ("process", process_code),
        ("ledger-api", "ledger v1"),
    ] {
        std::fs::create_dir_all(dir.join(krate)).unwrap();
        let f = std::fs::File::create(dir.join(krate).join("bootstrap.zip")).unwrap();
        let mut z = zip::ZipWriter::new(f);
        z.start_file("bootstrap", zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(code.as_bytes()).unwrap();
        z.finish().unwrap();
    }
}
