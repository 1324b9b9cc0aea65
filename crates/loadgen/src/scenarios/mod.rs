//! The scenarios. Each measures from the publish timestamp its events carry.

pub(crate) mod cdc;
pub(crate) mod fanout;
pub(crate) mod idle;
pub(crate) mod pubsub;

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
