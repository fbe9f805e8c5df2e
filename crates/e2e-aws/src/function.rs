//! One function's sandbox: its deployed `bootstrap` started as Lambda starts it (the environment its template
//! set, plus the variables the Lambda runtime adds, with the AWS endpoints resolved to loopback), polling its own
//! Runtime API; invocations go through that API and are counted.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};
use axum::body::Bytes;
use serde_json::Value;

use crate::deployed::Deployed;
use crate::emulator::{Outcome, RuntimeApi, wait};

/// Variables Lambda reserves: a template that sets one is refused by Lambda, so it is refused here.
pub const RESERVED: &[&str] = &[
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
];

/// Where the functions' AWS clients go: the local endpoint for every service, and the emulator for Lambda.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `AWS_ENDPOINT_URL` (moto).
    pub aws: String,
    /// `AWS_ENDPOINT_URL_LAMBDA` (the emulator's Invoke API).
    pub lambda: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The whole environment of the function's process: the deployed variables, the runtime's, the endpoints.
pub fn environment(
    d: &Deployed,
    runtime_api: &str,
    task_root: &Path,
    e: &Endpoints,
) -> anyhow::Result<BTreeMap<String, String>> {
    let reserved: Vec<&String> = d
        .env
        .keys()
        .filter(|k| RESERVED.contains(&k.as_str()))
        .collect();
    if !reserved.is_empty() {
        bail!(
            "{}: the template sets variables Lambda reserves: {reserved:?}",
            d.name
        );
    }
    let mut env = d.env.clone();
    let log_group = d
        .log_group
        .clone()
        .unwrap_or_else(|| format!("/aws/lambda/{}", d.name));
    let runtime = [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", d.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", d.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".into()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".into()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", log_group),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            format!("e2e/[$LATEST]{}", uuid::Uuid::new_v4().simple()),
        ),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".into()),
        ("AWS_REGION", e.region.clone()),
        ("AWS_DEFAULT_REGION", e.region.clone()),
        ("AWS_ACCESS_KEY_ID", e.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", e.secret_access_key.clone()),
        ("AWS_SESSION_TOKEN", "e2e-aws-session".into()),
        ("_HANDLER", "bootstrap".into()),
        ("LAMBDA_TASK_ROOT", task_root.display().to_string()),
        ("TZ", ":UTC".into()),
        ("PATH", "/usr/local/bin:/usr/bin:/bin".into()),
        // Resolved for the local endpoint: every SDK client and object_store go to moto, Lambda's Invoke
        // to the emulator; object_store refuses plain HTTP unless allowed.
        ("AWS_ENDPOINT_URL", e.aws.clone()),
        ("AWS_ENDPOINT_URL_LAMBDA", e.lambda.clone()),
        ("AWS_ALLOW_HTTP", "true".into()),
    ];
    for (k, v) in runtime {
        env.insert(k.to_owned(), v);
    }
    Ok(env)
}

/// A started function.
pub struct Sandbox {
    pub deployed: Deployed,
    api: RuntimeApi,
    child: Child,
    log: PathBuf,
    /// Invocations answered (responses and errors).
    pub invocations: u32,
}

impl Sandbox {
    /// Start `bootstrap` (unpacked from the deployed package) with the function's environment; its output goes
    /// to `log` (Lambda sends it to CloudWatch Logs).
    pub async fn start(
        deployed: Deployed,
        bootstrap: &Path,
        log: PathBuf,
        endpoints: &Endpoints,
    ) -> anyhow::Result<Sandbox> {
        let api = RuntimeApi::serve(&deployed.arn).await?;
        let task_root = bootstrap.parent().unwrap_or(Path::new("."));
        let env = environment(&deployed, &api.address(), task_root, endpoints)?;
        let out = std::fs::File::create(&log)?;
        let child = Command::new(bootstrap)
            .current_dir(task_root)
            .env_clear()
            .envs(&env)
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out)
            .spawn()
            .with_context(|| format!("starting {}", bootstrap.display()))?;
        Ok(Sandbox {
            deployed,
            api,
            child,
            log,
            invocations: 0,
        })
    }

    /// The last lines of the function's log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn check_alive(child: &mut Child, api: &RuntimeApi, log: &Path) -> anyhow::Result<()> {
        if let Some(status) = child.try_wait()? {
            let init = api
                .init_error()
                .map(|e| format!("; init error: {e}"))
                .unwrap_or_default();
            bail!(
                "the function's process exited with {status}{init} (log: {})",
                log.display()
            );
        }
        Ok(())
    }

    /// Invoke with `payload` and `deadline` from now; the function's answer or error.
    pub async fn invoke(&mut self, payload: &Value, deadline: Duration) -> anyhow::Result<Outcome> {
        let bytes = Bytes::from(serde_json::to_vec(payload)?);
        let rx = self.api.invoke(bytes, deadline);
        let limit = deadline + Duration::from_secs(30);
        let (child, api, log) = (&mut self.child, &self.api, &self.log);
        let outcome = wait(&self.deployed.name, rx, limit, || {
            Self::check_alive(child, api, log)
        })
        .await
        .map_err(|e| {
            anyhow::anyhow!(
                "{e:#}\n--- {} log tail ---\n{}",
                self.deployed.name,
                self.log_tail(30)
            )
        })?;
        self.invocations += 1;
        Ok(outcome)
    }

    /// Invoke and require a successful answer, parsed as JSON.
    pub async fn invoke_ok(
        &mut self,
        payload: &Value,
        deadline: Duration,
    ) -> anyhow::Result<Value> {
        match self.invoke(payload, deadline).await? {
            Outcome::Response(b) => serde_json::from_slice(&b).with_context(|| {
                format!(
                    "{}: the answer is not JSON: {}",
                    self.deployed.name,
                    String::from_utf8_lossy(&b)
                )
            }),
            Outcome::Error { error_type, body } => bail!(
                "{}: the invocation failed with errorType {error_type:?}: {}\n--- log tail ---\n{}",
                self.deployed.name,
                String::from_utf8_lossy(&body),
                self.log_tail(30)
            ),
        }
    }

    /// The function's full timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.deployed.timeout_s.max(1) as u64)
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed(env: &[(&str, &str)]) -> Deployed {
        Deployed {
            function: "f".into(),
            feature: "x".into(),
            name: "civic-ci-f".into(),
            arn: "arn:aws:lambda:us-east-1:123456789012:function:civic-ci-f".into(),
            memory_mb: 512,
            timeout_s: 30,
            log_group: Some("/civic/ci/f".into()),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            code_bucket: "b".into(),
            code_key: "k".into(),
            code_sha256: "s".into(),
            event_sources: vec![],
            url: None,
            schedules: Default::default(),
        }
    }

    fn endpoints() -> Endpoints {
        Endpoints {
            aws: "http://127.0.0.1:5000".into(),
            lambda: "http://127.0.0.1:6000".into(),
            region: "us-east-1".into(),
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        }
    }

    #[test]
    fn the_environment_is_the_templates_plus_the_runtimes_with_local_endpoints() {
        let d = deployed(&[("CIVIC_BUCKET_DATA", "civic-ci-data-1-us-east-1")]);
        let env = environment(&d, "127.0.0.1:9001", Path::new("/task"), &endpoints()).unwrap();
        assert_eq!(env["CIVIC_BUCKET_DATA"], "civic-ci-data-1-us-east-1");
        assert_eq!(env["AWS_LAMBDA_RUNTIME_API"], "127.0.0.1:9001");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "civic-ci-f");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "512");
        assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/civic/ci/f");
        assert_eq!(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:5000");
        assert_eq!(env["AWS_ENDPOINT_URL_LAMBDA"], "http://127.0.0.1:6000");
        assert_eq!(env["LAMBDA_TASK_ROOT"], "/task");
    }

    /// A bootstrap that dies at cold start (as a function does when a variable its template should set is
    /// missing) fails the invocation, naming the exit and quoting its log.
    #[tokio::test]
    async fn a_function_that_exits_at_cold_start_fails_the_invocation_with_its_log() {
        let dir = tempfile::tempdir().unwrap();
        let bootstrap = dir.path().join("bootstrap");
        std::fs::write(
            &bootstrap,
            "#!/bin/sh\necho \"missing env var CIVIC_BUCKET_DATA ($AWS_LAMBDA_FUNCTION_NAME)\" >&2\nexit 3\n",
        )
        .unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bootstrap, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut sandbox = Sandbox::start(
            deployed(&[]),
            &bootstrap,
            dir.path().join("f.log"),
            &endpoints(),
        )
        .await
        .unwrap();
        let e = sandbox
            .invoke(&serde_json::json!({}), Duration::from_secs(5))
            .await
            .unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("exited with exit status: 3"), "{e}");
        assert!(
            e.contains("missing env var CIVIC_BUCKET_DATA (civic-ci-f)"),
            "{e}"
        );
        assert_eq!(sandbox.invocations, 0);
    }

    #[test]
    fn a_template_that_sets_a_reserved_variable_is_refused() {
        let d = deployed(&[("AWS_REGION", "eu-west-1")]);
        let e = environment(&d, "x", Path::new("/"), &endpoints()).unwrap_err();
        assert!(e.to_string().contains("AWS_REGION"), "{e}");
    }
}
