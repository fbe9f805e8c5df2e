//! Property structs of the CloudFormation resource types we emit, named as in the AWS docs.

use serde::Serialize;
use serde_json::Value;

use super::iam::PolicyDocument;
use super::{Expr, Properties, Tag};

macro_rules! resource_type {
    ($t:ty, $name:literal) => {
        impl Properties for $t {
            const TYPE: &'static str = $name;
        }
    };
}

// ---- S3 ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Bucket {
    pub bucket_name: Expr,
    pub bucket_encryption: Value,
    pub versioning_configuration: Value,
    pub public_access_block_configuration: Value,
    pub ownership_controls: Value,
    pub lifecycle_configuration: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_configuration: Option<Value>,
    pub tags: Vec<Tag>,
}
resource_type!(Bucket, "AWS::S3::Bucket");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BucketPolicy {
    pub bucket: Expr,
    pub policy_document: PolicyDocument,
}
resource_type!(BucketPolicy, "AWS::S3::BucketPolicy");

// ---- SQS ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Queue {
    pub queue_name: String,
    pub visibility_timeout: u32,
    pub message_retention_period: u32,
    pub maximum_message_size: u32,
    pub sqs_managed_sse_enabled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redrive_policy: Option<Value>,
    pub tags: Vec<Tag>,
}
resource_type!(Queue, "AWS::SQS::Queue");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueuePolicy {
    pub queues: Vec<Expr>,
    pub policy_document: PolicyDocument,
}
resource_type!(QueuePolicy, "AWS::SQS::QueuePolicy");

// ---- Lambda ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Function {
    pub function_name: String,
    pub description: String,
    pub role: Expr,
    pub runtime: &'static str,
    pub handler: &'static str,
    pub architectures: Vec<&'static str>,
    pub memory_size: u32,
    pub timeout: u32,
    pub code: Value,
    pub environment: Value,
    pub logging_config: Value,
    pub reserved_concurrent_executions: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recursive_loop: Option<&'static str>,
    pub tags: Vec<Tag>,
}
resource_type!(Function, "AWS::Lambda::Function");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventSourceMapping {
    pub event_source_arn: Expr,
    pub function_name: Expr,
    pub batch_size: u32,
    pub function_response_types: Vec<&'static str>,
    pub enabled: bool,
    pub tags: Vec<Tag>,
}
resource_type!(EventSourceMapping, "AWS::Lambda::EventSourceMapping");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct FunctionUrl {
    pub target_function_arn: Expr,
    pub auth_type: &'static str,
}
resource_type!(FunctionUrl, "AWS::Lambda::Url");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Permission {
    pub action: &'static str,
    pub function_name: Expr,
    pub principal: &'static str,
    pub source_arn: Expr,
    pub source_account: Expr,
}
resource_type!(Permission, "AWS::Lambda::Permission");

// ---- Logs, IAM, EventBridge ----

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LogGroup {
    pub log_group_name: String,
    pub retention_in_days: u32,
    pub tags: Vec<Tag>,
}
resource_type!(LogGroup, "AWS::Logs::LogGroup");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlinePolicy {
    pub policy_name: String,
    pub policy_document: PolicyDocument,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Role {
    pub role_name: Expr,
    pub description: String,
    pub assume_role_policy_document: PolicyDocument,
    pub policies: Vec<InlinePolicy>,
    pub tags: Vec<Tag>,
}
resource_type!(Role, "AWS::IAM::Role");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventRule {
    pub name: String,
    pub description: String,
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_expression: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_pattern: Option<Value>,
    pub targets: Vec<Value>,
}
resource_type!(EventRule, "AWS::Events::Rule");
