//! What subscribers may see: every event published through the visible replay id. Events
//! become visible when their commit is durable, or, with a delivery delay set (a test
//! control: Salesforce is never instant), no sooner than the delay after that; a
//! subscriber never sees an event before an earlier one.
//!
//! Delayed commits wait in a queue of buckets: commits within [`BUCKET`] of each other
//! share one, released the delay after its last commit, so the queue holds at most one
//! entry per [`BUCKET`] of the delay (6,000 for the longest, ten minutes) however fast
//! commits come. One task per log releases them; it re-arms when the delay changes.

use forcebus_sync::prelude::*;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Commits this close together wait as one.
const BUCKET: Duration = Duration::from_millis(100);

/// Commits waiting out the delay: (first commit, last commit, last replay id).
type Pending = VecDeque<(Instant, Instant, u64)>;

#[derive(Debug, Default)]
struct State {
    delay: Duration,
    pending: Pending,
    /// Whether the release task runs.
    releasing: bool,
}

#[derive(Debug)]
struct Shared {
    visible: watch::Sender<u64>,
    state: Mutex<State>,
    /// Wakes the release task: a commit queued, or the delay changed.
    wake: Notify,
    /// Wakes subscribers of the kinds that became visible.
    bells: crate::bells::Bells,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.locked()
    }

    /// Raises the visible replay id to `replay_id` (it never goes down), ringing the
    /// bells of what became visible.
    fn raise(&self, replay_id: u64) {
        let raised = self.visible.send_if_modified(|v| {
            let up = replay_id > *v;
            if up {
                *v = replay_id;
            }
            up
        });
        if raised {
            self.bells.ring_through(replay_id);
        }
    }
}

/// The visible replay id, and the commits waiting out the delay.
#[derive(Debug)]
pub(crate) struct Delivery(Arc<Shared>);

impl Delivery {
    /// Everything through `last` visible, no delay.
    pub(crate) fn new(last: u64) -> Self {
        Self(Arc::new(Shared {
            visible: watch::channel(last).0,
            state: Mutex::default(),
            wake: Notify::new(),
            bells: crate::bells::Bells::default(),
        }))
    }

    /// The subscribers' bells.
    pub(crate) fn bells(&self) -> &crate::bells::Bells {
        &self.0.bells
    }

    /// The last visible replay id.
    pub(crate) fn visible(&self) -> u64 {
        *self.0.visible.borrow()
    }

    /// A receiver that changes whenever more events become visible.
    pub(crate) fn watch(&self) -> watch::Receiver<u64> {
        self.0.visible.subscribe()
    }

    /// Events through `replay_id` are durable: they become visible now, or after the delay.
    pub(crate) fn publish_through(&self, replay_id: u64) {
        let mut state = self.0.lock();
        if state.delay.is_zero() {
            drop(state);
            self.0.raise(replay_id);
            return;
        }
        let now = Instant::now();
        match state.pending.back_mut() {
            Some((first, last, id)) if now.duration_since(*first) < BUCKET => {
                *last = now;
                *id = (*id).max(replay_id);
            }
            _ => state.pending.push_back((now, now, replay_id)),
        }
        drop(state);
        self.0.wake.notify_one();
    }

    /// The delay set.
    pub(crate) fn delay(&self) -> Duration {
        self.0.lock().delay
    }

    /// Sets the delay, for commits waiting now and later. Zero shows every waiting commit
    /// at once. A delay needs a Tokio runtime, which runs the release task; without one it
    /// stays zero.
    pub(crate) fn set_delay(&self, delay: Duration) {
        let mut state = self.0.lock();
        if !delay.is_zero() && !state.releasing {
            let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                tracing::warn!("A delivery delay needs the server's runtime; not set.");
                return;
            };
            runtime.spawn(release(self.0.clone()));
            state.releasing = true;
        }
        state.delay = delay;
        let flushed = if delay.is_zero() {
            state.pending.drain(..).map(|(_, _, id)| id).max()
        } else {
            None
        };
        drop(state);
        if let Some(id) = flushed {
            self.0.raise(id);
        }
        self.0.wake.notify_one();
    }

    /// Shows every waiting commit now, keeping the delay for later ones (time passed: the
    /// test controls moved the clock beyond any delay).
    pub(crate) fn flush(&self) {
        let flushed = self.0.lock().pending.drain(..).map(|(_, _, id)| id).max();
        if let Some(id) = flushed {
            self.0.raise(id);
        }
    }
}

/// Releases each waiting commit once the delay has passed since its last commit, in
/// order; sleeps until the next is due or something changes.
async fn release(shared: Arc<Shared>) {
    loop {
        let due = {
            let mut state = shared.lock();
            let now = Instant::now();
            let delay = state.delay;
            let mut through = None;
            while let Some(&(_, last, id)) = state.pending.front() {
                if last + delay > now {
                    break;
                }
                state.pending.pop_front();
                through = Some(id);
            }
            if let Some(id) = through {
                shared.raise(id);
            }
            state.pending.front().map(|&(_, last, _)| last + delay)
        };
        match due {
            Some(at) => {
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = shared.wake.notified() => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(d: &Delivery) -> u64 {
        d.visible()
    }

    #[tokio::test(start_paused = true)]
    async fn a_delay_holds_commits_for_its_length_and_in_order() {
        let d = Delivery::new(0);
        d.set_delay(Duration::from_secs(2));
        d.publish_through(1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        d.publish_through(2);
        tokio::time::sleep(Duration::from_millis(990)).await;
        assert_eq!(shown(&d), 0, "not before two seconds");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(shown(&d), 1);
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(shown(&d), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_delay_applies_to_commits_already_waiting() {
        let d = Delivery::new(0);
        d.set_delay(Duration::from_secs(600));
        d.publish_through(1);
        tokio::time::sleep(Duration::from_secs(5)).await;
        d.set_delay(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(shown(&d), 1, "waited 5 s of a 1 s delay: shown at once");
        d.publish_through(2);
        tokio::time::sleep(Duration::from_millis(1010)).await;
        assert_eq!(
            shown(&d),
            2,
            "a later commit waits the new delay, not the old one"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn clearing_the_delay_shows_everything_waiting_at_once() {
        let d = Delivery::new(0);
        d.set_delay(Duration::from_secs(600));
        d.publish_through(3);
        d.publish_through(7);
        d.set_delay(Duration::ZERO);
        assert_eq!(shown(&d), 7);
        d.publish_through(8);
        assert_eq!(shown(&d), 8, "no delay: at once");
    }

    #[tokio::test(start_paused = true)]
    async fn fast_commits_share_buckets_so_the_queue_stays_small() {
        let d = Delivery::new(0);
        d.set_delay(Duration::from_secs(600));
        for id in 1..=10_000u64 {
            d.publish_through(id);
            if id % 10 == 0 {
                tokio::time::advance(Duration::from_millis(1)).await;
            }
        }
        // 1,000 ms of commits: ten buckets of 100 ms.
        assert!(
            d.0.lock().pending.len() <= 11,
            "{}",
            d.0.lock().pending.len()
        );
        d.flush();
        assert_eq!(shown(&d), 10_000);
    }

    #[test]
    fn without_a_runtime_no_delay_is_set() {
        let d = Delivery::new(0);
        d.set_delay(Duration::from_secs(1));
        assert!(d.delay().is_zero());
        d.publish_through(4);
        assert_eq!(shown(&d), 4);
    }
}
