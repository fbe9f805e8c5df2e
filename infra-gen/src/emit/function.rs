//! Functions: provided.al2023 `bootstrap` from the assets bucket, env vars named by the generated crate,
//! an explicit log group, a concurrency bound, `RecursiveLoop: Allow` only where declared, and the trigger.

use serde_json::{Map, Value, json};

use super::Cx;
use super::queue::queue_id;
use super::role::role_id;
use crate::cfn::resources::{
    EventRule, EventSourceMapping, Function, FunctionUrl, LogGroup, Permission,
};
use crate::cfn::{CheckovSkip, Expr, Parameter, Resource, Template};
use crate::manifest::{FunctionDoc, ScheduleTrigger, Trigger};
use crate::model::{DEFAULT_LOG_RETENTION_DAYS, EnvValue};
use crate::naming::logical;

const SKIPS: &[CheckovSkip] = &[
    CheckovSkip {
        id: "CKV_AWS_116",
        comment: "Failures are kept by the trigger: SQS redrives to its DLQ; HTTP callers get the error; scheduled runs are retried on the next schedule.",
    },
    CheckovSkip {
        id: "CKV_AWS_117",
        comment: "The function reaches only public AWS endpoints and the public Socrata API; a VPC would add NAT cost and no isolation.",
    },
    CheckovSkip {
        id: "CKV_AWS_173",
        comment: "Environment variables hold only resource names and URLs, never secrets; they are encrypted at rest with the AWS managed key.",
    },
];

const LOG_SKIPS: &[CheckovSkip] = &[CheckovSkip {
    id: "CKV_AWS_158",
    comment: "Logs hold no secrets or personal data; CloudWatch encrypts them at rest with its service key.",
}];

/// The template parameter carrying the content-hash key of a function's package in the assets bucket.
pub fn code_key_parameter(function: &str) -> String {
    format!("{}CodeKey", logical(function))
}

/// Environment variables of a function with their values (names from the model, shared with codegen):
/// the resource variables, then one per declared SSM parameter holding the parameter's NAME.
pub(crate) fn environment(cx: &Cx, name: &str, doc: &FunctionDoc) -> Vec<(String, Expr)> {
    let resources = cx.m.env_vars(name, doc).into_iter().map(|v| {
        let value = match &v.value {
            EnvValue::Stage => Expr::str(cx.names.stage),
            EnvValue::BucketName(b) => Expr::sub(cx.names.bucket_sub(b)),
            EnvValue::QueueUrl(q) => Expr::sub(cx.names.queue_url_sub(q)),
            EnvValue::DlqUrl(q) => Expr::sub(cx.names.dlq_url_sub(q)),
        };
        (v.name, value)
    });
    let parameters = cx.m.parameters_of(name).into_iter().map(|p| {
        let value = Expr::str(cx.names.parameter(p.feature, p.name));
        (p.env, value)
    });
    resources.chain(parameters).collect()
}

pub(super) fn emit(cx: &Cx, t: &mut Template, name: &str, doc: &FunctionDoc) {
    let id = format!("{}Function", logical(name));
    let log_id = format!("{}LogGroup", logical(name));
    let crate_name = doc.crate_name.as_ref().map_or(name, |c| c.value.as_str());
    let param = code_key_parameter(name);
    t.parameters.insert(
        param.clone(),
        Parameter {
            kind: "String",
            description: format!("Key of the '{crate_name}' package (bootstrap.zip) in the assets bucket: functions/{crate_name}/<sha256>.zip"),
            allowed_pattern: Some(format!("^functions/{crate_name}/[0-9a-f]{{64}}\\.zip$")),
            constraint_description: Some("functions/<crate>/<64 hex digits>.zip, as `infra-gen deploy` uploads it".into()),
        },
    );
    let retention = doc
        .log_retention_days
        .as_ref()
        .map_or(DEFAULT_LOG_RETENTION_DAYS, |r| r.value);
    t.add(
        &log_id,
        Resource::new(&LogGroup {
            log_group_name: cx.names.log_group(name),
            retention_in_days: retention,
            tags: cx.tags(),
        })
        .checkov_skips(LOG_SKIPS),
    );
    let variables: Map<String, Value> = environment(cx, name, doc)
        .into_iter()
        .map(|(k, v)| (k, serde_json::to_value(v).expect("expr")))
        .collect();
    let props = Function {
        function_name: cx.names.function(name),
        description: format!("{name} ({} / {})", cx.names.stage, cx.feature.name),
        role: Expr::get_att(role_id(name), "Arn"),
        runtime: "provided.al2023",
        handler: "bootstrap",
        architectures: vec![doc.architecture.as_cfn()],
        memory_size: doc.memory_mb.value,
        timeout: doc.timeout_s.value,
        code: json!({ "S3Bucket": Expr::sub(cx.names.assets_bucket_sub()), "S3Key": Expr::reference(&param) }),
        environment: json!({ "Variables": variables }),
        logging_config: json!({
            "LogFormat": "JSON", "ApplicationLogLevel": "INFO", "SystemLogLevel": "WARN", "LogGroup": Expr::reference(&log_id)
        }),
        reserved_concurrent_executions: doc.concurrency.as_ref().map_or(1, |c| c.value),
        // Only the worklist consumer opts out of AWS's recursive-loop stop; its hop guard travels in the message.
        // A continuing function invokes itself; its checkpoint caps the number of segments.
        recursive_loop: (doc.is_recursive() || doc.is_continuing()).then_some("Allow"),
        tags: cx.tags(),
    };
    t.add(&id, Resource::new(&props).checkov_skips(SKIPS));
    t.output(
        format!("{id}Name"),
        format!("Function '{name}'"),
        Expr::reference(&id),
    );
    match &doc.trigger {
        Some(Trigger::Queue(q)) => {
            let esm = EventSourceMapping {
                event_source_arn: Expr::get_att(queue_id(&q.name.value), "Arn"),
                function_name: Expr::reference(&id),
                batch_size: q.batch_size.as_ref().map_or(1, |b| b.value),
                function_response_types: vec!["ReportBatchItemFailures"],
                enabled: true,
                tags: cx.tags(),
            };
            t.add(format!("{}EventSource", logical(name)), Resource::new(&esm));
        }
        Some(Trigger::Http(_)) => {
            let url_id = format!("{}Url", logical(name));
            // AWS_IAM: every request must be SigV4-signed by a principal allowed lambda:InvokeFunctionUrl.
            t.add(
                &url_id,
                Resource::new(&FunctionUrl {
                    target_function_arn: Expr::get_att(&id, "Arn"),
                    auth_type: "AWS_IAM",
                }),
            );
            t.output(
                url_id.to_string(),
                format!("HTTPS endpoint of '{name}' (SigV4)"),
                Expr::get_att(&url_id, "FunctionUrl"),
            );
        }
        Some(Trigger::Schedule(s)) => {
            let rule = schedule_rule(&id, cx.names.rule(name), name, s);
            add_rule(t, &logical(name), &id, rule);
        }
        Some(Trigger::Schedules(all)) => {
            for (entry, s) in &all.0 {
                let scoped = format!("{name}-{}", entry.value.replace('_', "-"));
                let rule = schedule_rule(&id, cx.names.rule(&scoped), name, s);
                add_rule(
                    t,
                    &format!("{}{}", logical(name), logical(&entry.value)),
                    &id,
                    rule,
                );
            }
        }
        Some(Trigger::S3(s)) => {
            let prefix = cx.m.prefix(&s.prefix.value).expect("validated prefix");
            let rule = EventRule {
                name: cx.names.rule(name),
                description: format!(
                    "Invokes '{name}' when an object is created under '{}'",
                    prefix.doc.key.value
                ),
                state: "ENABLED",
                schedule_expression: None,
                event_pattern: Some(json!({
                    "source": ["aws.s3"],
                    "detail-type": ["Object Created"],
                    "detail": {
                        "bucket": { "name": [Expr::sub(cx.names.bucket_sub(prefix.bucket))] },
                        "object": { "key": [{ "prefix": prefix.template().static_head() }] }
                    }
                })),
                targets: vec![json!({ "Arn": Expr::get_att(&id, "Arn"), "Id": "function" })],
            };
            add_rule(t, &logical(name), &id, rule);
        }
        None => {}
    }
}

/// The rule that invokes function `id` on schedule `s` with its input.
fn schedule_rule(id: &str, rule_name: String, function: &str, s: &ScheduleTrigger) -> EventRule {
    let mut target = json!({ "Arn": Expr::get_att(id, "Arn"), "Id": "function" });
    if let Some(input) = &s.input {
        target["Input"] = Value::String(input.value.clone());
    }
    EventRule {
        name: rule_name,
        description: format!("Invokes '{function}' on {}", s.expression.value),
        state: "ENABLED",
        schedule_expression: Some(s.expression.value.clone()),
        event_pattern: None,
        targets: vec![target],
    }
}

/// `rule` and the permission that lets EventBridge invoke the function; `logical` prefixes both ids.
fn add_rule(t: &mut Template, logical_prefix: &str, function_id: &str, rule: EventRule) {
    let rule_id = format!("{logical_prefix}Rule");
    t.add(&rule_id, Resource::new(&rule));
    let permission = Permission {
        action: "lambda:InvokeFunction",
        function_name: Expr::get_att(function_id, "Arn"),
        principal: "events.amazonaws.com",
        source_arn: Expr::get_att(&rule_id, "Arn"),
        source_account: Expr::reference("AWS::AccountId"),
    };
    t.add(
        format!("{logical_prefix}RulePermission"),
        Resource::new(&permission),
    );
}
