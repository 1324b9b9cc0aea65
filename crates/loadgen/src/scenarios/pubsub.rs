//! The Pub/Sub API scenarios: `pubsub-publish` (PublishStream throughput), `pubsub-fanout`
//! (Subscribe streams with num_requested 100) and `replay` (reading retained events from
//! EARLIEST).

use forcebus_sync::prelude::*;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use forcebus_pubsub::proto::{FetchRequest, PublishRequest, ReplayPreset};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;

use crate::pubsub::{Conn, TOPIC, batch, define, sent_of};
use crate::report::{Stats, Summary, now_us};
use crate::server::{Target, cpu_secs_of, cpu_us_per_event};

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct PublishArgs {
    /// Publishers, each with its own connection and PublishStream.
    #[arg(long, default_value_t = 4)]
    pub(crate) publishers: usize,
    /// Events per PublishRequest.
    #[arg(long, default_value_t = 100)]
    pub(crate) batch: usize,
    /// Body bytes per event.
    #[arg(long, default_value_t = 1000)]
    pub(crate) size: usize,
    /// PublishRequests in flight per stream.
    #[arg(long, default_value_t = 4)]
    pub(crate) in_flight: usize,
    /// Run against NATS JetStream at this URL instead (file storage).
    #[arg(long)]
    pub(crate) nats: Option<String>,
}

impl PublishArgs {
    /// The publishers that fill the log before a replay.
    pub(crate) fn fill(size: usize) -> Self {
        Self {
            publishers: 4,
            batch: 500,
            size,
            in_flight: 4,
            nats: None,
        }
    }
}

/// Publishes batches on one PublishStream until `stop`, counting acknowledged events.
async fn publisher(
    conn: Conn,
    schema_id: String,
    schema: Arc<forcebus_avro::Schema>,
    a: PublishArgs,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    limit: Option<Arc<AtomicU64>>,
) -> anyhow::Result<()> {
    let (tx, rx) = mpsc::channel::<PublishRequest>(a.in_flight * 2);
    let mut responses = conn
        .client
        .clone()
        .publish_stream(conn.req(ReceiverStream::new(rx)))
        .await?
        .into_inner();
    let gate = Arc::new(tokio::sync::Semaphore::new(a.in_flight));
    let sent_times: Arc<Mutex<VecDeque<u64>>> = Arc::default();
    let reader = {
        let (stats, gate, sent_times) = (stats.clone(), gate.clone(), sent_times.clone());
        tokio::spawn(async move {
            // However the responses end, no permit comes back: the sender stops waiting.
            let _closes = CloseOnDrop(gate.clone());
            while let Some(r) = responses.next().await {
                let Ok(r) = r else {
                    stats.error(format!("{r:?}"));
                    return Some(format!("{r:?}"));
                };
                let sent = sent_times.locked().pop_front().unwrap_or(0);
                let ok = r.results.iter().filter(|x| x.error.is_none()).count() as u64;
                for _ in 0..(r.results.len() as u64 - ok) {
                    stats.error("a publish result carried an error");
                }
                stats.sent_n(sent, ok);
                stats.delivered_n(sent, ok);
                gate.add_permits(1);
            }
            None
        })
    };
    while !stop.load(Ordering::Relaxed) {
        if limit
            .as_ref()
            .is_some_and(|left| !super::take(left, a.batch as u64))
        {
            break;
        }
        let Ok(permit) = gate.acquire().await else {
            break;
        };
        permit.forget();
        let sent = now_us();
        let request = batch(&schema, &schema_id, sent, a.size, a.batch)?;
        sent_times.locked().push_back(sent);
        if tx.send(request).await.is_err() {
            break;
        }
    }
    // Wait for the outstanding acknowledgements, then end the stream.
    let _ = gate.acquire_many(a.in_flight as u32).await;
    drop(tx);
    if let Some(failed) = reader.await? {
        anyhow::bail!("the PublishStream failed: {failed}");
    }
    Ok(())
}

/// Closes a semaphore when dropped.
struct CloseOnDrop(Arc<tokio::sync::Semaphore>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}

pub(crate) async fn publish(
    run: &super::Run,
    t: &Target,
    a: &PublishArgs,
) -> anyhow::Result<PublishReport> {
    define(t).await?;
    let first = Conn::open(t).await?;
    let (schema_id, schema) = first.schema(TOPIC).await?;
    let stats = Arc::new(Stats::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for _ in 0..a.publishers {
        let conn = Conn::open(t).await?;
        tasks.push(tokio::spawn(publisher(
            conn,
            schema_id.clone(),
            schema.clone(),
            a.clone(),
            stats.clone(),
            stop.clone(),
            None,
        )));
    }
    tokio::time::sleep(run.warmup).await;
    stats.start();
    let cpu_before = cpu_secs_of(t.pid);
    tokio::time::sleep(run.duration).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await?.context("a publisher failed")?;
    }
    let summary = stats.summary(run.duration);
    // Over the window and the acknowledgements still due at its end (those events are
    // counted), per event acknowledged.
    let acked = summary.delivered;
    Ok(PublishReport {
        summary,
        server_cpu_us_per_event: cpu_us_per_event(t.pid, cpu_before, acked),
        note: "throughput = events acknowledged per second; latency = PublishRequest sent to its PublishResponse; server CPU (user + system, /proc) per event acknowledged",
    })
}

/// What `pubsub-publish` reports: the summary, the server's CPU time per event, a note.
#[derive(Debug, Serialize)]
pub(crate) struct PublishReport {
    #[serde(flatten)]
    summary: Summary,
    server_cpu_us_per_event: Option<f64>,
    note: &'static str,
}

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct FanoutArgs {
    /// Subscribe streams, each on its own connection.
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Events published per second.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// Body bytes per event.
    #[arg(long, default_value_t = 1000)]
    size: usize,
}

/// What `pubsub-fanout` reports: the summary, the server's CPU time per delivery, and the
/// deliveries the events sent called for.
#[derive(Debug, Serialize)]
pub(crate) struct FanoutReport {
    #[serde(flatten)]
    summary: Summary,
    server_cpu_us_per_delivery: Option<f64>,
    expected_deliveries: u64,
}

pub(crate) async fn fanout(
    run: &super::Run,
    t: &Target,
    a: &FanoutArgs,
) -> anyhow::Result<FanoutReport> {
    define(t).await?;
    let publisher = Conn::open(t).await?;
    let (schema_id, schema) = publisher.schema(TOPIC).await?;
    let stats = Arc::new(Stats::new());
    let stop = Arc::new(AtomicBool::new(false));
    let mut subs = Vec::new();
    for _ in 0..a.subscribers {
        subs.push(subscriber(t, schema.clone(), stats.clone()).await?);
    }
    // One publisher at the rate, a batch every 10 ms.
    let pub_task = {
        let (stats, stop, a) = (stats.clone(), stop.clone(), a.clone());
        tokio::spawn(async move {
            let (tx, rx) = mpsc::channel::<PublishRequest>(64);
            let mut responses = publisher
                .client
                .clone()
                .publish_stream(publisher.req(ReceiverStream::new(rx)))
                .await?
                .into_inner();
            let reader = tokio::spawn(async move { while responses.next().await.is_some() {} });
            let per_tick = (a.rate as f64 / 100.0).max(1.0);
            let mut owed = 0.0;
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            while !stop.load(Ordering::Relaxed) {
                tick.tick().await;
                owed += per_tick;
                let n = owed.floor() as usize;
                owed -= n as f64;
                if n == 0 {
                    continue;
                }
                let sent = now_us();
                let request = batch(&schema, &schema_id, sent, a.size, n)?;
                stats.sent_n(sent, n as u64);
                if tx.send(request).await.is_err() {
                    break;
                }
            }
            drop(tx);
            let _ = reader.await;
            anyhow::Ok(())
        })
    };
    tokio::time::sleep(run.warmup).await;
    stats.start();
    let cpu_before = cpu_secs_of(t.pid);
    tokio::time::sleep(run.duration).await;
    stop.store(true, Ordering::SeqCst);
    pub_task.await??;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // Over the window and the drain after it (publishing included), per delivery.
    let summary = stats.summary(run.duration);
    let server_cpu_us_per_delivery = cpu_us_per_event(t.pid, cpu_before, summary.delivered);
    for s in &subs {
        s.abort();
    }
    let expected_deliveries = summary.sent * a.subscribers as u64;
    Ok(FanoutReport {
        summary,
        server_cpu_us_per_delivery,
        expected_deliveries,
    })
}

/// One subscriber to the topic from LATEST, asking for as many events as each batch
/// delivered, recording each event's latency.
async fn subscriber(
    t: &Target,
    schema: Arc<forcebus_avro::Schema>,
    stats: Arc<Stats>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let conn = Conn::open(t).await?;
    let (tx, rx) = mpsc::channel::<FetchRequest>(16);
    tx.send(FetchRequest {
        topic_name: TOPIC.into(),
        replay_preset: ReplayPreset::Latest as i32,
        num_requested: 100,
        ..Default::default()
    })
    .await?;
    let mut stream = conn
        .client
        .clone()
        .subscribe(conn.req(ReceiverStream::new(rx)))
        .await?
        .into_inner();
    Ok(tokio::spawn(async move {
        while let Some(r) = stream.next().await {
            let Ok(r) = r else {
                stats.error(format!("{r:?}"));
                break;
            };
            let n = r.events.len();
            for e in &r.events {
                match e.event.as_ref().and_then(|p| sent_of(&schema, &p.payload)) {
                    Some(sent) => stats.delivered(sent),
                    None => stats.error("an event without a timestamp"),
                }
            }
            if n > 0 {
                let more = FetchRequest {
                    topic_name: TOPIC.into(),
                    num_requested: n as i32,
                    ..Default::default()
                };
                if tx.send(more).await.is_err() {
                    break;
                }
            }
        }
    }))
}

#[derive(Debug, Clone, clap::Args, Serialize)]
pub(crate) struct ReplayArgs {
    /// Events published first, then read back from EARLIEST.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) events: u64,
    /// Body bytes per event.
    #[arg(long, default_value_t = 100)]
    pub(crate) size: usize,
    /// Run against NATS JetStream at this URL instead (file storage).
    #[arg(long)]
    pub(crate) nats: Option<String>,
    /// Events requested up front (the flow-control window). Salesforce allows 100
    /// outstanding; above that the started server gets `pubsub_max_requested` to match.
    #[arg(long, default_value_t = 100)]
    pub(crate) num_requested: u32,
}

impl ReplayArgs {
    pub(crate) fn server_config(&self) -> String {
        if self.num_requested > 100 {
            format!("pubsub_max_requested = {}\n", self.num_requested)
        } else {
            String::new()
        }
    }
}

/// What `replay` reports, against forcebus or NATS: the log filled, then read back.
#[derive(Debug, Serialize)]
pub(crate) struct ReplayReport {
    pub(crate) published: u64,
    pub(crate) publish_secs: f64,
    pub(crate) publish_per_sec: f64,
    pub(crate) read: u64,
    pub(crate) read_secs: f64,
    pub(crate) read_per_sec: f64,
    /// The server's CPU time per event read (`null` when unknown); not written for NATS,
    /// whose process loadgen does not watch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) read_server_cpu_us_per_event: Option<Option<f64>>,
    pub(crate) errors: u64,
}

pub(crate) async fn replay(
    _run: &super::Run,
    t: &Target,
    a: &ReplayArgs,
) -> anyhow::Result<ReplayReport> {
    define(t).await?;
    let first = Conn::open(t).await?;
    let (schema_id, schema) = first.schema(TOPIC).await?;
    // Fill the log through PublishStream.
    let fill = Arc::new(Stats::new());
    fill.start();
    let left = Arc::new(AtomicU64::new(a.events));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let conn = Conn::open(t).await?;
        let args = PublishArgs::fill(a.size);
        tasks.push(tokio::spawn(publisher(
            conn,
            schema_id.clone(),
            schema.clone(),
            args,
            fill.clone(),
            Arc::new(AtomicBool::new(false)),
            Some(left.clone()),
        )));
    }
    for t in tasks {
        t.await?.context("a publisher failed")?;
    }
    let fill_secs = started.elapsed().as_secs_f64();
    let published = fill.delivered.load(Ordering::Relaxed);
    // Read it all back.
    let conn = Conn::open(t).await?;
    let (tx, rx) = mpsc::channel::<FetchRequest>(64);
    tx.send(FetchRequest {
        topic_name: TOPIC.into(),
        replay_preset: ReplayPreset::Earliest as i32,
        num_requested: a.num_requested as i32,
        ..Default::default()
    })
    .await?;
    let started = Instant::now();
    let cpu_before = cpu_secs_of(t.pid);
    let mut stream = conn
        .client
        .clone()
        .subscribe(conn.req(ReceiverStream::new(rx)))
        .await?
        .into_inner();
    let mut read = 0u64;
    while read < published {
        let r = tokio::time::timeout(Duration::from_secs(30), stream.next())
            .await
            .context("the replay stalled")?
            .context("the stream ended")??;
        let n = r.events.len();
        read += n as u64;
        if n > 0 {
            tx.send(FetchRequest {
                topic_name: TOPIC.into(),
                num_requested: n as i32,
                ..Default::default()
            })
            .await?;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu_per_event = cpu_us_per_event(t.pid, cpu_before, read);
    Ok(ReplayReport {
        published,
        publish_secs: fill_secs,
        publish_per_sec: published as f64 / fill_secs,
        read,
        read_secs: secs,
        read_per_sec: read as f64 / secs,
        read_server_cpu_us_per_event: Some(cpu_per_event),
        errors: fill.errors.load(Ordering::Relaxed),
    })
}
