//! Buckets: encrypted, versioned, private, owner-enforced, TLS-only, and retained when they hold data.

use serde_json::json;

use super::Cx;
use crate::cfn::iam::{PolicyDocument, Statement};
use crate::cfn::resources::{Bucket, BucketPolicy};
use crate::cfn::{CheckovSkip, Expr, Resource, Template};
use crate::manifest::Trigger;
use crate::naming::logical;

const SKIPS: &[CheckovSkip] = &[CheckovSkip {
    id: "CKV_AWS_18",
    comment: "Server access logging needs a separate log bucket per stage; audit object access with CloudTrail data events instead.",
}];

/// A bucket named `name` (physical name from the stage), retained when `retain`.
pub(super) fn emit(cx: &Cx, t: &mut Template, name: &str, retain: bool, description: Option<&str>) {
    let id = format!("{}Bucket", logical(name));
    // Functions triggered by a prefix of this bucket receive its events through EventBridge.
    let triggered = cx.m.functions().any(|f| {
        matches!(&f.doc.trigger, Some(Trigger::S3(s)) if cx.m.prefix(&s.prefix.value).is_some_and(|p| p.bucket == name))
    });
    let props = Bucket {
        bucket_name: Expr::sub(cx.names.bucket_sub(name)),
        bucket_encryption: json!({
            "ServerSideEncryptionConfiguration": [{ "ServerSideEncryptionByDefault": { "SSEAlgorithm": "AES256" } }]
        }),
        versioning_configuration: json!({ "Status": "Enabled" }),
        public_access_block_configuration: json!({
            "BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true
        }),
        ownership_controls: json!({ "Rules": [{ "ObjectOwnership": "BucketOwnerEnforced" }] }),
        lifecycle_configuration: json!({ "Rules": [
            { "Id": "abort-incomplete-multipart-uploads", "Status": "Enabled",
              "AbortIncompleteMultipartUpload": { "DaysAfterInitiation": 7 } },
            { "Id": "expire-noncurrent-versions", "Status": "Enabled",
              "NoncurrentVersionExpiration": { "NoncurrentDays": 30 } }
        ]}),
        notification_configuration: triggered
            .then(|| json!({ "EventBridgeConfiguration": { "EventBridgeEnabled": true } })),
        tags: cx.tags(),
    };
    let mut resource = Resource::new(&props).checkov_skips(SKIPS);
    if retain {
        resource = resource.retain();
    }
    t.add(&id, resource);
    let policy = BucketPolicy {
        bucket: Expr::reference(&id),
        policy_document: PolicyDocument::new(vec![Statement::deny_insecure_transport(
            "s3:*",
            vec![
                Expr::get_att(&id, "Arn"),
                Expr::sub(format!("${{{id}.Arn}}/*")),
            ],
        )]),
    };
    t.add(format!("{id}Policy"), Resource::new(&policy));
    let what = description.unwrap_or("bucket");
    t.output(
        format!("{id}Name"),
        format!("Bucket '{name}': {what}"),
        Expr::reference(&id),
    );
}
