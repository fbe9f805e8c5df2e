//! The IAM check of every AWS request a function sent: each request as the action and resource IAM
//! authorizes it by (S3 from method, path and query; JSON services from `X-Amz-Target` and the body), evaluated
//! against the identity policies of the function's role in its synthesized template (`Fn::Sub` resolved for the
//! deployed account and region). Only what our templates use is evaluated: `Allow`/`Deny`, action and resource
//! wildcards, and `StringLike`/`StringEquals` conditions on `s3:prefix`; anything else is an error, not a pass.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use serde_json::Value;

/// One request as IAM sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `s3:GetObject`.
    pub action: String,
    pub resource: String,
    /// Condition keys of the request (`s3:prefix`).
    pub context: BTreeMap<String, String>,
}

impl Request {
    fn new(action: &str, resource: String) -> Request {
        Request {
            action: action.to_owned(),
            resource,
            context: BTreeMap::new(),
        }
    }
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on {}", self.action, self.resource)?;
        for (k, v) in &self.context {
            write!(f, " ({k}={v:?})")?;
        }
        Ok(())
    }
}

/// The service of a SigV4-signed request, from its credential scope (`Credential=AK/date/region/service/…`).
pub fn signed_service(authorization: &str) -> Option<&str> {
    let scope = authorization.split("Credential=").nth(1)?;
    scope.split(['/', ',']).nth(3)
}

/// Decode `%XX` escapes of a URL path or query component.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

fn query_map(query: &str) -> BTreeMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

/// The keys of a `DeleteObjects` request body (`<Delete><Object><Key>…</Key></Object>…</Delete>`).
pub fn delete_keys(body: &[u8]) -> anyhow::Result<Vec<String>> {
    use quick_xml::events::Event;
    let text = std::str::from_utf8(body).context("the DeleteObjects body is not UTF-8")?;
    let mut reader = quick_xml::Reader::from_str(text);
    let (mut keys, mut current): (Vec<String>, Option<String>) = (Vec::new(), None);
    loop {
        match reader
            .read_event()
            .context("the DeleteObjects body is not XML")?
        {
            Event::Start(e) if e.name().as_ref() == b"Key" => current = Some(String::new()),
            Event::End(e) if e.name().as_ref() == b"Key" => {
                keys.extend(current.take());
            }
            Event::Text(t) => {
                if let Some(k) = current.as_mut() {
                    k.push_str(&t.decode()?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(k) = current.as_mut() {
                    match r.resolve_char_ref()? {
                        Some(c) => k.push(c),
                        None => {
                            let name = r.decode()?;
                            let v = quick_xml::escape::resolve_xml_entity(&name)
                                .with_context(|| format!("unknown entity &{name}; in a key"))?;
                            k.push_str(v);
                        }
                    }
                }
            }
            Event::Eof => return Ok(keys),
            _ => {}
        }
    }
}

/// What IAM authorizes a path-style S3 request by (`DeleteObjects`: `s3:DeleteObject` on each key of `body`).
pub fn s3_request(
    method: &str,
    path: &str,
    query: &str,
    copy_source: Option<&str>,
    body: &[u8],
) -> anyhow::Result<Vec<Request>> {
    let path = percent_decode(path.trim_start_matches('/'));
    let (bucket, key) = path.split_once('/').unwrap_or((&path, ""));
    let q = query_map(query);
    let object = format!("arn:aws:s3:::{bucket}/{key}");
    let whole = || format!("{method} /{path}?{query}");
    if bucket.is_empty() {
        bail!("S3 request without a bucket: {}", whole());
    }
    let mut out = Vec::new();
    match (method, key.is_empty()) {
        ("GET", true)
            if q.contains_key("list-type") || q.contains_key("prefix") || q.is_empty() =>
        {
            let mut r = Request::new("s3:ListBucket", format!("arn:aws:s3:::{bucket}"));
            if let Some(p) = q.get("prefix") {
                r.context.insert("s3:prefix".into(), p.clone());
            }
            out.push(r);
        }
        ("GET" | "HEAD", false) => out.push(Request::new("s3:GetObject", object)),
        ("PUT", false) => {
            out.push(Request::new("s3:PutObject", object));
            if let Some(src) = copy_source {
                let src = percent_decode(src.trim_start_matches('/'));
                out.push(Request::new("s3:GetObject", format!("arn:aws:s3:::{src}")));
            }
        }
        ("POST", false) if q.contains_key("uploads") || q.contains_key("uploadId") => {
            out.push(Request::new("s3:PutObject", object))
        }
        ("DELETE", false) if q.contains_key("uploadId") => {
            out.push(Request::new("s3:AbortMultipartUpload", object))
        }
        ("DELETE", false) => out.push(Request::new("s3:DeleteObject", object)),
        ("POST", true) if q.contains_key("delete") => {
            for key in delete_keys(body)? {
                out.push(Request::new(
                    "s3:DeleteObject",
                    format!("arn:aws:s3:::{bucket}/{key}"),
                ));
            }
        }
        _ => bail!("no IAM action known for the S3 request {}", whole()),
    }
    Ok(out)
}

/// What IAM authorizes a JSON-protocol request (`X-Amz-Target: AmazonSQS.SendMessage`) by, for the services our
/// functions call: SQS (queue from `QueueUrl`) and SSM (parameter from `Name`).
pub fn json_request(
    target: &str,
    body: &[u8],
    region: &str,
    account: &str,
) -> anyhow::Result<Request> {
    let (prefix, op) = target
        .split_once('.')
        .with_context(|| format!("X-Amz-Target {target:?} is not <service>.<operation>"))?;
    let v: Value = serde_json::from_slice(body)
        .with_context(|| format!("{target}: the request body is not JSON"))?;
    match prefix {
        "AmazonSQS" => {
            let url = v["QueueUrl"]
                .as_str()
                .with_context(|| format!("{target}: no QueueUrl"))?;
            let name = url
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or_default();
            let owner = url
                .trim_end_matches('/')
                .rsplit('/')
                .nth(1)
                .unwrap_or(account);
            // SendMessageBatch is authorized as SendMessage, DeleteMessageBatch as DeleteMessage, …
            let action = op.strip_suffix("Batch").unwrap_or(op);
            Ok(Request::new(
                &format!("sqs:{action}"),
                format!("arn:aws:sqs:{region}:{owner}:{name}"),
            ))
        }
        "AmazonSSM" => {
            let name = v["Name"]
                .as_str()
                .with_context(|| format!("{target}: no Name"))?;
            let name = if name.starts_with('/') {
                name.to_owned()
            } else {
                format!("/{name}")
            };
            Ok(Request::new(
                &format!("ssm:{op}"),
                format!("arn:aws:ssm:{region}:{account}:parameter{name}"),
            ))
        }
        _ => bail!("no IAM mapping for requests to {target}"),
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` one.
pub fn wildcard(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A role's identity policy statements.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Value>,
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

impl Policy {
    /// The inline policies of the role the template's function `function_id` runs as, each `Fn::Sub` resolved.
    pub fn of_function(
        template: &Value,
        function_id: &str,
        account: &str,
        region: &str,
    ) -> anyhow::Result<Policy> {
        let role = &template["Resources"][function_id]["Properties"]["Role"]["Fn::GetAtt"][0];
        let role = role.as_str().with_context(|| {
            format!("{function_id}: Role is not a GetAtt of a role in the template")
        })?;
        let props = &template["Resources"][role]["Properties"];
        if props.get("ManagedPolicyArns").is_some() {
            bail!("{role}: managed policies are not evaluated here");
        }
        let resolve = |v: &Value| -> anyhow::Result<String> {
            match v {
                Value::String(s) => Ok(s.clone()),
                Value::Object(o) => match o.get("Fn::Sub").and_then(Value::as_str) {
                    Some(s) => Ok(s
                        .replace("${AWS::Partition}", "aws")
                        .replace("${AWS::Region}", region)
                        .replace("${AWS::AccountId}", account)
                        .replace("${AWS::URLSuffix}", "amazonaws.com")),
                    None => bail!("{role}: a Resource that is not a string or Fn::Sub: {v}"),
                },
                _ => bail!("{role}: unexpected Resource {v}"),
            }
        };
        let mut statements = Vec::new();
        for p in props["Policies"].as_array().into_iter().flatten() {
            for st in p["PolicyDocument"]["Statement"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let mut st = st.clone();
                let resources: Vec<Value> = match &st["Resource"] {
                    Value::Array(a) => a.clone(),
                    other => vec![other.clone()],
                };
                let resolved: anyhow::Result<Vec<Value>> = resources
                    .iter()
                    .map(|r| resolve(r).map(Value::String))
                    .collect();
                st["Resource"] = Value::Array(resolved?);
                statements.push(st);
            }
        }
        Ok(Policy { statements })
    }

    fn matches(&self, st: &Value, r: &Request) -> anyhow::Result<bool> {
        let action = strings(&st["Action"])
            .iter()
            .any(|a| wildcard(&a.to_ascii_lowercase(), &r.action.to_ascii_lowercase()));
        let resource = strings(&st["Resource"])
            .iter()
            .any(|p| wildcard(p, &r.resource));
        if !(action && resource) {
            return Ok(false);
        }
        let Some(conditions) = st.get("Condition").and_then(Value::as_object) else {
            return Ok(true);
        };
        for (op, keys) in conditions {
            for (key, expected) in keys.as_object().into_iter().flatten() {
                let Some(actual) = r.context.get(key) else {
                    return Ok(false);
                };
                let ok = match op.as_str() {
                    "StringLike" => strings(expected).iter().any(|p| wildcard(p, actual)),
                    "StringEquals" => strings(expected).iter().any(|p| p == actual),
                    other => bail!("condition operator {other} is not evaluated here"),
                };
                if !ok {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// `Ok(())` when an `Allow` statement matches and no `Deny` does; else why not.
    pub fn check(&self, r: &Request) -> anyhow::Result<Result<(), String>> {
        let mut allowed = None;
        for st in &self.statements {
            if self.matches(st, r)? {
                match st["Effect"].as_str() {
                    Some("Deny") => {
                        return Ok(Err(format!(
                            "denied by statement {}",
                            st["Sid"].as_str().unwrap_or("(no Sid)")
                        )));
                    }
                    Some("Allow") => {
                        allowed = st["Sid"]
                            .as_str()
                            .map(str::to_owned)
                            .or(Some(String::new()))
                    }
                    other => bail!("statement effect {other:?}"),
                }
            }
        }
        Ok(match allowed {
            Some(_) => Ok(()),
            None => Err("no statement of the role allows it".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processing_policy() -> Policy {
        let root = moto_harness::workspace_root();
        let m = infra_gen::load_valid(&root).unwrap();
        let s = infra_gen::synth::synth(&m, "ci")
            .into_iter()
            .find(|s| s.feature == "processing")
            .unwrap();
        let t = serde_json::to_value(&s.template).unwrap();
        Policy::of_function(&t, "ProcessFunction", "123456789012", "us-east-1").unwrap()
    }

    #[test]
    fn s3_requests_map_to_their_actions() {
        let r = s3_request("GET", "/b/raw/x/run%3D1/part.parquet", "", None, b"").unwrap();
        assert_eq!(
            r,
            [Request::new(
                "s3:GetObject",
                "arn:aws:s3:::b/raw/x/run=1/part.parquet".into()
            )]
        );
        let r = s3_request("GET", "/b", "list-type=2&prefix=runs%2Fla311%2F", None, b"").unwrap();
        assert_eq!(r[0].action, "s3:ListBucket");
        assert_eq!(r[0].resource, "arn:aws:s3:::b");
        assert_eq!(r[0].context["s3:prefix"], "runs/la311/");
        assert_eq!(
            s3_request("HEAD", "/b/k", "", None, b"").unwrap()[0].action,
            "s3:GetObject"
        );
        assert_eq!(
            s3_request("PUT", "/b/k", "partNumber=1&uploadId=u", None, b"").unwrap()[0].action,
            "s3:PutObject"
        );
        assert_eq!(
            s3_request("POST", "/b/k", "uploads", None, b"").unwrap()[0].action,
            "s3:PutObject"
        );
        assert_eq!(
            s3_request("DELETE", "/b/k", "uploadId=u", None, b"").unwrap()[0].action,
            "s3:AbortMultipartUpload"
        );
        let copy = s3_request("PUT", "/b/k2", "", Some("b/k1"), b"").unwrap();
        assert_eq!(
            copy[1],
            Request::new("s3:GetObject", "arn:aws:s3:::b/k1".into())
        );
        let body = br#"<?xml version="1.0" encoding="UTF-8"?><Delete><Object><Key>runs/x/run=1/checkpoint.json</Key></Object><Object><Key>a&amp;b</Key></Object><Quiet>true</Quiet></Delete>"#;
        let del = s3_request("POST", "/b", "delete", None, body).unwrap();
        assert_eq!(
            del,
            [
                Request::new(
                    "s3:DeleteObject",
                    "arn:aws:s3:::b/runs/x/run=1/checkpoint.json".into()
                ),
                Request::new("s3:DeleteObject", "arn:aws:s3:::b/a&b".into()),
            ]
        );
        assert!(s3_request("POST", "/b", "select", None, b"").is_err());
    }

    #[test]
    fn json_requests_map_to_their_actions() {
        let r = json_request(
            "AmazonSQS.SendMessageBatch",
            br#"{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/civic-ci-worklist"}"#,
            "us-east-1",
            "123456789012",
        )
        .unwrap();
        assert_eq!(
            r,
            Request::new(
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:123456789012:civic-ci-worklist".into()
            )
        );
        let r = json_request(
            "AmazonSSM.GetParameter",
            br#"{"Name":"/civic/ci/ingestion/socrata-app-token","WithDecryption":true}"#,
            "us-east-1",
            "123456789012",
        )
        .unwrap();
        assert_eq!(
            r.resource,
            "arn:aws:ssm:us-east-1:123456789012:parameter/civic/ci/ingestion/socrata-app-token"
        );
        assert!(json_request("AmazonDynamoDB.GetItem", b"{}", "r", "a").is_err());
    }

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard(
            "raw/*/run=*/cd=*/*",
            "raw/la311/run=1/cd=7/part-00001.parquet"
        ));
        assert!(!wildcard(
            "raw/*/run=*/cd=*/*",
            "raw/la311/run=1/part.parquet"
        ));
        assert!(wildcard("a?c", "abc") && !wildcard("a?c", "ac"));
        assert!(wildcard("*", "") && !wildcard("", "x"));
    }

    #[test]
    fn the_process_role_allows_its_grants_and_nothing_else() {
        let p = processing_policy();
        let data = "arn:aws:s3:::civic-ci-data-123456789012-us-east-1";
        let ok = |r: Request| p.check(&r).unwrap();
        assert_eq!(
            ok(Request::new(
                "s3:GetObject",
                format!("{data}/raw/la311/run=1/cd=7/part-00000.parquet")
            )),
            Ok(())
        );
        assert!(
            ok(Request::new(
                "s3:PutObject",
                format!("{data}/raw/la311/run=1/cd=7/part-00000.parquet")
            ))
            .is_err(),
            "raw is read-only for process"
        );
        // A writer deletes what it owns (a retried job's stale quarantine), never what it only reads.
        assert_eq!(
            ok(Request::new(
                "s3:DeleteObject",
                format!("{data}/quarantine/la311/run=1/transform/cd=7.jsonl")
            )),
            Ok(())
        );
        assert!(
            ok(Request::new(
                "s3:DeleteObject",
                format!("{data}/raw/la311/run=1/cd=7/part-00000.parquet")
            ))
            .is_err()
        );
        let mut list = Request::new("s3:ListBucket", data.into());
        assert!(ok(list.clone()).is_err(), "listing without a prefix");
        list.context
            .insert("s3:prefix".into(), "canonical/la311/".into());
        assert_eq!(ok(list.clone()), Ok(()));
        list.context.insert("s3:prefix".into(), "secret/".into());
        assert!(ok(list).is_err());
        assert_eq!(
            ok(Request::new(
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:123456789012:civic-ci-worklist".into()
            )),
            Ok(())
        );
        assert!(
            ok(Request::new(
                "sqs:PurgeQueue",
                "arn:aws:sqs:us-east-1:123456789012:civic-ci-worklist".into()
            ))
            .is_err()
        );
    }

    #[test]
    fn the_credential_scope_names_the_service() {
        let a = "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x";
        assert_eq!(signed_service(a), Some("sqs"));
        assert_eq!(signed_service("Bearer x"), None);
    }
}
