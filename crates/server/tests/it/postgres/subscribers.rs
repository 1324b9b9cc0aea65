//! Subscribers inside the kill tests: three nodes on ports of their own, a Streaming API
//! subscriber on one node and a Pub/Sub subscriber on another, writers reaching all
//! three; the node serving the org is killed, round after round. Each subscriber does
//! what a client does when its connection breaks (the CometD one handshakes again and
//! subscribes with the replay id it last saw; the Pub/Sub one subscribes again from its
//! last replay id), and in the end has received every Account change event of the log,
//! each once, in replay-id order: nothing lost, nothing twice.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use forcebus_pubsub::proto::pub_sub_client::PubSubClient;
use forcebus_pubsub::proto::{FetchRequest, ReplayPreset};
use forcebus_testkit::pg::Postgres;
use forcebus_testkit::{Options, Pending, Server};
use serde_json::{Value, json};
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::MetadataValue;

use super::forwarding::free_port;
use super::{TAKEOVER, node_of, options, serving};
use crate::bin;
use crate::events::Writers;

const CHANNEL: &str = "/data/AccountChangeEvent";
/// Rounds of killing the node serving the org.
const ROUNDS: u64 = 10;

/// Replay ids a subscriber received, in the order received.
type Received = Arc<Mutex<Vec<u64>>>;

/// A Streaming API subscriber at `http` (`host:port`): handshake, subscribe with the
/// replay id last seen (`-1`: new events only, at first), connect until the session is
/// lost or the node is unreachable, then all over again.
fn cometd(http: String, token: String, got: Received, stop: Arc<AtomicBool>) {
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let url = format!("http://{http}/cometd/59.0");
    let call = |body: Value| -> Option<Vec<Value>> {
        let r = client
            .post(&url)
            .header("Authorization", format!("OAuth {token}"))
            .json(&body)
            .send()
            .ok()?;
        if r.status() != 200 {
            return None;
        }
        r.json::<Vec<Value>>().ok()
    };
    let mut last: i64 = -1;
    while !stop.load(Ordering::Relaxed) {
        let Some(shook) = call(json!([{"channel": "/meta/handshake", "version": "1.0",
            "supportedConnectionTypes": ["long-polling"], "id": "h"}]))
        else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let Some(id) = shook[0]["clientId"].as_str().map(str::to_owned) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let subscribed = call(json!([{"channel": "/meta/subscribe", "clientId": id,
            "subscription": CHANNEL, "id": "s", "ext": {"replay": {CHANNEL: last}}}]));
        if subscribed.is_none_or(|s| s[0]["successful"] != true) {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        }
        while !stop.load(Ordering::Relaxed) {
            let Some(messages) = call(json!([{"channel": "/meta/connect", "clientId": id,
                "connectionType": "long-polling", "id": "c"}]))
            else {
                break;
            };
            let mut lost = false;
            for m in &messages {
                if m["channel"] == CHANNEL {
                    let replay = m["data"]["event"]["replayId"].as_i64().unwrap();
                    got.lock().unwrap().push(replay as u64);
                    last = replay;
                } else if m["channel"] == "/meta/connect" && m["successful"] != true {
                    lost = true;
                }
            }
            if lost {
                break;
            }
        }
    }
}

/// A Pub/Sub subscriber at `grpc` (`host:port`, plaintext): subscribes from its last
/// replay id (the latest event, at first), asks for more as events come, and subscribes
/// again when the stream ends or fails.
fn pubsub(grpc: String, token: String, org: String, got: Received, stop: Arc<AtomicBool>) {
    let rt = crate::pubsub::runtime();
    rt.block_on(async move {
        let mut last: Option<u64> = None;
        while !stop.load(Ordering::Relaxed) {
            let connected = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
                .unwrap()
                .connect_timeout(Duration::from_secs(2))
                .connect()
                .await;
            let Ok(channel) = connected else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            let first = FetchRequest {
                topic_name: CHANNEL.into(),
                num_requested: 100,
                replay_preset: if last.is_some() {
                    ReplayPreset::Custom as i32
                } else {
                    ReplayPreset::Latest as i32
                },
                replay_id: last
                    .map(forcebus_pubsub::replay::encode)
                    .unwrap_or_default(),
                ..Default::default()
            };
            tx.send(first).await.unwrap();
            let mut request = tonic::Request::new(ReceiverStream::new(rx));
            let m = request.metadata_mut();
            m.insert(
                "accesstoken",
                MetadataValue::try_from(token.as_str()).unwrap(),
            );
            m.insert("tenantid", MetadataValue::try_from(org.as_str()).unwrap());
            m.insert(
                "instanceurl",
                MetadataValue::from_static("http://localhost"),
            );
            let Ok(stream) = PubSubClient::new(channel).subscribe(request).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let mut stream = stream.into_inner();
            let mut credit = 100;
            loop {
                let next = tokio::time::timeout(Duration::from_millis(500), stream.message());
                match next.await {
                    Ok(Ok(Some(batch))) => {
                        for e in &batch.events {
                            let id = forcebus_pubsub::replay::decode(&e.replay_id).unwrap();
                            got.lock().unwrap().push(id);
                            last = Some(id);
                            credit -= 1;
                        }
                        if credit < 50 {
                            let more = FetchRequest {
                                topic_name: CHANNEL.into(),
                                num_requested: 100,
                                ..Default::default()
                            };
                            if tx.send(more).await.is_err() {
                                break;
                            }
                            credit += 100;
                        }
                    }
                    Ok(_) => break,
                    Err(_) if stop.load(Ordering::Relaxed) => return,
                    Err(_) => {}
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });
}

/// The replay ids of the org's Account change events, from the log.
fn account_events(s: &Server) -> Vec<u64> {
    crate::events::all_events(s, 0)
        .iter()
        .filter(|e| e["kind"] == "AccountChangeEvent")
        .map(|e| e["replayId"].as_u64().unwrap())
        .collect()
}

#[test]
fn subscribers_through_other_nodes_miss_nothing_across_kills() {
    let pg = Postgres::start();
    let url = pg.database();
    let ports: Vec<(String, String)> = (0..3).map(|_| (free_port(), free_port())).collect();
    let start = |n: usize| {
        let mut o = Options {
            listen: Some(ports[n].clone()),
            ..options(&url, 1)
        };
        // A connect with nothing to send is held 2 s (the subscriber stops within that).
        o.env
            .push(("FORCEBUS_STREAMING_CONNECT_HOLD_SECS".into(), "2".into()));
        Pending::start(&bin(), o).ready(TAKEOVER)
    };
    let mut nodes: Vec<Server> = (0..3).map(start).collect();
    let (token, org) = (
        nodes[0].ready.access_token.clone(),
        nodes[0].ready.org_id.clone(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let (by_cometd, by_pubsub): (Received, Received) = (Arc::default(), Arc::default());
    let subscribers = [
        {
            let (http, token, got, stop) = (
                ports[1].0.clone(),
                token.clone(),
                by_cometd.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || cometd(http, token, got, stop))
        },
        {
            let (grpc, token, org, got, stop) = (
                ports[2].1.clone(),
                token.clone(),
                org.clone(),
                by_pubsub.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || pubsub(grpc, token, org, got, stop))
        },
    ];
    // Both subscribed before the first write.
    std::thread::sleep(Duration::from_secs(2));
    let acked = Arc::new(Mutex::new(Vec::new()));
    let began = Instant::now();
    for round in 0..ROUNDS {
        let writers: Vec<Writers> = ports
            .iter()
            .enumerate()
            .map(|(n, (http, _))| {
                let data = format!("http://{http}/services/data/v59.0");
                Writers::start_at(1, &data, &token, &acked, &format!("S{round} N{n}"))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(400));
        let owner = serving(&url, "default");
        let dead = nodes.iter().position(|n| node_of(n) == owner).unwrap();
        nodes[dead].kill();
        let deadline = Instant::now() + TAKEOVER;
        while serving(&url, "default") == owner {
            assert!(Instant::now() < deadline, "round {round}: nobody took over");
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(400));
        for w in writers {
            w.stop();
        }
        nodes[dead] = start(dead);
        eprintln!(
            "{:?} round {round}: {} acknowledged; received {} by CometD, {} by Pub/Sub",
            began.elapsed(),
            acked.lock().unwrap().len(),
            by_cometd.lock().unwrap().len(),
            by_pubsub.lock().unwrap().len()
        );
    }
    let log = account_events(&nodes[0]);
    assert!(
        log.len() >= acked.lock().unwrap().len(),
        "every acknowledged write has its event"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    for (name, got) in [("CometD", &by_cometd), ("Pub/Sub", &by_pubsub)] {
        loop {
            let seen = got.lock().unwrap().clone();
            if seen.len() >= log.len() || Instant::now() > deadline {
                assert_eq!(seen, log, "{name}: every event once, in order");
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    eprintln!("{:?} caught up", began.elapsed());
    stop.store(true, Ordering::Relaxed);
    for s in subscribers {
        s.join().unwrap();
    }
}
