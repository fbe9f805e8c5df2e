//! Function packages for the host: each function crate's binary as the `bootstrap` entry of
//! `<dir>/<crate>/bootstrap.zip` (cargo-lambda's layout, what `infra-gen deploy --artifacts` takes), and the
//! way back: a deployed package's `bootstrap`, unpacked to run.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Zip `binary` as `dir/<crate_name>/bootstrap.zip` (entry `bootstrap`, mode 755, as provided.al2023 runs it).
pub fn pack(binary: &Path, dir: &Path, crate_name: &str) -> anyhow::Result<PathBuf> {
    let bytes = std::fs::read(binary).with_context(|| {
        format!(
            "reading the host binary {} (build it first: cargo build --workspace --all-targets)",
            binary.display()
        )
    })?;
    let out = dir.join(crate_name);
    std::fs::create_dir_all(&out)?;
    let zip_path = out.join("bootstrap.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zip_path)?);
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o755)
        // A fixed time: the same binary gives the same zip.
        .last_modified_time(zip::DateTime::default());
    z.start_file("bootstrap", options)?;
    z.write_all(&bytes)?;
    z.finish()?;
    Ok(zip_path)
}

/// Lambda's `CodeSha256`: the base64 of the sha256 of the package's bytes.
pub fn code_sha256(zip_bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(zip_bytes))
}

/// Unpack the `bootstrap` entry of a package into `dir/bootstrap`, executable; its path.
pub fn unpack_bootstrap(zip_bytes: &[u8], dir: &Path) -> anyhow::Result<PathBuf> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .context("the deployed package is not a zip archive")?;
    let mut entry = match archive.by_name("bootstrap") {
        Ok(e) => e,
        Err(_) => bail!(
            "the deployed package has no `bootstrap` entry (provided.al2023 runs ./bootstrap)"
        ),
    };
    let mut bytes = Vec::new();
    entry.read_to_end(&mut bytes)?;
    std::fs::create_dir_all(dir)?;
    let path = dir.join("bootstrap");
    std::fs::write(&path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_packed_binary_unpacks_to_the_same_executable_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("ingest");
        std::fs::write(&bin, b"\x7fELF pretend").unwrap();
        let zip = pack(&bin, &dir.path().join("art"), "ingest").unwrap();
        assert_eq!(zip, dir.path().join("art/ingest/bootstrap.zip"));
        let bytes = std::fs::read(&zip).unwrap();
        // The same binary packs to the same bytes (so the same content hash and CodeSha256).
        let again = pack(&bin, &dir.path().join("art2"), "ingest").unwrap();
        assert_eq!(
            code_sha256(&bytes),
            code_sha256(&std::fs::read(again).unwrap())
        );
        let out = unpack_bootstrap(&bytes, &dir.path().join("run")).unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"\x7fELF pretend");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&out).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
        let e = pack(&dir.path().join("missing"), dir.path(), "x").unwrap_err();
        assert!(
            format!("{e:#}").contains("cargo build --workspace"),
            "{e:#}"
        );
        assert!(unpack_bootstrap(b"not a zip", dir.path()).is_err());
    }

    #[test]
    fn code_sha256_is_base64_of_sha256() {
        // sha256("") in base64, as Lambda reports an empty package's CodeSha256.
        assert_eq!(
            code_sha256(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}
