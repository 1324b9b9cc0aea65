//! Replay (`pubsub-api.md` §4.5): LATEST, EARLIEST and CUSTOM with 8-byte big-endian
//! ids, and the exact INVALID_ARGUMENT errors for corrupt, invalid and expired ids.

use forcebus_pubsub::PubSubConfig;
use forcebus_pubsub::proto::{FetchRequest, ReplayPreset};
use tonic::Code;

use crate::world::{error, error_code, fetch, next, replay_id, world};

const TOPIC: &str = "/data/AccountChangeEvent";
const CORRUPTED: &str = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";
const VALIDATION: &str =
    "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.validation.failed";

fn custom(id: &[u8], n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: TOPIC.into(),
        replay_preset: ReplayPreset::Custom as i32,
        replay_id: id.to_vec().into(),
        num_requested: n,
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn custom_replays_events_after_the_given_id() {
    let w = world(PubSubConfig::default()).await;
    for name in ["A", "B", "C"] {
        w.account(name);
    }
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 10)).await;
    let all = next(&mut s).await;
    assert_eq!(all.events.len(), 3);
    let first = replay_id(&all.events[0].replay_id);
    let (_tx, mut s) = w.subscribe(custom(&first.to_be_bytes(), 10)).await;
    let rest = next(&mut s).await;
    let ids: Vec<u64> = rest
        .events
        .iter()
        .map(|e| replay_id(&e.replay_id))
        .collect();
    let want: Vec<u64> = all.events[1..]
        .iter()
        .map(|e| replay_id(&e.replay_id))
        .collect();
    assert_eq!(ids, want, "exclusive of the given id");
}

#[tokio::test(start_paused = true)]
async fn latest_sees_only_later_events() {
    let w = world(PubSubConfig::default()).await;
    w.account("Before");
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Latest, 10)).await;
    tokio::task::yield_now().await;
    w.account("After");
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    assert_eq!(
        replay_id(&r.events[0].replay_id),
        w.org.log().last_replay_id()
    );
}

#[tokio::test(start_paused = true)]
async fn missing_or_short_custom_ids_fail_validation() {
    let w = world(PubSubConfig::default()).await;
    w.account("A");
    for bytes in [&[][..], &[0, 0, 1][..], &[0; 7][..]] {
        let (_tx, mut s) = w.subscribe(custom(bytes, 1)).await;
        let e = error(&mut s).await;
        assert_eq!(e.code(), Code::InvalidArgument, "{bytes:?}");
        assert_eq!(error_code(&e), VALIDATION, "{bytes:?}");
        assert!(
            e.message().starts_with("The Replay ID validation failed."),
            "{}",
            e.message()
        );
        assert!(e.message().contains(" rpcId: "));
    }
}

#[tokio::test(start_paused = true)]
async fn unknown_or_malformed_ids_are_corrupted() {
    let w = world(PubSubConfig::default()).await;
    w.account("A");
    let beyond = (w.org.log().last_replay_id() + 1).to_be_bytes();
    let ten = [0, 0, 0, 0, 0, 0x2b, 0xa7, 0x2b, 0, 0];
    for bytes in [&beyond[..], &ten[..], &[0xff; 8][..]] {
        let (_tx, mut s) = w.subscribe(custom(bytes, 1)).await;
        let e = error(&mut s).await;
        assert_eq!(e.code(), Code::InvalidArgument, "{bytes:?}");
        assert_eq!(error_code(&e), CORRUPTED, "{bytes:?}");
        assert!(
            e.message().starts_with(
                "The Replay ID validation failed. Ensure that the Replay ID is valid. rpcId: "
            ),
            "{}",
            e.message()
        );
    }
}

#[tokio::test(start_paused = true)]
async fn ids_past_retention_are_corrupted_and_earliest_skips_them() {
    let w = world(PubSubConfig::default()).await;
    w.account("Old");
    let old = w.org.log().last_replay_id();
    // Everything written so far is past its retention 73 hours from now.
    let later = chrono::Utc::now().timestamp_millis() + 73 * 3_600_000;
    assert!(w.org.log().expire(later).unwrap() > 0);
    let (_tx, mut s) = w.subscribe(custom(&(old - 1).to_be_bytes(), 1)).await;
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(error_code(&e), CORRUPTED);
    w.account("New");
    let (_tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 5)).await;
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1, "only the retained event");
    assert!(replay_id(&r.events[0].replay_id) > old);
}

#[tokio::test(start_paused = true)]
async fn later_requests_replay_fields_are_ignored() {
    let w = world(PubSubConfig::default()).await;
    w.account("A");
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 1)).await;
    assert_eq!(next(&mut s).await.events.len(), 1);
    // The official Python example resends its first request, replay fields and all.
    tx.send(custom(&[1, 2, 3], 1)).await.unwrap();
    w.account("B");
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
}
