//! Deploy: bootstrap the assets stack, upload function packages by content hash, and roll out feature
//! stacks through change sets in dependency order. `plan` is pure; `aws` talks to CloudFormation and S3.

pub mod affected;
pub mod artifacts;
pub mod aws;
pub mod depinfo;
pub mod plan;

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};

use self::artifacts::Artifact;
use self::aws::{Aws, ChangeSetRequest, MAX_TEMPLATE_BODY};
use self::plan::{
    ChangeRow, ChangeSetOutcome, Recovery, StackAction, failed_change_set, render_changes,
};
use crate::emit::{bootstrap_stack, emit_bootstrap, emit_feature};
use crate::manifest::{Feature, Manifests};
use crate::naming::Names;

/// How a stack deploy ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    NoChanges,
    Created,
    Updated,
    /// `diff` only: the change set's rows, not executed.
    Diff(Vec<ChangeRow>),
}

/// Options shared by deploy-like commands.
#[derive(Debug, Clone)]
pub struct Options {
    pub stage: String,
    /// Skip confirmation of bucket/queue replacements and removals.
    pub yes: bool,
    /// Compute change sets, print them, do not execute.
    pub diff_only: bool,
}

/// One stack for [`Deployer::deploy_stack`].
pub struct StackRequest<'a> {
    pub stack: &'a str,
    /// The `feature` tag (`bootstrap` for the bootstrap stack).
    pub feature: &'a str,
    pub body: String,
    pub parameters: Vec<(String, String)>,
    /// Where a template over [`MAX_TEMPLATE_BODY`] bytes is uploaded (None: the bootstrap stack).
    pub assets_bucket: Option<&'a str>,
    /// The CloudFormation service role to act through (None: the caller's own permissions).
    pub role_arn: Option<&'a str>,
}

/// One deploy session over the validated manifests.
pub struct Deployer<'m> {
    pub m: &'m Manifests,
    pub aws: Aws,
    pub opts: Options,
}

impl<'m> Deployer<'m> {
    fn names(&self) -> Names<'_> {
        Names::new(self.m.project(), &self.opts.stage)
    }

    fn stack_tags(&self, feature: &str) -> Vec<(String, String)> {
        vec![
            ("project".into(), self.m.project().into()),
            ("stage".into(), self.opts.stage.clone()),
            ("feature".into(), feature.into()),
        ]
    }

    /// Deploy the bootstrap stack: the assets bucket and the CloudFormation service role the feature
    /// stacks are deployed through. Run with the operator's credentials (it creates an IAM role), never
    /// by CI: the CI role can pass the service role but not change what it may do.
    pub async fn bootstrap(&self) -> anyhow::Result<Outcome> {
        let stack = bootstrap_stack(self.m, &self.opts.stage);
        let body = emit_bootstrap(self.m, &self.opts.stage).to_json();
        self.deploy_stack(StackRequest {
            stack: &stack,
            feature: "bootstrap",
            body,
            parameters: Vec::new(),
            assets_bucket: None,
            role_arn: None,
        })
        .await
    }

    /// The assets bucket's physical name, from the bootstrap stack's account and region.
    /// Fails with the command to run when the bootstrap stack is missing.
    pub async fn assets_bucket(&self) -> anyhow::Result<String> {
        let (account, region) = self.bootstrap_location().await?;
        let sub = self.names().assets_bucket_sub();
        Ok(sub
            .replace("${AWS::AccountId}", &account)
            .replace("${AWS::Region}", &region))
    }

    /// The ARN of the stage's CloudFormation service role (created by `bootstrap`), which every feature
    /// stack's change sets, deletes and rollbacks pass as RoleARN. Built from the deterministic name, as
    /// every cross-stack reference is (moto reports no Outputs for stacks created by change sets).
    pub async fn service_role_arn(&self) -> anyhow::Result<String> {
        let (account, region) = self.bootstrap_location().await?;
        let name = self
            .names()
            .service_role_sub()
            .replace("${AWS::Region}", &region);
        Ok(format!("arn:aws:iam::{account}:role/{name}"))
    }

    /// (account, region) of the deployed bootstrap stack, read from its stack id.
    async fn bootstrap_location(&self) -> anyhow::Result<(String, String)> {
        let stack = bootstrap_stack(self.m, &self.opts.stage);
        match aws::stack_status(&self.aws, &stack).await? {
            Some((status, _)) if aws::deployed(&status) => {}
            Some((status, _)) => bail!(
                "the assets stack {stack} is in state {status}; run `infra-gen bootstrap --stage {}` to repair it",
                self.opts.stage
            ),
            None => bail!(
                "the assets stack {stack} does not exist; run `infra-gen bootstrap --stage {}` first",
                self.opts.stage
            ),
        }
        let id = aws::stack_id(&self.aws, &stack).await?.unwrap_or_default();
        // arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID
        let parts: Vec<&str> = id.split(':').collect();
        if parts.len() < 6 {
            bail!("unexpected stack id {id:?} for {stack}");
        }
        Ok((parts[4].to_string(), parts[3].to_string()))
    }

    /// Upload every artifact whose content-hash key is not in the assets bucket yet.
    pub async fn upload(&self, bucket: &str, artifacts: &[Artifact]) -> anyhow::Result<()> {
        for a in artifacts {
            let body =
                std::fs::read(&a.zip).with_context(|| format!("reading {}", a.zip.display()))?;
            let size = body.len();
            if aws::upload_if_absent(&self.aws, bucket, &a.key(), body).await? {
                eprintln!(
                    "uploaded {} ({} KiB) to s3://{bucket}/{}",
                    a.crate_name,
                    size / 1024,
                    a.key()
                );
            } else {
                eprintln!(
                    "unchanged {} (s3://{bucket}/{} exists)",
                    a.crate_name,
                    a.key()
                );
            }
        }
        Ok(())
    }

    /// Deploy features in dependency order. With `only`, deploy just those, refusing when a dependency
    /// stack is missing.
    pub async fn deploy(
        &self,
        features: &[&Feature],
        artifacts: &[Artifact],
        only: bool,
    ) -> anyhow::Result<Vec<(String, Outcome)>> {
        let bucket = self.assets_bucket().await?;
        let role_arn = self.service_role_arn().await?;
        if only {
            for f in features {
                for dep in &f.doc.depends_on {
                    let stack = self.names().stack(&dep.value);
                    let ok = matches!(aws::stack_status(&self.aws, &stack).await?, Some((s, _)) if aws::deployed(&s));
                    let selected = features.iter().any(|g| g.name == dep.value);
                    if !ok && !selected {
                        bail!(
                            "feature '{}' depends on '{}', whose stack {stack} is not deployed; deploy it first (`infra-gen deploy --stage {} --feature {}`)",
                            f.name,
                            dep.value,
                            self.opts.stage,
                            dep.value
                        );
                    }
                }
            }
        }
        if !self.opts.diff_only {
            self.upload(&bucket, artifacts).await?;
        }
        let mut results = Vec::new();
        for f in features {
            let stack = self.names().stack(&f.name);
            let template = emit_feature(self.m, f, &self.opts.stage);
            let mut params = Vec::new();
            for (name, _) in f.doc.functions.iter() {
                let a = artifacts
                    .iter()
                    .find(|a| a.function == name)
                    .with_context(|| format!("no package for function '{name}'"))?;
                params.push((crate::emit::code_key_parameter(name), a.key()));
            }
            let outcome = self
                .deploy_stack(StackRequest {
                    stack: &stack,
                    feature: &f.name,
                    body: template.to_json(),
                    parameters: params,
                    assets_bucket: Some(&bucket),
                    role_arn: Some(&role_arn),
                })
                .await?;
            results.push((stack, outcome));
        }
        Ok(results)
    }

    /// Create or update one stack through a change set, handling the states a real account gets into.
    /// Recovery is bounded ([`Recovery`]): a stack that does not come back ends in an error naming it,
    /// its status reason and its console page.
    pub async fn deploy_stack(&self, req: StackRequest<'_>) -> anyhow::Result<Outcome> {
        let StackRequest {
            stack,
            feature,
            body,
            parameters,
            assets_bucket,
            role_arn,
        } = req;
        let mut recovery = Recovery::default();
        let create = loop {
            let status = aws::stack_status(&self.aws, stack).await?;
            let action = match recovery.next(status.as_ref().map(|(s, _)| s.as_str())) {
                Ok(action) => action,
                Err(why) => {
                    let id = aws::stack_id(&self.aws, stack)
                        .await?
                        .unwrap_or_else(|| stack.to_string());
                    let reason = status.as_ref().and_then(|(_, r)| r.as_deref());
                    let console = plan::console_url(&self.aws.region, &id);
                    bail!("{}", plan::give_up_message(stack, &why, reason, &console));
                }
            };
            match action {
                StackAction::Create => break true,
                StackAction::Update => break false,
                StackAction::WaitThenRetry => {
                    eprintln!("{stack}: an operation is in progress; waiting for it to finish");
                    aws::wait_stack(&self.aws, stack).await?;
                }
                StackAction::DeleteThenCreate if self.opts.diff_only => break true,
                StackAction::DeleteThenCreate => {
                    eprintln!(
                        "{stack}: in ROLLBACK_COMPLETE after a failed first create; deleting it to create it again"
                    );
                    aws::delete_stack(&self.aws, stack, role_arn).await?;
                }
                StackAction::ContinueRollbackThenUpdate => {
                    eprintln!(
                        "{stack}: in UPDATE_ROLLBACK_FAILED; continuing the rollback (ContinueUpdateRollback, attempt {} of {}) before updating",
                        recovery.continued,
                        plan::CONTINUE_ROLLBACK_ATTEMPTS
                    );
                    aws::continue_rollback(&self.aws, stack, role_arn).await?;
                }
                StackAction::Refuse(why) => bail!("{stack}: {why}"),
            }
        };
        let (template_body, template_url) = if body.len() > MAX_TEMPLATE_BODY {
            let bucket = assets_bucket
                .context("template too large for a body and no assets bucket to hold it")?;
            let key = format!(
                "templates/{stack}/{}.json",
                hex::encode(Sha256::digest(body.as_bytes()))
            );
            aws::upload_if_absent(&self.aws, bucket, &key, body.into_bytes()).await?;
            (None, Some(aws::object_url(&self.aws, bucket, &key).await?))
        } else {
            (Some(body), None)
        };
        let req = ChangeSetRequest {
            stack,
            create,
            template_body,
            template_url,
            parameters,
            tags: self.stack_tags(feature),
            role_arn,
        };
        let (name, status, reason, rows) = aws::create_change_set(&self.aws, &req).await?;
        if status == "FAILED" {
            aws::delete_change_set(&self.aws, stack, &name).await;
            return match failed_change_set(&reason) {
                ChangeSetOutcome::NoChanges => {
                    eprintln!("{stack}: no changes");
                    Ok(Outcome::NoChanges)
                }
                ChangeSetOutcome::Failed(why) => bail!("{stack}: change set failed: {why}"),
            };
        }
        eprint!("{}", render_changes(stack, &rows));
        if self.opts.diff_only {
            aws::delete_change_set(&self.aws, stack, &name).await;
            if create {
                // A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS; remove it.
                let _ = aws::delete_stack(&self.aws, stack, role_arn).await;
            }
            return Ok(Outcome::Diff(rows));
        }
        let destructive: Vec<&ChangeRow> = rows.iter().filter(|r| r.is_destructive()).collect();
        if !destructive.is_empty() && !self.opts.yes && !confirm(stack, &destructive)? {
            aws::delete_change_set(&self.aws, stack, &name).await;
            bail!(
                "{stack}: not deployed (a bucket or queue would be replaced or removed); rerun with --yes to accept"
            );
        }
        aws::execute_change_set(&self.aws, stack, &name).await?;
        let final_status = aws::wait_stack(&self.aws, stack)
            .await?
            .unwrap_or_else(|| "DELETE_COMPLETE".into());
        if plan::is_success(&final_status) {
            eprintln!("{stack}: {final_status}");
            return Ok(if create {
                Outcome::Created
            } else {
                Outcome::Updated
            });
        }
        let detail = match aws::first_failure(&self.aws, stack).await {
            Some((id, ty, st, why)) => format!("first failure: {id} ({ty}) {st}: {why}"),
            None => "no resource event explains it; see the stack's events in the console".into(),
        };
        bail!("{stack}: deploy ended in {final_status}; {detail}")
    }

    /// Deployed names and URLs as JSON: derived from the deterministic names (so they do not depend
    /// on stack Outputs) plus whatever Outputs the stacks report (e.g. the function URL).
    pub async fn outputs(&self) -> anyhow::Result<serde_json::Value> {
        let names = self.names();
        let mut stacks = Vec::new();
        for f in self.m.deploy_order() {
            let stack = names.stack(&f.name);
            let status = aws::stack_status(&self.aws, &stack).await?.map(|(s, _)| s);
            let id = aws::stack_id(&self.aws, &stack).await?.unwrap_or_default();
            let parts: Vec<&str> = id.split(':').collect();
            let (region, account) = if parts.len() > 4 {
                (parts[3], parts[4])
            } else {
                (self.aws.region.as_str(), "")
            };
            let fill = |s: String| {
                s.replace("${AWS::AccountId}", account)
                    .replace("${AWS::Region}", region)
                    .replace("${AWS::URLSuffix}", "amazonaws.com")
            };
            let buckets: serde_json::Map<String, serde_json::Value> = self
                .m
                .prefixes
                .buckets
                .iter()
                .filter(|(_, b)| b.owner.value == f.name)
                .map(|(n, _)| (n.to_string(), fill(names.bucket_sub(n)).into()))
                .collect();
            let queues: serde_json::Map<String, serde_json::Value> = f
                .doc
                .queues
                .iter()
                .map(|(n, _)| (n.to_string(), fill(names.queue_url_sub(n)).into()))
                .collect();
            let functions: serde_json::Map<String, serde_json::Value> = f
                .doc
                .functions
                .iter()
                .map(|(n, _)| (n.to_string(), names.function(n).into()))
                .collect();
            let outputs: serde_json::Map<String, serde_json::Value> =
                aws::stack_outputs(&self.aws, &stack)
                    .await
                    .into_iter()
                    .map(|(k, v)| (k, v.into()))
                    .collect();
            stacks.push(serde_json::json!({
                "feature": f.name, "stack": stack, "status": status,
                "buckets": buckets, "queues": queues, "functions": functions, "outputs": outputs
            }));
        }
        Ok(
            serde_json::json!({ "project": self.m.project(), "stage": self.opts.stage, "stacks": stacks }),
        )
    }

    /// Delete feature stacks in reverse dependency order. Retained buckets stay, and we say so.
    pub async fn destroy(&self, features: &[&Feature]) -> anyhow::Result<()> {
        let role_arn = self.service_role_arn().await.ok();
        for f in features.iter().rev() {
            let stack = self.names().stack(&f.name);
            if aws::stack_status(&self.aws, &stack).await?.is_none() {
                eprintln!("{stack}: not deployed");
                continue;
            }
            eprintln!("{stack}: deleting");
            if let Some(status) = aws::delete_stack(&self.aws, &stack, role_arn.as_deref()).await? {
                bail!("{stack}: delete ended in {status}; see the stack's events");
            }
            for (name, b) in self.m.prefixes.buckets.iter() {
                if b.owner.value == f.name && b.retain {
                    eprintln!(
                        "{stack}: kept bucket '{name}' ({}) with its data (DeletionPolicy: Retain); empty and delete it yourself to lose the data",
                        self.names().bucket_sub(name)
                    );
                }
            }
            eprintln!("{stack}: deleted");
        }
        Ok(())
    }
}

fn confirm(stack: &str, rows: &[&ChangeRow]) -> anyhow::Result<bool> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Ok(false);
    }
    eprintln!("{stack}: this change replaces or removes resources that hold data:");
    for r in rows {
        eprintln!("  {} ({})", r.logical_id, r.resource_type);
    }
    eprint!("continue? [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Resolve the features a deploy names: all (dependency order), or the given ones in dependency order.
pub fn select<'m>(m: &'m Manifests, only: &[String]) -> anyhow::Result<Vec<&'m Feature>> {
    for f in only {
        if m.feature(f).is_none() {
            let known: Vec<&str> = m.features.iter().map(|f| f.name.as_str()).collect();
            bail!("unknown feature '{f}' (known: {})", known.join(", "));
        }
    }
    Ok(m.deploy_order()
        .into_iter()
        .filter(|f| only.is_empty() || only.contains(&f.name))
        .collect())
}

/// Artifacts from `--artifacts DIR`, or a fresh cargo-lambda build of the whole workspace.
pub fn artifacts(root: &Path, m: &Manifests, dir: Option<&Path>) -> anyhow::Result<Vec<Artifact>> {
    let dir = match dir {
        Some(d) => d.to_path_buf(),
        None => artifacts::build(root, m)?,
    };
    artifacts::collect(&dir, m)
}
