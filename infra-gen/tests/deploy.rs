//! Deploys against a real AWS-compatible endpoint (`moto_server`, started per test on a free loopback
//! port by `moto-harness`): bootstrap, create every stack, re-deploy as a no-op, update only the stack
//! whose function changed, and destroy; and a template over CloudFormation's 51,200-byte body limit
//! deployed from the assets bucket through the S3 client's endpoint.

use std::time::Duration;

use infra_gen::deploy::{self, Deployer, Options, Outcome, aws::Aws};
use infra_gen::load_valid;
use moto_harness::Moto;
use sha2::Digest;

mod support;
use support::{packages, root};
#[path = "support/recorder.rs"]
mod recorder;

async fn deployer<'m>(moto: &Moto, m: &'m infra_gen::manifest::Manifests) -> Deployer<'m> {
    let mut aws = Aws::from_conf(&moto.sdk_config().await).unwrap();
    aws.poll = Duration::from_millis(100);
    Deployer {
        m,
        aws,
        opts: Options {
            stage: "ci".into(),
            yes: true,
            diff_only: false,
        },
    }
}

fn outcomes(r: &[(String, Outcome)]) -> Vec<(&str, &Outcome)> {
    r.iter().map(|(s, o)| (s.as_str(), o)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn bootstrap_deploy_noop_update_one_destroy() {
    let Some(moto) = Moto::start_or_skip() else {
        return;
    };
    let m = load_valid(&root()).unwrap();
    let d = deployer(&moto, &m).await;
    let dir = tempfile::tempdir().unwrap();

    // Deploying before bootstrap stops with the command to run, before touching any stack.
    packages(dir.path(), "process v1");
    let arts = deploy::artifacts(&root(), &m, Some(dir.path())).unwrap();
    let all = deploy::select(&m, &[]).unwrap();
    let err = d.deploy(&all, &arts, false).await.unwrap_err().to_string();
    assert!(
        err.contains("run `infra-gen bootstrap --stage ci` first"),
        "{err}"
    );

    assert_eq!(d.bootstrap().await.unwrap(), Outcome::Created);
    let bucket = d.assets_bucket().await.unwrap();
    assert_eq!(bucket, "civic-ci-assets-123456789012-us-east-1");

    let r = d.deploy(&all, &arts, false).await.unwrap();
    assert_eq!(
        outcomes(&r),
        [
            ("civic-ci-ingestion", &Outcome::Created),
            ("civic-ci-ledger", &Outcome::Created),
            ("civic-ci-processing", &Outcome::Created)
        ]
    );

    // What was synthesized exists: every logical resource, the queue's redrive, the buckets, the packages.
    for s in infra_gen::synth::synth(&m, "ci") {
        let res = d
            .aws
            .cfn
            .describe_stack_resources()
            .stack_name(&s.name)
            .send()
            .await
            .unwrap();
        let mut deployed: Vec<String> = res
            .stack_resources()
            .iter()
            .map(|r| r.logical_resource_id().unwrap_or_default().to_string())
            .collect();
        let mut expected: Vec<String> = s.template.resources.keys().cloned().collect();
        deployed.sort();
        expected.sort();
        // moto reports some resources (policies, function URLs) without a logical id; count them, match the rest by name.
        assert_eq!(
            deployed.len(),
            expected.len(),
            "{}: {deployed:?} vs {expected:?}",
            s.name
        );
        for id in deployed.iter().filter(|id| !id.is_empty()) {
            assert!(expected.contains(id), "{}: unexpected {id}", s.name);
        }
        let unnamed = deployed.iter().filter(|id| id.is_empty()).count();
        let missing = expected.iter().filter(|id| !deployed.contains(id)).count();
        assert_eq!(unnamed, missing, "{}: {deployed:?}", s.name);
        let body = d
            .aws
            .cfn
            .get_template()
            .stack_name(&s.name)
            .send()
            .await
            .unwrap()
            .template_body()
            .unwrap_or_default()
            .to_string();
        assert_eq!(
            body.contains("\"RecursiveLoop\": \"Allow\""),
            // The worklist consumer, and ingest, which continues itself past its timeout.
            s.feature == "processing" || s.feature == "ingestion",
            "{}",
            s.name
        );
    }
    let sqs = moto.sqs().await;
    let url = sqs
        .get_queue_url()
        .queue_name("civic-ci-worklist")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
        .send()
        .await
        .unwrap();
    let redrive = attrs
        .attributes()
        .unwrap()
        .get(&aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy)
        .cloned()
        .unwrap_or_default();
    assert!(
        redrive.contains("civic-ci-worklist-dlq") && redrive.contains("5"),
        "{redrive}"
    );
    let s3 = moto.s3().await;
    for b in [
        "civic-ci-data-123456789012-us-east-1",
        "civic-ci-ledger-123456789012-us-east-1",
    ] {
        s3.head_bucket()
            .bucket(b)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{b}: {e:?}"));
    }
    for a in &arts {
        s3.head_object()
            .bucket(&bucket)
            .key(a.key())
            .send()
            .await
            .unwrap();
    }

    // A second deploy changes nothing.
    let r = d.deploy(&all, &arts, false).await.unwrap();
    assert!(r.iter().all(|(_, o)| *o == Outcome::NoChanges), "{r:?}");

    // New code in one function updates only its feature's stack.
    packages(dir.path(), "process v2");
    let arts2 = deploy::artifacts(&root(), &m, Some(dir.path())).unwrap();
    let r = d.deploy(&all, &arts2, false).await.unwrap();
    assert_eq!(
        outcomes(&r),
        [
            ("civic-ci-ingestion", &Outcome::NoChanges),
            ("civic-ci-ledger", &Outcome::NoChanges),
            ("civic-ci-processing", &Outcome::Updated)
        ]
    );

    // diff shows nothing to do now, and executes nothing.
    let dd = Deployer {
        m: &m,
        aws: d.aws.clone(),
        opts: Options {
            stage: "ci".into(),
            yes: true,
            diff_only: true,
        },
    };
    let r = dd.deploy(&all, &arts2, false).await.unwrap();
    assert!(r.iter().all(|(_, o)| *o == Outcome::NoChanges), "{r:?}");

    // Destroy removes the feature stacks.
    d.destroy(&all).await.unwrap();
    for stack in [
        "civic-ci-ingestion",
        "civic-ci-ledger",
        "civic-ci-processing",
    ] {
        assert_eq!(
            deploy::aws::stack_status(&d.aws, stack)
                .await
                .unwrap()
                .map(|s| s.0)
                .filter(|s| s != "DELETE_COMPLETE"),
            None,
            "{stack}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn deploying_one_feature_refuses_when_its_dependency_is_missing() {
    let Some(moto) = Moto::start_or_skip() else {
        return;
    };
    let m = load_valid(&root()).unwrap();
    let d = deployer(&moto, &m).await;
    let dir = tempfile::tempdir().unwrap();
    packages(dir.path(), "process v1");
    let arts = deploy::artifacts(&root(), &m, Some(dir.path())).unwrap();
    d.bootstrap().await.unwrap();
    let only = deploy::select(&m, &["processing".to_string()]).unwrap();
    let err = d.deploy(&only, &arts, true).await.unwrap_err().to_string();
    assert!(
        err.contains("depends on 'ingestion', whose stack civic-ci-ingestion is not deployed"),
        "{err}"
    );
    assert!(
        deploy::aws::stack_status(&d.aws, "civic-ci-processing")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_over_the_body_limit_is_read_from_the_assets_bucket_at_the_s3_endpoint() {
    let Some(moto) = Moto::start_or_skip() else {
        return;
    };
    // `localhost`, not 127.0.0.1: moto's CloudFormation reads a TemplateURL on a local endpoint as
    // path-style only when the host says localhost (a real endpoint needs no such hint).
    let endpoint = format!("http://localhost:{}", moto.port());
    let conf = moto
        .sdk_config()
        .await
        .into_builder()
        .endpoint_url(&endpoint)
        .build();
    let rec = recorder::Recorder::default();
    let mut aws = Aws::from_conf(&conf).unwrap();
    aws.cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&conf)
            .interceptor(rec.clone())
            .build(),
    );
    aws.poll = Duration::from_millis(100);
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
    d.bootstrap().await.unwrap();
    let bucket = d.assets_bucket().await.unwrap();
    let role = d.service_role_arn().await.unwrap();
    let stack = "civic-ci-padded";
    let body = serde_json::json!({
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "a template padded past the TemplateBody limit",
        "Metadata": { "Padding": "x".repeat(60_000) },
        "Resources": { "Queue": { "Type": "AWS::SQS::Queue", "Properties": { "QueueName": stack } } }
    })
    .to_string();
    assert!(
        body.len() > deploy::aws::MAX_TEMPLATE_BODY,
        "{}",
        body.len()
    );
    rec.take();
    let outcome = d
        .deploy_stack(deploy::StackRequest {
            stack,
            feature: "padded",
            body: body.clone(),
            parameters: Vec::new(),
            assets_bucket: Some(&bucket),
            role_arn: Some(&role),
        })
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Created);

    let sent = rec.take();
    let create = sent
        .iter()
        .find(|s| s.param("Action") == Some("CreateChangeSet"))
        .expect("a change set was created");
    assert_eq!(create.param("TemplateBody"), None, "{create:?}");
    assert_eq!(create.param("RoleARN"), Some(role.as_str()));
    let url = create.param("TemplateURL").expect("passed as TemplateURL");
    let key = format!(
        "templates/{stack}/{}.json",
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    );
    // The S3 client's endpoint, path style (as the client addresses a custom endpoint), not AWS's.
    assert_eq!(url, format!("{endpoint}/{bucket}/{key}"));
    // The object there is exactly the template.
    let stored = moto
        .s3()
        .await
        .get_object()
        .bucket(&bucket)
        .key(&key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    assert_eq!(&stored[..], body.as_bytes());
    // And CloudFormation created the stack from it.
    let sqs = moto.sqs().await;
    sqs.get_queue_url()
        .queue_name(stack)
        .send()
        .await
        .unwrap_or_else(|e| panic!("queue of the padded template: {e:?}"));
}
