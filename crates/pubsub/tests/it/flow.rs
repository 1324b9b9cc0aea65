//! Flow control (`pubsub-api.md` §4.4): credit, its cap, exact pending counts,
//! keepalives and the idle close, on the paused clock.

use std::time::Duration;

use forcebus_pubsub::PubSubConfig;
use forcebus_pubsub::proto::{FetchRequest, ReplayPreset};
use tokio::time::{Instant, timeout};
use tonic::Code;

use crate::world::{error, error_code, fetch, next, replay_id, world};

const TOPIC: &str = "/data/AccountChangeEvent";

#[tokio::test(start_paused = true)]
async fn zero_requested_delivers_nothing_and_the_stream_ends_when_idle() {
    let w = world(PubSubConfig::default()).await;
    w.account("Acme");
    let started = Instant::now();
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 0)).await;
    assert!(
        timeout(Duration::from_secs(59), s.message()).await.is_err(),
        "nothing may arrive without credit"
    );
    assert!(s.message().await.unwrap().is_none(), "ended with OK");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(60) && waited < Duration::from_secs(61),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn negative_requests_add_no_credit() {
    let w = world(PubSubConfig::default()).await;
    w.account("Acme");
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, -5)).await;
    tx.send(fetch(TOPIC, ReplayPreset::Earliest, 1))
        .await
        .unwrap();
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.pending_num_requested, 0);
}

#[tokio::test(start_paused = true)]
async fn more_than_100_requested_counts_as_100_outstanding() {
    let w = world(PubSubConfig::default()).await;
    for i in 0..130 {
        w.account(&format!("A{i}"));
    }
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 500)).await;
    let mut got = 0;
    loop {
        let r = next(&mut s).await;
        got += r.events.len();
        assert_eq!(r.pending_num_requested as usize, 100 - got);
        if r.pending_num_requested == 0 {
            break;
        }
    }
    assert_eq!(got, 100);
    // Credit is capped on what is outstanding, not on the stream's lifetime total.
    tx.send(FetchRequest {
        num_requested: 1000,
        ..Default::default()
    })
    .await
    .unwrap();
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 30);
    assert_eq!(r.pending_num_requested, 70);
}

#[tokio::test(start_paused = true)]
async fn pending_counts_are_exact_after_every_response() {
    let w = world(PubSubConfig::default()).await;
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 2)).await;
    tokio::task::yield_now().await;
    for expected in [1, 0] {
        w.account("A");
        let r = next(&mut s).await;
        assert_eq!(r.events.len(), 1);
        assert_eq!(r.pending_num_requested, expected);
    }
    // Without credit, events wait.
    for name in ["B", "C", "D"] {
        w.account(name);
    }
    assert!(timeout(Duration::from_secs(30), s.message()).await.is_err());
    let more = |n| FetchRequest {
        topic_name: TOPIC.into(),
        num_requested: n,
        ..Default::default()
    };
    tx.send(more(2)).await.unwrap();
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.pending_num_requested, 0);
    tx.send(more(5)).await.unwrap();
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.pending_num_requested, 4);
}

#[tokio::test(start_paused = true)]
async fn batches_carry_their_last_events_replay_id() {
    let w = world(PubSubConfig::default()).await;
    w.account("A");
    w.create("Contact", serde_json::json!({"LastName": "Other channel"}));
    w.account("B");
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 10)).await;
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 2);
    let ids: Vec<u64> = r.events.iter().map(|e| replay_id(&e.replay_id)).collect();
    assert!(ids[0] < ids[1]);
    assert_eq!(replay_id(&r.latest_replay_id), ids[1]);
    assert_eq!(r.pending_num_requested, 8);
    assert!(!r.rpc_id.is_empty());
    let e = r.events[0].event.as_ref().unwrap();
    assert_eq!(e.id.len(), 36, "event UUID");
    assert_eq!(
        e.schema_id,
        w.org.change_schema_id("Account").unwrap(),
        "change events name their object's schema"
    );
}

#[tokio::test(start_paused = true)]
async fn keepalives_carry_latest_replay_id_and_pending() {
    let w = world(PubSubConfig::default()).await;
    let started = Instant::now();
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 7)).await;
    tokio::task::yield_now().await;
    // An event on another channel moves the log, not this subscription's deliveries.
    w.create("Contact", serde_json::json!({"LastName": "Elsewhere"}));
    let first = next(&mut s).await;
    assert!(started.elapsed() >= Duration::from_secs(60));
    assert!(first.events.is_empty());
    assert_eq!(first.pending_num_requested, 7);
    assert_eq!(first.latest_replay_id.len(), 8);
    assert_eq!(
        replay_id(&first.latest_replay_id),
        w.org.log().last_replay_id()
    );
    let second = next(&mut s).await;
    assert!(second.events.is_empty());
    assert_eq!(second.rpc_id, first.rpc_id, "one rpc id per call");
    assert!(started.elapsed() >= Duration::from_secs(120));
}

#[tokio::test(start_paused = true)]
async fn the_keepalive_interval_is_configurable() {
    let w = world(PubSubConfig {
        keepalive: Duration::from_secs(5),
        ..PubSubConfig::default()
    })
    .await;
    let started = Instant::now();
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 1)).await;
    let r = next(&mut s).await;
    assert!(r.events.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_secs(5) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn no_keepalives_without_credit_and_a_late_request_resumes() {
    let w = world(PubSubConfig::default()).await;
    w.account("A");
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 1)).await;
    assert_eq!(next(&mut s).await.pending_num_requested, 0);
    assert!(timeout(Duration::from_secs(50), s.message()).await.is_err());
    w.account("B");
    tx.send(FetchRequest {
        num_requested: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    // The idle clock restarts with each request.
    assert!(timeout(Duration::from_secs(59), s.message()).await.is_err());
    assert!(s.message().await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn a_different_topic_within_the_stream_is_invalid() {
    let w = world(PubSubConfig::default()).await;
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 1)).await;
    tx.send(fetch("/data/ContactChangeEvent", ReplayPreset::Latest, 1))
        .await
        .unwrap();
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert!(
        e.message().contains("/data/ContactChangeEvent"),
        "{}",
        e.message()
    );
    assert!(e.message().contains(" rpcId: "), "{}", e.message());
    assert!(!error_code(&e).is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_client_closing_its_side_ends_the_stream() {
    let w = world(PubSubConfig::default()).await;
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 5)).await;
    drop(tx);
    assert!(s.message().await.unwrap().is_none());
}

#[tokio::test(start_paused = true)]
async fn unknown_topics_are_not_found() {
    let w = world(PubSubConfig::default()).await;
    let (_tx, mut s) = w
        .subscribe(fetch("/data/NopeChangeEvent", ReplayPreset::Latest, 5))
        .await;
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::NotFound);
    let org = w.org.id().to18();
    let want = format!(
        "The topic information for org {org} and topic /data/NopeChangeEvent not found. Ensure the topic name is correct and that the topic exists. rpcId: "
    );
    assert!(e.message().starts_with(&want), "{}", e.message());
    let (_tx, mut s) = w.subscribe(fetch("", ReplayPreset::Latest, 5)).await;
    assert_eq!(error(&mut s).await.code(), Code::InvalidArgument);
}

#[tokio::test(start_paused = true)]
async fn large_batches_are_split_under_the_response_limit() {
    let w = world(PubSubConfig {
        max_response_bytes: 2_000,
        ..PubSubConfig::default()
    })
    .await;
    for i in 0..10 {
        w.create(
            "Account",
            serde_json::json!({"Name": format!("A{i}"), "Description": "x".repeat(300)}),
        );
    }
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 10)).await;
    let mut got = 0;
    let mut responses = 0;
    while got < 10 {
        let r = next(&mut s).await;
        assert!(prost::Message::encoded_len(&r) <= 2_000);
        got += r.events.len();
        responses += 1;
        assert_eq!(r.pending_num_requested, 10 - got as i32);
    }
    assert!(responses > 1);
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_ends_open_streams_as_unavailable() {
    let w = world(PubSubConfig::default()).await;
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 5)).await;
    tokio::task::yield_now().await;
    w.ps.shutdown();
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::Internal);
    assert!(
        e.message()
            .starts_with("The service is unavailable. Try again later rpcId: "),
        "{}",
        e.message()
    );
    assert_eq!(
        error_code(&e),
        "sfdc.platform.eventbus.grpc.service.unavailable"
    );
}

#[tokio::test(start_paused = true)]
async fn each_event_is_encoded_once_for_every_subscriber() {
    let w = world(PubSubConfig::default()).await;
    let (_a, mut s1) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 5)).await;
    let (_b, mut s2) = w
        .subscribe(fetch("/data/ChangeEvents", ReplayPreset::Latest, 5))
        .await;
    tokio::task::yield_now().await;
    w.account("Shared");
    let e1 = next(&mut s1).await.events.remove(0);
    let e2 = next(&mut s2).await.events.remove(0);
    assert_eq!(e1, e2, "the same bytes on both topics");
    // The log's copy of the event holds the encoding; asking again does not re-encode.
    let mut cursor = w
        .org
        .log()
        .subscribe(
            w.ps.topic(TOPIC).unwrap().channel,
            forcebus_eventlog::Start::After(replay_id(&e1.replay_id) - 1),
        )
        .unwrap();
    let event = cursor.poll(1).unwrap().remove(0);
    let cached = event.encoded("pubsub", |_| panic!("encoded a second time"));
    let producer: forcebus_pubsub::proto::ProducerEvent = prost::Message::decode(cached).unwrap();
    assert_eq!(Some(producer), e1.event);
}

#[tokio::test(start_paused = true)]
async fn multi_entity_topics_have_no_single_schema() {
    let w = world(PubSubConfig::default()).await;
    let all = w.ps.topic("/data/ChangeEvents").unwrap();
    assert_eq!(all.schema_id, "");
    assert!(all.channel.kinds.len() > 1);
    let one = w.ps.topic(TOPIC).unwrap();
    assert_eq!(one.schema_id, w.org.change_schema_id("Account").unwrap());
    assert!(
        w.ps.topic("/data/accountchangeevent").is_none(),
        "names are case-sensitive"
    );
    assert!(
        w.ps.topic("/topic/Legacy").is_none(),
        "no PushTopics on the Pub/Sub API"
    );
}
