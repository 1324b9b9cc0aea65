//! A Subscribe's credit and its idle clock: the clock starts when the client has nothing
//! outstanding (its last request, or the moment its credit ran out, whichever is later).

use std::time::{Duration, Instant};

use forcebus_pubsub::proto::{FetchRequest, FetchResponse};
use serde_json::json;

use crate::create;
use crate::pubsub::{runtime, subscribe_to_account_changes};

/// Events received until `n` have come, each response within `within`.
fn receive(
    rt: &tokio::runtime::Runtime,
    stream: &mut tonic::Streaming<FetchResponse>,
    n: usize,
    within: Duration,
) -> usize {
    let mut got = 0;
    while got < n {
        let r = rt
            .block_on(async { tokio::time::timeout(within, stream.message()).await })
            .expect("a response in time")
            .expect("not an error status")
            .expect("the stream is still open");
        got += r.events.len();
    }
    got
}

/// A review found: the idle deadline ran from the last `FetchRequest` only, so a stream
/// whose credit ran out more than `pubsub_idle_timeout_secs` after its last request was
/// closed (status OK) in the same turn, before the client's top-up could arrive.
#[test]
fn a_stream_whose_credit_runs_out_after_a_quiet_waits_for_the_top_up() {
    let s = crate::server_with("pubsub_idle_timeout_secs = 2\n");
    let rt = runtime();
    // 5 events of credit, then a quiet longer than the idle timeout.
    let (tx, mut stream) = subscribe_to_account_changes(&rt, &s);
    std::thread::sleep(Duration::from_millis(3_000));
    for i in 0..10 {
        create(&s, "Account", json!({"Name": format!("Account {i}")}));
    }
    assert_eq!(receive(&rt, &mut stream, 5, Duration::from_secs(5)), 5);
    // The client tops up a moment after its credit ran out: the stream is still there and
    // takes up where it stopped.
    std::thread::sleep(Duration::from_millis(500));
    rt.block_on(tx.send(FetchRequest {
        num_requested: 5,
        ..Default::default()
    }))
    .expect("the request stream is open");
    assert_eq!(receive(&rt, &mut stream, 5, Duration::from_secs(5)), 5);
    // With nothing requested any more, the stream ends after the idle timeout.
    let quiet = Instant::now();
    let end = rt
        .block_on(async { tokio::time::timeout(Duration::from_secs(10), stream.message()).await })
        .expect("the stream ends within the idle timeout");
    assert!(matches!(end, Ok(None)), "ended with status OK: {end:?}");
    assert!(
        quiet.elapsed() >= Duration::from_millis(1_500),
        "ended only after the idle timeout, not at once: {:?}",
        quiet.elapsed()
    );
    drop(tx);
}
