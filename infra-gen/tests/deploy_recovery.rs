//! Recovery from the stack states a real account gets into, which moto never produces by itself:
//! a proxy in front of `moto_server` makes CloudFormation report `ROLLBACK_COMPLETE` (a failed first
//! create) or `UPDATE_ROLLBACK_FAILED` for one stack until deploy does what fixes it.

use std::sync::Arc;
use std::time::Duration;

use infra_gen::deploy::{self, Deployer, Options, Outcome, aws::Aws};
use moto_harness::Moto;

mod support;
use support::{packages, root};
#[path = "support/cfn_faults.rs"]
mod cfn_faults;
use cfn_faults::{Faults, start_proxy};

/// Clients for moto whose CloudFormation calls go through the fault proxy.
async fn proxied(moto: &Moto, faults: &Arc<Faults>) -> Aws {
    let proxy = start_proxy(moto.endpoint(), faults.clone()).await;
    let conf = moto.sdk_config().await;
    let mut aws = Aws::from_conf(&conf).unwrap();
    aws.cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&conf)
            .endpoint_url(&proxy)
            .build(),
    );
    aws.poll = Duration::from_millis(50);
    aws
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_first_create_and_failed_rollback_are_recovered_by_the_next_deploy() {
    let Some(moto) = Moto::start_or_skip() else {
        return;
    };
    let faults = Arc::new(Faults::default());
    let aws = proxied(&moto, &faults).await;
    let m = infra_gen::load_valid(&root()).unwrap();
    let d = Deployer {
        m: &m,
        aws,
        opts: Options {
            stage: "ci".into(),
            yes: true,
            diff_only: false,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    packages(dir.path(), "process v1");
    let arts = deploy::artifacts(&root(), &m, Some(dir.path())).unwrap();
    // processing holds no retained bucket, so a delete-and-recreate starts from nothing, as in AWS.
    let processing = deploy::select(&m, &["processing".to_string()]).unwrap();
    d.bootstrap().await.unwrap();
    assert_eq!(
        d.deploy(&processing, &arts, false).await.unwrap()[0].1,
        Outcome::Created
    );

    // ROLLBACK_COMPLETE: deploy deletes the stack and creates it again.
    faults
        .rollback_complete
        .lock()
        .unwrap()
        .insert("civic-ci-processing".into());
    faults.actions.lock().unwrap().clear();
    let r = d.deploy(&processing, &arts, false).await.unwrap();
    assert_eq!(r[0].1, Outcome::Created, "{r:?}");
    let actions = faults.actions.lock().unwrap().clone();
    let delete = actions
        .iter()
        .position(|a| a == "DeleteStack civic-ci-processing")
        .expect("stack deleted");
    let create = actions
        .iter()
        .position(|a| a == "CreateChangeSet civic-ci-processing")
        .expect("change set created");
    assert!(delete < create, "{actions:?}");

    // UPDATE_ROLLBACK_FAILED: deploy continues the rollback, then updates (here: nothing to change).
    faults
        .update_rollback_failed
        .lock()
        .unwrap()
        .insert("civic-ci-processing".into());
    faults.actions.lock().unwrap().clear();
    let r = d.deploy(&processing, &arts, false).await.unwrap();
    assert_eq!(r[0].1, Outcome::NoChanges, "{r:?}");
    let actions = faults.actions.lock().unwrap().clone();
    assert!(
        actions
            .iter()
            .any(|a| a == "ContinueUpdateRollback civic-ci-processing"),
        "{actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_that_keeps_failing_is_continued_a_bounded_number_of_times_then_reported() {
    let Some(moto) = Moto::start_or_skip() else {
        return;
    };
    let faults = Arc::new(Faults::default());
    let aws = proxied(&moto, &faults).await;
    let m = infra_gen::load_valid(&root()).unwrap();
    let d = Deployer {
        m: &m,
        aws,
        opts: Options {
            stage: "ci".into(),
            yes: true,
            diff_only: false,
        },
    };
    let dir = tempfile::tempdir().unwrap();
    packages(dir.path(), "process v1");
    let arts = deploy::artifacts(&root(), &m, Some(dir.path())).unwrap();
    let processing = deploy::select(&m, &["processing".to_string()]).unwrap();
    d.bootstrap().await.unwrap();
    d.deploy(&processing, &arts, false).await.unwrap();

    let stack = "civic-ci-processing";
    faults
        .rollback_keeps_failing
        .lock()
        .unwrap()
        .insert(stack.into());
    *faults.status_reason.lock().unwrap() =
        Some("The following resource(s) failed to update: [ProcessFunction].".into());
    faults.actions.lock().unwrap().clear();
    let err = tokio::time::timeout(Duration::from_secs(60), d.deploy(&processing, &arts, false))
        .await
        .expect("deploy gives up instead of retrying forever")
        .unwrap_err()
        .to_string();
    for part in [
        "civic-ci-processing: still UPDATE_ROLLBACK_FAILED after 3 ContinueUpdateRollback attempt(s)",
        "status reason: The following resource(s) failed to update: [ProcessFunction].",
        "https://us-east-1.console.aws.amazon.com/cloudformation/home?region=us-east-1#/stacks/stackinfo?stackId=arn%3Aaws%3Acloudformation%3Aus-east-1%3A123456789012%3Astack%2Fcivic-ci-processing%2F",
        "--resources-to-skip",
    ] {
        assert!(err.contains(part), "{part:?} not in: {err}");
    }
    let actions = faults.actions.lock().unwrap().clone();
    let continued = actions
        .iter()
        .filter(|a| *a == &format!("ContinueUpdateRollback {stack}"))
        .count();
    assert_eq!(
        continued,
        deploy::plan::CONTINUE_ROLLBACK_ATTEMPTS as usize,
        "{actions:?}"
    );
    assert!(
        !actions.iter().any(|a| a.starts_with("CreateChangeSet")),
        "no update is attempted on a stack that did not roll back: {actions:?}"
    );
}
