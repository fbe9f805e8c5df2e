//! Test support: find `moto_server`, start it on a free 127.0.0.1 port, hand out AWS clients for it, kill it on drop.
//!
//! ```no_run
//! let Some(moto) = moto_harness::Moto::start_or_skip() else { return };
//! # async fn f(moto: moto_harness::Moto) {
//! let sqs = moto.sqs().await;
//! # }
//! ```
//!
//! Lookup order for the binary: `$MOTO_SERVER`, then `<workspace>/.venv/bin/moto_server` (what `make test`
//! installs), then `moto_server` on `PATH`. The system-wide moto 5.2.1 is broken for S3 multipart; prefer the venv.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Static credentials moto accepts (any value works; these are the conventional test ones).
pub const ACCESS_KEY_ID: &str = "testing";
/// Secret paired with [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "testing";
/// Region every client is configured for.
pub const REGION: &str = "us-east-1";
/// What a test prints when it cannot run because moto is not installed.
pub const SKIP_MESSAGE: &str =
    "skipped: moto_server not found (run `make test`, which installs it into .venv)";

/// How long to wait for a freshly started server to answer HTTP.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `moto_server` child process; killed (and reaped) on drop.
pub struct Moto {
    child: Child,
    endpoint: String,
    port: u16,
}

/// Locate the `moto_server` executable (see the module docs for the order), or `None`.
pub fn find_moto_server() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return path.is_file().then_some(path);
    }
    let venv = workspace_root().join(".venv/bin/moto_server");
    if venv.is_file() {
        return Some(venv);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}

/// The workspace root (two levels above this crate's manifest).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .and_then(Path::parent)
        .unwrap_or(manifest)
        .to_path_buf()
}

impl Moto {
    /// Start a server, or return `None` when no `moto_server` binary exists.
    ///
    /// Panics when the binary exists but the server does not come up: that is a broken environment,
    /// not a reason to skip silently.
    pub fn start() -> Option<Moto> {
        let binary = find_moto_server()?;
        Some(Self::start_binary(&binary))
    }

    /// Like [`Moto::start`], but prints [`SKIP_MESSAGE`] to stderr when moto is missing.
    pub fn start_or_skip() -> Option<Moto> {
        let moto = Self::start();
        if moto.is_none() {
            eprintln!("{SKIP_MESSAGE}");
        }
        moto
    }

    fn start_binary(binary: &Path) -> Moto {
        let port = free_port();
        let child = Command::new(binary)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
        };
        moto.wait_ready(binary);
        moto
    }

    fn wait_ready(&mut self, binary: &Path) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if answers_http(self.port) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited during startup with {status}", binary.display());
            }
            if Instant::now() > deadline {
                panic!(
                    "{} did not answer on port {} within {STARTUP_TIMEOUT:?}",
                    binary.display(),
                    self.port
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The TCP port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Shared AWS config: endpoint, static test credentials, region us-east-1.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let creds = aws_sdk_sqs::config::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "moto-harness",
        );
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(REGION))
            .credentials_provider(creds)
            .load()
            .await
    }

    /// An SQS client pointed at this server.
    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }

    /// An S3 client pointed at this server (path-style addressing).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let config = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(config)
    }

    /// Create `bucket` and return an `object_store` handle on it (plain HTTP, path style, test creds).
    pub async fn bucket_store(&self, bucket: &str) -> Arc<dyn object_store::ObjectStore> {
        self.s3()
            .await
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .unwrap_or_else(|e| panic!("create bucket {bucket}: {e:?}"));
        let store = object_store::aws::AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_allow_http(true)
            .with_region(REGION)
            .with_access_key_id(ACCESS_KEY_ID)
            .with_secret_access_key(SECRET_ACCESS_KEY)
            .with_bucket_name(bucket)
            .build()
            .unwrap_or_else(|e| panic!("object_store for bucket {bucket}: {e}"));
        Arc::new(store)
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago (bind to :0, read it, release it).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// True when something on `port` answers an HTTP request with an HTTP status line.
fn answers_http(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /moto-api/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    matches!(stream.read(&mut head), Ok(n) if n >= 5 && head.starts_with(b"HTTP/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(workspace_root().join("crates").is_dir());
    }

    #[test]
    fn moto_starts_answers_and_dies_on_drop() {
        let Some(moto) = Moto::start_or_skip() else {
            return;
        };
        let port = moto.port();
        assert!(answers_http(port));
        assert!(moto.endpoint().ends_with(&port.to_string()));
        drop(moto);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!answers_http(port), "server still answers after drop");
    }

    #[test]
    fn create_only_puts_are_enforced_by_the_s3_endpoint() {
        let Some(moto) = Moto::start_or_skip() else {
            return;
        };
        let rt = tokio_rt();
        rt.block_on(async {
            use object_store::{ObjectStoreExt, PutMode, PutOptions, PutPayload};
            let store = moto.bucket_store("markers").await;
            let key = object_store::path::Path::from("worklist/x/complete.json");
            let create = || PutOptions {
                mode: PutMode::Create,
                ..PutOptions::default()
            };
            store
                .put_opts(&key, PutPayload::from("first"), create())
                .await
                .unwrap();
            let second = store
                .put_opts(&key, PutPayload::from("second"), create())
                .await;
            assert!(
                matches!(second, Err(object_store::Error::AlreadyExists { .. })),
                "{second:?}"
            );
            let body = store.get(&key).await.unwrap().bytes().await.unwrap();
            assert_eq!(&body[..], b"first");
        });
    }

    fn tokio_rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }
}
