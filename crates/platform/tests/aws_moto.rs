//! The AWS platform against moto: the variables the template sets name a real bucket and a real queue, which it
//! reaches through S3 and SQS with the standard environment (endpoint, credentials, region), as in Lambda; SSM
//! parameters through `GetParameter`, and the self-invocation through Lambda's `Invoke` on the runtime's name.

use std::time::Duration;

use object_store::{ObjectStoreExt, PutPayload};
use platform::{Aws, Platform};
use worklist::{Queue, SqsQueue};

#[tokio::test]
async fn template_variables_reach_the_bucket_and_queue_through_s3_and_sqs() {
    let Some(moto) = moto_harness::Moto::start_or_skip() else {
        return;
    };
    let data = moto
        .bucket_store("civic-test-data-000000000000-us-east-1")
        .await;
    let queue = SqsQueue::create(moto.sqs().await, "civic-test-worklist", None)
        .await
        .unwrap();
    // SAFETY: the only test of this binary; nothing else reads the environment concurrently.
    unsafe {
        for (k, v) in [
            ("AWS_ENDPOINT_URL", moto.endpoint()),
            ("AWS_ENDPOINT", moto.endpoint()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
            (
                prefixes::buckets::DATA.env,
                "civic-test-data-000000000000-us-east-1",
            ),
            (prefixes::queues::WORKLIST.env, queue.url()),
        ] {
            std::env::set_var(k, v);
        }
    }
    let aws = Aws::load().await;
    aws.bucket(prefixes::buckets::DATA)
        .unwrap()
        .put(&"runs/probe.json".into(), PutPayload::from_static(b"{}"))
        .await
        .unwrap();
    let got = data.get(&"runs/probe.json".into()).await.unwrap();
    assert_eq!(got.bytes().await.unwrap().as_ref(), b"{}");
    aws.queue(prefixes::queues::WORKLIST)
        .unwrap()
        .send("hello", None)
        .await
        .unwrap();
    let received = queue
        .receive(1, Duration::from_secs(30), Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(received[0].body, "hello");
    let err = Aws::buckets_only()
        .queue(prefixes::queues::WORKLIST)
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("without SQS"), "{err}");

    // Parameters: a SecureString decrypted, an absent one is None.
    let name = "/civic/test/ingestion/socrata-app-token";
    assert_eq!(aws.parameter(name).await.unwrap(), None);
    aws_sdk_ssm::Client::new(&moto.sdk_config().await)
        .put_parameter()
        .name(name)
        .value("tok")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    assert_eq!(aws.parameter(name).await.unwrap().as_deref(), Some("tok"));

    // The self-invocation targets the name the runtime sets; without it there is nobody to invoke.
    let payload = serde_json::json!({"dataset": "la311", "run_id": "r"});
    let err = aws.invoke_self(&payload).await.unwrap_err().to_string();
    assert!(err.contains("AWS_LAMBDA_FUNCTION_NAME is not set"), "{err}");
    // SAFETY: as above.
    unsafe { std::env::set_var(platform::ENV_FUNCTION_NAME, "civic-test-ingest") };
    // moto has no such function: the Invoke call is made and its failure names the function.
    let err = aws.invoke_self(&payload).await.unwrap_err().to_string();
    assert!(
        err.starts_with("invoking civic-test-ingest to continue: "),
        "{err}"
    );
}
