//! One IAM role per function, with least privilege derived from prefixes.yaml and the feature manifest.
//!
//! - S3: `GetObject` on read prefixes, `PutObject`/`AbortMultipartUpload`/`DeleteObject` on write prefixes
//!   (the writers remove what they own: a finished run's checkpoint, a retried job's stale parts and
//!   quarantine; `object_store` deletes with `DeleteObjects`, authorized per key as `DeleteObject`), each on the
//!   prefix's key template with placeholders as `*`; `ListBucket` only with an `s3:prefix` condition
//!   limited to the prefixes the function may read (CDK's `grantRead` grants bucket-wide List).
//! - SQS: `SendMessage` only to the queues in `sends_to`; consume actions only on the trigger queue.
//! - Logs: only the function's own log group.
//! - Lambda: `InvokeFunction` only for a function marked `continues: true`, only on its own ARN
//!   (built from its deterministic name, so the role does not depend on the function).
//! - SSM: `GetParameter` on exactly the parameters the function declares (one ARN each, no path
//!   wildcard). No `kms:Decrypt`: a SecureString under the AWS-managed key `aws/ssm` is decrypted by
//!   SSM, and that key's policy already allows it for the account's principals calling through SSM.

use serde_json::json;

use super::Cx;
use crate::cfn::iam::{PolicyDocument, Statement};
use crate::cfn::resources::{InlinePolicy, Role};
use crate::cfn::{Expr, Resource, Template};
use crate::manifest::{FunctionDoc, Trigger};
use crate::naming::logical;

pub(super) fn role_id(function: &str) -> String {
    format!("{}Role", logical(function))
}

/// The statements of a function's policy, in a stable order.
pub(crate) fn statements(cx: &Cx, name: &str, doc: &FunctionDoc) -> Vec<Statement> {
    let n = &cx.names;
    let mut out = vec![Statement::allow(
        "WriteOwnLogs",
        vec!["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![Expr::sub(format!(
            "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:{}:*",
            n.log_group(name)
        ))],
    )];
    let grants = cx.m.grants(name);
    for g in &grants {
        let arn = Expr::sub(format!(
            "{}/{}*",
            n.bucket_arn_sub(g.prefix.bucket),
            g.prefix.template().wildcard()
        ));
        let sid = logical(g.prefix.name);
        if g.access.reads() {
            out.push(Statement::allow(
                format!("Read{sid}"),
                vec!["s3:GetObject"],
                vec![arn.clone()],
            ));
        }
        if g.access.writes() {
            out.push(Statement::allow(
                format!("Write{sid}"),
                vec!["s3:PutObject", "s3:AbortMultipartUpload", "s3:DeleteObject"],
                vec![arn],
            ));
        }
    }
    for bucket in cx.m.buckets_of(name) {
        let heads: Vec<String> = grants
            .iter()
            .filter(|g| g.prefix.bucket == bucket && g.access.reads())
            .flat_map(|g| {
                let head = g.prefix.template().static_head().to_string();
                [head.clone(), format!("{head}*")]
            })
            .collect();
        if heads.is_empty() {
            continue;
        }
        out.push(
            Statement::allow(
                format!("List{}Prefixes", logical(bucket)),
                vec!["s3:ListBucket"],
                vec![Expr::sub(n.bucket_arn_sub(bucket))],
            )
            .condition(json!({ "StringLike": { "s3:prefix": heads } })),
        );
    }
    if let Some(Trigger::Queue(q)) = &doc.trigger {
        out.push(Statement::allow(
            format!("Consume{}", logical(&q.name.value)),
            vec![
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
            ],
            vec![Expr::sub(n.queue_arn_sub(&q.name.value))],
        ));
    }
    if let Some(Trigger::Queue(q)) = &doc.trigger
        && cx
            .m
            .queue(&q.name.value)
            .is_some_and(|q| q.doc.dlq.is_some())
    {
        out.push(Statement::allow(
            "DeadLetterRefusedMessages",
            vec!["sqs:SendMessage"],
            vec![Expr::sub(n.dlq_arn_sub(&q.name.value))],
        ));
    }
    if !doc.sends_to.is_empty() {
        out.push(Statement::allow(
            "SendToDeclaredQueues",
            vec!["sqs:SendMessage"],
            doc.sends_to
                .iter()
                .map(|q| Expr::sub(n.queue_arn_sub(&q.value)))
                .collect(),
        ));
    }
    if doc.is_continuing() {
        out.push(Statement::allow(
            "ContinueOwnRun",
            vec!["lambda:InvokeFunction"],
            vec![Expr::sub(format!(
                "arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:{}",
                n.function(name)
            ))],
        ));
    }
    let parameters = cx.m.parameters_of(name);
    if !parameters.is_empty() {
        out.push(Statement::allow(
            "ReadDeclaredParameters",
            vec!["ssm:GetParameter"],
            parameters
                .iter()
                .map(|p| Expr::sub(n.parameter_arn_sub(p.feature, p.name)))
                .collect(),
        ));
    }
    out
}

pub(super) fn emit(cx: &Cx, t: &mut Template, name: &str, doc: &FunctionDoc) {
    let assume = PolicyDocument::new(vec![Statement::trust_service("lambda.amazonaws.com")]);
    let props = Role {
        role_name: Expr::sub(cx.names.role_sub(name)),
        description: format!(
            "Role of function '{name}' ({}); least privilege derived from prefixes.yaml",
            cx.names.stage
        ),
        assume_role_policy_document: assume,
        policies: vec![InlinePolicy {
            policy_name: "least-privilege".into(),
            policy_document: PolicyDocument::new(statements(cx, name, doc)),
        }],
        tags: cx.tags(),
    };
    t.add(role_id(name), Resource::new(&props));
}
