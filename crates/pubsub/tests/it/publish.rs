//! Publish and PublishStream (`pubsub-api.md` §4.6): the call-level refusals through the
//! RPCs, and the per-event checks (schema, malformed Avro, event size, id length) through
//! `check_publish`, which every publishable topic runs before appending.

use forcebus_avro::Value as A;
use forcebus_pubsub::proto::{ErrorCode, ProducerEvent, PublishRequest, TopicRequest};
use forcebus_pubsub::{PubSubConfig, Topic};
use tonic::Code;

use crate::world::{World, error, error_code, world};

const TOPIC: &str = "/data/AccountChangeEvent";

fn event(w: &World, payload: Vec<u8>) -> ProducerEvent {
    ProducerEvent {
        id: String::new(),
        schema_id: w.org.change_schema_id("Account").unwrap().to_owned(),
        payload: payload.into(),
        headers: vec![],
    }
}

#[tokio::test]
async fn change_event_topics_cannot_be_published_to() {
    let w = world(PubSubConfig::default()).await;
    let info = w
        .client
        .clone()
        .get_topic(w.req(TopicRequest {
            topic_name: TOPIC.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!info.can_publish);
    assert!(info.can_subscribe);
    let e = w
        .client
        .clone()
        .publish(w.req(PublishRequest {
            topic_name: TOPIC.into(),
            events: vec![event(&w, vec![0])],
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::PermissionDenied);
    assert!(e.message().contains(TOPIC), "{}", e.message());
    assert!(e.message().contains(" rpcId: "));
    assert!(!error_code(&e).is_empty());
}

#[tokio::test]
async fn unknown_topics_are_not_found_on_publish() {
    let w = world(PubSubConfig::default()).await;
    let e = w
        .client
        .clone()
        .publish(w.req(PublishRequest {
            topic_name: "/event/Nope__e".into(),
            ..Default::default()
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(
        e.message().starts_with("The topic information for org "),
        "{}",
        e.message()
    );
}

#[tokio::test]
async fn requests_over_4_mb_fail_and_end_the_stream() {
    let w = world(PubSubConfig::default()).await;
    let big = |w: &World| PublishRequest {
        topic_name: TOPIC.into(),
        events: (0..5).map(|_| event(w, vec![7; 900_000])).collect(),
        ..Default::default()
    };
    let e = w.client.clone().publish(w.req(big(&w))).await.unwrap_err();
    assert_eq!(e.code(), Code::Unavailable);
    assert!(
        e.message()
            .starts_with("upstream connect error or disconnect/reset before headers."),
        "{}",
        e.message()
    );
    let (_tx, mut s) = w.publish_stream(Some(big(&w))).await;
    assert_eq!(error(&mut s).await.code(), Code::Unavailable);
}

#[tokio::test]
async fn publish_stream_answers_each_request_and_keeps_its_topic() {
    let w = world(PubSubConfig::default()).await;
    let (_tx, mut s) = w
        .publish_stream(Some(PublishRequest {
            topic_name: "/data/ContactChangeEvent".into(),
            ..Default::default()
        }))
        .await;
    // The topic exists but takes no publishes: the stream fails with that answer.
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::PermissionDenied);
}

/// A topic as a publishable one would be, over the Account change event schema.
fn publishable(w: &World) -> Topic {
    let mut t = w.ps.topic(TOPIC).unwrap();
    t.can_publish = true;
    t
}

fn account_payload(w: &World, name: &str) -> Vec<u8> {
    let schema =
        w.ps.schema(&w.org.change_schema_id("Account").unwrap())
            .unwrap();
    let rec = schema.as_record().unwrap();
    let header = A::Record(vec![
        A::String("Account".into()),
        A::Array(vec![]),
        A::Enum(0),
        A::String(String::new()),
        A::String("k".into()),
        A::Int(1),
        A::Long(0),
        A::Long(0),
        A::String("005".into()),
        A::Array(vec![]),
        A::Array(vec![]),
        A::Array(vec![]),
    ]);
    let mut values = vec![header];
    for f in &rec.fields[1..] {
        values.push(if f.name == "Name" {
            A::Union(1, Box::new(A::String(name.into())))
        } else {
            A::Union(0, Box::new(A::Null))
        });
    }
    forcebus_avro::encode(&schema, &A::Record(values)).unwrap()
}

#[tokio::test]
async fn each_event_is_checked_on_its_own_in_request_order() {
    let w = world(PubSubConfig {
        max_event_bytes: 2_000,
        ..PubSubConfig::default()
    })
    .await;
    let topic = publishable(&w);
    let good = account_payload(&w, "Acme");
    let mut malformed = good.clone();
    malformed.truncate(good.len() / 2);
    let mut with_id = event(&w, good.clone());
    with_id.id = "my-key-1".into();
    let mut bad_with_id = event(&w, malformed.clone());
    bad_with_id.id = "my-key-2".into();
    let mut other_schema = event(&w, good.clone());
    other_schema.schema_id = w.org.change_schema_id("Contact").unwrap().to_owned();
    let mut unknown_schema = event(&w, good.clone());
    unknown_schema.schema_id = "AAAAAAAAAAAAAAAAAAAAAA".into();
    let mut long_id = event(&w, good.clone());
    long_id.id = "x".repeat(37);
    let events = vec![
        with_id,
        event(&w, malformed),
        bad_with_id,
        event(&w, vec![0; 2_001]),
        other_schema,
        unknown_schema,
        long_id,
        event(&w, good.clone()),
    ];
    let (results, accepted) = w.ps.check_publish(&topic, events);
    assert_eq!(results.len(), 8);
    let failed: Vec<bool> = results.iter().map(|r| r.error.is_some()).collect();
    assert_eq!(failed, [false, true, true, true, true, true, true, false]);
    for r in results.iter().filter(|r| r.error.is_some()) {
        let e = r.error.as_ref().unwrap();
        assert_eq!(e.code, ErrorCode::Publish as i32);
        assert!(!e.msg.is_empty());
        assert_eq!(
            &r.replay_id[..],
            &[0; 8],
            "zero: decodable, and no event's id"
        );
    }
    assert_eq!(results[0].correlation_key, "my-key-1");
    assert_eq!(results[1].correlation_key, "", "no id given, failed: empty");
    assert_eq!(
        results[2].correlation_key, "my-key-2",
        "the given id, even on failure"
    );
    assert_eq!(
        results[7].correlation_key.len(),
        36,
        "no id given: a generated UUID"
    );
    assert!(
        results[1]
            .error
            .as_ref()
            .unwrap()
            .msg
            .contains("can't be decoded")
    );
    assert!(
        results[3]
            .error
            .as_ref()
            .unwrap()
            .msg
            .contains("exceeds the maximum event size")
    );
    assert!(
        results[4]
            .error
            .as_ref()
            .unwrap()
            .msg
            .contains("isn't a schema of the topic")
    );
    assert!(
        results[6]
            .error
            .as_ref()
            .unwrap()
            .msg
            .contains("36 characters")
    );
    assert_eq!(accepted.len(), 2);
    assert_eq!((accepted[0].index, accepted[1].index), (0, 7));
    assert_eq!(accepted[1].id, results[7].correlation_key);
    match &accepted[0].value {
        A::Record(fields) => {
            let name_at = 1 + topic_field_index(&w, "Name");
            assert_eq!(
                fields[name_at],
                A::Union(1, Box::new(A::String("Acme".into())))
            );
        }
        other => panic!("{other:?}"),
    }
}

fn topic_field_index(w: &World, name: &str) -> usize {
    let schema =
        w.ps.schema(&w.org.change_schema_id("Account").unwrap())
            .unwrap();
    schema.as_record().unwrap().fields[1..]
        .iter()
        .position(|f| f.name == name)
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn an_idle_publish_stream_ends_after_70_seconds() {
    let w = world(PubSubConfig::default()).await;
    let started = tokio::time::Instant::now();
    let (_tx, mut s) = w.publish_stream(None).await;
    assert!(s.message().await.unwrap().is_none());
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_secs(70) && waited < std::time::Duration::from_secs(71),
        "{waited:?}"
    );
}
