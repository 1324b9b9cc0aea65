//! `bayeux-fanout`: the CometD chat benchmark shape. N long-polling clients, each in one of
//! R rooms; messages are published at a fixed rate, round robin over the rooms, and each
//! is delivered to every member of its room. Against forcebus a room is a platform event
//! (`/event/Room{i}__e`, published over REST as Salesforce clients do); against Faye
//! (`--faye URL`) it is a channel `/chat/room{i}`, published with a Bayeux publish.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;

use crate::bayeux::Client;
use crate::report::{Stats, Summary};
use crate::server::{Target, cpu_secs_of, cpu_secs_since};

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct Args {
    /// Long-polling clients.
    #[arg(long, default_value_t = 1000)]
    clients: usize,
    /// Rooms.
    #[arg(long, default_value_t = 10)]
    rooms: usize,
    /// Messages published per second (over all rooms).
    #[arg(long, default_value_t = 100)]
    rate: u64,
    /// Message body bytes.
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Most publishes in flight.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Run against a Faye server at this Bayeux URL instead.
    #[arg(long)]
    pub(crate) faye: Option<String>,
}

impl Args {
    pub(crate) fn server_config(&self) -> String {
        String::new()
    }
}

fn sent_of(m: &Value) -> Option<u64> {
    let d = &m["data"];
    d["payload"]["Sent__c"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| d["sent"].as_u64())
}

/// `pid`: the server's process (forcebus's when loadgen started it, a peer's when
/// `--pid` names it), whose CPU time over the measured window is reported per delivery.
pub(crate) async fn run(
    run: &super::Run,
    target: Option<&Target>,
    pid: Option<u32>,
    a: &Args,
) -> anyhow::Result<Report> {
    let http = super::http()?;
    // The publisher is an application of its own, with its connections: on a shared pool a
    // listener's long poll would ride a connection the REST publishes used, and the other way.
    let publisher_http = super::http()?;
    let (url, auth) = match (&a.faye, target) {
        (Some(f), _) => (f.clone(), None),
        (None, Some(t)) => (
            format!("{}/cometd/59.0", t.http),
            Some(format!("OAuth {}", t.token)),
        ),
        (None, None) => anyhow::bail!("no server"),
    };
    let faye = a.faye.is_some();
    let channel = move |room: usize| {
        if faye {
            format!("/chat/room{room}")
        } else {
            format!("/event/Room{room}__e")
        }
    };
    if let Some(t) = target.filter(|_| !faye) {
        for room in 0..a.rooms {
            crate::pubsub::define_event(&publisher_http, t, &format!("Room{room}__e")).await?;
        }
    }
    let stats = Arc::new(Stats::new());
    let stop = Arc::new(AtomicBool::new(false));
    let clients = join(&http, &url, &auth, faye, a, &channel).await?;
    let tasks: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(listen(c, stats.clone(), stop.clone())))
        .collect();
    // The publisher: REST publishes to forcebus, Bayeux publishes to Faye.
    let body = "x".repeat(a.size);
    let faye_pub = match &a.faye {
        Some(u) => Some((
            u.clone(),
            Client::handshake(&publisher_http, u, None).await?.client_id,
        )),
        None => None,
    };
    let rest = target.map(|t| (t.data(), t.token.clone()));
    let rooms = a.rooms;
    let publisher = tokio::spawn(super::paced(
        a.rate,
        a.in_flight,
        stop.clone(),
        stats.clone(),
        "publish",
        move |k, sent| {
            let room = k % rooms;
            match (&faye_pub, &rest) {
                (Some((url, client_id)), _) => publisher_http.post(url).json(&[Publish {
                    channel: format!("/chat/room{room}"),
                    client_id,
                    data: Chat { sent, body: &body },
                    id: k.to_string(),
                }]),
                (None, Some((data, token))) => publisher_http
                    .post(format!("{data}/sobjects/Room{room}__e"))
                    .bearer_auth(token)
                    .json(&RoomEvent {
                        sent: sent.to_string(),
                        body: &body,
                    }),
                (None, None) => unreachable!("a server was checked above"),
            }
        },
    ));
    tokio::time::sleep(run.warmup).await;
    stats.start();
    let cpu_before = cpu_secs_of(pid);
    tokio::time::sleep(run.duration).await;
    stop.store(true, Ordering::SeqCst);
    let _ = publisher.await;
    // Let in-flight deliveries land (the messages published in the window are counted
    // when they arrive, so the server's CPU time spans their delivery too).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let cpu = cpu_secs_since(pid, cpu_before);
    for t in &tasks {
        t.abort();
    }
    Ok(report(&stats, run, a, cpu))
}

/// The run's figures: `cpu` is the server's own CPU time (user + system, from /proc) over
/// the window and the drain after it, reported per message delivered in that window
/// (publishing included, the load generator's CPU not).
fn report(stats: &Stats, run: &super::Run, a: &Args, cpu: Option<f64>) -> Report {
    let summary = stats.summary(run.duration);
    let (sent, delivered) = (summary.sent, summary.delivered);
    Report {
        summary,
        expected_deliveries: sent as f64 * a.clients as f64 / a.rooms as f64,
        server_cpu_secs: cpu,
        server_cpu_us_per_delivery: cpu
            .filter(|_| delivered > 0)
            .map(|c| c * 1e6 / delivered as f64),
    }
}

/// What `bayeux-fanout` reports: the summary, the deliveries the messages sent called for,
/// and the server's CPU time.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    #[serde(flatten)]
    summary: Summary,
    expected_deliveries: f64,
    server_cpu_secs: Option<f64>,
    server_cpu_us_per_delivery: Option<f64>,
}

/// A Bayeux publish to a peer's room channel.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Publish<'a> {
    channel: String,
    client_id: &'a str,
    data: Chat<'a>,
    id: String,
}

/// A chat message as a peer's channel carries it.
#[derive(Debug, Serialize)]
struct Chat<'a> {
    sent: u64,
    body: &'a str,
}

/// A chat message as a room's platform event.
#[derive(Debug, Serialize)]
struct RoomEvent<'a> {
    #[serde(rename = "Sent__c")]
    sent: String,
    #[serde(rename = "Body__c")]
    body: &'a str,
}

/// Every client handshaken and subscribed to its room (50 joining at a time).
async fn join(
    http: &reqwest::Client,
    url: &str,
    auth: &Option<String>,
    faye: bool,
    a: &Args,
    channel: &dyn Fn(usize) -> String,
) -> anyhow::Result<Vec<Client>> {
    let joined = super::bounded((0..a.clients).collect(), 50, |i| {
        let (http, url, auth, ch) = (
            http.clone(),
            url.to_owned(),
            auth.clone(),
            channel(i % a.rooms),
        );
        async move {
            let mut c = Client::handshake(&http, &url, auth).await?;
            c.subscribe(&ch, (!faye).then_some(-1)).await?;
            // Salesforce answers the first connect after a handshake at once; Faye holds
            // it like any other, so the loop below makes it.
            if !faye {
                c.connect().await?;
            }
            anyhow::Ok(c)
        }
    })
    .await;
    joined
        .into_iter()
        .map(|c| c.context("a client could not join"))
        .collect()
}

/// One client's connect loop until `stop`: each delivery's latency recorded.
async fn listen(mut c: Client, stats: Arc<Stats>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        match c.connect().await {
            Ok(events) => {
                for e in &events {
                    match sent_of(e) {
                        Some(sent) => stats.delivered(sent),
                        None => stats.error(format!("no timestamp in {e}")),
                    }
                }
            }
            Err(e) => {
                stats.error(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
