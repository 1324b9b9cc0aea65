//! Platform events over the Pub/Sub API: GetTopic, Publish and PublishStream with Avro
//! payloads validated per event, Subscribe delivering each event in the schema it was
//! published with (EventUuid as id), a custom event channel, and REST publishes arriving
//! over gRPC.

use forcebus_avro::Value as A;
use forcebus_org::platform::EventConfig;
use forcebus_pubsub::PubSubConfig;
use forcebus_pubsub::proto::{
    ErrorCode, ProducerEvent, PublishRequest, ReplayPreset, TopicRequest,
};
use serde_json::json;

use crate::world::{World, fetch, next, replay_id, world, world_on};

const TOPIC: &str = "/event/Order_Shipped__e";

fn define(w: &World, fields: serde_json::Value) -> String {
    let config: EventConfig = serde_json::from_value(json!({"fields": fields})).unwrap();
    w.org
        .define_platform_event("Order_Shipped__e", config)
        .unwrap()
        .0
        .schema_id
        .clone()
}

fn payload(w: &World, schema_id: &str, number: Option<&str>, weight: f64) -> Vec<u8> {
    let schema = w.ps.schema(schema_id).unwrap();
    let rec = schema.as_record().unwrap();
    let values = rec
        .fields
        .iter()
        .map(|f| match f.name.as_str() {
            "CreatedDate" => A::Long(1),
            "CreatedById" => A::String("005000000000000AAA".into()),
            "Order_Number__c" => match number {
                Some(n) => A::Union(1, Box::new(A::String(n.into()))),
                None => A::Union(0, Box::new(A::Null)),
            },
            "Weight__c" => A::Union(1, Box::new(A::Double(weight))),
            _ => A::Union(0, Box::new(A::Null)),
        })
        .collect();
    forcebus_avro::encode(&schema, &A::Record(values)).unwrap()
}

#[tokio::test]
async fn publish_and_subscribe_platform_events() {
    let w = world(PubSubConfig::default()).await;
    let schema_id = define(
        &w,
        json!([{"name": "Order_Number__c", "type": "string", "length": 10, "required": true},
               {"name": "Weight__c", "type": "double", "precision": 8, "scale": 2}]),
    );
    let info = w
        .client
        .clone()
        .get_topic(w.req(TopicRequest {
            topic_name: TOPIC.into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(info.can_publish && info.can_subscribe);
    assert_eq!(info.schema_id, schema_id);
    let (tx, mut sub) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 10)).await;
    let ev = |id: &str, p: Vec<u8>| ProducerEvent {
        id: id.into(),
        schema_id: schema_id.clone(),
        payload: p.into(),
        headers: vec![],
    };
    let resp = w
        .client
        .clone()
        .publish(w.req(PublishRequest {
            topic_name: TOPIC.into(),
            events: vec![
                ev(
                    "11111111-1111-4111-8111-111111111111",
                    payload(&w, &schema_id, Some("ORD-1"), 2.5),
                ),
                ev("missing-number", payload(&w, &schema_id, None, 1.0)),
                ev(
                    "too-long",
                    payload(&w, &schema_id, Some("ORD-1234567890"), 1.0),
                ),
                ev("malformed", vec![1, 2, 3]),
                ev("", payload(&w, &schema_id, Some("ORD-2"), 3.0)),
            ],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(resp.schema_id, schema_id);
    let errors: Vec<Option<i32>> = resp
        .results
        .iter()
        .map(|r| r.error.as_ref().map(|e| e.code))
        .collect();
    let p = Some(ErrorCode::Publish as i32);
    assert_eq!(errors, [None, p, p, p, None]);
    assert!(
        resp.results[1]
            .error
            .as_ref()
            .unwrap()
            .msg
            .contains("REQUIRED_FIELD_MISSING")
    );
    assert!(
        resp.results[2]
            .error
            .as_ref()
            .unwrap()
            .msg
            .contains("STRING_TOO_LONG")
    );
    assert_eq!(
        resp.results[0].correlation_key,
        "11111111-1111-4111-8111-111111111111"
    );
    let first = replay_id(&resp.results[0].replay_id);
    assert!(first > 0);
    assert_eq!(replay_id(&resp.results[4].replay_id), first + 1);
    // Both good events arrive, with their EventUuid as id and their fields intact.
    let mut got = Vec::new();
    while got.len() < 2 {
        got.extend(next(&mut sub).await.events);
    }
    drop(tx);
    let e0 = got[0].event.as_ref().unwrap();
    assert_eq!(e0.id, "11111111-1111-4111-8111-111111111111");
    assert_eq!(e0.schema_id, schema_id);
    let schema = w.ps.schema(&schema_id).unwrap();
    let v = forcebus_avro::to_json(
        &schema,
        &forcebus_avro::decode(&schema, &e0.payload).unwrap(),
    );
    assert_eq!(v["Order_Number__c"], "ORD-1");
    assert_eq!(
        v["CreatedById"],
        json!(w.caller.user_id.to18()),
        "the publisher is the caller"
    );
    assert_ne!(v["CreatedDate"], json!(1), "the server stamps CreatedDate");
    assert_eq!(replay_id(&got[1].replay_id), first + 1);
    // REST-style publishes (the org API) arrive over gRPC too, and a changed definition
    // keeps older events in their own schema.
    let new_id = define(
        &w,
        json!([{"name": "Order_Number__c", "type": "string", "length": 10, "required": true},
               {"name": "Weight__c", "type": "double", "precision": 8, "scale": 2},
               {"name": "Carrier__c", "type": "string"}]),
    );
    assert_ne!(new_id, schema_id);
    let def = w.org.platform_event("Order_Shipped__e").unwrap();
    let r = w
        .org
        .publish(
            &w.caller,
            &[(
                def,
                json!({"Order_Number__c": "ORD-3", "Carrier__c": "UPS"})
                    .as_object()
                    .unwrap()
                    .clone()
                    .into(),
                None,
            )],
            true,
        )
        .unwrap()
        .wait()
        .unwrap();
    assert!(r[0].is_ok());
    let (_tx, mut all) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 10)).await;
    let mut events = Vec::new();
    while events.len() < 3 {
        events.extend(next(&mut all).await.events);
    }
    let ids: Vec<&str> = events
        .iter()
        .map(|e| e.event.as_ref().unwrap().schema_id.as_str())
        .collect();
    assert_eq!(
        ids,
        [schema_id.as_str(), schema_id.as_str(), new_id.as_str()]
    );
    // Publishing with the old schema still works while its fields exist.
    let resp = w
        .client
        .clone()
        .publish(w.req(PublishRequest {
            topic_name: TOPIC.into(),
            events: vec![ev("", payload(&w, &schema_id, Some("ORD-4"), 1.0))],
            ..Default::default()
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(resp.results[0].error.is_none(), "{:?}", resp.results[0]);
}

#[tokio::test]
async fn custom_event_channels_subscribe_only() {
    let w = world(PubSubConfig::default()).await;
    define(&w, json!([{"name": "Order_Number__c", "type": "string"}]));
    let mk = |object: &str, fields: serde_json::Value| {
        w.org
            .execute(
                &w.caller,
                vec![forcebus_org::Op::Create {
                    object: object.into(),
                    fields: fields.as_object().unwrap().clone(),
                }],
                forcebus_org::Mode::ALL_OR_NONE,
            )
            .unwrap()
            .wait()
            .unwrap()
            .results
            .remove(0)
            .unwrap();
    };
    mk(
        "PlatformEventChannel",
        json!({"DeveloperName": "Orders", "MasterLabel": "Orders", "ChannelType": "event"}),
    );
    mk(
        "PlatformEventChannelMember",
        json!({"DeveloperName": "Orders_Shipped", "EventChannel": "Orders__chn", "SelectedEntity": "Order_Shipped__e"}),
    );
    let info = w
        .client
        .clone()
        .get_topic(w.req(TopicRequest {
            topic_name: "/event/Orders__chn".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert!(!info.can_publish && info.can_subscribe);
    let def = w.org.platform_event("Order_Shipped__e").unwrap();
    w.org
        .publish(
            &w.caller,
            &[(
                def,
                json!({"Order_Number__c": "A"})
                    .as_object()
                    .unwrap()
                    .clone()
                    .into(),
                None,
            )],
            true,
        )
        .unwrap()
        .wait()
        .unwrap();
    let (_tx, mut s) = w
        .subscribe(fetch("/event/Orders__chn", ReplayPreset::Earliest, 10))
        .await;
    let mut events = Vec::new();
    while events.is_empty() {
        events.extend(next(&mut s).await.events);
    }
    assert_eq!(events.len(), 1);
}

/// On a database file at full durability (each answer waits for a real fsync), requests
/// sent back to back on one PublishStream are appended in order while earlier ones sync,
/// answered in order, and delivered in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_publish_stream_on_disk_is_pipelined_and_answered_in_order() {
    let dir = std::env::temp_dir().join(format!("fb-pubsub-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = std::sync::Arc::new(
        forcebus_store::SqliteStore::open(&dir, forcebus_store::Durability::Full).unwrap(),
    );
    let w = world_on(store, PubSubConfig::default()).await;
    let schema_id = define(
        &w,
        json!([{"name": "Order_Number__c", "type": "string", "length": 10},
               {"name": "Weight__c", "type": "double", "precision": 8, "scale": 2}]),
    );
    let (_sub_tx, mut sub) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 100)).await;
    let (requests, rx) = tokio::sync::mpsc::channel(16);
    for i in 0..6 {
        let events = (0..10)
            .map(|j| ProducerEvent {
                id: format!("e-{i}-{j}"),
                schema_id: schema_id.clone(),
                payload: payload(&w, &schema_id, Some(&format!("ORD-{i}{j}")), 1.0).into(),
                headers: vec![],
            })
            .collect();
        requests
            .send(PublishRequest {
                topic_name: TOPIC.into(),
                events,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    drop(requests);
    let mut answers = w
        .client
        .clone()
        .publish_stream(w.req(tokio_stream::wrappers::ReceiverStream::new(rx)))
        .await
        .unwrap()
        .into_inner();
    let mut keys = Vec::new();
    let mut ids = Vec::new();
    while let Some(r) = answers.message().await.unwrap() {
        for result in r.results {
            assert!(result.error.is_none(), "{:?}", result.error);
            keys.push(result.correlation_key);
            ids.push(replay_id(&result.replay_id));
        }
    }
    let expected: Vec<String> = (0..6)
        .flat_map(|i| (0..10).map(move |j| format!("e-{i}-{j}")))
        .collect();
    assert_eq!(keys, expected);
    assert!(ids.windows(2).all(|p| p[0] < p[1]), "{ids:?}");
    let mut delivered = Vec::new();
    while delivered.len() < 60 {
        let r = tokio::time::timeout(std::time::Duration::from_secs(10), next(&mut sub))
            .await
            .expect("all 60 delivered");
        for e in r.events {
            delivered.push(e.event.unwrap().id);
        }
    }
    assert_eq!(delivered, expected);
    drop(w);
    let _ = std::fs::remove_dir_all(&dir);
}
