//! What subscribers may see: every event published through the visible replay id. Events
//! become visible when their commit is durable, or, with a delivery delay set (a test
//! control: Salesforce is never instant), no sooner than the delay after that; a
//! subscriber never sees an event before an earlier one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// The visible replay id, and the queue of commits waiting out the delay.
#[derive(Debug)]
pub(crate) struct Delivery {
    visible: Arc<watch::Sender<u64>>,
    delay_ms: Arc<AtomicU64>,
    /// Commits (published at, through replay id) waiting for the delay; present while a
    /// delay is set.
    queue: Mutex<Option<mpsc::UnboundedSender<(Instant, u64)>>>,
}

impl Delivery {
    /// Everything through `last` visible, no delay.
    pub(crate) fn new(last: u64) -> Self {
        Self {
            visible: Arc::new(watch::channel(last).0),
            delay_ms: Arc::new(AtomicU64::new(0)),
            queue: Mutex::new(None),
        }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Option<mpsc::UnboundedSender<(Instant, u64)>>> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The last visible replay id.
    pub(crate) fn visible(&self) -> u64 {
        *self.visible.borrow()
    }

    /// A receiver that changes whenever more events become visible.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.visible.subscribe()
    }

    /// Events through `replay_id` are durable: they become visible now, or after the delay.
    pub(crate) fn publish_through(&self, replay_id: u64) {
        if let Some(queue) = self.queue().as_ref()
            && queue.send((Instant::now(), replay_id)).is_ok()
        {
            return;
        }
        raise(&self.visible, replay_id);
    }

    /// The delay set.
    pub(crate) fn delay(&self) -> Duration {
        Duration::from_millis(self.delay_ms.load(Ordering::Relaxed))
    }

    /// Sets the delay; zero shows at once everything through `published` (the last durable
    /// replay id) and every later commit as it comes. A delay needs a Tokio runtime, which
    /// runs the timer; without one the delay stays zero.
    pub(crate) fn set_delay(&self, delay: Duration, published: u64) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        let mut queue = self.queue();
        if ms == 0 {
            self.delay_ms.store(0, Ordering::Relaxed);
            *queue = None;
            raise(&self.visible, published);
            return;
        }
        if queue.is_none() {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                tracing::warn!("A delivery delay needs the server's runtime; not set.");
                return;
            };
            let (tx, rx) = mpsc::unbounded_channel();
            runtime.spawn(release(rx, self.visible.clone(), self.delay_ms.clone()));
            *queue = Some(tx);
        }
        self.delay_ms.store(ms, Ordering::Relaxed);
    }
}

/// Raises the visible replay id to `replay_id` (it never goes down).
fn raise(visible: &watch::Sender<u64>, replay_id: u64) {
    visible.send_if_modified(|v| {
        let up = replay_id > *v;
        if up {
            *v = replay_id;
        }
        up
    });
}

/// Shows each queued commit once the delay has passed since it was published, in order;
/// ends when the delay is cleared (the queue's sender dropped).
async fn release(
    mut queue: mpsc::UnboundedReceiver<(Instant, u64)>,
    visible: Arc<watch::Sender<u64>>,
    delay_ms: Arc<AtomicU64>,
) {
    while let Some((at, replay_id)) = queue.recv().await {
        let delay = Duration::from_millis(delay_ms.load(Ordering::Relaxed));
        tokio::time::sleep_until(at + delay).await;
        raise(&visible, replay_id);
    }
}
