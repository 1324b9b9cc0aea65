//! Read-ahead: once a delivery uses up a stream's credit, the stream reads the client's
//! next window before the client asks for it. Every event still goes out once, in order,
//! whatever sizes the client's later requests have, and what the stream reports as its
//! position is what it delivered, not what it read.

use std::time::Duration;

use forcebus_pubsub::proto::{
    CommitReplayRequest, FetchRequest, FetchResponse, ManagedFetchRequest, ReplayPreset,
};
use serde_json::json;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::create;
use crate::pubsub::{account_changes_subscription, managed, plaintext, request, runtime};

/// The replay ids of the next `n` events, each response within 5 s.
async fn next_events(stream: &mut tonic::Streaming<FetchResponse>, n: usize) -> Vec<u64> {
    let mut ids = Vec::new();
    while ids.len() < n {
        let r = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("a response in time")
            .expect("not an error status")
            .expect("the stream is still open");
        assert!(
            ids.len() + r.events.len() <= n,
            "no more than the credit: {} after {}",
            r.events.len(),
            ids.len()
        );
        ids.extend(r.events.iter().map(|e| id(&e.replay_id)));
    }
    ids
}

/// `f`'s output, failing the test after 5 s.
async fn within<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(5), f)
        .await
        .expect("a response in time")
}

fn id(bytes: &[u8]) -> u64 {
    forcebus_pubsub::replay::decode(bytes).unwrap()
}

#[test]
fn a_replay_in_windows_of_any_size_gets_every_event_once_in_order() {
    let s = crate::server();
    for i in 0..23 {
        create(&s, "Account", json!({"Name": format!("Account {i}")}));
    }
    let rt = runtime();
    let (tx, mut stream, last) = rt.block_on(async {
        let (tx, rx) = mpsc::channel(4);
        let ask = |n: i32| FetchRequest {
            topic_name: "/data/AccountChangeEvent".into(),
            replay_preset: ReplayPreset::Earliest as i32,
            num_requested: n,
            ..Default::default()
        };
        tx.send(ask(5)).await.unwrap();
        let mut stream = plaintext(&s)
            .await
            .subscribe(request(&s, ReceiverStream::new(rx)))
            .await
            .unwrap()
            .into_inner();
        // 5, then a smaller window than the one read ahead (3 of its 5), then a larger
        // one (the 2 left ahead and 5 from the log), then more than is left (8 of 10).
        let mut ids = next_events(&mut stream, 5).await;
        for (asked, got) in [(3, 3), (7, 7), (10, 8)] {
            tx.send(ask(asked)).await.unwrap();
            ids.extend(next_events(&mut stream, got).await);
        }
        assert_eq!(ids.len(), 23);
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "in order, none twice: {ids:?}"
        );
        (tx, stream, ids[22])
    });
    // The 2 events of credit left take what comes next, live.
    create(&s, "Account", json!({"Name": "Later"}));
    let later = rt.block_on(next_events(&mut stream, 1));
    assert!(later[0] > last);
    drop(tx);
}

#[test]
fn a_commit_answered_while_a_window_waits_reports_the_delivered_position() {
    let s = crate::server();
    account_changes_subscription(&s, "Ahead_Sub");
    for i in 0..10 {
        create(&s, "Account", json!({"Name": format!("Account {i}")}));
    }
    runtime().block_on(async {
        let (tx, mut stream) = managed(&s, "Ahead_Sub", 4).await;
        let mut first = Vec::new();
        while first.len() < 4 {
            first.extend(within(stream.message()).await.unwrap().unwrap().events);
        }
        // The stream has read the next 4 by now; the commit's answer still names the
        // last event delivered.
        tx.send(ManagedFetchRequest {
            commit_replay_id_request: Some(CommitReplayRequest {
                commit_request_id: "c1".into(),
                replay_id: first[3].replay_id.clone(),
            }),
            ..Default::default()
        })
        .await
        .unwrap();
        let answer = within(stream.message()).await.unwrap().unwrap();
        assert!(answer.events.is_empty());
        assert_eq!(answer.commit_response.unwrap().commit_request_id, "c1");
        assert_eq!(
            id(&answer.latest_replay_id),
            id(&first[3].replay_id),
            "the position delivered, not the one read ahead"
        );
        tx.send(ManagedFetchRequest {
            num_requested: 6,
            ..Default::default()
        })
        .await
        .unwrap();
        let mut rest = Vec::new();
        while rest.len() < 6 {
            rest.extend(within(stream.message()).await.unwrap().unwrap().events);
        }
        let mut ids: Vec<u64> = first
            .iter()
            .chain(&rest)
            .map(|e| id(&e.replay_id))
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
        ids.dedup();
        assert_eq!(ids.len(), 10);
    });
}
