//! Function packages: build the whole workspace once with cargo-lambda, find each function's
//! `bootstrap.zip`, name it by the sha256 of its contents, and upload only what is new.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use crate::manifest::Manifests;

/// One function's package, ready to reference from a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub function: String,
    pub crate_name: String,
    pub zip: PathBuf,
    /// sha256 of the zip's entries (names and contents), independent of zip timestamps.
    pub sha256: String,
}

impl Artifact {
    /// The key in the assets bucket (and the value of the function's code parameter).
    pub fn key(&self) -> String {
        format!("functions/{}/{}.zip", self.crate_name, self.sha256)
    }
}

/// Hash a zip by its entries, sorted by name, so re-zipping identical files gives the same hash.
pub fn content_hash(zip_path: &Path) -> anyhow::Result<String> {
    let file =
        std::fs::File::open(zip_path).with_context(|| format!("opening {}", zip_path.display()))?;
    let mut archive = zip::ZipArchive::new(file)
        .with_context(|| format!("{} is not a zip archive", zip_path.display()))?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..archive.len() {
        let mut e = archive.by_index(i)?;
        if e.is_dir() {
            continue;
        }
        let mut buf = Vec::new();
        e.read_to_end(&mut buf)?;
        entries.push((e.name().to_string(), buf));
    }
    if !entries.iter().any(|(n, _)| n == "bootstrap") {
        bail!(
            "{} has no `bootstrap` entry (provided.al2023 runs ./bootstrap)",
            zip_path.display()
        );
    }
    entries.sort();
    let mut h = Sha256::new();
    for (name, data) in &entries {
        h.update((name.len() as u64).to_le_bytes());
        h.update(name.as_bytes());
        h.update((data.len() as u64).to_le_bytes());
        h.update(data);
    }
    Ok(hex::encode(h.finalize()))
}

/// The crate name of each function, in manifest order.
pub fn function_crates(m: &Manifests) -> Vec<(String, String)> {
    m.functions()
        .map(|f| {
            (
                f.name.to_string(),
                f.doc
                    .crate_name
                    .as_ref()
                    .map_or(f.name, |c| c.value.as_str())
                    .to_string(),
            )
        })
        .collect()
}

/// The cargo profile of the packages (`[profile.lambda]` in the workspace's Cargo.toml: fat LTO, size-optimized
/// dependencies, `panic = "abort"`, stripped).
pub const LAMBDA_PROFILE: &str = "lambda";

/// Build every function crate in one cargo-lambda invocation (the workspace compiles once).
/// Returns the folder holding `<crate>/bootstrap.zip`.
pub fn build(root: &Path, m: &Manifests) -> anyhow::Result<PathBuf> {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(root).args([
        "lambda",
        "build",
        "--profile",
        LAMBDA_PROFILE,
        "--arm64",
        "--output-format",
        "zip",
    ]);
    for (_, krate) in function_crates(m) {
        cmd.args(["-p", &krate]);
    }
    eprintln!("building functions: {cmd:?}");
    let status = cmd.status().context(
        "cannot run `cargo lambda`: install it with `pip install cargo-lambda ziglang` (into a virtualenv on PATH) and `rustup target add aarch64-unknown-linux-gnu`",
    )?;
    if !status.success() {
        bail!(
            "building the function packages failed ({status}); fix the build errors above and deploy again (no stack was touched)"
        );
    }
    Ok(root.join("target/lambda"))
}

/// Find and hash each function's zip under `dir/<crate>/bootstrap.zip`.
pub fn collect(dir: &Path, m: &Manifests) -> anyhow::Result<Vec<Artifact>> {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (function, crate_name) in function_crates(m) {
        let zip = dir.join(&crate_name).join("bootstrap.zip");
        if !zip.is_file() {
            missing.push(zip.display().to_string());
            continue;
        }
        let sha256 = content_hash(&zip)?;
        out.push(Artifact {
            function,
            crate_name,
            zip,
            sha256,
        });
    }
    if !missing.is_empty() {
        bail!(
            "missing function packages: {}; build them with `cargo lambda build --profile lambda --arm64 --output-format zip` or drop --artifacts",
            missing.join(", ")
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_zip(path: &Path, entries: &[(&str, &[u8])]) {
        let f = std::fs::File::create(path).unwrap();
        let mut z = zip::ZipWriter::new(f);
        for (name, data) in entries {
            z.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
    }

    #[test]
    fn hash_depends_on_contents_not_order_or_timestamps() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.zip");
        let b = dir.path().join("b.zip");
        let c = dir.path().join("c.zip");
        write_zip(&a, &[("bootstrap", b"one"), ("x", b"2")]);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        write_zip(&b, &[("x", b"2"), ("bootstrap", b"one")]);
        write_zip(&c, &[("bootstrap", b"two"), ("x", b"2")]);
        assert_eq!(content_hash(&a).unwrap(), content_hash(&b).unwrap());
        assert_ne!(content_hash(&a).unwrap(), content_hash(&c).unwrap());
        let d = dir.path().join("d.zip");
        write_zip(&d, &[("main", b"x")]);
        assert!(
            content_hash(&d)
                .unwrap_err()
                .to_string()
                .contains("no `bootstrap` entry")
        );
    }
}
