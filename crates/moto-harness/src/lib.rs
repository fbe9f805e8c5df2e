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
//!
//! A test skips (printing why) only when nobody asked for moto. It fails instead, naming what is missing and
//! how to install it, when `MOTO_SERVER` is set but is not an executable file, or when `CIVIC_REQUIRE_MOTO`
//! is set (to anything but `0`) and no `moto_server` is found; `make test` sets both. A binary that is found
//! but does not start always fails the test. A test binary that calls [`Moto::start_or_skip`] is listed in
//! `.config/nextest.toml`, so that its output (the `SKIP:` line) is shown even when it passes (checked by a test).

use std::ffi::OsString;
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
/// What a test prints when it skips because moto is not installed and nobody required it.
pub const SKIP_MESSAGE: &str = "SKIP: moto_server not found in .venv/bin or on PATH, and neither MOTO_SERVER nor \
     CIVIC_REQUIRE_MOTO=1 asks for it (run `make test`, which installs it into .venv and requires it)";

/// Names the variable that makes a missing moto a failure.
pub const REQUIRE_VAR: &str = "CIVIC_REQUIRE_MOTO";

/// The pins `make tools` installs into .venv (the moto line is quoted in the install hint).
const TEST_REQUIREMENTS: &str = include_str!("../../../requirements/test.txt");

/// How long to wait for a freshly started server to answer HTTP.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `moto_server` child process; killed (and reaped) on drop.
pub struct Moto {
    child: Child,
    endpoint: String,
    port: u16,
}

/// How to install moto: `make tools`, or pip with the pinned version from `requirements/test.txt`.
pub fn install_hint() -> String {
    let pin = TEST_REQUIREMENTS
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("moto"))
        .unwrap_or("moto[server]");
    format!(
        "install it with `make tools` (into {}/.venv) or `pip install '{pin}'` and set MOTO_SERVER to its moto_server",
        workspace_root().display()
    )
}

/// Where the environment says to look for moto: the values of `MOTO_SERVER` and `CIVIC_REQUIRE_MOTO`.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `MOTO_SERVER`, when set and not empty: the binary to use, and nothing else.
    pub moto_server: Option<PathBuf>,
    /// `CIVIC_REQUIRE_MOTO` set to anything but empty or `0`: a missing moto fails the test.
    pub required: bool,
}

impl Request {
    /// Read from the process environment.
    pub fn from_env() -> Request {
        Request::from_values(
            std::env::var_os("MOTO_SERVER"),
            std::env::var_os(REQUIRE_VAR),
        )
    }

    /// From the two variables' values (`None` = unset).
    pub fn from_values(moto_server: Option<OsString>, require: Option<OsString>) -> Request {
        Request {
            moto_server: moto_server.filter(|p| !p.is_empty()).map(PathBuf::from),
            required: require.is_some_and(|v| !v.is_empty() && v != "0"),
        }
    }

    /// The binary to start, `Ok(None)` when moto may be skipped, or `Err` with why the test must fail.
    /// `candidates` are searched in order when `MOTO_SERVER` is not set.
    pub fn resolve(&self, candidates: &[PathBuf]) -> Result<Option<PathBuf>, String> {
        if let Some(path) = &self.moto_server {
            return match executable(path) {
                Ok(()) => Ok(Some(path.clone())),
                Err(why) => Err(format!(
                    "moto: MOTO_SERVER={} {why}; {}",
                    path.display(),
                    install_hint()
                )),
            };
        }
        if let Some(found) = candidates.iter().find(|c| executable(c).is_ok()) {
            return Ok(Some(found.clone()));
        }
        if self.required {
            let looked: Vec<String> = candidates.iter().map(|c| c.display().to_string()).collect();
            return Err(format!(
                "moto: {REQUIRE_VAR} is set but no executable moto_server was found (looked at: {}); {}",
                if looked.is_empty() {
                    "nothing".to_string()
                } else {
                    looked.join(", ")
                },
                install_hint()
            ));
        }
        Ok(None)
    }
}

/// `Ok` when `path` is a file with an execute bit; otherwise what is wrong with it.
fn executable(path: &Path) -> Result<(), &'static str> {
    let meta = std::fs::metadata(path).map_err(|_| "does not exist")?;
    if !meta.is_file() {
        return Err("is not a file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o111 == 0 {
            return Err("is not executable");
        }
    }
    Ok(())
}

/// Where moto is looked for when `MOTO_SERVER` is not set: the workspace venv, then each `PATH` entry.
pub fn candidates() -> Vec<PathBuf> {
    let mut out = vec![workspace_root().join(".venv/bin/moto_server")];
    if let Some(path) = std::env::var_os("PATH") {
        out.extend(std::env::split_paths(&path).map(|dir| dir.join("moto_server")));
    }
    out
}

/// Locate the `moto_server` executable (see the module docs for the order), or `None`; `MOTO_SERVER`, when
/// set, is the only place looked at.
pub fn find_moto_server() -> Option<PathBuf> {
    let request = Request {
        required: false,
        ..Request::from_env()
    };
    request.resolve(&candidates()).ok().flatten()
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
    /// Start a server, or return `None` when moto may be skipped (see the module docs).
    ///
    /// Panics, naming moto, what is missing and how to install it, when moto was asked for
    /// (`MOTO_SERVER`, `CIVIC_REQUIRE_MOTO`) and is not there, and when a binary exists but the server does
    /// not come up: that is a broken environment, not a reason to skip silently.
    pub fn start() -> Option<Moto> {
        match Request::from_env().resolve(&candidates()) {
            Ok(Some(binary)) => Some(Self::start_binary(&binary)),
            Ok(None) => None,
            Err(why) => panic!("{why}"),
        }
    }

    /// Like [`Moto::start`], but prints [`SKIP_MESSAGE`] to stderr when it skips.
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
            .unwrap_or_else(|e| {
                panic!(
                    "moto: cannot start moto_server {}: {e}; {}",
                    binary.display(),
                    install_hint()
                )
            });
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
                panic!(
                    "moto: moto_server {} exited during startup with {status}; {}",
                    binary.display(),
                    install_hint()
                );
            }
            if Instant::now() > deadline {
                panic!(
                    "moto: moto_server {} did not answer on port {} within {STARTUP_TIMEOUT:?}",
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

    /// A scratch folder with a non-executable file `plain` and an executable file `moto_server`.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("moto-harness-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("plain"), "not a program").unwrap();
            let exe = dir.join("moto_server");
            std::fs::write(&exe, "#!/bin/sh\n").unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn request(moto_server: Option<&Path>, require: Option<&str>) -> Request {
        Request::from_values(
            moto_server.map(|p| p.as_os_str().to_owned()),
            require.map(OsString::from),
        )
    }

    #[test]
    fn the_variables_read_as_documented() {
        assert!(!request(None, None).required);
        assert!(!request(None, Some("")).required);
        assert!(!request(None, Some("0")).required);
        assert!(request(None, Some("1")).required);
        assert!(request(None, Some("yes")).required);
        let empty = Request::from_values(Some(OsString::new()), None);
        assert_eq!(empty.moto_server, None, "an empty MOTO_SERVER is unset");
    }

    #[test]
    fn a_moto_server_path_that_does_not_exist_fails_naming_moto_and_the_install() {
        let err = request(Some(Path::new("/nonexistent")), None)
            .resolve(&[])
            .unwrap_err();
        assert!(err.contains("moto"), "{err}");
        assert!(
            err.contains("MOTO_SERVER=/nonexistent does not exist"),
            "{err}"
        );
        assert!(err.contains("make tools"), "{err}");
        assert!(err.contains("pip install 'moto[server]=="), "{err}");
    }

    #[test]
    fn a_moto_server_that_is_not_an_executable_file_fails_and_nothing_else_is_tried() {
        let s = Scratch::new("notexec");
        let good = vec![s.0.join("moto_server")];
        let err = request(Some(&s.0.join("plain")), None)
            .resolve(&good)
            .unwrap_err();
        #[cfg(unix)]
        assert!(err.contains("is not executable"), "{err}");
        let err = request(Some(&s.0), None).resolve(&good).unwrap_err();
        assert!(err.contains("is not a file"), "{err}");
        let found = request(Some(&good[0]), None).resolve(&[]).unwrap();
        assert_eq!(found, Some(good[0].clone()));
    }

    #[test]
    fn without_the_variables_a_missing_moto_skips_and_with_require_it_fails() {
        let s = Scratch::new("require");
        let missing = vec![s.0.join("absent/moto_server"), s.0.join("plain")];
        assert_eq!(request(None, None).resolve(&missing), Ok(None));
        let err = request(None, Some("1")).resolve(&missing).unwrap_err();
        assert!(err.contains("CIVIC_REQUIRE_MOTO is set"), "{err}");
        assert!(
            err.contains(&s.0.join("plain").display().to_string()),
            "{err}"
        );
        assert!(err.contains("make tools"), "{err}");
        // The first executable candidate wins, required or not; a non-executable one is passed over.
        let mut found = missing.clone();
        found.push(s.0.join("moto_server"));
        for require in [None, Some("1")] {
            assert_eq!(
                request(None, require).resolve(&found),
                Ok(Some(s.0.join("moto_server")))
            );
        }
    }

    #[test]
    fn the_install_hint_quotes_an_exact_pin() {
        let hint = install_hint();
        let pin = hint.split("pip install '").nth(1).unwrap();
        assert!(pin.starts_with("moto[server]=="), "{hint}");
        assert!(!pin.contains(">="), "{hint}");
    }

    /// Every integration-test file that calls `start_or_skip` is a binary whose output nextest shows even when
    /// it passes (`.config/nextest.toml`), so a skip is never silent.
    #[test]
    fn every_test_binary_that_can_skip_shows_its_output_under_nextest() {
        let root = workspace_root();
        let config = std::fs::read_to_string(root.join(".config/nextest.toml")).unwrap();
        let mut checked = 0;
        for group in ["crates", "functions"] {
            for krate in std::fs::read_dir(root.join(group)).unwrap() {
                check_tests_dir(&krate.unwrap().path().join("tests"), &config, &mut checked);
            }
        }
        for krate in ["infra-gen", "civic"] {
            check_tests_dir(&root.join(krate).join("tests"), &config, &mut checked);
        }
        assert!(checked >= 7, "only {checked} moto test binaries found");
    }

    fn check_tests_dir(dir: &Path, config: &str, checked: &mut usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            if !text.contains("start_or_skip()") {
                continue;
            }
            let stem = path.file_stem().unwrap().to_str().unwrap();
            assert!(
                config.contains(&format!("binary({stem})")),
                "{} calls start_or_skip: add `binary({stem})` to .config/nextest.toml's success-output override",
                path.display()
            );
            *checked += 1;
        }
    }

    fn tokio_rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }
}
