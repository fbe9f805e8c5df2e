//! Consumer behaviour on bad input (malformed, oversized, unknown layer or job, missing manifest), lanes, and the
//! Lambda handler's partial batch response, over the embedded queue and an in-memory store.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use object_store::memory::InMemory;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use worklist::local::{DrainOptions, drain};
use worklist::probe::{Crashed, Point, Probe};
use worklist::{
    Config, Consumer, DeadLetter, EmbeddedQueue, JobContext, JobError, JobRunner, Queue, Registry,
    WorkMessage,
};

struct Ok1;

#[async_trait]
impl JobRunner for Ok1 {
    async fn run(&self, _job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        Ok(serde_json::json!({}))
    }
}

struct World {
    store: Arc<dyn ObjectStore>,
    queue: Arc<EmbeddedQueue>,
    dlq: Arc<EmbeddedQueue>,
    consumer: Consumer,
}

async fn world(jobs: &[&str], manifest: bool) -> World {
    let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    if manifest {
        let jobs: Vec<String> = jobs.iter().map(|j| j.to_string()).collect();
        let m = serde_json::to_value(contract::RunManifest::of_jobs("la311", "R", &jobs)).unwrap();
        store
            .put(
                &grants().run("la311", "R").manifest().unwrap(),
                PutPayload::from(m.to_string()),
            )
            .await
            .unwrap();
    }
    let queue = Arc::new(EmbeddedQueue::new("work"));
    let dlq = Arc::new(EmbeddedQueue::new("dlq"));
    let mut runners = Registry::new();
    runners.register("transform", Arc::new(Ok1));
    runners.register("analyze", Arc::new(Ok1));
    let consumer = Consumer::new(
        store.clone(),
        grants(),
        queue.clone(),
        dlq.clone(),
        runners,
        Config::new(vec!["transform".into(), "analyze".into()]),
    );
    World {
        store,
        queue,
        dlq,
        consumer,
    }
}

fn first(jobs: &[&str], layer: &str) -> String {
    let ids = jobs.iter().map(|j| j.to_string()).collect();
    serde_json::to_string(&WorkMessage::first_of_layer("la311", "R", layer, ids, 1)[0]).unwrap()
}

fn dead_letters(w: &World) -> Vec<DeadLetter> {
    w.dlq
        .bodies()
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect()
}

/// `body` is dead-lettered with a reason containing `reason`, and nothing else is sent.
async fn check_dead_lettered(w: &World, body: &str, reason: &str) {
    let report = w.consumer.step(body, 1).await.unwrap();
    assert!(
        report.dead_letter.as_deref().unwrap().contains(reason),
        "{report:?}"
    );
    let letters = dead_letters(w);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].body, body);
    assert!(letters[0].reason.contains(reason), "{}", letters[0].reason);
    assert!(w.queue.bodies().is_empty());
}

#[tokio::test]
async fn malformed_body_goes_to_the_dlq_with_the_parse_error() {
    let w = world(&["1"], true).await;
    check_dead_lettered(&w, "{\"version\":1,", "not a worklist message").await;
}

#[tokio::test]
async fn oversized_body_goes_to_the_dlq() {
    let w = world(&["1"], true).await;
    let body = "x".repeat(worklist::message::SQS_MAX_MESSAGE_BYTES + 1);
    check_dead_lettered(&w, &body, "over the 1048576-byte limit").await;
}

#[tokio::test]
async fn missing_run_manifest_goes_to_the_dlq_naming_the_key() {
    let w = world(&["1"], false).await;
    check_dead_lettered(
        &w,
        &first(&["1"], "transform"),
        "run manifest missing at runs/la311/run=R/manifest.json",
    )
    .await;
}

#[tokio::test]
async fn job_ids_not_in_the_manifest_go_to_the_dlq() {
    let w = world(&["1", "2"], true).await;
    check_dead_lettered(
        &w,
        &first(&["1", "99"], "transform"),
        "not in the run manifest: [\"99\"]",
    )
    .await;
}

#[tokio::test]
async fn undeclared_layer_and_missing_runner_go_to_the_dlq() {
    let w = world(&["1"], true).await;
    check_dead_lettered(&w, &first(&["1"], "publish"), "not in the declared chain").await;
    let mut w = world(&["1"], true).await;
    w.consumer.runners = Registry::new();
    check_dead_lettered(
        &w,
        &first(&["1"], "transform"),
        "no job runner registered for layer \"transform\"",
    )
    .await;
}

#[tokio::test]
async fn three_lanes_fan_in_once_and_start_the_next_layer() {
    let jobs = ["1", "2", "3", "4", "5", "6", "7"];
    let w = world(&jobs, true).await;
    send_firsts(&w, &jobs, 3).await;
    let summary = drain(&w.consumer, w.queue.as_ref(), &DrainOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.completed_layers, ["transform", "analyze"]);
    assert_eq!(summary.outcomes["lane_done"], 4, "{summary:?}"); // 2 of 3 lanes wait, per layer
    let report = worklist::report::read(
        w.store.as_ref(),
        prefixes::process::runs().into(),
        "la311",
        "R",
        "analyze",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.jobs_done, 7);
    let order: Vec<&str> = report.jobs.iter().map(|j| j.job.as_str()).collect();
    assert_eq!(order, jobs, "report lists jobs in manifest order");
    assert!(dead_letters(&w).is_empty());
}

struct CrashAt(Point);

#[async_trait]
impl Probe for CrashAt {
    async fn at(&self, point: Point) -> Result<(), Crashed> {
        if point == self.0 {
            Err(Crashed(point))
        } else {
            Ok(())
        }
    }
}

fn record(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_owned());
    m.body = Some(body.to_owned());
    m.attributes
        .insert("ApproximateReceiveCount".into(), "1".into());
    m
}

#[tokio::test]
async fn lambda_reports_only_failed_steps_as_batch_item_failures() {
    let mut w = world(&["1", "2"], true).await;
    let mut event = SqsEvent::default();
    event.records = vec![
        record("good", &first(&["1", "2"], "transform")),
        record("junk", "nope"),
    ];
    let response = worklist::lambda::handle_sqs_event(&w.consumer, event).await;
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(w.queue.bodies().len(), 1, "continuation sent");
    assert_eq!(dead_letters(&w).len(), 1, "junk dead-lettered");

    w.consumer.probe = Arc::new(CrashAt(Point::BeforeRun));
    let continuation = w
        .queue
        .receive(1, Duration::from_secs(30), Duration::ZERO)
        .await
        .unwrap();
    let mut event = SqsEvent::default();
    event.records = vec![record("next", &continuation[0].body)];
    let response = worklist::lambda::handle_sqs_event(&w.consumer, event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["next"]);
}

/// Fails fatally on its first run of job "2" in `transform`, succeeds afterwards.
struct FailOnce(std::sync::atomic::AtomicBool);

#[async_trait]
impl JobRunner for FailOnce {
    async fn run(&self, job: &JobContext<'_>) -> Result<serde_json::Value, JobError> {
        if job.layer == "transform"
            && job.job == "2"
            && !self.0.swap(true, std::sync::atomic::Ordering::SeqCst)
        {
            return Err(JobError::Fatal("raw part unreadable".into()));
        }
        Ok(serde_json::json!({}))
    }
}

#[tokio::test]
async fn status_counts_failures_and_redriving_them_completes_both_layers() {
    let jobs = ["1", "2", "3"];
    let mut w = world(&jobs, true).await;
    let runner = Arc::new(FailOnce(Default::default()));
    let mut runners = Registry::new();
    runners.register("transform", runner.clone());
    runners.register("analyze", runner);
    w.consumer.runners = runners;
    let chain = vec!["transform".to_owned(), "analyze".to_owned()];
    w.queue
        .send(&first(&jobs, "transform"), None)
        .await
        .unwrap();
    drain(&w.consumer, w.queue.as_ref(), &DrainOptions::default())
        .await
        .unwrap();

    let s = worklist::status::run_status(w.store.as_ref(), &grants(), "la311", "R", &chain)
        .await
        .unwrap();
    let row =
        |l: &worklist::status::LayerStatus| (l.expected, l.done, l.failed, l.remaining, l.complete);
    assert_eq!(row(&s.layers[0]), (Some(3), 2, 1, Some(0), true));
    assert_eq!(row(&s.layers[1]), (Some(2), 2, 0, Some(0), true));

    let again = worklist::redrive::redrive_failed(
        w.store.as_ref(),
        &grants(),
        w.queue.as_ref(),
        "la311",
        "R",
        &chain,
        "transform",
        3,
    )
    .await
    .unwrap();
    assert_eq!(again, ["2"]);
    let summary = drain(&w.consumer, w.queue.as_ref(), &DrainOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.completed_layers, ["transform", "analyze"]);
    let s = worklist::status::run_status(w.store.as_ref(), &grants(), "la311", "R", &chain)
        .await
        .unwrap();
    assert_eq!(row(&s.layers[0]), (Some(3), 3, 0, Some(0), true));
    assert_eq!(row(&s.layers[1]), (Some(3), 3, 0, Some(0), true));
    let analyze = worklist::report::read(
        w.store.as_ref(),
        prefixes::process::runs().into(),
        "la311",
        "R",
        "analyze",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(analyze.jobs_done, 3);
}

#[tokio::test]
async fn a_chain_declared_in_the_manifest_overrides_the_configured_one() {
    let w = world(&["1"], true).await;
    let mut m = contract::RunManifest::of_jobs("la311", "R", &["1".to_owned()]);
    m.layers = Some(vec!["transform".into()]);
    let m = serde_json::to_value(m).unwrap();
    w.store
        .put(
            &grants().run("la311", "R").manifest().unwrap(),
            PutPayload::from(m.to_string()),
        )
        .await
        .unwrap();
    w.queue
        .send(&first(&["1"], "transform"), None)
        .await
        .unwrap();
    let summary = drain(&w.consumer, w.queue.as_ref(), &DrainOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.completed_layers, ["transform"]);
    let report = worklist::report::read(
        w.store.as_ref(),
        prefixes::process::runs().into(),
        "la311",
        "R",
        "transform",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!(report.next_layer, None);
    // A message for a layer the manifest does not declare is refused.
    w.queue.send(&first(&["1"], "analyze"), None).await.unwrap();
    drain(&w.consumer, w.queue.as_ref(), &DrainOptions::default())
        .await
        .unwrap();
    assert!(
        dead_letters(&w)[0]
            .reason
            .contains("not in the declared chain [\"transform\"]")
    );
}

/// Counts its calls; fails the first `fail` of them; records how many bodies the work queue held at each call.
struct CountingHook {
    calls: std::sync::Mutex<Vec<(String, usize, usize)>>,
    fail: std::sync::atomic::AtomicUsize,
    queue: Arc<EmbeddedQueue>,
}

#[async_trait]
impl worklist::LayerHook for CountingHook {
    async fn completed(&self, report: &worklist::report::LayerReport) -> Result<(), JobError> {
        self.calls.lock().unwrap().push((
            report.layer.clone(),
            report.jobs_done,
            self.queue.bodies().len(),
        ));
        let left = self.fail.load(std::sync::atomic::Ordering::SeqCst);
        if left > 0 {
            self.fail
                .store(left - 1, std::sync::atomic::Ordering::SeqCst);
            return Err(JobError::Retryable("city-wide store hiccup".into()));
        }
        Ok(())
    }
}

async fn hooked_world(jobs: &[&str], fail: usize) -> (World, Arc<CountingHook>) {
    let mut w = world(jobs, true).await;
    let hook = Arc::new(CountingHook {
        calls: Default::default(),
        fail: fail.into(),
        queue: w.queue.clone(),
    });
    w.consumer.runners.on_completed("transform", hook.clone());
    w.consumer.runners.on_completed("analyze", hook.clone());
    send_firsts(&w, jobs, 3).await;
    (w, hook)
}

/// The first messages of `transform` over `jobs` in `lanes` lanes, sent to the work queue.
async fn send_firsts(w: &World, jobs: &[&str], lanes: u32) {
    let ids = jobs.iter().map(|j| j.to_string()).collect();
    for m in WorkMessage::first_of_layer("la311", "R", "transform", ids, lanes) {
        w.queue
            .send(&serde_json::to_string(&m).unwrap(), None)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_layer_hook_runs_once_at_fan_in_before_the_next_layer_starts() {
    let jobs = ["1", "2", "3", "4", "5"];
    let (w, hook) = hooked_world(&jobs, 0).await;
    drain(&w.consumer, w.queue.as_ref(), &DrainOptions::default())
        .await
        .unwrap();
    let calls = hook.calls.lock().unwrap().clone();
    // Once per layer (three lanes fan in to one call), with every job done; the completing message is the only
    // one in flight and the next layer's first messages are not sent yet.
    assert_eq!(
        calls,
        [("transform".to_owned(), 5, 1), ("analyze".to_owned(), 5, 1)]
    );
}

#[tokio::test]
async fn a_failing_layer_hook_is_run_again_by_the_redelivered_completion() {
    let jobs = ["1", "2", "3"];
    let (w, hook) = hooked_world(&jobs, 1).await;
    let summary = drain(&w.consumer, w.queue.as_ref(), &DrainOptions::default())
        .await
        .unwrap();
    assert_eq!(summary.errors, 1, "{summary:?}");
    let layers: Vec<String> = hook
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.0.clone())
        .collect();
    assert_eq!(layers, ["transform", "transform", "analyze"]);
    // The next layer started exactly once: analyze ran each job once and completed.
    let report = worklist::report::read(
        w.store.as_ref(),
        prefixes::process::runs().into(),
        "la311",
        "R",
        "analyze",
    )
    .await
    .unwrap()
    .unwrap();
    assert_eq!((report.jobs_done, report.jobs_failed), (3, 0));
    assert!(report.jobs.iter().all(|j| j.attempts == 1), "{report:?}");
    assert!(dead_letters(&w).is_empty());
}

#[tokio::test]
async fn deliver_feeds_the_lambda_handler_sqs_events_until_both_layers_complete() {
    let jobs = ["1", "2", "3", "4"];
    let (w, hook) = hooked_world(&jobs, 1).await;
    let consumer = &w.consumer;
    let summary = worklist::local::deliver(
        w.queue.as_ref(),
        &DrainOptions::default(),
        1,
        |event| async move { worklist::lambda::handle_sqs_event(consumer, event).await },
    )
    .await
    .unwrap();
    assert_eq!(
        summary.errors, 1,
        "the failed hook's record is a batch item failure"
    );
    assert_eq!(
        summary.outcomes["invocations"],
        summary.steps + summary.errors,
        "batch size 1: one record per invocation"
    );
    assert_eq!(hook.calls.lock().unwrap().len(), 3);
    for layer in ["transform", "analyze"] {
        let r = worklist::report::read(
            w.store.as_ref(),
            prefixes::process::runs().into(),
            "la311",
            "R",
            layer,
        )
        .await
        .unwrap()
        .unwrap();
        assert_eq!(r.jobs_done, 4, "{layer}");
    }
    assert_eq!(w.queue.counts().await.unwrap().total(), 0);
}

/// The worklist grants of the `process` function, which these tests act as.
#[allow(dead_code)]
pub fn grants() -> worklist::Locations {
    worklist::Locations::new(prefixes::process::runs(), prefixes::process::worklist())
}
