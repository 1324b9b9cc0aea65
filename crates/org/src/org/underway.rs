//! What an org has under way, said explicitly rather than guessed from who holds it:
//!
//! - every write holds an [`Underway`] from the moment it takes the writer until its
//!   commit is durable (a [`crate::Committing`] carries it), and the sweeps that write
//!   take one too, so [`Org::busy`] says whether anything is being written and
//!   [`Org::settle`] waits (without polling) until nothing is;
//! - [`Org::on_close`] hands out a receiver that hears when the org itself is gone (its
//!   store with it), so whoever closes an org can wait for that before opening it again;
//! - [`Org::watch_usernames`] tells a listener the org's usernames whenever a write
//!   changes its users, so a server can find an org by username without asking each.

use forcebus_sync::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::Org;

/// The count of writes under way, and the condition their end signals.
#[derive(Debug, Default)]
pub(crate) struct Tracker {
    count: Mutex<usize>,
    settled: Condvar,
}

/// One write (or writing sweep) under way; dropping it ends it.
#[derive(Debug)]
#[must_use = "the work is under way only while this is held"]
pub struct Underway(Arc<Tracker>);

impl Drop for Underway {
    fn drop(&mut self) {
        let mut count = self.0.count.locked();
        *count = count.saturating_sub(1);
        if *count == 0 {
            self.0.settled.notify_all();
        }
    }
}

/// The org's writer, held for one write; the write counts among the org's writers
/// (holding it or waiting for it) until this is dropped.
pub(crate) struct Writer<'a> {
    _held: MutexGuard<'a, ()>,
    writers: &'a AtomicUsize,
}

impl Drop for Writer<'_> {
    fn drop(&mut self) {
        self.writers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Who hears of an org's usernames when its users change.
pub(crate) type UsernameWatch = Arc<dyn Fn(Vec<String>) + Send + Sync>;

/// The org's lifecycle listeners.
#[derive(Default)]
pub(crate) struct Lifecycle {
    tracker: Arc<Tracker>,
    /// Writes that hold the writer or wait for it.
    writers: AtomicUsize,
    /// Dropped with the org: each receiver then hears its sender hang up.
    closed: Mutex<Vec<Sender<()>>>,
    usernames: Mutex<Option<UsernameWatch>>,
}

impl Lifecycle {
    /// `writer`, taken, the write counted among the writers while it waits and holds it.
    fn take<'a>(&'a self, writer: &'a Mutex<()>) -> Writer<'a> {
        self.writers.fetch_add(1, Ordering::SeqCst);
        Writer {
            _held: writer.locked(),
            writers: &self.writers,
        }
    }

    fn writers_waiting(&self) -> bool {
        self.writers.load(Ordering::SeqCst) > 1
    }
}

impl std::fmt::Debug for Lifecycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifecycle")
            .field("tracker", &self.tracker)
            .finish_non_exhaustive()
    }
}

impl Org {
    /// Marks work under way until the returned guard is dropped.
    pub fn underway(&self) -> Underway {
        let tracker = self.lifecycle.tracker.clone();
        *tracker.count.locked() += 1;
        Underway(tracker)
    }

    /// The writer, taken for one write, with the write marked under way.
    pub(crate) fn begin_write(&self) -> (Underway, Writer<'_>) {
        let underway = self.underway();
        (underway, self.lifecycle.take(&self.writer))
    }

    /// Whether another write waits for the writer (called while holding it).
    pub(crate) fn writers_waiting(&self) -> bool {
        self.lifecycle.writers_waiting()
    }

    /// Whether any write is under way.
    pub fn busy(&self) -> bool {
        *self.lifecycle.tracker.count.locked() > 0
    }

    /// Waits (blocking this thread) until no write is under way, at most `timeout`;
    /// whether that happened.
    pub fn settle(&self, timeout: Duration) -> bool {
        let tracker = &self.lifecycle.tracker;
        let deadline = Instant::now() + timeout;
        let mut count = tracker.count.locked();
        while *count > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            count = tracker
                .settled
                .wait_timeout(count, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// A receiver that hears (its `recv` fails with `Disconnected`) once the org is gone.
    pub fn on_close(&self) -> Receiver<()> {
        let (tx, rx) = channel();
        self.lifecycle.closed.locked().push(tx);
        rx
    }

    /// Calls `watch` with the org's usernames now and after every write that changes its
    /// users (replacing an earlier watch).
    pub fn watch_usernames(&self, watch: impl Fn(Vec<String>) + Send + Sync + 'static) {
        let watch: UsernameWatch = Arc::new(watch);
        watch(self.usernames());
        *self.lifecycle.usernames.locked() = Some(watch);
    }

    /// Tells the username watch, if any, the usernames now.
    pub(crate) fn users_changed(&self) {
        let watch = self.lifecycle.usernames.locked().clone();
        if let Some(watch) = watch {
            watch(self.usernames());
        }
    }

    /// The usernames of the org's users, in lower case.
    pub(crate) fn usernames(&self) -> Vec<String> {
        self.scan("User", |r| {
            r.get_str("Username").map(str::to_ascii_lowercase)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tracker_settles_when_its_last_guard_goes() {
        let tracker = Arc::new(Tracker::default());
        let take = || {
            *tracker.count.lock().unwrap() += 1;
            Underway(tracker.clone())
        };
        let (a, b) = (take(), take());
        drop(a);
        assert_eq!(*tracker.count.lock().unwrap(), 1);
        let waiter = {
            let tracker = tracker.clone();
            std::thread::spawn(move || {
                let mut count = tracker.count.lock().unwrap();
                while *count > 0 {
                    count = tracker.settled.wait(count).unwrap();
                }
            })
        };
        drop(b);
        waiter.join().unwrap();
        assert_eq!(*tracker.count.lock().unwrap(), 0);
    }

    /// A write holding the writer hears whether another waits for it (it then leaves its
    /// durability to the group's flush rather than hold that one up for it).
    #[test]
    fn a_writer_hears_whether_another_waits_for_it() {
        let (lifecycle, writer) = (Arc::new(Lifecycle::default()), Arc::new(Mutex::new(())));
        let first = lifecycle.take(&writer);
        assert!(!lifecycle.writers_waiting());
        let second = {
            let (lifecycle, writer) = (lifecycle.clone(), writer.clone());
            std::thread::spawn(move || {
                let _held = lifecycle.take(&writer);
                lifecycle.writers_waiting()
            })
        };
        while lifecycle.writers.load(Ordering::SeqCst) < 2 {
            std::thread::yield_now();
        }
        assert!(lifecycle.writers_waiting());
        drop(first);
        assert!(
            !second.join().unwrap(),
            "the second, alone once the first is done"
        );
        assert!(!lifecycle.writers_waiting());
        assert_eq!(lifecycle.writers.load(Ordering::SeqCst), 0);
    }
}
