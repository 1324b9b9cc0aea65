//! Read-ahead (`ahead`): the window a stream reads before the client asks keeps to its
//! byte budget without losing what is past it, and a window whose position retention
//! passed meanwhile is not delivered.

use std::time::Duration;

use forcebus_pubsub::PubSubConfig;
use forcebus_pubsub::proto::{FetchRequest, ReplayPreset};
use serde_json::json;
use tonic::Code;

use crate::world::{World, error, error_code, fetch, next, replay_id, world};

const TOPIC: &str = "/data/AccountChangeEvent";
const CORRUPTED: &str = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted";

fn more(n: i32) -> FetchRequest {
    FetchRequest {
        topic_name: TOPIC.into(),
        num_requested: n,
        ..Default::default()
    }
}

/// The replay ids of the next `n` events.
async fn ids(
    s: &mut tonic::Streaming<forcebus_pubsub::proto::FetchResponse>,
    n: usize,
) -> Vec<u64> {
    let mut out = Vec::new();
    while out.len() < n {
        let r = next(s).await;
        assert!(
            !r.events.is_empty(),
            "a keepalive after {} of {n} events: the rest never came",
            out.len()
        );
        out.extend(r.events.iter().map(|e| replay_id(&e.replay_id)));
    }
    assert_eq!(out.len(), n, "no more than asked for");
    out
}

/// Lets the stream finish what it does after its last response (its read ahead): the
/// paused clock moves only once every task is idle.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(10)).await;
}

fn accounts(w: &World, n: usize, description_bytes: usize) {
    for i in 0..n {
        w.create(
            "Account",
            json!({"Name": format!("Account {i}"), "Description": "d".repeat(description_bytes)}),
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_window_past_the_byte_budget_is_read_again_not_lost() {
    let w = world(PubSubConfig::default()).await;
    // 20 events of about 30 KB: a window of 10 is about 300 KB, past the 256 KiB held.
    accounts(&w, 20, 30_000);
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 10)).await;
    let mut got = ids(&mut s, 10).await;
    settle().await;
    tx.send(more(10)).await.unwrap();
    got.extend(ids(&mut s, 10).await);
    assert!(
        got.windows(2).all(|p| p[0] < p[1]),
        "in order, none twice: {got:?}"
    );
    assert_eq!(got.len(), 20);
    // Nothing is left over.
    w.account("Later");
    tx.send(more(1)).await.unwrap();
    let later = ids(&mut s, 1).await;
    assert!(later[0] > got[19]);
}

#[tokio::test(start_paused = true)]
async fn a_window_whose_position_expired_while_it_waited_fails_as_corrupted() {
    let w = world(PubSubConfig::default()).await;
    accounts(&w, 4, 0);
    let (tx, mut s) = w.subscribe(fetch(TOPIC, ReplayPreset::Earliest, 2)).await;
    ids(&mut s, 2).await;
    // The next 2 are read ahead by now; then retention passes them and the position.
    settle().await;
    let later = chrono::Utc::now().timestamp_millis() + 73 * 3_600_000;
    assert!(w.org.log().expire(later).unwrap() > 0);
    tx.send(more(2)).await.unwrap();
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::InvalidArgument);
    assert_eq!(error_code(&e), CORRUPTED);
}
