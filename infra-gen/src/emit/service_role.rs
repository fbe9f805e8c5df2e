//! The stage's CloudFormation service role (in the bootstrap stack): what CloudFormation may do when it
//! deploys a feature stack, derived from the resource types the feature templates contain.
//!
//! Each type's actions are the permissions its CloudFormation resource handlers (create, read, update,
//! delete) declare in the type's provider schema, as cfn-lint ships them
//! (`infra-gen/tests/data/handler-permissions.json`, refreshed by `scripts/handler-permissions.py`),
//! minus [`NOT_GRANTED`]: actions only needed for properties we never emit. A test checks the table
//! against that file both ways. Every action is scoped to this stage's names (`<project>-<stage>-*`).

use std::collections::BTreeSet;

use serde_json::json;

use super::{Cx, emit_all};
use crate::cfn::iam::{Effect, PolicyDocument, Statement};
use crate::cfn::resources::{InlinePolicy, Role};
use crate::cfn::{Expr, Resource, Template};
use crate::manifest::Manifests;

/// Logical id of the service role in the bootstrap stack.
pub const SERVICE_ROLE_ID: &str = "CloudFormationServiceRole";

/// The actions each resource type's handlers need, for the properties our emitters set.
pub const TYPE_ACTIONS: &[(&str, &[&str])] = &[
    (
        "AWS::S3::Bucket",
        &[
            "s3:CreateBucket",
            "s3:DeleteBucket",
            "s3:ListBucket",
            "s3:GetBucketAcl",
            "s3:PutBucketAcl",
            "s3:GetAccelerateConfiguration",
            "s3:PutAccelerateConfiguration",
            "s3:GetAnalyticsConfiguration",
            "s3:PutAnalyticsConfiguration",
            "s3:GetBucketAbac",
            "s3:PutBucketAbac",
            "s3:GetBucketCORS",
            "s3:PutBucketCORS",
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
            "s3:GetIntelligentTieringConfiguration",
            "s3:PutIntelligentTieringConfiguration",
            "s3:GetInventoryConfiguration",
            "s3:PutInventoryConfiguration",
            "s3:GetLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
            "s3:GetBucketLogging",
            "s3:PutBucketLogging",
            "s3:GetBucketMetadataTableConfiguration",
            "s3:CreateBucketMetadataTableConfiguration",
            "s3:DeleteBucketMetadataTableConfiguration",
            "s3:UpdateBucketMetadataAnnotationTableConfiguration",
            "s3:UpdateBucketMetadataInventoryTableConfiguration",
            "s3:UpdateBucketMetadataJournalTableConfiguration",
            "s3:GetMetricsConfiguration",
            "s3:PutMetricsConfiguration",
            "s3:GetBucketNotification",
            "s3:PutBucketNotification",
            "s3:GetBucketObjectLockConfiguration",
            "s3:PutBucketObjectLockConfiguration",
            "s3:GetBucketOwnershipControls",
            "s3:PutBucketOwnershipControls",
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
            "s3:GetReplicationConfiguration",
            "s3:PutReplicationConfiguration",
            "s3:GetBucketTagging",
            "s3:PutBucketTagging",
            "s3:ListTagsForResource",
            "s3:TagResource",
            "s3:UntagResource",
            "s3:GetBucketVersioning",
            "s3:PutBucketVersioning",
            "s3:GetBucketWebsite",
            "s3:PutBucketWebsite",
            "s3:DeleteBucketWebsite",
        ],
    ),
    (
        "AWS::S3::BucketPolicy",
        &[
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:DeleteBucketPolicy",
        ],
    ),
    (
        "AWS::SQS::Queue",
        &[
            "sqs:CreateQueue",
            "sqs:DeleteQueue",
            "sqs:GetQueueAttributes",
            "sqs:SetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ListQueueTags",
            "sqs:TagQueue",
            "sqs:UntagQueue",
        ],
    ),
    ("AWS::SQS::QueuePolicy", &["sqs:SetQueueAttributes"]),
    (
        "AWS::Lambda::Function",
        &[
            "lambda:CreateFunction",
            "lambda:DeleteFunction",
            "lambda:GetFunction",
            "lambda:UpdateFunctionCode",
            "lambda:UpdateFunctionConfiguration",
            "lambda:PublishVersion",
            "lambda:GetFunctionCodeSigningConfig",
            "lambda:PutFunctionCodeSigningConfig",
            "lambda:DeleteFunctionCodeSigningConfig",
            "lambda:PutFunctionConcurrency",
            "lambda:DeleteFunctionConcurrency",
            "lambda:GetFunctionRecursionConfig",
            "lambda:PutFunctionRecursionConfig",
            "lambda:GetFunctionScalingConfig",
            "lambda:PutFunctionScalingConfig",
            "lambda:GetRuntimeManagementConfig",
            "lambda:PutRuntimeManagementConfig",
            "lambda:TagResource",
            "lambda:UntagResource",
            "iam:PassRole",
            "s3:GetObject",
            "s3:GetObjectVersion",
        ],
    ),
    (
        "AWS::Lambda::EventSourceMapping",
        &[
            "lambda:CreateEventSourceMapping",
            "lambda:DeleteEventSourceMapping",
            "lambda:GetEventSourceMapping",
            "lambda:UpdateEventSourceMapping",
            "lambda:ListTags",
            "lambda:TagResource",
            "lambda:UntagResource",
        ],
    ),
    (
        "AWS::Lambda::Url",
        &[
            "lambda:CreateFunctionUrlConfig",
            "lambda:DeleteFunctionUrlConfig",
            "lambda:GetFunctionUrlConfig",
            "lambda:UpdateFunctionUrlConfig",
        ],
    ),
    (
        "AWS::Lambda::Permission",
        &[
            "lambda:AddPermission",
            "lambda:RemovePermission",
            "lambda:GetPolicy",
        ],
    ),
    (
        "AWS::Logs::LogGroup",
        &[
            "logs:CreateLogGroup",
            "logs:DeleteLogGroup",
            "logs:DescribeLogGroups",
            "logs:PutRetentionPolicy",
            "logs:DeleteRetentionPolicy",
            "logs:PutLogGroupDeletionProtection",
            "logs:DescribeIndexPolicies",
            "logs:DescribeResourcePolicies",
            "logs:GetDataProtectionPolicy",
            "logs:ListTagsForResource",
            "logs:TagResource",
            "logs:UntagResource",
        ],
    ),
    (
        "AWS::IAM::Role",
        &[
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:GetRole",
            "iam:UpdateRole",
            "iam:UpdateRoleDescription",
            "iam:UpdateAssumeRolePolicy",
            "iam:GetRolePolicy",
            "iam:PutRolePolicy",
            "iam:DeleteRolePolicy",
            "iam:ListRolePolicies",
            "iam:ListAttachedRolePolicies",
            "iam:AttachRolePolicy",
            "iam:DetachRolePolicy",
            "iam:PutRolePermissionsBoundary",
            "iam:DeleteRolePermissionsBoundary",
            "iam:TagRole",
            "iam:UntagRole",
        ],
    ),
    (
        "AWS::Events::Rule",
        &[
            "events:PutRule",
            "events:DeleteRule",
            "events:DescribeRule",
            "events:PutTargets",
            "events:RemoveTargets",
            "events:ListTargetsByRule",
            "events:ListTagsForResource",
            "events:TagResource",
            "events:UntagResource",
        ],
    ),
];

/// Handler permissions the role does not get, as (type, action or `service:` prefix, why).
pub const NOT_GRANTED: &[(&str, &str, &str)] = &[
    (
        "*",
        "kms:",
        "no template sets a customer-managed KMS key (buckets use SSE-S3, queues SQS-managed SSE)",
    ),
    ("*", "ec2:", "no function is attached to a VPC"),
    ("*", "elasticfilesystem:", "no function mounts EFS"),
    ("*", "s3files:", "no function mounts S3 Files"),
    ("*", "s3tables:", "no bucket configures S3 Tables"),
    ("*", "firehose:", "no log group delivers to Firehose"),
    (
        "AWS::S3::Bucket",
        "iam:PassRole",
        "no bucket configures replication (the only role a bucket passes)",
    ),
    (
        "AWS::S3::Bucket",
        "s3:DeleteObject",
        "object-level: the role never touches objects in data buckets",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutObjectAcl",
        "object-level, and buckets are BucketOwnerEnforced (no ACLs)",
    ),
    (
        "AWS::Events::Rule",
        "iam:PassRole",
        "rule targets are Lambda functions invoked through a resource policy, no target role",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:GetLayerVersion",
        "no function uses layers",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:GetCodeSigningConfig",
        "no function sets a code signing config",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:PassCapacityProvider",
        "no function sets a capacity provider",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:CreateLogDelivery",
        "no log group sets delivery",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutResourcePolicy",
        "no log group sets a resource policy (account-wide action)",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteResourcePolicy",
        "no log group sets a resource policy (account-wide action)",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutDataProtectionPolicy",
        "no log group sets a data protection policy",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteDataProtectionPolicy",
        "no log group sets a data protection policy",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutIndexPolicy",
        "no log group sets field indexes",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DeleteIndexPolicy",
        "no log group sets field indexes",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:PutBearerTokenAuthentication",
        "no log group sets bearer token authentication",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:AssociateKmsKey",
        "no log group sets a KMS key",
    ),
    (
        "AWS::Logs::LogGroup",
        "logs:DisassociateKmsKey",
        "no log group sets a KMS key",
    ),
    (
        "AWS::Logs::LogGroup",
        "s3:REST.PUT.OBJECT",
        "not an IAM action (an S3 operation name in the schema), and no log group delivers to S3",
    ),
    // Names the schemas list that IAM does not know (cfn-lint W3037 on the bootstrap template): S3
    // authorizes these calls with the matching Put* action, which is granted.
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketAnalyticsConfiguration",
        "not an IAM action: authorized as s3:PutAnalyticsConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketCors",
        "not an IAM action: authorized as s3:PutBucketCORS",
    ),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketEncryption",
        "not an IAM action: authorized as s3:PutEncryptionConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketLifecycle",
        "not an IAM action: authorized as s3:PutLifecycleConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketMetricsConfiguration",
        "not an IAM action: authorized as s3:PutMetricsConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:DeleteBucketReplication",
        "not an IAM action: authorized as s3:PutReplicationConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutBucketReplication",
        "not an IAM action: authorized as s3:PutReplicationConfiguration",
    ),
    (
        "AWS::S3::Bucket",
        "s3:PutObjectLockConfiguration",
        "not an IAM action: authorized as s3:PutBucketObjectLockConfiguration",
    ),
    (
        "AWS::Lambda::Function",
        "lambda:AssociateRuntimeAlias",
        "not an IAM action IAM knows (cfn-lint W3037); no function sets a runtime alias",
    ),
];

/// Actions that AWS offers only on `*` (no resource-level permission), with the reason.
const ANY_RESOURCE: &[(&str, &str)] = &[
    (
        "lambda:CreateEventSourceMapping",
        "CreateEventSourceMapping has no resource ARN until it exists; limited to this stage's functions by lambda:FunctionArn",
    ),
    (
        "logs:DescribeLogGroups",
        "CloudWatch Logs Describe* calls list account-wide",
    ),
    (
        "logs:DescribeIndexPolicies",
        "CloudWatch Logs Describe* calls list account-wide",
    ),
    (
        "logs:DescribeResourcePolicies",
        "CloudWatch Logs Describe* calls list account-wide",
    ),
];

/// Every resource type the feature templates contain (the same for every stage).
pub fn resource_types(m: &Manifests) -> BTreeSet<&'static str> {
    let stage = m.stage_names().first().copied().unwrap_or("dev");
    emit_all(m, stage)
        .iter()
        .flat_map(|(_, _, t)| t.resources.values().map(|r| r.kind))
        .collect()
}

/// The types in `types` that [`TYPE_ACTIONS`] does not cover (a new emitter needs its row).
pub fn unknown_types<'t>(types: &BTreeSet<&'t str>) -> Vec<&'t str> {
    types
        .iter()
        .filter(|t| !TYPE_ACTIONS.iter().any(|(k, _)| k == *t))
        .copied()
        .collect()
}

/// The actions CloudFormation needs for `types`, deduplicated, in table order.
pub fn actions_for(types: &BTreeSet<&str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for (_, actions) in TYPE_ACTIONS.iter().filter(|(t, _)| types.contains(t)) {
        for a in actions.iter() {
            if !out.contains(a) {
                out.push(a);
            }
        }
    }
    out
}

/// The service role's statements for the resource types in `types`, scoped to the stage's names.
pub(crate) fn statements(cx: &Cx, types: &BTreeSet<&str>) -> Vec<Statement> {
    let base = format!("{}-{}-", cx.names.project, cx.names.stage);
    let region_account = "${AWS::Region}:${AWS::AccountId}";
    let actions = actions_for(types);
    let pick = |pred: &dyn Fn(&str) -> bool| -> Vec<&'static str> {
        actions
            .iter()
            .copied()
            .filter(|a| pred(a) && !ANY_RESOURCE.iter().any(|(x, _)| x == a))
            .collect()
    };
    let mut out = Vec::new();
    let mut push = |sid: &str, acts: Vec<&'static str>, resource: Vec<Expr>| {
        if !acts.is_empty() {
            out.push(Statement::allow(sid, acts, resource));
        }
    };
    let bucket = format!("arn:${{AWS::Partition}}:s3:::{base}*");
    let is_object = |a: &str| matches!(a, "s3:GetObject" | "s3:GetObjectVersion");
    push(
        "StageBuckets",
        pick(&|a| a.starts_with("s3:") && !is_object(a)),
        vec![Expr::sub(&bucket)],
    );
    push(
        "ReadFunctionPackages",
        pick(&|a| is_object(a)),
        vec![Expr::sub(format!(
            "arn:${{AWS::Partition}}:s3:::{}/functions/*",
            cx.names.assets_bucket_sub()
        ))],
    );
    push(
        "StageQueues",
        pick(&|a| a.starts_with("sqs:")),
        vec![Expr::sub(format!(
            "arn:${{AWS::Partition}}:sqs:{region_account}:{base}*"
        ))],
    );
    let function = format!("arn:${{AWS::Partition}}:lambda:{region_account}:function:{base}*");
    let is_mapping = |a: &str| a.contains("EventSourceMapping");
    let is_tagging = |a: &str| {
        matches!(
            a,
            "lambda:TagResource" | "lambda:UntagResource" | "lambda:ListTags"
        )
    };
    push(
        "StageFunctions",
        pick(&|a| a.starts_with("lambda:") && !is_mapping(a)),
        vec![Expr::sub(&function)],
    );
    push(
        "StageEventSourceMappings",
        pick(&|a| is_mapping(a) || (is_tagging(a) && actions.iter().any(|x| is_mapping(x)))),
        vec![Expr::sub(format!(
            "arn:${{AWS::Partition}}:lambda:{region_account}:event-source-mapping:*"
        ))],
    );
    push(
        "StageLogGroups",
        pick(&|a| a.starts_with("logs:")),
        vec![
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:logs:{region_account}:log-group:/aws/lambda/{base}*"
            )),
            Expr::sub(format!(
                "arn:${{AWS::Partition}}:logs:{region_account}:log-group:/aws/lambda/{base}*:*"
            )),
        ],
    );
    push(
        "StageRules",
        pick(&|a| a.starts_with("events:")),
        vec![Expr::sub(format!(
            "arn:${{AWS::Partition}}:events:{region_account}:rule/{base}*"
        ))],
    );
    let role = format!("arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{base}*");
    push(
        "StageRoles",
        pick(&|a| a.starts_with("iam:") && a != "iam:PassRole"),
        vec![Expr::sub(&role)],
    );
    if actions.contains(&"iam:PassRole") {
        out.push(
            Statement::allow(
                "PassFunctionRoles",
                vec!["iam:PassRole"],
                vec![Expr::sub(&role)],
            )
            .condition(
                json!({ "StringEquals": { "iam:PassedToService": "lambda.amazonaws.com" } }),
            ),
        );
    }
    for (action, reason) in ANY_RESOURCE.iter().filter(|(a, _)| actions.contains(a)) {
        let mut s = Statement::any_resource(
            format!("AnyResource{}", action.split(':').nth(1).unwrap_or(action)),
            vec![action],
            reason,
        );
        if *action == "lambda:CreateEventSourceMapping" {
            s = s
                .condition(json!({ "ArnLike": { "lambda:FunctionArn": { "Fn::Sub": function } } }));
        }
        out.push(s);
    }
    // The role matches its own name pattern: it must not widen itself or its trust.
    out.push(Statement {
        sid: "NeverChangeThisRole".into(),
        effect: Effect::Deny,
        principal: None,
        action: vec![
            "iam:AttachRolePolicy",
            "iam:DeleteRole",
            "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
            "iam:UpdateAssumeRolePolicy",
            "iam:UpdateRole",
        ],
        resource: vec![Expr::sub(format!(
            "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role/{}",
            cx.names.service_role_sub()
        ))],
        condition: None,
        wildcard_reason: None,
    });
    out
}

/// Add the service role to the bootstrap template.
pub(super) fn emit(cx: &Cx, t: &mut Template) {
    let types = resource_types(cx.m);
    let props = Role {
        role_name: Expr::sub(cx.names.service_role_sub()),
        description: format!(
            "CloudFormation service role of stage '{}': deploys the feature stacks (permissions from their resource types)",
            cx.names.stage
        ),
        assume_role_policy_document: PolicyDocument::new(vec![Statement::trust_service(
            "cloudformation.amazonaws.com",
        )]),
        policies: vec![InlinePolicy {
            policy_name: "feature-stack-resources".into(),
            policy_document: PolicyDocument::new(statements(cx, &types)),
        }],
        tags: cx.tags(),
    };
    t.add(SERVICE_ROLE_ID, Resource::new(&props));
    t.output(
        format!("{SERVICE_ROLE_ID}Arn"),
        "The role CloudFormation deploys the feature stacks through (change sets pass it as RoleARN)",
        Expr::get_att(SERVICE_ROLE_ID, "Arn"),
    );
}
