//! ManagedSubscribe (`pubsub-api.md` §4.7): subscriptions stored as the tooling sObject
//! ManagedEventSubscription, by developer name and by id; commits; resuming after the
//! committed id; the RUN state.

use forcebus_pubsub::PubSubConfig;
use forcebus_pubsub::proto::{
    CommitReplayRequest, ErrorCode, ManagedFetchRequest, ManagedFetchResponse,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Streaming};

use crate::world::{World, error, next, replay_id, world};

fn subscription(w: &World, name: &str, default_replay: &str) -> String {
    w.create(
        "ManagedEventSubscription",
        json!({
            "DeveloperName": name,
            "Label": name,
            "TopicName": "/data/AccountChangeEvent",
            "DefaultReplay": default_replay,
            "ErrorRecoveryReplay": "EARLIEST",
            "State": "RUN",
        }),
    )
}

async fn managed(
    w: &World,
    first: ManagedFetchRequest,
) -> (
    mpsc::Sender<ManagedFetchRequest>,
    Streaming<ManagedFetchResponse>,
) {
    let (tx, rx) = mpsc::channel(8);
    tx.send(first).await.unwrap();
    let s = w
        .client
        .clone()
        .managed_subscribe(w.req(ReceiverStream::new(rx)))
        .await
        .unwrap()
        .into_inner();
    (tx, s)
}

fn by_name(name: &str, n: i32) -> ManagedFetchRequest {
    ManagedFetchRequest {
        developer_name: name.into(),
        num_requested: n,
        ..Default::default()
    }
}

fn commit(id: &str, replay: &[u8]) -> ManagedFetchRequest {
    ManagedFetchRequest {
        commit_replay_id_request: Some(CommitReplayRequest {
            commit_request_id: id.into(),
            replay_id: replay.to_vec().into(),
        }),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn commits_are_answered_and_a_new_stream_resumes_after_them() {
    let w = world(PubSubConfig::default()).await;
    let id = subscription(&w, "Orders_Sub", "EARLIEST");
    for n in ["A", "B", "C"] {
        w.account(n);
    }
    let (tx, mut s) = managed(&w, by_name("Orders_Sub", 2)).await;
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 2);
    assert_eq!(r.pending_num_requested, 0);
    let second = r.events[1].replay_id.clone();
    tx.send(commit("c-1", &second)).await.unwrap();
    let c = next(&mut s).await;
    let answer = c.commit_response.expect("a commit answer");
    assert_eq!(answer.commit_request_id, "c-1");
    assert_eq!(answer.replay_id, second);
    assert!(answer.error.is_none());
    assert!(answer.process_time > 0);
    assert_eq!(c.latest_replay_id.len(), 8, "set on commit answers too");
    assert_eq!(c.pending_num_requested, 0);
    assert_eq!(
        w.ps.committed(forcebus_org::RecordId::parse(&id).unwrap())
            .unwrap(),
        Some(replay_id(&second))
    );
    drop(tx);
    drop(s);
    // By id this time: starts after the commit, not from the default (EARLIEST).
    let (_tx, mut s) = managed(
        &w,
        ManagedFetchRequest {
            subscription_id: id.clone(),
            num_requested: 10,
            ..Default::default()
        },
    )
    .await;
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    assert!(replay_id(&r.events[0].replay_id) > replay_id(&second));
}

#[tokio::test(start_paused = true)]
async fn bad_commits_get_a_commit_error_and_the_stream_goes_on() {
    let w = world(PubSubConfig::default()).await;
    subscription(&w, "Sub", "LATEST");
    let (tx, mut s) = managed(&w, by_name("Sub", 5)).await;
    // The Java example commits an unset latest_replay_id: empty bytes.
    tx.send(commit("empty", &[])).await.unwrap();
    let r = next(&mut s).await;
    let a = r.commit_response.unwrap();
    assert_eq!(a.commit_request_id, "empty");
    assert_eq!(a.error.unwrap().code, ErrorCode::Commit as i32);
    let beyond = (w.org.log().last_replay_id() + 5).to_be_bytes();
    tx.send(commit("future", &beyond)).await.unwrap();
    assert!(next(&mut s).await.commit_response.unwrap().error.is_some());
    tokio::task::yield_now().await;
    w.account("Still delivered");
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    assert_eq!(r.pending_num_requested, 4);
}

#[tokio::test(start_paused = true)]
async fn latest_default_starts_at_the_end_without_a_commit() {
    let w = world(PubSubConfig::default()).await;
    w.account("Before");
    subscription(&w, "Live", "LATEST");
    let (_tx, mut s) = managed(&w, by_name("Live", 5)).await;
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
async fn unknown_and_stopped_subscriptions_are_refused() {
    let w = world(PubSubConfig::default()).await;
    let (_tx, mut s) = managed(&w, by_name("Nope", 1)).await;
    assert_eq!(error(&mut s).await.code(), Code::NotFound);
    let (_tx, mut s) = managed(&w, ManagedFetchRequest::default()).await;
    assert_eq!(error(&mut s).await.code(), Code::InvalidArgument);
    let id = subscription(&w, "Paused", "EARLIEST");
    w.account("A");
    let (tx, mut s) = managed(&w, by_name("Paused", 1)).await;
    let r = next(&mut s).await;
    tx.send(commit("c", &r.events[0].replay_id)).await.unwrap();
    assert!(next(&mut s).await.commit_response.unwrap().error.is_none());
    // Switching to STOP ends the stream at its next wake-up and forgets the commit.
    w.update(&id, json!({"State": "STOP"}));
    tx.send(ManagedFetchRequest {
        num_requested: 1,
        ..Default::default()
    })
    .await
    .unwrap();
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::FailedPrecondition);
    let rid = forcebus_org::RecordId::parse(&id).unwrap();
    assert_eq!(w.ps.committed(rid).unwrap(), None);
    let (_tx, mut s) = managed(&w, by_name("Paused", 1)).await;
    assert_eq!(error(&mut s).await.code(), Code::FailedPrecondition);
}

#[tokio::test(start_paused = true)]
async fn an_idle_stream_ends_within_seconds_of_a_stop() {
    let w = world(PubSubConfig::default()).await;
    let id = subscription(&w, "Idle", "LATEST");
    let (_tx, mut s) = managed(&w, by_name("Idle", 5)).await;
    tokio::task::yield_now().await;
    let stopped = tokio::time::Instant::now();
    w.update(&id, json!({"State": "STOP"}));
    let e = error(&mut s).await;
    assert_eq!(e.code(), Code::FailedPrecondition);
    assert!(
        stopped.elapsed() <= std::time::Duration::from_secs(5),
        "{:?}",
        stopped.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_commit_past_retention_restarts_at_the_error_recovery_replay() {
    let w = world(PubSubConfig::default()).await;
    let id = w.create(
        "ManagedEventSubscription",
        json!({"DeveloperName": "Recover", "TopicName": "/data/AccountChangeEvent",
               "DefaultReplay": "EARLIEST", "ErrorRecoveryReplay": "LATEST", "State": "RUN"}),
    );
    w.account("Old 1");
    let old1 = w.org.log().last_replay_id();
    w.account("Old 2");
    let (tx, mut s) = managed(&w, by_name("Recover", 0)).await;
    tx.send(commit("c", &old1.to_be_bytes())).await.unwrap();
    assert!(next(&mut s).await.commit_response.unwrap().error.is_none());
    drop(tx);
    drop(s);
    // Everything so far leaves retention: the commit names a position that is gone.
    let later = chrono::Utc::now().timestamp_millis() + 73 * 3_600_000;
    w.org.log().expire(later).unwrap();
    w.account("Retained");
    let rid = forcebus_org::RecordId::parse(&id).unwrap();
    assert_eq!(w.ps.committed(rid).unwrap(), Some(old1));
    // errorRecoveryReplay LATEST: not the retained event (as the default, EARLIEST, would
    // give), only what comes next.
    let (_tx, mut s) = managed(&w, by_name("Recover", 5)).await;
    tokio::task::yield_now().await;
    w.account("Next");
    let r = next(&mut s).await;
    assert_eq!(r.events.len(), 1);
    assert_eq!(
        replay_id(&r.events[0].replay_id),
        w.org.log().last_replay_id()
    );
}
