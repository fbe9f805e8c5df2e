//! Queues: SSE, 1 MiB messages, visibility from the manifest, a 14-day DLQ, TLS-only.

use serde_json::json;

use super::Cx;
use crate::cfn::iam::{PolicyDocument, Statement};
use crate::cfn::resources::{Queue, QueuePolicy};
use crate::cfn::{CheckovSkip, Expr, Resource, Template};
use crate::manifest::QueueDoc;
use crate::model::{DEFAULT_QUEUE_RETENTION_DAYS, DLQ_RETENTION_S, MAX_MESSAGE_SIZE};
use crate::naming::logical;

const SKIPS: &[CheckovSkip] = &[CheckovSkip {
    id: "CKV_AWS_27",
    comment: "Encrypted at rest with SqsManagedSseEnabled (SQS-owned keys); this check only recognises KmsMasterKeyId.",
}];

/// Logical id of a queue in its feature's stack.
pub(super) fn queue_id(name: &str) -> String {
    format!("{}Queue", logical(name))
}

pub(super) fn emit(cx: &Cx, t: &mut Template, name: &str, doc: &QueueDoc) {
    let id = queue_id(name);
    let mut secured = vec![Expr::reference(&id)];
    let redrive = doc.dlq.as_ref().map(|dlq| {
        let dlq_id = format!("{}Dlq", logical(name));
        let props = Queue {
            queue_name: cx.names.dlq(name),
            visibility_timeout: doc.visibility_timeout_s.value,
            message_retention_period: DLQ_RETENTION_S,
            maximum_message_size: MAX_MESSAGE_SIZE,
            sqs_managed_sse_enabled: true,
            redrive_policy: None,
            tags: cx.tags(),
        };
        t.add(&dlq_id, Resource::new(&props).checkov_skips(SKIPS));
        secured.push(Expr::reference(&dlq_id));
        t.output(format!("{dlq_id}Url"), format!("Dead-letter queue of '{name}'"), Expr::reference(&dlq_id));
        json!({ "deadLetterTargetArn": Expr::get_att(&dlq_id, "Arn"), "maxReceiveCount": dlq.max_receives.value })
    });
    let retention_days = doc
        .retention_days
        .as_ref()
        .map_or(DEFAULT_QUEUE_RETENTION_DAYS, |r| r.value);
    let props = Queue {
        queue_name: cx.names.queue(name),
        visibility_timeout: doc.visibility_timeout_s.value,
        message_retention_period: retention_days * 24 * 3600,
        maximum_message_size: MAX_MESSAGE_SIZE,
        sqs_managed_sse_enabled: true,
        redrive_policy: redrive,
        tags: cx.tags(),
    };
    t.add(&id, Resource::new(&props).checkov_skips(SKIPS));
    let arns = secured.iter().map(|r| match r {
        Expr::Ref { name } => Expr::get_att(name, "Arn"),
        other => other.clone(),
    });
    let policy = QueuePolicy {
        queues: secured.clone(),
        policy_document: PolicyDocument::new(vec![Statement::deny_insecure_transport(
            "sqs:*",
            arns.collect(),
        )]),
    };
    t.add(format!("{id}Policy"), Resource::new(&policy));
    t.output(
        format!("{id}Url"),
        format!("Queue '{name}'"),
        Expr::reference(&id),
    );
}
