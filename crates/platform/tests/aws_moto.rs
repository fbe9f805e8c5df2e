//! The AWS platform against moto: the variables the template sets name a real bucket and a real queue, which it
//! reaches through S3 and SQS with the standard environment (endpoint, credentials, region), as in Lambda.

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
}
