//! The local runtime every `civic` subcommand runs on: the deployed topology on one machine ([`topology`]), the
//! store's folders ([`store`]), the drivers of the functions' own entry points ([`driver`]), progress bars
//! ([`progress`]), the ledger API on loopback ([`loopback`]), and the pipeline operations built from them
//! ([`ingest`], [`process`], [`transform`], [`demo`]). `cmd/*` only parse arguments and call into here.

pub mod correlate;
pub mod demo;
pub mod driver;
pub mod ingest;
pub mod loopback;
pub mod process;
pub mod progress;
pub mod source;
pub mod store;
pub mod summary;
pub mod topology;
pub mod transform;

use std::path::PathBuf;

pub use topology::{Settings, Topology, repo_root};

/// One log line per worklist step on stderr with `RUST_LOG=worklist=info` (warnings only by default).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .try_init();
}

/// Run `f` on a multi-threaded runtime (the ingestion encodes on blocking threads).
pub fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(f)
}

/// Which run, in which store: the arguments `civic process`, `civic worklist` share.
#[derive(Debug, Clone, clap::Args)]
pub struct RunTarget {
    /// Run id.
    #[arg(long)]
    pub run: String,
    /// Local store root; the data bucket is <STORE>/data.
    #[arg(long, default_value = "./.civic")]
    pub store: PathBuf,
    /// Dataset id (default: the one dataset whose runs/<dataset>/run=<RUN>/ holds the run in the store).
    #[arg(long, default_value = "", hide_default_value = true)]
    pub dataset: String,
    /// Layer chain, used when the run manifest declares none (default: the worklist queue's `layers` in
    /// features/processing/feature.yaml, as generated into the prefixes crate).
    #[arg(long, value_delimiter = ',')]
    pub layers: Option<Vec<String>>,
    /// Dataset catalog directory (folders like the repository's datasets/) for the process function's runners,
    /// instead of the catalog compiled in: a dataset tried without rebuilding.
    #[arg(long, value_name = "DIR")]
    pub catalog: Option<PathBuf>,
}

impl RunTarget {
    /// This target with its dataset found from the store when not given.
    pub fn resolved(&self) -> anyhow::Result<RunTarget> {
        let mut t = self.clone();
        if t.dataset.is_empty() {
            t.dataset = store::dataset_of_run(&t.store, &t.run)?;
        }
        Ok(t)
    }
}

/// Parse `128MiB`, `64MB`, `512KiB`, `1GiB`, `1000` (bytes).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected a size like 128MiB"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "k" | "kib" => 1024.0,
        "m" | "mib" => 1024.0 * 1024.0,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "{s:?}: unknown unit {u:?} (use B, KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    let bytes = (n * mult) as usize;
    if bytes < 64 * 1024 {
        return Err(format!("{s:?}: a memory budget below 64KiB is not useful"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("64MB"), Ok(64_000_000));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("100000"), Ok(100_000));
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("1KiB").is_err());
    }
}
