//! The CI role can deploy what we synthesize, and no more.
//!
//! - Every request `deploy` sends (recorded by an SDK interceptor while it creates, re-deploys, recovers
//!   a stack from ROLLBACK_COMPLETE and UPDATE_ROLLBACK_FAILED, and deploys a template over the body
//!   limit against moto) is allowed by the policy `infra-gen ci-role` prints, and together they are
//!   every operation listed in `deploy::aws::CALLS` (whose completeness a unit test checks against the
//!   source). Change sets, deletes and rollbacks pass the bootstrap stack's service role.
//! - The service role's actions match the resource types' CloudFormation handler permissions
//!   (`tests/data/handler-permissions.json`), minus the documented exceptions.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use infra_gen::deploy::{self, Deployer, Options, aws::Aws};
use infra_gen::emit::service_role::{self, NOT_GRANTED, TYPE_ACTIONS};
use infra_gen::load_valid;
use moto_harness::Moto;
use serde_json::Value;

mod support;
use support::{packages, root};
#[path = "support/recorder.rs"]
mod recorder;
use recorder::{Recorder, Sent};
#[path = "support/cfn_faults.rs"]
mod cfn_faults;
use cfn_faults::{Faults, start_proxy};

const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

/// The permissions policy exactly as `infra-gen ci-role` prints it.
fn printed_policy() -> Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_infra-gen"))
        .current_dir(root())
        .args(["ci-role", "--repo", "acme/civic", "--account", ACCOUNT])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let at = text
        .find("# Permissions policy")
        .expect("a permissions policy section");
    let json = text[at..].split_once('\n').unwrap().1;
    serde_json::from_str(json).unwrap()
}

/// One authorization IAM makes for a request: action, resource ARN, request context.
#[derive(Debug, Clone)]
struct Check {
    action: String,
    resource: String,
    context: Vec<(&'static str, String)>,
}

fn check(action: &str, resource: impl Into<String>) -> Check {
    Check {
        action: action.into(),
        resource: resource.into(),
        context: Vec::new(),
    }
}

/// `s3:Operation` of a path-style S3 request and its bucket and key.
fn s3_call(s: &Sent) -> (String, String, Option<String>) {
    let after_scheme = s.uri.split_once("://").map_or(s.uri.as_str(), |(_, r)| r);
    let path = after_scheme.split_once('/').map_or("", |(_, p)| p);
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (b.to_string(), Some(k.to_string())),
        _ => (path.trim_end_matches('/').to_string(), None),
    };
    let op = match (s.method.as_str(), &key) {
        ("HEAD", Some(_)) => "HeadObject",
        ("PUT", Some(_)) => "PutObject",
        ("GET", Some(_)) => "GetObject",
        ("GET", None) if query.contains("list-type=2") => "ListObjectsV2",
        (m, _) => panic!("unexpected S3 request {m} {}", s.uri),
    };
    (format!("s3:{op}"), bucket, key)
}

/// The operation a request is (as in `deploy::aws::CALLS`) and what IAM checks for it.
fn authorizations(s: &Sent) -> (Vec<String>, Vec<Check>) {
    let Some(action) = s.param("Action") else {
        let (op, bucket, key) = s3_call(s);
        let checks = match op.as_str() {
            // HeadObject is authorized as GetObject; without ListBucket a missing key answers 403.
            "s3:HeadObject" => vec![
                check(
                    "s3:GetObject",
                    format!("arn:aws:s3:::{bucket}/{}", key.unwrap()),
                ),
                check("s3:ListBucket", format!("arn:aws:s3:::{bucket}")),
            ],
            "s3:PutObject" | "s3:GetObject" => vec![check(
                &op,
                format!("arn:aws:s3:::{bucket}/{}", key.unwrap()),
            )],
            _ => vec![check("s3:ListBucket", format!("arn:aws:s3:::{bucket}"))],
        };
        return (vec![op], checks);
    };
    let stack = s.param("StackName").expect("every call names its stack");
    let mut ops = vec![format!("cloudformation:{action}")];
    let mut checks = vec![check(
        &format!("cloudformation:{action}"),
        format!(
            "arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack}/f4d0c2a0-0000-4000-8000-000000000000"
        ),
    )];
    if let Some(role) = s.param("RoleARN") {
        let mut c = check("iam:PassRole", role);
        c.context
            .push(("iam:PassedToService", "cloudformation.amazonaws.com".into()));
        checks.push(c);
    }
    if let Some(url) = s.param("TemplateURL") {
        // CloudFormation reads the template with the caller's credentials.
        let path = url.split_once("://").unwrap().1.split_once('/').unwrap().1;
        checks.push(check("s3:GetObject", format!("arn:aws:s3:::{path}")));
        ops.push("s3:GetObject".into());
    }
    (ops, checks)
}

/// IAM's wildcard match: `*` any run of characters, `?` one character.
fn glob(pattern: &str, value: &str) -> bool {
    fn go(p: &[u8], v: &[u8]) -> bool {
        match (p.first(), v.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], v) || (!v.is_empty() && go(p, &v[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &v[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &v[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), value.as_bytes())
}

fn list(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether a statement's Condition holds for the request context (unknown operators never hold).
fn condition_holds(cond: Option<&Value>, context: &[(&str, String)]) -> bool {
    let Some(Value::Object(ops)) = cond else {
        return true;
    };
    ops.iter().all(|(op, keys)| {
        keys.as_object().into_iter().flatten().all(|(key, want)| {
            let Some((_, have)) = context.iter().find(|(k, _)| k == key) else {
                return false;
            };
            list(want).iter().any(|w| match op.as_str() {
                "StringEquals" => w == have,
                "StringLike" | "ArnLike" => glob(w, have),
                _ => false,
            })
        })
    })
}

fn statement_applies(st: &Value, c: &Check) -> bool {
    list(&st["Action"])
        .iter()
        .any(|a| glob(&a.to_ascii_lowercase(), &c.action.to_ascii_lowercase()))
        && list(&st["Resource"]).iter().any(|r| glob(r, &c.resource))
        && condition_holds(st.get("Condition"), &c.context)
}

fn allowed(policy: &Value, c: &Check) -> bool {
    let statements = policy["Statement"].as_array().unwrap();
    statements
        .iter()
        .any(|s| s["Effect"] == "Allow" && statement_applies(s, c))
        && !statements
            .iter()
            .any(|s| s["Effect"] == "Deny" && statement_applies(s, c))
}

#[test]
fn the_evaluator_refuses_what_the_ci_role_must_not_do() {
    let p = printed_policy();
    let denied = [
        check(
            "lambda:CreateFunction",
            "arn:aws:lambda:us-east-1:123456789012:function:civic-ci-process",
        ),
        check(
            "s3:CreateBucket",
            "arn:aws:s3:::civic-ci-data-123456789012-us-east-1",
        ),
        check(
            "s3:GetObject",
            "arn:aws:s3:::civic-ci-data-123456789012-us-east-1/raw/x",
        ),
        check(
            "iam:CreateRole",
            "arn:aws:iam::123456789012:role/civic-ci-process-us-east-1",
        ),
        check(
            "cloudformation:CreateChangeSet",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/other-ci-x/1",
        ),
        // The bootstrap stack (which holds the service role) is only read, never changed by CI.
        check(
            "cloudformation:CreateChangeSet",
            "arn:aws:cloudformation:us-east-1:123456789012:stack/civic-ci-bootstrap/1",
        ),
        // PassRole without the CloudFormation service in the context, or of a function's role.
        check(
            "iam:PassRole",
            "arn:aws:iam::123456789012:role/civic-ci-cfn-deploy-us-east-1",
        ),
        Check {
            context: vec![("iam:PassedToService", "cloudformation.amazonaws.com".into())],
            ..check(
                "iam:PassRole",
                "arn:aws:iam::123456789012:role/civic-ci-process-us-east-1",
            )
        },
    ];
    for c in &denied {
        assert!(!allowed(&p, c), "the CI role must not be allowed {c:?}");
    }
    let mut pass = check(
        "iam:PassRole",
        "arn:aws:iam::123456789012:role/civic-ci-cfn-deploy-us-east-1",
    );
    pass.context
        .push(("iam:PassedToService", "cloudformation.amazonaws.com".into()));
    assert!(allowed(&p, &pass));
    for st in p["Statement"].as_array().unwrap() {
        for a in list(&st["Action"]) {
            assert!(!a.contains('*'), "wildcard action {a} in {st}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_deploy_makes_is_allowed_by_the_printed_ci_policy() {
    let Some(moto) = Moto::start_or_skip() else {
        return;
    };
    let faults = Arc::new(Faults::default());
    let proxy = start_proxy(moto.endpoint(), faults.clone()).await;
    // `localhost` so moto resolves the large template's path-style TemplateURL (see tests/deploy.rs).
    let endpoint = format!("http://localhost:{}", moto.port());
    let conf = moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(&endpoint)
        .build();
    let rec = Recorder::default();
    let mut aws = Aws::from_conf(&conf).unwrap();
    aws.cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&conf)
            .endpoint_url(&proxy)
            .interceptor(rec.clone())
            .build(),
    );
    aws.s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .interceptor(rec.clone())
            .build(),
    );
    aws.poll = Duration::from_millis(50);
    let m = load_valid(&root()).unwrap();
    let d = Deployer {
        m: &m,
        aws,
        opts: Options {
            stage: "ci".into(),
            yes: true,
            diff_only: false,
        },
    };
    // The operator bootstraps (service role, assets bucket); CI does everything after.
    d.bootstrap().await.unwrap();
    rec.take();

    let dir = tempfile::tempdir().unwrap();
    packages(dir.path(), "process v1");
    let arts = deploy::artifacts(&root(), &m, Some(dir.path())).unwrap();
    let all = deploy::select(&m, &[]).unwrap();
    let processing = deploy::select(&m, &["processing".to_string()]).unwrap();
    d.deploy(&all, &arts, false).await.unwrap(); // create
    d.deploy(&all, &arts, false).await.unwrap(); // nothing to change
    faults
        .rollback_complete
        .lock()
        .unwrap()
        .insert("civic-ci-processing".into());
    d.deploy(&processing, &arts, true).await.unwrap(); // delete, create again
    faults
        .update_rollback_failed
        .lock()
        .unwrap()
        .insert("civic-ci-processing".into());
    d.deploy(&processing, &arts, true).await.unwrap(); // continue the rollback
    let body = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Metadata": { "Padding": "x".repeat(60_000) },
        "Resources": { "Queue": { "Type": "AWS::SQS::Queue", "Properties": { "QueueName": "civic-ci-padded" } } }
    })
    .to_string();
    let bucket = d.assets_bucket().await.unwrap();
    let role = d.service_role_arn().await.unwrap();
    d.deploy_stack(deploy::StackRequest {
        stack: "civic-ci-padded",
        feature: "padded",
        body,
        parameters: Vec::new(),
        assets_bucket: Some(&bucket),
        role_arn: Some(&role),
    })
    .await
    .unwrap();

    let sent = rec.take();
    let policy = printed_policy();
    let mut seen = BTreeSet::new();
    let mut refused = Vec::new();
    for s in &sent {
        let (ops, checks) = authorizations(s);
        seen.extend(ops);
        for c in checks {
            if !allowed(&policy, &c) {
                refused.push(format!(
                    "{} on {} ({:?})",
                    c.action,
                    c.resource,
                    s.param("Action").unwrap_or(&s.uri)
                ));
            }
        }
        if matches!(
            s.param("Action"),
            Some("CreateChangeSet" | "DeleteStack" | "ContinueUpdateRollback")
        ) {
            assert_eq!(s.param("RoleARN"), Some(role.as_str()), "{s:?}");
        }
    }
    // The padded stack stands for a feature stack here; the policy names the real feature stacks.
    refused.retain(|r| !r.contains("stack/civic-ci-padded/"));
    assert!(
        refused.is_empty(),
        "the printed CI policy refuses:\n{}",
        refused.join("\n")
    );
    let listed: BTreeSet<String> = deploy::aws::CALLS.iter().map(|c| c.to_string()).collect();
    assert_eq!(seen, listed, "recorded operations vs deploy::aws::CALLS");
}

#[test]
fn the_service_role_grants_what_the_resource_handlers_need() {
    let m = load_valid(&root()).unwrap();
    let types = service_role::resource_types(&m);
    assert!(types.contains("AWS::Lambda::Function"), "{types:?}");
    assert_eq!(
        service_role::unknown_types(&types),
        Vec::<&str>::new(),
        "add a row to TYPE_ACTIONS in infra-gen/src/emit/service_role.rs"
    );
    let data: Value = serde_json::from_str(include_str!("data/handler-permissions.json")).unwrap();
    let table: BTreeMap<&str, &[&str]> = TYPE_ACTIONS.iter().copied().collect();
    let mut problems = Vec::new();
    for t in &types {
        let Some(handlers) = data["types"][*t].as_object() else {
            problems.push(format!(
                "{t}: not in tests/data/handler-permissions.json; run `make handler-permissions`"
            ));
            continue;
        };
        let needed: BTreeSet<&str> = handlers.values().flat_map(list).collect();
        let granted = table[t];
        for a in &needed {
            let excepted = NOT_GRANTED.iter().any(|(ty, pat, _)| {
                (*ty == "*" || ty == t) && (a == pat || (pat.ends_with(':') && a.starts_with(pat)))
            });
            if !granted.contains(a) && !excepted {
                problems.push(format!(
                    "{t}: handler permission {a} is neither granted nor in NOT_GRANTED"
                ));
            }
            if granted.contains(a) && excepted {
                problems.push(format!("{t}: {a} is both granted and in NOT_GRANTED"));
            }
        }
        for a in granted {
            if !needed.contains(a) {
                problems.push(format!(
                    "{t}: {a} is granted but no handler of the type needs it"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));

    // And the bootstrap template carries them, scoped to the stage, trusted by CloudFormation only.
    let t: Value =
        serde_json::from_str(&infra_gen::emit::emit_bootstrap(&m, "ci").to_json()).unwrap();
    let role = &t["Resources"][service_role::SERVICE_ROLE_ID];
    assert_eq!(role["Type"], "AWS::IAM::Role");
    assert_eq!(
        role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "cloudformation.amazonaws.com"
    );
    // IAM limits a role's inline policies to 10,240 characters (whitespace not counted); the
    // substituted partition, region and account are at most this long again.
    let document =
        serde_json::to_string(&role["Properties"]["Policies"][0]["PolicyDocument"]).unwrap();
    let size = document.chars().filter(|c| !c.is_whitespace()).count();
    assert!(
        size < 9_000,
        "service role policy is {size} characters; IAM allows 10,240"
    );
    eprintln!("service role policy: {size} characters");
    let statements = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_array()
        .unwrap();
    let allowed_actions: BTreeSet<&str> = statements
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| list(&s["Action"]))
        .collect();
    for a in service_role::actions_for(&types) {
        assert!(
            allowed_actions.contains(a),
            "{a} missing from the service role"
        );
    }
    for s in statements.iter().filter(|s| s["Effect"] == "Allow") {
        let resources: Vec<&str> = s["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().or(r["Fn::Sub"].as_str()).unwrap())
            .collect();
        assert!(!resources.is_empty(), "{s}");
        for r in resources {
            // Event source mappings are named by a UUID Lambda assigns: no name to scope by.
            let mapping = r.ends_with(":event-source-mapping:*");
            assert!(
                r == "*" && s["Sid"].as_str().unwrap().starts_with("AnyResource")
                    || r.contains("civic-ci-")
                    || mapping,
                "{s}: resource {r} not scoped to the stage"
            );
        }
    }
}

/// Every `${...}` in `v` that is not the text of an `Fn::Sub` (cfn-lint E1029), as JSON paths.
fn unsubstituted(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.contains("${") => out.push(format!("{path}: {s}")),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                unsubstituted(x, &format!("{path}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                if k == "Fn::Sub" && x.is_string() {
                    continue;
                }
                unsubstituted(x, &format!("{path}/{k}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn the_bootstrap_template_substitutes_every_variable_it_names() {
    let m = load_valid(&root()).unwrap();
    let t: Value =
        serde_json::from_str(&infra_gen::emit::emit_bootstrap(&m, "ci").to_json()).unwrap();
    let mut found = Vec::new();
    unsubstituted(&t, "", &mut found);
    assert_eq!(found, Vec::<String>::new());
    // The check sees a variable outside Fn::Sub.
    let mut bad = Vec::new();
    unsubstituted(
        &serde_json::json!({ "Condition": { "ArnLike": { "k": "arn:${AWS::Partition}:x" } } }),
        "",
        &mut bad,
    );
    assert_eq!(bad, ["/Condition/ArnLike/k: arn:${AWS::Partition}:x"]);
}
