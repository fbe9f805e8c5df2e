//! End to end over moto's real SQS and S3 wire protocols: 40 partitions through two layers in one lane, i.e.
//! chains of more than 40 hops (AWS's default recursive-loop stop is ~16), with one job failing permanently.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use worklist::local::{DrainOptions, drain};
use worklist::markers::{LaneMarker, LayerMarker, read_json};
use worklist::report::JobStatus;
use worklist::{
    Config, Consumer, JobContext, JobError, JobRunner, Queue, Registry, SqsQueue, WorkMessage,
};

const DATASET: &str = "la311";
const RUN: &str = "e2e";
const BROKEN: &str = "13";

/// Writes one object per job at a deterministic key; job `BROKEN` of `transform` always fails.
struct WriteOne {
    store: Arc<dyn ObjectStore>,
}

#[async_trait]
impl JobRunner for WriteOne {
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        if job.layer == "transform" && job.job == BROKEN {
            return Err(JobError::Retryable(format!(
                "partition {BROKEN} is unreadable"
            )));
        }
        let key = Path::from(format!(
            "processed/{DATASET}/{}/cd={}/out.txt",
            job.layer, job.job
        ));
        self.store
            .put(&key, PutPayload::from(format!("{}:{}", job.layer, job.job)))
            .await
            .map_err(|e| JobError::Retryable(e.to_string()))?;
        Ok(serde_json::json!({"key": key.to_string()}))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_partitions_complete_two_layers_over_moto_sqs_and_s3() {
    let Some(moto) = moto_harness::Moto::start_or_skip() else {
        return;
    };
    let store = moto.bucket_store("data").await;
    let sqs = moto.sqs().await;
    let dlq = SqsQueue::create(sqs.clone(), "process-dlq", None)
        .await
        .unwrap();
    let queue = SqsQueue::create(sqs, "process", Some((&dlq, 5)))
        .await
        .unwrap();
    let queue: Arc<dyn Queue> = Arc::new(queue);
    let dlq: Arc<dyn Queue> = Arc::new(dlq);

    let jobs: Vec<String> = (1..=40).map(|cd| cd.to_string()).collect();
    let manifest =
        serde_json::to_value(contract::RunManifest::of_jobs(DATASET, RUN, &jobs)).unwrap();
    let keys = grants().run(DATASET, RUN);
    store
        .put(
            &keys.manifest().unwrap(),
            PutPayload::from(manifest.to_string()),
        )
        .await
        .unwrap();

    let layers = vec!["transform".to_owned(), "analyze".to_owned()];
    let mut runners = Registry::new();
    let runner = Arc::new(WriteOne {
        store: store.clone(),
    });
    runners.register("transform", runner.clone());
    runners.register("analyze", runner);
    let mut config = Config::new(layers);
    config.retry_delay = Duration::ZERO;
    let consumer = Consumer::new(
        store.clone(),
        grants(),
        queue.clone(),
        dlq.clone(),
        runners,
        config,
    );

    for first in WorkMessage::first_of_layer(DATASET, RUN, "transform", jobs.clone(), 1) {
        let body =
            worklist::codec::encode(&first, store.as_ref(), grants().worklist.into(), 1 << 20)
                .await
                .unwrap();
        queue.send(&body, None).await.unwrap();
    }
    let opts = DrainOptions {
        visibility: Duration::from_secs(60),
        wait: Duration::from_secs(1),
        idle_pause: Duration::from_millis(50),
        deadline: Duration::from_secs(240),
    };
    let summary = drain(&consumer, queue.as_ref(), &opts).await.unwrap();
    assert_eq!(summary.errors, 0, "{summary:?}");
    assert_eq!(summary.completed_layers, ["transform", "analyze"]);

    // transform: 39 done, partition 13 failed after 3 attempts; the chain took 39 + 3 = 42 hops.
    let t = worklist::report::read(
        store.as_ref(),
        prefixes::process::runs().into(),
        DATASET,
        RUN,
        "transform",
    )
    .await
    .unwrap()
    .expect("transform report");
    assert_eq!((t.jobs_done, t.jobs_failed, t.jobs_total), (39, 1, 40));
    let broken = t.jobs.iter().find(|j| j.job == BROKEN).unwrap();
    assert_eq!((broken.status, broken.attempts), (JobStatus::Failed, 3));
    assert!(broken.error.as_deref().unwrap().contains("unreadable"));
    let lane: LaneMarker = read_json(store.as_ref(), &keys.lane_done("transform", 0).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        lane.hop, 42,
        "hops the transform chain took (39 done + 3 attempts)"
    );

    // analyze ran on the 39 partitions transform completed, and nothing else.
    let a = worklist::report::read(
        store.as_ref(),
        prefixes::process::runs().into(),
        DATASET,
        RUN,
        "analyze",
    )
    .await
    .unwrap()
    .expect("analyze report");
    assert_eq!((a.jobs_done, a.jobs_failed), (39, 0));
    let marker: LayerMarker = read_json(store.as_ref(), &keys.layer_complete("analyze").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(!marker.done.contains(&BROKEN.to_owned()));
    assert_eq!(marker.next_layer, None);
    for job in &jobs {
        let key = Path::from(format!("processed/{DATASET}/analyze/cd={job}/out.txt"));
        assert_eq!(
            store.head(&key).await.is_ok(),
            job != BROKEN,
            "analyze output of {job}"
        );
    }

    // Everything acknowledged; nothing dead-lettered.
    assert_eq!(queue.counts().await.unwrap().total(), 0);
    assert_eq!(dlq.counts().await.unwrap().total(), 0);
}

/// The worklist grants of the `process` function, which these tests act as.
#[allow(dead_code)]
pub fn grants() -> worklist::Locations {
    worklist::Locations::new(prefixes::process::runs(), prefixes::process::worklist())
}
