//! The scenarios. Each measures from the publish timestamp its events carry.

pub(crate) mod bulk;
pub(crate) mod cdc;
pub(crate) mod cluster;
pub(crate) mod fanout;
pub(crate) mod idle;
pub(crate) mod nats;
pub(crate) mod orgs;
pub(crate) mod pubsub;
pub(crate) mod records;
pub(crate) mod schema_soak;

use std::time::Duration;

/// How long to warm up and to measure.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
}

/// An HTTP client that keeps one connection per concurrent request.
pub(crate) fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(180))
        .build()?)
}

/// Runs `f` over `items` with at most `n` at a time, keeping the results in order.
pub(crate) async fn bounded<T, R, F, Fut>(items: Vec<T>, n: usize, f: F) -> Vec<R>
where
    F: Fn(T) -> Fut,
    Fut: std::future::Future<Output = R>,
{
    use futures_util::StreamExt;
    futures_util::stream::iter(items.into_iter().map(f))
        .buffered(n)
        .collect()
        .await
}

/// Sends `rate` requests a second until `stop`, at most `in_flight` at once, each on its own
/// task: `request(k, sent_us)` builds the k-th, sent at `sent_us`. A 2xx answer counts it as
/// sent at that time; anything else is an error named by `what`.
pub(crate) async fn paced(
    rate: u64,
    in_flight: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stats: std::sync::Arc<crate::report::Stats>,
    what: &'static str,
    mut request: impl FnMut(usize, u64) -> reqwest::RequestBuilder,
) {
    use std::sync::atomic::Ordering;
    let gate = std::sync::Arc::new(tokio::sync::Semaphore::new(in_flight));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut k = 0usize;
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let Ok(permit) = gate.clone().acquire_owned().await else {
            break;
        };
        let sent = crate::report::now_us();
        let req = request(k, sent);
        k += 1;
        let stats = stats.clone();
        tokio::spawn(async move {
            match req.send().await {
                Ok(r) if r.status().is_success() => stats.answered(sent),
                Ok(r) => stats.error(format!("{what}: HTTP {}", r.status())),
                Err(e) => stats.error(e),
            }
            drop(permit);
        });
    }
}

/// Takes `n` from a shared budget of events to publish; `false` once it is spent.
pub(crate) fn take(left: &std::sync::atomic::AtomicU64, n: u64) -> bool {
    use std::sync::atomic::Ordering;
    let before = left.fetch_sub(n, Ordering::SeqCst);
    if before == 0 || before > u64::MAX / 2 {
        left.store(0, Ordering::SeqCst);
        return false;
    }
    true
}
