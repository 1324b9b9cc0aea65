//! The test controls as Pub/Sub clients see them (`failure-modes.md`): an armed failure
//! ends exactly its count of matching calls with Salesforce's status, message and
//! `error-code`; "end streams" ends open streams with "service unavailable"; held
//! keepalives never come; a delivery delay holds events back. Paused clock throughout.

use std::time::Duration;

use forcebus_org::control::{ArmedFailure, PubSubFailure, Rpc};
use forcebus_pubsub::PubSubConfig;
use forcebus_pubsub::proto::{PublishRequest, ReplayPreset, SchemaRequest, TopicRequest};
use tokio::sync::mpsc;
use tokio::time::{Instant, timeout};
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;

use crate::world::{World, error, error_code, fetch, next, world};

const TOPIC: &str = "/data/AccountChangeEvent";

fn arm(w: &World, fail: PubSubFailure, rpc: Option<Rpc>, times: u32) {
    w.org
        .controls()
        .arm(ArmedFailure {
            fail,
            rpc,
            remaining: times,
        })
        .unwrap();
}

/// Every failure the control knows, as Salesforce sends it: (failure, status, start of
/// the message, `error-code` or "" for none).
const EXPECTED: [(PubSubFailure, Code, &str, &str); 8] = [
    (
        PubSubFailure::ReplayCorrupted,
        Code::InvalidArgument,
        "The Replay ID validation failed.",
        "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted",
    ),
    (
        PubSubFailure::ResourceExhausted,
        Code::ResourceExhausted,
        "The service received too many connections",
        "",
    ),
    (
        PubSubFailure::Unavailable,
        Code::Unavailable,
        "upstream connect error or disconnect/reset before headers.",
        "",
    ),
    (
        PubSubFailure::ServiceUnavailable,
        Code::Internal,
        "The service is unavailable. Try again later",
        "sfdc.platform.eventbus.grpc.service.unavailable",
    ),
    (
        PubSubFailure::AuthError,
        Code::Unauthenticated,
        "An authentication exception occurred.",
        "sfdc.platform.eventbus.grpc.service.auth.error",
    ),
    (
        PubSubFailure::TopicNotFound,
        Code::NotFound,
        "The topic information for org",
        "sfdc.platform.eventbus.grpc.topic.not.found",
    ),
    (
        PubSubFailure::DeliveryLimit,
        Code::ResourceExhausted,
        "You have exceeded the event delivery limit for your org.",
        "sfdc.platform.eventbus.grpc.subscription.limit.exceeded",
    ),
    (
        PubSubFailure::ManagedAlreadyActive,
        Code::AlreadyExists,
        "An active managed subscription with the same ID already exists.",
        "sfdc.platform.eventbus.grpc.managed.subscription.already.active",
    ),
];

#[tokio::test(start_paused = true)]
async fn each_failure_ends_a_subscribe_with_salesforces_status_message_and_error_code() {
    let w = world(PubSubConfig::default()).await;
    for (fail, code, message, error_code_want) in EXPECTED {
        arm(&w, fail, Some(Rpc::Subscribe), 1);
        let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 1)).await;
        let e = error(&mut s).await;
        assert_eq!(e.code(), code, "{fail:?}");
        assert!(
            e.message().starts_with(message),
            "{fail:?}: {}",
            e.message()
        );
        assert!(e.message().contains(" rpcId: "), "{}", e.message());
        assert_eq!(error_code(&e), error_code_want, "{fail:?}");
        assert!(e.metadata().get("rpc-id").is_some());
        if fail == PubSubFailure::TopicNotFound {
            assert!(
                e.message().contains(TOPIC),
                "names the topic: {}",
                e.message()
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_fails_exactly_its_count_of_calls_of_its_rpc_and_no_other() {
    let w = world(PubSubConfig::default()).await;
    arm(&w, PubSubFailure::ReplayCorrupted, Some(Rpc::Subscribe), 2);
    // Another RPC does not use it up.
    let topic = w
        .client
        .clone()
        .get_topic(w.req(TopicRequest {
            topic_name: TOPIC.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    for _ in 0..2 {
        let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 1)).await;
        assert_eq!(error(&mut s).await.code(), Code::InvalidArgument);
    }
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 1)).await;
    tokio::task::yield_now().await;
    let id = w.account("Acme");
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1, "the third call works: {id}");
    assert!(w.org.controls().armed_failures().is_empty());
    // Unary calls fail too, and schema lookups.
    arm(
        &w,
        PubSubFailure::ServiceUnavailable,
        Some(Rpc::GetSchema),
        1,
    );
    let e = w
        .client
        .clone()
        .get_schema(w.req(SchemaRequest {
            schema_id: topic.schema_id.clone(),
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Internal);
    assert_eq!(
        error_code(&e),
        "sfdc.platform.eventbus.grpc.service.unavailable"
    );
    w.client
        .clone()
        .get_schema(w.req(SchemaRequest {
            schema_id: topic.schema_id,
        }))
        .await
        .expect("the next GetSchema works");
}

#[tokio::test(start_paused = true)]
async fn a_failure_for_any_rpc_hits_publish_and_publish_stream() {
    let w = world(PubSubConfig::default()).await;
    arm(&w, PubSubFailure::ResourceExhausted, None, 2);
    let e = w
        .client
        .clone()
        .publish(w.req(PublishRequest {
            topic_name: TOPIC.into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted);
    let (_tx, mut s) = w
        .publish_stream(Some(PublishRequest {
            topic_name: TOPIC.into(),
            ..Default::default()
        }))
        .await;
    assert_eq!(error(&mut s).await.code(), Code::ResourceExhausted);
}

#[tokio::test(start_paused = true)]
async fn ending_streams_ends_every_open_stream_with_service_unavailable() {
    let w = world(PubSubConfig::default()).await;
    let (_t1, mut a) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 5)).await;
    let (_t2, mut b) = w
        .subscribe(fetch("/data/ContactChangeEvent", ReplayPreset::Latest, 5))
        .await;
    tokio::task::yield_now().await;
    w.org.controls().end_streams();
    for s in [&mut a, &mut b] {
        let e = error(s).await;
        assert_eq!(e.code(), Code::Internal);
        assert_eq!(
            error_code(&e),
            "sfdc.platform.eventbus.grpc.service.unavailable"
        );
    }
    // A stream opened afterwards is not ended by it.
    let (_t3, mut c) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 5)).await;
    tokio::task::yield_now().await;
    w.account("Acme");
    assert_eq!(next(&mut c).await.events.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn held_keepalives_never_come_and_resume_when_let_through() {
    let w = world(PubSubConfig::default()).await;
    w.org.controls().suppress_keepalives(true);
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 3)).await;
    assert!(
        timeout(Duration::from_secs(600), s.message())
            .await
            .is_err(),
        "no keepalive in ten minutes"
    );
    // Events still flow.
    w.account("Acme");
    assert_eq!(next(&mut s).await.events.len(), 1);
    w.org.controls().suppress_keepalives(false);
    let started = Instant::now();
    let r = next(&mut s).await;
    assert!(r.events.is_empty(), "a keepalive");
    assert!(started.elapsed() <= Duration::from_secs(61));
}

#[tokio::test(start_paused = true)]
async fn a_delivery_delay_holds_events_back_for_its_length_after_commit() {
    let w = world(PubSubConfig::default()).await;
    w.org.set_delivery_delay(2_000).unwrap();
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 3)).await;
    tokio::task::yield_now().await;
    let committed = Instant::now();
    w.account("Acme");
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    let waited = committed.elapsed();
    assert!(
        waited >= Duration::from_millis(2_000) && waited < Duration::from_millis(2_100),
        "{waited:?}"
    );
    // Cleared, delivery is at once again.
    w.org.set_delivery_delay(0).unwrap();
    let committed = Instant::now();
    w.account("Beta");
    assert_eq!(next(&mut s).await.events.len(), 1);
    assert!(committed.elapsed() < Duration::from_millis(10));
}

#[tokio::test(start_paused = true)]
async fn resetting_streams_resets_every_open_call_without_a_grpc_status() {
    let w = world(PubSubConfig::default()).await;
    let (_t1, mut a) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 5)).await;
    tokio::task::yield_now().await;
    w.org.controls().reset_streams();
    let e = error(&mut a).await;
    assert_ne!(e.code(), Code::Ok);
    assert_eq!(
        error_code(&e),
        "",
        "a transport reset carries no error-code: {e:?}"
    );
    assert!(e.metadata().get("rpc-id").is_none(), "nor an rpc id: {e:?}");
    // Calls made afterwards are not reset.
    let (_t2, mut b) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 5)).await;
    tokio::task::yield_now().await;
    w.account("Acme");
    assert_eq!(next(&mut b).await.events.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn ending_streams_reaches_publish_streams_and_streams_still_opening() {
    let w = world(PubSubConfig::default()).await;
    // A PublishStream waiting for its first request.
    let (ptx, mut publishing) = w.publish_stream(None).await;
    // A Subscribe whose first FetchRequest has not come yet.
    let (stx, srx) = mpsc::channel::<forcebus_pubsub::proto::FetchRequest>(4);
    let mut opening = w
        .client
        .clone()
        .subscribe(w.req(ReceiverStream::new(srx)))
        .await
        .unwrap()
        .into_inner();
    tokio::task::yield_now().await;
    w.org.controls().end_streams();
    for e in [error(&mut publishing).await, error(&mut opening).await] {
        assert_eq!(e.code(), Code::Internal, "{e:?}");
        assert_eq!(
            error_code(&e),
            "sfdc.platform.eventbus.grpc.service.unavailable"
        );
    }
    drop((stx, ptx));
}
