//! AWS clients and the CloudFormation operations deploy needs, with errors a person can act on.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_cloudformation::Client as Cfn;
use aws_sdk_cloudformation::types::{Capability, ChangeSetStatus, ChangeSetType, Parameter, Tag};
use aws_sdk_s3::Client as S3;

use super::plan::{ChangeRow, change_kind, is_success, is_terminal};

/// Every AWS operation deploy sends (all of them are in this module), as `service:Operation`; the test
/// below reads this file's source and fails when a call site is missing here, and the CI role's test
/// (`tests/ci_role.rs`) exercises each one against moto and checks it against the printed policy.
/// `s3:GetObject` is the read of a large template that CloudFormation makes with the caller's
/// credentials from the URL [`object_url`] presigns (without sending anything).
pub const CALLS: &[&str] = &[
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteStack",
    "cloudformation:ContinueUpdateRollback",
    "s3:HeadObject",
    "s3:PutObject",
    "s3:GetObject",
];

/// Templates larger than this go through the assets bucket as TemplateURL.
pub const MAX_TEMPLATE_BODY: usize = 51_200;

/// The clients deploy uses, built once from the standard AWS configuration chain.
#[derive(Clone)]
pub struct Aws {
    pub cfn: Cfn,
    pub s3: S3,
    pub region: String,
    /// How often to poll CloudFormation while waiting.
    pub poll: Duration,
}

impl Aws {
    /// Build clients from an SDK config (tests pass one pointed at moto).
    pub fn from_conf(conf: &SdkConfig) -> anyhow::Result<Self> {
        let region = conf
            .region()
            .map(|r| r.to_string())
            .ok_or_else(|| anyhow!("no AWS region configured: pass --region or set AWS_REGION"))?;
        // A custom endpoint (moto, LocalStack) serves buckets by path, not by virtual host.
        let custom_endpoint = conf.endpoint_url().is_some();
        let s3_conf = aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(custom_endpoint)
            .build();
        Ok(Aws {
            cfn: Cfn::new(conf),
            s3: S3::from_conf(s3_conf),
            region,
            poll: Duration::from_secs(2),
        })
    }

    /// The standard chain (env, profile, SSO, web identity), with optional region/profile overrides.
    /// Fails with one sentence when there is no region or no credentials, before any stack is touched.
    pub async fn connect(region: Option<&str>, profile: Option<&str>) -> anyhow::Result<Self> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(r) = region {
            loader = loader.region(Region::new(r.to_string()));
        }
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let conf = loader.load().await;
        let provider = conf
            .credentials_provider()
            .ok_or_else(|| anyhow!("no AWS credentials provider: run `aws configure` or `aws sso login`, or set AWS_PROFILE"))?;
        use aws_sdk_cloudformation::config::ProvideCredentials;
        provider.provide_credentials().await.map_err(|e| {
            anyhow!("no usable AWS credentials ({e}): run `aws sso login` or `aws configure`, set AWS_PROFILE, or pass --profile")
        })?;
        Self::from_conf(&conf)
    }
}

/// Explain an SDK error in one line, with the fix for the usual causes.
pub fn explain<E: std::error::Error + 'static>(
    what: &str,
    err: &aws_sdk_cloudformation::error::SdkError<E>,
) -> anyhow::Error {
    use aws_sdk_cloudformation::error::SdkError;
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => anyhow!(
            "{what}: cannot reach the CloudFormation endpoint (check --region, your network, or AWS_ENDPOINT_URL if you use a local endpoint)"
        ),
        SdkError::ServiceError(e) => anyhow!(
            "{what}: {}",
            aws_sdk_cloudformation::error::DisplayErrorContext(e.err())
        ),
        other => anyhow!(
            "{what}: {}",
            aws_sdk_cloudformation::error::DisplayErrorContext(other)
        ),
    }
}

/// A stack's status and reason, or None when it does not exist.
pub async fn stack_status(
    aws: &Aws,
    stack: &str,
) -> anyhow::Result<Option<(String, Option<String>)>> {
    match aws.cfn.describe_stacks().stack_name(stack).send().await {
        Ok(out) => Ok(out.stacks().first().map(|s| {
            (
                s.stack_status()
                    .map(|x| x.as_str().to_string())
                    .unwrap_or_default(),
                s.stack_status_reason().map(String::from),
            )
        })),
        Err(e) => {
            let text = format!("{}", aws_sdk_cloudformation::error::DisplayErrorContext(&e));
            if text.contains("does not exist") {
                Ok(None)
            } else {
                Err(explain(&format!("reading stack {stack}"), &e))
            }
        }
    }
}

/// The stack id (an ARN: `arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID`).
pub async fn stack_id(aws: &Aws, stack: &str) -> anyhow::Result<Option<String>> {
    let out = aws.cfn.describe_stacks().stack_name(stack).send().await;
    Ok(out.ok().and_then(|o| {
        o.stacks()
            .first()
            .and_then(|s| s.stack_id().map(String::from))
    }))
}

/// Wait until the stack reaches a final status, printing each new resource event with elapsed time.
/// Returns the final status (`None` when the stack is gone).
pub async fn wait_stack(aws: &Aws, stack: &str) -> anyhow::Result<Option<String>> {
    let start = Instant::now();
    let mut seen: HashSet<String> = HashSet::new();
    let since = aws_sdk_cloudformation::primitives::DateTime::from_secs(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
            - 5,
    );
    loop {
        print_new_events(aws, stack, &since, &mut seen, start).await;
        match stack_status(aws, stack).await? {
            None => return Ok(None),
            Some((status, _)) if status == "DELETE_COMPLETE" => return Ok(None),
            Some((status, _)) if is_terminal(&status) => {
                print_new_events(aws, stack, &since, &mut seen, start).await;
                return Ok(Some(status));
            }
            Some(_) => tokio::time::sleep(aws.poll).await,
        }
    }
}

async fn print_new_events(
    aws: &Aws,
    stack: &str,
    since: &aws_sdk_cloudformation::primitives::DateTime,
    seen: &mut HashSet<String>,
    start: Instant,
) {
    let Ok(out) = aws
        .cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
    else {
        return;
    };
    let mut events: Vec<_> = out
        .stack_events()
        .iter()
        .filter(|e| e.timestamp().is_some_and(|t| t.secs() >= since.secs()))
        .filter(|e| e.event_id().is_some_and(|id| !seen.contains(id)))
        .collect();
    events.reverse(); // oldest first
    for e in events {
        seen.insert(e.event_id().unwrap_or_default().to_string());
        let status = e
            .resource_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let reason = e
            .resource_status_reason()
            .map(|r| format!("  {r}"))
            .unwrap_or_default();
        eprintln!(
            "  {:>6.1}s  {:<28} {:<32} {status}{reason}",
            start.elapsed().as_secs_f64(),
            e.logical_resource_id().unwrap_or("?"),
            e.resource_type().unwrap_or("?"),
        );
    }
}

/// The first resource that failed in the stack's recent events: (logical id, type, status, reason).
pub async fn first_failure(aws: &Aws, stack: &str) -> Option<(String, String, String, String)> {
    let out = aws
        .cfn
        .describe_stack_events()
        .stack_name(stack)
        .send()
        .await
        .ok()?;
    out.stack_events()
        .iter()
        .rev()
        .find(|e| {
            e.resource_status()
                .is_some_and(|s| s.as_str().ends_with("FAILED"))
                && e.resource_status_reason()
                    .is_some_and(|r| !r.contains("Resource creation cancelled"))
        })
        .map(|e| {
            (
                e.logical_resource_id().unwrap_or("?").to_string(),
                e.resource_type().unwrap_or("?").to_string(),
                e.resource_status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                e.resource_status_reason().unwrap_or("").to_string(),
            )
        })
}

/// What a change set request looks like.
pub struct ChangeSetRequest<'a> {
    pub stack: &'a str,
    pub create: bool,
    pub template_body: Option<String>,
    pub template_url: Option<String>,
    pub parameters: Vec<(String, String)>,
    pub tags: Vec<(String, String)>,
    /// The CloudFormation service role the change set acts through.
    pub role_arn: Option<&'a str>,
}

/// Create a change set and wait until CloudFormation has computed it.
/// Returns (change set name, status, reason, rows).
pub async fn create_change_set(
    aws: &Aws,
    req: &ChangeSetRequest<'_>,
) -> anyhow::Result<(String, String, String, Vec<ChangeRow>)> {
    let name = format!(
        "infra-gen-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let mut call = aws
        .cfn
        .create_change_set()
        .stack_name(req.stack)
        .change_set_name(&name)
        .change_set_type(if req.create {
            ChangeSetType::Create
        } else {
            ChangeSetType::Update
        })
        .capabilities(Capability::CapabilityNamedIam)
        .description("created by infra-gen deploy");
    if let Some(body) = &req.template_body {
        call = call.template_body(body);
    }
    if let Some(url) = &req.template_url {
        call = call.template_url(url);
    }
    if let Some(role) = req.role_arn {
        call = call.role_arn(role);
    }
    for (k, v) in &req.parameters {
        call = call.parameters(
            Parameter::builder()
                .parameter_key(k)
                .parameter_value(v)
                .build(),
        );
    }
    for (k, v) in &req.tags {
        call = call.tags(Tag::builder().key(k).value(v).build());
    }
    if let Err(e) = call.send().await {
        // Some endpoints refuse an empty change set at creation instead of failing it later.
        let text = format!("{}", aws_sdk_cloudformation::error::DisplayErrorContext(&e));
        if super::plan::failed_change_set(&text) == super::plan::ChangeSetOutcome::NoChanges {
            return Ok((name, "FAILED".into(), text, Vec::new()));
        }
        let err = explain(&format!("creating a change set for {}", req.stack), &e);
        if let Some(role) = req.role_arn
            && (text.contains(role) || text.contains("cannot be assumed"))
        {
            return Err(err.context(format!(
                "the service role {role} is missing or not assumable by CloudFormation: run `infra-gen bootstrap` for this stage with your own credentials (it creates the role)"
            )));
        }
        return Err(err);
    }
    loop {
        let out = aws
            .cfn
            .describe_change_set()
            .stack_name(req.stack)
            .change_set_name(&name)
            .send()
            .await
            .map_err(|e| explain(&format!("reading change set {name}"), &e))?;
        let status = out
            .status()
            .cloned()
            .unwrap_or(ChangeSetStatus::CreatePending);
        match status {
            ChangeSetStatus::CreateComplete | ChangeSetStatus::Failed => {
                let rows = out
                    .changes()
                    .iter()
                    .filter_map(|c| c.resource_change())
                    .map(|rc| ChangeRow {
                        kind: change_kind(rc.action().map(|a| a.as_str()).unwrap_or("")),
                        logical_id: rc.logical_resource_id().unwrap_or("?").to_string(),
                        resource_type: rc.resource_type().unwrap_or("?").to_string(),
                        replacement: rc.replacement().map(|r| r.as_str().to_string()),
                    })
                    .collect();
                return Ok((
                    name,
                    status.as_str().to_string(),
                    out.status_reason().unwrap_or("").to_string(),
                    rows,
                ));
            }
            _ => tokio::time::sleep(aws.poll.min(Duration::from_secs(1))).await,
        }
    }
}

pub async fn delete_change_set(aws: &Aws, stack: &str, name: &str) {
    let _ = aws
        .cfn
        .delete_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await;
}

pub async fn execute_change_set(aws: &Aws, stack: &str, name: &str) -> anyhow::Result<()> {
    aws.cfn
        .execute_change_set()
        .stack_name(stack)
        .change_set_name(name)
        .send()
        .await
        .map_err(|e| explain(&format!("executing change set {name} on {stack}"), &e))?;
    Ok(())
}

/// Delete a stack (through the service role when given) and wait until it is gone or failed.
pub async fn delete_stack(
    aws: &Aws,
    stack: &str,
    role_arn: Option<&str>,
) -> anyhow::Result<Option<String>> {
    aws.cfn
        .delete_stack()
        .stack_name(stack)
        .set_role_arn(role_arn.map(String::from))
        .send()
        .await
        .map_err(|e| explain(&format!("deleting stack {stack}"), &e))?;
    wait_stack(aws, stack).await
}

/// Ask CloudFormation to continue a failed update rollback and wait for the result.
pub async fn continue_rollback(
    aws: &Aws,
    stack: &str,
    role_arn: Option<&str>,
) -> anyhow::Result<Option<String>> {
    aws.cfn
        .continue_update_rollback()
        .stack_name(stack)
        .set_role_arn(role_arn.map(String::from))
        .send()
        .await
        .map_err(|e| explain(&format!("continuing the rollback of {stack}"), &e))?;
    wait_stack(aws, stack).await
}

/// Upload `body` to `bucket/key` unless an object already exists there. Returns whether it uploaded.
pub async fn upload_if_absent(
    aws: &Aws,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) -> anyhow::Result<bool> {
    match aws.s3.head_object().bucket(bucket).key(key).send().await {
        Ok(_) => return Ok(false),
        Err(e) => {
            let not_found = e.as_service_error().is_some_and(|se| se.is_not_found());
            if !not_found {
                let text = format!("{}", aws_sdk_s3::error::DisplayErrorContext(&e));
                if !text.contains("NotFound") && !text.contains("404") {
                    bail!(
                        "checking s3://{bucket}/{key}: {text} (does the assets bucket exist? run `infra-gen bootstrap`)"
                    );
                }
            }
        }
    }
    aws.s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.into())
        .send()
        .await
        .map_err(|e| {
            anyhow!(
                "uploading s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })
        .context("upload failed; no stack was touched")?;
    Ok(true)
}

/// The URL of `bucket/key` as the S3 client addresses it: its configured endpoint (AWS_ENDPOINT_URL,
/// a local endpoint, path or virtual-host style) and region, so CloudFormation reads a large template
/// from the same place it was uploaded to. The endpoint resolver runs through presigning, and the
/// signature is dropped: CloudFormation fetches a TemplateURL with the caller's own credentials.
pub async fn object_url(aws: &Aws, bucket: &str, key: &str) -> anyhow::Result<String> {
    let presigning = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(900))
        .context("presigning configuration")?;
    let presigned = aws
        .s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .presigned(presigning)
        .await
        .map_err(|e| {
            anyhow!(
                "resolving the URL of s3://{bucket}/{key}: {}",
                aws_sdk_s3::error::DisplayErrorContext(&e)
            )
        })?;
    let uri = presigned.uri();
    Ok(uri.split_once('?').map_or(uri, |(u, _)| u).to_string())
}

/// Stack outputs as (key, value).
pub async fn stack_outputs(aws: &Aws, stack: &str) -> Vec<(String, String)> {
    let Ok(out) = aws.cfn.describe_stacks().stack_name(stack).send().await else {
        return Vec::new();
    };
    out.stacks()
        .first()
        .map(|s| {
            s.outputs()
                .iter()
                .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// Whether a final status counts as deployed.
pub fn deployed(status: &str) -> bool {
    is_success(status) || status == "UPDATE_ROLLBACK_COMPLETE"
}

#[cfg(test)]
mod tests {
    use super::CALLS;

    /// `service:Operation` of every `.cfn.op(` / `.s3.op(` call in `source` (whitespace ignored).
    fn call_sites(source: &str) -> Vec<String> {
        let code: String = source
            .split("#[cfg(test)]")
            .next()
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let mut out = Vec::new();
        for (needle, service) in [(".cfn.", "cloudformation"), (".s3.", "s3")] {
            for (i, _) in code.match_indices(needle) {
                let rest = &code[i + needle.len()..];
                let op: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !rest[op.len()..].starts_with('(') {
                    continue;
                }
                let pascal: String = op
                    .split('_')
                    .map(|w| {
                        let mut c = w.chars();
                        c.next()
                            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                            .unwrap_or_default()
                    })
                    .collect();
                out.push(format!("{service}:{pascal}"));
            }
        }
        out
    }

    #[test]
    fn every_sdk_call_of_deploy_is_listed_in_calls() {
        let sites = call_sites(include_str!("aws.rs"));
        assert!(
            sites.contains(&"cloudformation:CreateChangeSet".to_string()),
            "{sites:?}"
        );
        for site in &sites {
            assert!(
                CALLS.contains(&site.as_str()),
                "{site} is called in deploy/aws.rs but not listed in CALLS"
            );
        }
        for listed in CALLS {
            assert!(
                sites.iter().any(|s| s == listed),
                "{listed} is listed in CALLS but never called"
            );
        }
        // The rest of deploy reaches AWS only through this module.
        for (name, text) in [
            ("mod.rs", include_str!("mod.rs")),
            ("plan.rs", include_str!("plan.rs")),
            ("artifacts.rs", include_str!("artifacts.rs")),
            ("affected.rs", include_str!("affected.rs")),
        ] {
            assert_eq!(
                call_sites(text),
                Vec::<String>::new(),
                "deploy/{name} calls the SDK directly"
            );
        }
    }
}
