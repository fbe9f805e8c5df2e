//! One behaviour suite for every `Queue` backend: the embedded queue (manual clock) and SQS over a real moto_server.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use worklist::clock::ManualClock;
use worklist::queue::embedded::Redrive;
use worklist::{EmbeddedQueue, Queue, QueueError, SqsQueue};

/// Moves the backend's time forward (manual clock, or real sleep for SQS).
type Advance = Box<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// A queue with a DLQ (max receives = 2) and a way to let time pass.
struct Backend {
    queue: Arc<dyn Queue>,
    dlq: Arc<dyn Queue>,
    advance: Advance,
}

const VIS: Duration = Duration::from_secs(30);

async fn suite(b: &Backend) {
    send_receive_delete(b).await;
    in_flight_messages_are_hidden_until_visibility_expires(b).await;
    change_visibility_to_zero_makes_visible_now(b).await;
    delayed_messages_appear_after_their_delay(b).await;
    redrive_moves_a_message_to_the_dlq_after_max_receives(b).await;
    deleting_with_a_foreign_receipt_is_an_error(b).await;
}

async fn send_receive_delete(b: &Backend) {
    let id = b.queue.send("hello", None).await.unwrap();
    let got = b.queue.receive(10, VIS, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("hello", 1));
    assert_eq!(got[0].message_id, id);
    assert!(
        b.queue
            .receive(10, VIS, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    let counts = b.queue.counts().await.unwrap();
    assert_eq!(
        (counts.visible, counts.in_flight, counts.delayed),
        (0, 1, 0)
    );
    b.queue.delete(&got[0].receipt_handle).await.unwrap();
    assert_eq!(b.queue.counts().await.unwrap().total(), 0);
}

async fn in_flight_messages_are_hidden_until_visibility_expires(b: &Backend) {
    b.queue.send("again", None).await.unwrap();
    let first = b
        .queue
        .receive(1, Duration::from_secs(1), Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    (b.advance)(Duration::from_millis(2100)).await;
    let second = b.queue.receive(1, VIS, Duration::ZERO).await.unwrap();
    assert_eq!(
        second.len(),
        1,
        "message did not come back after its visibility timeout"
    );
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(second[0].receipt_handle, first[0].receipt_handle);
    b.queue.delete(&second[0].receipt_handle).await.unwrap();
    assert_eq!(b.queue.counts().await.unwrap().total(), 0);
}

async fn change_visibility_to_zero_makes_visible_now(b: &Backend) {
    b.queue.send("nack", None).await.unwrap();
    let got = b.queue.receive(1, VIS, Duration::ZERO).await.unwrap();
    b.queue
        .change_visibility(&got[0].receipt_handle, Duration::ZERO)
        .await
        .unwrap();
    let again = b.queue.receive(1, VIS, Duration::ZERO).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].body, "nack");
    b.queue.delete(&again[0].receipt_handle).await.unwrap();
}

async fn delayed_messages_appear_after_their_delay(b: &Backend) {
    b.queue
        .send("later", Some(Duration::from_secs(1)))
        .await
        .unwrap();
    assert!(
        b.queue
            .receive(10, VIS, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.queue.counts().await.unwrap().delayed, 1);
    (b.advance)(Duration::from_millis(2100)).await;
    let got = b.queue.receive(10, VIS, Duration::ZERO).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "later");
    b.queue.delete(&got[0].receipt_handle).await.unwrap();
}

async fn redrive_moves_a_message_to_the_dlq_after_max_receives(b: &Backend) {
    b.queue.send("poison", None).await.unwrap();
    for n in 1..=2 {
        let got = b.queue.receive(1, VIS, Duration::ZERO).await.unwrap();
        assert_eq!(got[0].receive_count, n);
        b.queue
            .change_visibility(&got[0].receipt_handle, Duration::ZERO)
            .await
            .unwrap();
    }
    assert!(
        b.queue
            .receive(1, VIS, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(b.queue.counts().await.unwrap().total(), 0);
    let dead = b.dlq.receive(10, VIS, Duration::ZERO).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    b.dlq.delete(&dead[0].receipt_handle).await.unwrap();
}

async fn deleting_with_a_foreign_receipt_is_an_error(b: &Backend) {
    let err = b.queue.delete("not-a-receipt-handle").await.unwrap_err();
    assert!(matches!(err, QueueError::InvalidReceipt(_)), "{err:?}");
}

#[tokio::test]
async fn embedded_queue_passes_the_queue_behaviour_suite() {
    let clock = Arc::new(ManualClock::new());
    let dlq = Arc::new(EmbeddedQueue::with_clock("dlq", clock.clone(), None));
    let redrive = Redrive {
        dlq: dlq.clone(),
        max_receives: 2,
    };
    let queue = Arc::new(EmbeddedQueue::with_clock(
        "work",
        clock.clone(),
        Some(redrive),
    ));
    let backend = Backend {
        queue,
        dlq,
        advance: Box::new(move |d| {
            clock.advance(d);
            Box::pin(async {})
        }),
    };
    suite(&backend).await;
}

#[tokio::test]
async fn sqs_queue_over_moto_passes_the_queue_behaviour_suite() {
    let Some(moto) = moto_harness::Moto::start_or_skip() else {
        return;
    };
    let client = moto.sqs().await;
    let dlq = SqsQueue::create(client.clone(), "behaviour-dlq", None)
        .await
        .unwrap();
    let queue = SqsQueue::create(client, "behaviour", Some((&dlq, 2)))
        .await
        .unwrap();
    let backend = Backend {
        queue: Arc::new(queue),
        dlq: Arc::new(dlq),
        advance: Box::new(|d| Box::pin(tokio::time::sleep(d))),
    };
    suite(&backend).await;
}
