//! The `process` Lambda handler over moto: SQS records in, partial batch responses out, continuations sent to
//! the real queue by a consumer on `SqsQueue`s (job lists claim-checked into S3), until the layer completes.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use worklist::lambda::handle_sqs_event;
use worklist::{
    Config, Consumer, JobContext, JobError, JobRunner, Queue, Registry, SqsQueue, WorkMessage,
};

struct Noop;

#[async_trait]
impl JobRunner for Noop {
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        Ok(serde_json::json!({"job": job.job}))
    }
}

#[tokio::test]
async fn lambda_handler_walks_a_chain_over_moto_sqs() {
    let Some(moto) = moto_harness::Moto::start_or_skip() else {
        return;
    };
    let store = moto.bucket_store("data").await;
    let sqs = moto.sqs().await;
    let dlq = SqsQueue::create(sqs.clone(), "process-dlq", None)
        .await
        .unwrap();
    let queue = SqsQueue::create(sqs.clone(), "process", Some((&dlq, 5)))
        .await
        .unwrap();
    let mut runners = Registry::new();
    runners.register("transform", Arc::new(Noop));
    let mut consumer = Consumer::new(
        store.clone(),
        grants(),
        Arc::new(SqsQueue::new(sqs.clone(), queue.url())),
        Arc::new(SqsQueue::new(sqs, dlq.url())),
        runners,
        Config::new(vec!["transform".into()]),
    );
    // Force the claim check: continuations carry a pointer to a job list in (moto's) S3.
    consumer.config.max_body_bytes = 200;

    let jobs: Vec<String> = (1..=5).map(|i| i.to_string()).collect();
    let manifest =
        serde_json::to_value(contract::RunManifest::of_jobs("la311", "L", &jobs)).unwrap();
    store
        .put(
            &grants().run("la311", "L").manifest().unwrap(),
            PutPayload::from(manifest.to_string()),
        )
        .await
        .unwrap();
    let first = WorkMessage::first_of_layer("la311", "L", "transform", jobs, 1).remove(0);
    queue
        .send(&serde_json::to_string(&first).unwrap(), None)
        .await
        .unwrap();
    queue.send("garbage", None).await.unwrap();

    // Play the event source mapping: receive a batch, invoke, delete what the response did not list.
    let mut invocations = 0;
    loop {
        let batch = queue
            .receive(10, Duration::from_secs(30), Duration::ZERO)
            .await
            .unwrap();
        if batch.is_empty() {
            break;
        }
        invocations += 1;
        assert!(invocations < 20, "chain does not end");
        let mut event = SqsEvent::default();
        for r in &batch {
            let mut m = SqsMessage::default();
            m.message_id = Some(r.message_id.clone());
            m.body = Some(r.body.clone());
            m.attributes.insert(
                "ApproximateReceiveCount".into(),
                r.receive_count.to_string(),
            );
            event.records.push(m);
        }
        let response = handle_sqs_event(&consumer, event).await;
        assert!(response.batch_item_failures.is_empty(), "{response:?}");
        for r in &batch {
            queue.delete(&r.receipt_handle).await.unwrap();
        }
    }
    assert!(invocations >= 5, "one hop per job: {invocations}");
    let lists: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(
        store.list(Some(&"worklist/la311/run=L/layer=transform/lists".into())),
    )
    .await
    .unwrap();
    assert_eq!(
        lists.len(),
        1,
        "one content-addressed list for the chain: {lists:?}"
    );
    let report = worklist::report::read(
        store.as_ref(),
        prefixes::process::runs().into(),
        "la311",
        "L",
        "transform",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((report.jobs_done, report.jobs_failed), (5, 0));
    let dead = dlq
        .receive(10, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    let letter: worklist::DeadLetter = serde_json::from_str(&dead[0].body).unwrap();
    assert_eq!(letter.body, "garbage");
    assert!(
        letter.reason.contains("not a worklist message"),
        "{}",
        letter.reason
    );
}

/// The worklist grants of the `process` function, which these tests act as.
#[allow(dead_code)]
pub fn grants() -> worklist::Locations {
    worklist::Locations::new(prefixes::process::runs(), prefixes::process::worklist())
}
