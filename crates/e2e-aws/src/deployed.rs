//! What the stacks deployed on moto say about each function: its name, ARN, memory, timeout, the environment
//! the template set (resolved by CloudFormation), its package (the code key parameter in the assets bucket,
//! checked against Lambda's `CodeSha256`), its event source mapping and its function URL; and the schedule
//! inputs of its rules, read from the synthesized template that was deployed.

use std::collections::BTreeMap;

use anyhow::{Context, bail, ensure};
use serde_json::Value;

/// One function as deployed.
#[derive(Debug, Clone)]
pub struct Deployed {
    /// Manifest name (`ingest`).
    pub function: String,
    /// Feature (`ingestion`).
    pub feature: String,
    /// Physical name (`civic-ci-ingest`).
    pub name: String,
    pub arn: String,
    pub memory_mb: i32,
    pub timeout_s: i32,
    pub log_group: Option<String>,
    /// `Environment.Variables` of the deployed function.
    pub env: BTreeMap<String, String>,
    /// The package: assets bucket and key, and Lambda's `CodeSha256` of it.
    pub code_bucket: String,
    pub code_key: String,
    pub code_sha256: String,
    /// Event source mappings: (queue ARN, batch size, reports batch item failures).
    pub event_sources: Vec<(String, i32, bool)>,
    /// Function URL and its auth type.
    pub url: Option<(String, String)>,
    /// Inputs of the schedule rules that target it (the template's `Targets[].Input`), by rule name.
    pub schedules: BTreeMap<String, Value>,
}

/// Resources of `Type` in a synthesized template (JSON).
fn resources<'t>(template: &'t Value, kind: &str) -> Vec<(&'t str, &'t Value)> {
    template["Resources"]
        .as_object()
        .map(|r| {
            r.iter()
                .filter(|(_, v)| v["Type"] == kind)
                .map(|(k, v)| (k.as_str(), v))
                .collect()
        })
        .unwrap_or_default()
}

/// The logical id a `{"Fn::GetAtt": [id, "Arn"]}` or `{"Ref": id}` names.
fn referenced(v: &Value) -> Option<&str> {
    v.get("Ref")
        .and_then(Value::as_str)
        .or_else(|| v.get("Fn::GetAtt").and_then(|a| a[0].as_str()))
}

/// The variables, the code key parameter and the schedule inputs `template` gives the function `function_id`.
pub struct FromTemplate {
    pub name: String,
    pub env_names: Vec<String>,
    pub code_parameter: String,
    pub code_bucket_sub: String,
    pub schedules: BTreeMap<String, Value>,
}

/// Read the function resource `function_id` of a synthesized template.
pub fn from_template(template: &Value, function_id: &str) -> anyhow::Result<FromTemplate> {
    let props = &template["Resources"][function_id]["Properties"];
    let name = props["FunctionName"]
        .as_str()
        .with_context(|| format!("{function_id}: no literal FunctionName in the template"))?
        .to_owned();
    let env_names = props["Environment"]["Variables"]
        .as_object()
        .map(|v| v.keys().cloned().collect())
        .unwrap_or_default();
    let code_parameter = referenced(&props["Code"]["S3Key"])
        .with_context(|| format!("{function_id}: Code.S3Key is not a parameter reference"))?
        .to_owned();
    let code_bucket_sub = props["Code"]["S3Bucket"]["Fn::Sub"]
        .as_str()
        .with_context(|| format!("{function_id}: Code.S3Bucket is not a Fn::Sub"))?
        .to_owned();
    let mut schedules = BTreeMap::new();
    for (_, rule) in resources(template, "AWS::Events::Rule") {
        let p = &rule["Properties"];
        if p.get("ScheduleExpression").is_none() {
            continue;
        }
        for target in p["Targets"].as_array().into_iter().flatten() {
            if referenced(&target["Arn"]) != Some(function_id) {
                continue;
            }
            let rule_name = p["Name"].as_str().unwrap_or_default().to_owned();
            // A target without Input gets the scheduled event itself; ours all carry one.
            let input = match target["Input"].as_str() {
                Some(text) => serde_json::from_str(text)
                    .with_context(|| format!("rule {rule_name}: Input is not JSON: {text}"))?,
                None => bail!(
                    "rule {rule_name}: its target has no Input (the template always sets one)"
                ),
            };
            schedules.insert(rule_name, input);
        }
    }
    Ok(FromTemplate {
        name,
        env_names,
        code_parameter,
        code_bucket_sub,
        schedules,
    })
}

/// Every variable of the synthesized template reached the deployed function, and nothing else did; else what
/// is missing and what is extra.
pub fn same_variables(
    name: &str,
    deployed: &BTreeMap<String, String>,
    template: &[String],
) -> anyhow::Result<()> {
    let missing: Vec<&String> = template
        .iter()
        .filter(|k| !deployed.contains_key(*k))
        .collect();
    let extra: Vec<&String> = deployed.keys().filter(|k| !template.contains(k)).collect();
    ensure!(
        missing.is_empty() && extra.is_empty(),
        "{name}: the deployed environment differs from the template's: missing {missing:?}, not in the template {extra:?}"
    );
    Ok(())
}

/// The logical id infra-gen gives a function's resource.
pub fn function_id(function: &str) -> String {
    format!("{}Function", infra_gen::naming::logical(function))
}

/// Read the deployed function `function` of `feature` (stack `stack`, synthesized `template`) from moto.
pub async fn read(
    config: &aws_config::SdkConfig,
    s3: &aws_sdk_s3::Client,
    stack: &str,
    feature: &str,
    function: &str,
    template: &Value,
) -> anyhow::Result<Deployed> {
    let lambda = aws_sdk_lambda::Client::new(config);
    let cfn = aws_sdk_cloudformation::Client::new(config);
    let t = from_template(template, &function_id(function))?;
    let c = lambda
        .get_function_configuration()
        .function_name(&t.name)
        .send()
        .await
        .with_context(|| format!("GetFunctionConfiguration {} (stack {stack})", t.name))?;
    let arn = c.function_arn().unwrap_or_default().to_owned();
    ensure!(
        c.runtime().map(|r| r.as_str()) == Some("provided.al2023"),
        "{}: runtime {:?}, expected provided.al2023",
        t.name,
        c.runtime()
    );
    ensure!(
        c.handler() == Some("bootstrap"),
        "{}: handler {:?}, expected bootstrap",
        t.name,
        c.handler()
    );
    let env: BTreeMap<String, String> = c
        .environment()
        .and_then(|e| e.variables())
        .map(|v| v.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    same_variables(&t.name, &env, &t.env_names)?;
    // The package: the stack's code key parameter in the assets bucket (account and region from the ARN).
    let parts: Vec<&str> = arn.split(':').collect();
    ensure!(
        parts.len() >= 7,
        "{}: unexpected function ARN {arn}",
        t.name
    );
    let (region, account) = (parts[3], parts[4]);
    let code_bucket = t
        .code_bucket_sub
        .replace("${AWS::AccountId}", account)
        .replace("${AWS::Region}", region);
    let stacks = cfn
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .with_context(|| format!("DescribeStacks {stack}"))?;
    let code_key = stacks
        .stacks()
        .first()
        .and_then(|s| {
            s.parameters()
                .iter()
                .find(|p| p.parameter_key() == Some(t.code_parameter.as_str()))
        })
        .and_then(|p| p.parameter_value())
        .with_context(|| format!("stack {stack} has no parameter {}", t.code_parameter))?
        .to_owned();
    let code_sha256 = c.code_sha256().unwrap_or_default().to_owned();
    let mut event_sources = Vec::new();
    let mappings = lambda
        .list_event_source_mappings()
        .function_name(&t.name)
        .send()
        .await
        .with_context(|| format!("ListEventSourceMappings {}", t.name))?;
    for m in mappings.event_source_mappings() {
        let reports = m
            .function_response_types()
            .iter()
            .any(|r| r.as_str() == "ReportBatchItemFailures");
        event_sources.push((
            m.event_source_arn().unwrap_or_default().to_owned(),
            m.batch_size().unwrap_or(10),
            reports,
        ));
    }
    let url_resource = resources(template, "AWS::Lambda::Url")
        .into_iter()
        .find(|(_, u)| {
            referenced(&u["Properties"]["TargetFunctionArn"])
                == Some(function_id(function).as_str())
        });
    let url = match url_resource {
        None => None,
        Some((id, u)) => {
            let got = lambda
                .get_function_url_config()
                .function_name(&t.name)
                .send()
                .await;
            match got {
                Ok(u) => Some((
                    u.function_url().to_owned(),
                    u.auth_type().as_str().to_owned(),
                )),
                // moto's CloudFormation does not create AWS::Lambda::Url: take the auth type from the template
                // and give the URL the shape Lambda gives it.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_resource_not_found_exception()) =>
                {
                    let auth = u["Properties"]["AuthType"]
                        .as_str()
                        .with_context(|| format!("{id}: no AuthType"))?
                        .to_owned();
                    eprintln!(
                        "e2e-aws: note: the endpoint has no function URL for {} (moto's CloudFormation does not create {id}); using its template's AuthType {auth}",
                        t.name
                    );
                    let url_id = uuid::Uuid::new_v4().simple().to_string();
                    let region = arn.split(':').nth(3).unwrap_or_default();
                    Some((
                        format!("https://{url_id}.lambda-url.{region}.on.aws/"),
                        auth,
                    ))
                }
                Err(e) => {
                    return Err(anyhow::Error::new(e).context(format!(
                        "GetFunctionUrlConfig {}: the template declares {id}",
                        t.name
                    )));
                }
            }
        }
    };
    // The object exists where the stack says.
    s3.head_object()
        .bucket(&code_bucket)
        .key(&code_key)
        .send()
        .await
        .with_context(|| format!("{}: package s3://{code_bucket}/{code_key}", t.name))?;
    Ok(Deployed {
        function: function.to_owned(),
        feature: feature.to_owned(),
        name: t.name,
        arn,
        memory_mb: c.memory_size().unwrap_or(128),
        timeout_s: c.timeout().unwrap_or(3),
        log_group: c
            .logging_config()
            .and_then(|l| l.log_group())
            .map(str::to_owned),
        env,
        code_bucket,
        code_key,
        code_sha256,
        event_sources,
        url,
        schedules: t.schedules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The project's own synthesized ingestion template.
    fn ingestion() -> Value {
        let root = moto_harness::workspace_root();
        let m = infra_gen::load_valid(&root).unwrap();
        let s = infra_gen::synth::synth(&m, "ci")
            .into_iter()
            .find(|s| s.feature == "ingestion")
            .unwrap();
        serde_json::to_value(&s.template).unwrap()
    }

    #[test]
    fn the_template_gives_the_function_its_name_variables_package_and_schedule_inputs() {
        let t = from_template(&ingestion(), &function_id("ingest")).unwrap();
        assert_eq!(t.name, "civic-ci-ingest");
        assert!(
            t.env_names
                .contains(&"CIVIC_QUEUE_WORKLIST_URL".to_string()),
            "{:?}",
            t.env_names
        );
        assert_eq!(t.code_parameter, "IngestCodeKey");
        assert!(
            t.code_bucket_sub.contains("${AWS::AccountId}"),
            "{}",
            t.code_bucket_sub
        );
        let inputs: Vec<&Value> = t.schedules.values().collect();
        assert!(
            inputs.iter().any(|i| i["dataset"] == "la311"),
            "{:?}",
            t.schedules
        );
        assert!(from_template(&ingestion(), "NoSuchFunction").is_err());
    }

    #[test]
    fn a_deployed_environment_must_hold_exactly_the_templates_variables() {
        let env = |keys: &[&str]| -> BTreeMap<String, String> {
            keys.iter()
                .map(|k| (k.to_string(), "v".to_string()))
                .collect()
        };
        let template = vec!["CIVIC_STAGE".to_string(), "CIVIC_BUCKET_DATA".to_string()];
        same_variables("f", &env(&["CIVIC_BUCKET_DATA", "CIVIC_STAGE"]), &template).unwrap();
        let e = same_variables("f", &env(&["CIVIC_STAGE", "CIVIC_OTHER"]), &template)
            .unwrap_err()
            .to_string();
        assert!(e.contains(r#"missing ["CIVIC_BUCKET_DATA"]"#), "{e}");
        assert!(e.contains(r#"not in the template ["CIVIC_OTHER"]"#), "{e}");
    }
}
