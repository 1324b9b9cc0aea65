//! The same publish and replay loads against NATS JetStream (`--nats URL`), the durable
//! log a user might pick instead, through its Rust client `async-nats`.
//!
//! The shape mirrors the Pub/Sub scenarios: P publishers, each keeping `in_flight` windows
//! of `batch` asynchronous publishes outstanding, events of `size` bytes, into one
//! file-storage stream; replay reads every stored message from the start with an ordered
//! pull consumer.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::pubsub::{PublishArgs, ReplayArgs, ReplayReport};
use crate::report::{Noted, Stats, now_us};
use anyhow::Context;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;

const STREAM: &str = "FORCEBUS_LOAD";
const SUBJECT: &str = "load.events";

/// Connects and (re)creates the file-storage stream the loads write to.
async fn setup(url: &str) -> anyhow::Result<jetstream::Context> {
    let client = async_nats::connect(url)
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    let js = jetstream::new(client);
    let _ = js.delete_stream(STREAM).await;
    js.create_stream(stream::Config {
        name: STREAM.into(),
        subjects: vec![SUBJECT.into()],
        storage: stream::StorageType::File,
        ..Default::default()
    })
    .await
    .map_err(|e| anyhow::anyhow!("creating the JetStream stream: {e}"))?;
    Ok(js)
}

/// The event body: the send time (µs, 8 bytes) padded to `size`.
fn body(sent: u64, size: usize) -> Bytes {
    let mut b = vec![b'x'; size.max(8)];
    b[..8].copy_from_slice(&sent.to_le_bytes());
    Bytes::from(b)
}

/// Publishes windows of `batch` until `stop` (or until `limit` runs out), each window's
/// latency measured from its first send to its last acknowledgement.
async fn publisher(
    url: String,
    a: PublishArgs,
    stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    limit: Option<Arc<AtomicU64>>,
) -> anyhow::Result<()> {
    // One connection per publisher, as the Pub/Sub side opens one channel each.
    let js = jetstream::new(async_nats::connect(&url).await?);
    let gate = Arc::new(tokio::sync::Semaphore::new(a.in_flight));
    let mut windows = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        if limit
            .as_ref()
            .is_some_and(|left| !super::take(left, a.batch as u64))
        {
            break;
        }
        let permit = gate.clone().acquire_owned().await?;
        let sent = now_us();
        let payload = body(sent, a.size);
        let mut acks = Vec::with_capacity(a.batch);
        for _ in 0..a.batch {
            acks.push(js.publish(SUBJECT, payload.clone()).await?);
        }
        let stats = stats.clone();
        windows.push(tokio::spawn(async move {
            let mut ok = 0;
            for ack in acks {
                match ack.await {
                    Ok(_) => ok += 1,
                    Err(e) => stats.error(e),
                }
            }
            stats.sent_n(sent, ok);
            stats.delivered_n(sent, ok);
            drop(permit);
        }));
        windows.retain(|w| !w.is_finished());
    }
    for w in windows {
        w.await?;
    }
    Ok(())
}

pub(crate) async fn publish(run: &super::Run, url: &str, a: &PublishArgs) -> anyhow::Result<Noted> {
    setup(url).await?;
    let stats = Arc::new(Stats::new());
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..a.publishers)
        .map(|_| {
            tokio::spawn(publisher(
                url.to_owned(),
                a.clone(),
                stats.clone(),
                stop.clone(),
                None,
            ))
        })
        .collect();
    tokio::time::sleep(run.warmup).await;
    stats.start();
    tokio::time::sleep(run.duration).await;
    stop.store(true, Ordering::SeqCst);
    for t in tasks {
        t.await?.context("a publisher failed")?;
    }
    Ok(Noted {
        summary: stats.summary(run.duration),
        note: "throughput = messages acknowledged per second; latency = a window's first publish to its last acknowledgement",
    })
}

pub(crate) async fn replay(url: &str, a: &ReplayArgs) -> anyhow::Result<ReplayReport> {
    let js = setup(url).await?;
    let fill = Arc::new(Stats::new());
    fill.start();
    let left = Arc::new(AtomicU64::new(a.events));
    let started = Instant::now();
    let args = PublishArgs::fill(a.size);
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            tokio::spawn(publisher(
                url.to_owned(),
                args.clone(),
                fill.clone(),
                Arc::new(AtomicBool::new(false)),
                Some(left.clone()),
            ))
        })
        .collect();
    for t in tasks {
        t.await?.context("a publisher failed")?;
    }
    let fill_secs = started.elapsed().as_secs_f64();
    let published = fill.delivered.load(Ordering::Relaxed);

    let stream = js
        .get_stream(STREAM)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let consumer = stream
        .create_consumer(consumer::pull::OrderedConfig {
            deliver_policy: consumer::DeliverPolicy::All,
            ..Default::default()
        })
        .await
        .map_err(|e| anyhow::anyhow!("creating the replay consumer: {e}"))?;
    let started = Instant::now();
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut read = 0u64;
    while read < published {
        let m = tokio::time::timeout(Duration::from_secs(30), messages.next())
            .await
            .context("the replay stalled")?
            .context("the consumer ended")?;
        m.map_err(|e| anyhow::anyhow!("{e}"))?;
        read += 1;
    }
    let secs = started.elapsed().as_secs_f64();
    Ok(ReplayReport {
        published,
        publish_secs: fill_secs,
        publish_per_sec: published as f64 / fill_secs,
        read,
        read_secs: secs,
        read_per_sec: read as f64 / secs,
        read_server_cpu_us_per_event: None,
        errors: fill.errors.load(Ordering::Relaxed),
    })
}
