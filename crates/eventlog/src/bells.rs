//! Wake-ups by kind: a subscriber parks on the bells of the kinds its channels show (or of
//! their retention class, for a channel of every kind), and only an event it may be shown
//! rings them. With one wake-up for the whole log, every visible event woke every parked
//! subscriber of the org: 1,000 long polls over 10 platform events woke 1,000 times per
//! event where 100 had something to take.
//!
//! Appends queue what they wrote, as runs of one kind (a batch is mostly one run); when
//! events become visible ([`Bells::ring_through`]), the runs through them ring their
//! kinds' bells, and their class's. A bell is a watch of the visible replay id when it
//! last rang, so a subscriber that checked for events and then waits on it misses none
//! that arrived in between ([`Waker`]).

use forcebus_sync::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::sync::watch;

use crate::{ANY_KIND, Channel, RetentionClass};

/// Kinds past which a channel waits on its class's bell instead of one per kind.
const MAX_KIND_BELLS: usize = 8;

/// Queued runs past which the queue keeps one run that rings every bell (only a long
/// delivery delay at a high rate queues this many).
const MAX_RUNS: usize = 4096;

/// What a waker's bell is for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    /// Events of one kind.
    Kind(String),
    /// Every event of a retention class ([`ANY_KIND`] channels).
    Class(RetentionClass),
}

/// Events `from..=through` not yet rung for: of `kind` and `class`, or of any (`None`).
/// A run may span several commits (appends of one kind follow one another while earlier
/// ones wait for their fsync): the part already visible rings, the rest waits.
#[derive(Debug)]
struct Run {
    from: u64,
    through: u64,
    kind: Option<(String, RetentionClass)>,
}

#[derive(Debug, Default)]
struct State {
    /// Bells by kind, and by class (looked up by reference when events ring them).
    kinds: HashMap<String, watch::Sender<u64>>,
    classes: HashMap<RetentionClass, watch::Sender<u64>>,
    runs: VecDeque<Run>,
    /// The bell count after the last sweep of bells nobody waits on.
    swept_at: usize,
}

/// The log's bells.
#[derive(Debug, Default)]
pub(crate) struct Bells(Mutex<State>);

impl Bells {
    /// Queues appended events (in replay-id order) until they become visible.
    pub(crate) fn appended<'a>(
        &self,
        events: impl Iterator<Item = (u64, &'a str, RetentionClass)>,
    ) {
        let mut state = self.0.locked();
        for (id, kind, class) in events {
            let full = state.runs.len() >= MAX_RUNS;
            match state.runs.back_mut() {
                Some(run)
                    if run
                        .kind
                        .as_ref()
                        .is_some_and(|(k, c)| k == kind && *c == class) =>
                {
                    run.through = id;
                }
                Some(run) if full => {
                    run.through = id;
                    run.kind = None;
                }
                _ => state.runs.push_back(Run {
                    from: id,
                    through: id,
                    kind: Some((kind.to_owned(), class)),
                }),
            }
        }
    }

    /// Events through `visible` became visible: their bells ring (a run partly visible
    /// rings, and keeps its part still hidden).
    pub(crate) fn ring_through(&self, visible: u64) {
        let mut state = self.0.locked();
        let State {
            kinds,
            classes,
            runs,
            ..
        } = &mut *state;
        while let Some(run) = runs.front_mut().filter(|r| r.from <= visible) {
            match &run.kind {
                Some((kind, class)) => {
                    for bell in kinds
                        .get(kind.as_str())
                        .into_iter()
                        .chain(classes.get(class))
                    {
                        ring(bell, visible);
                    }
                }
                None => {
                    for bell in kinds.values().chain(classes.values()) {
                        ring(bell, visible);
                    }
                }
            }
            if run.through > visible {
                run.from = visible + 1;
                break;
            }
            runs.pop_front();
        }
    }

    /// A waker for subscribers of `channels`. A bell made for it starts at `visible()`,
    /// read under the bells' lock: an event made visible before is at or below it, one
    /// made visible after rings the bell.
    pub(crate) fn waker<'a>(
        &self,
        channels: impl IntoIterator<Item = &'a Channel>,
        visible: impl FnOnce() -> u64,
    ) -> Waker {
        let mut keys: Vec<Key> = Vec::new();
        let mut add = |key: Key| {
            if !keys.contains(&key) {
                keys.push(key);
            }
        };
        for channel in channels {
            // A channel of many kinds (`/data/ChangeEvents` names every selected object's)
            // waits on its class's bell: a wake-up too many now and then costs less than
            // a bell per kind at every park.
            if channel.kinds.len() > MAX_KIND_BELLS || channel.kinds.contains(ANY_KIND) {
                add(Key::Class(channel.class));
                continue;
            }
            for kind in &channel.kinds {
                add(Key::Kind(kind.clone()));
            }
        }
        let mut state = self.0.locked();
        let visible = visible();
        let count = state.kinds.len() + state.classes.len();
        if count > 64 && count > 2 * state.swept_at {
            state.kinds.retain(|_, b| b.receiver_count() > 0);
            state.classes.retain(|_, b| b.receiver_count() > 0);
            state.swept_at = state.kinds.len() + state.classes.len();
        }
        let new = || watch::channel(visible).0;
        let bells = keys
            .into_iter()
            .map(|key| match key {
                Key::Kind(kind) => state.kinds.entry(kind).or_insert_with(new).subscribe(),
                Key::Class(class) => state.classes.entry(class).or_insert_with(new).subscribe(),
            })
            .collect();
        Waker { bells }
    }
}

/// Rings `bell` at `visible` unless it rang there already (several runs of a raise share
/// a bell: a waiter woken once is not woken again for the same events).
fn ring(bell: &watch::Sender<u64>, visible: u64) {
    bell.send_if_modified(|at| {
        let later = visible > *at;
        if later {
            *at = visible;
        }
        later
    });
}

/// What a parked subscriber waits on: the bells of its channels.
#[derive(Debug)]
pub struct Waker {
    bells: Vec<watch::Receiver<u64>>,
}

impl Waker {
    /// Marks every ring so far as seen: call it before checking for events, then
    /// [`Waker::rung`] wakes for any event visible after the check.
    pub fn seen(&mut self) {
        for bell in &mut self.bells {
            bell.borrow_and_update();
        }
    }

    /// The highest replay id a bell rang at (what became visible when it last rang).
    pub fn last_rung(&self) -> u64 {
        self.bells.iter().map(|b| *b.borrow()).max().unwrap_or(0)
    }

    /// Waits until a bell rings after the last [`Waker::seen`]; never, for a waker of no
    /// channels.
    pub async fn rung(&mut self) {
        if self.bells.is_empty() {
            return std::future::pending().await;
        }
        if self.bells.iter().any(|b| b.has_changed().unwrap_or(false)) {
            return;
        }
        // Most subscribers wait on one bell: no boxes, no select.
        if let [bell] = self.bells.as_mut_slice() {
            let _ = bell.changed().await;
            return;
        }
        let changes = self.bells.iter_mut().map(|b| Box::pin(b.changed()));
        // A bell's sender lives as long as the log: an error would mean the log is gone.
        let _ = futures_util::future::select_all(changes).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(kinds: &[&str]) -> Channel {
        Channel::of(kinds, 1)
    }

    fn rang(w: &mut Waker) -> bool {
        let ready = futures_util::FutureExt::now_or_never(w.rung()).is_some();
        w.seen();
        ready
    }

    #[test]
    fn only_a_channels_kinds_ring_its_bell() {
        let bells = Bells::default();
        let mut a = bells.waker([&channel(&["A"])], || 0);
        let mut b = bells.waker([&channel(&["B"])], || 0);
        let mut any = bells.waker([&channel(&[ANY_KIND])], || 0);
        bells.appended([(1, "A", 1)].into_iter());
        assert!(!rang(&mut a), "not before the event is visible");
        bells.ring_through(1);
        assert!(rang(&mut a));
        assert!(!rang(&mut b));
        assert!(rang(&mut any), "a channel of every kind of its class");
        bells.appended([(2, "B", 1), (3, "B", 1), (4, "C", 2)].into_iter());
        bells.ring_through(3);
        assert!(!rang(&mut a));
        assert!(rang(&mut b));
        assert_eq!(b.last_rung(), 3);
        assert!(rang(&mut any));
        bells.ring_through(4);
        assert!(!rang(&mut any), "C is of another class");
    }

    /// A review found: a run of one kind grew across commits, and rang only once all of
    /// it was visible: under steady writes of one kind, never.
    #[test]
    fn a_run_rings_for_its_visible_part_while_later_commits_wait() {
        let bells = Bells::default();
        let mut a = bells.waker([&channel(&["A"])], || 0);
        bells.appended([(1, "A", 1), (2, "A", 1)].into_iter());
        bells.appended([(3, "A", 1)].into_iter());
        bells.ring_through(2);
        assert!(rang(&mut a), "the first commit is visible");
        bells.appended([(4, "A", 1)].into_iter());
        bells.ring_through(3);
        assert!(rang(&mut a), "and the second");
        bells.ring_through(3);
        assert!(!rang(&mut a), "nothing new");
        bells.ring_through(4);
        assert!(rang(&mut a));
        assert!(bells.0.locked().runs.is_empty());
    }

    /// Events 1 to `MAX_RUNS + 10`, of kinds X and Y in turn: a run each, past the cap.
    fn past_the_run_limit() -> impl Iterator<Item = (u64, &'static str, RetentionClass)> {
        (1..=(MAX_RUNS as u64 + 10)).map(|id| (id, ["X", "Y"][id as usize % 2], 1))
    }

    #[test]
    fn a_merged_run_rings_every_bell_for_its_visible_part() {
        let bells = Bells::default();
        let mut a = bells.waker([&channel(&["A"])], || 0);
        bells.appended(past_the_run_limit());
        bells.ring_through(MAX_RUNS as u64 + 5);
        assert!(rang(&mut a));
        assert_eq!(
            bells.0.locked().runs.len(),
            1,
            "the hidden part stays queued"
        );
    }

    #[test]
    fn a_channel_of_many_kinds_waits_on_its_class() {
        let bells = Bells::default();
        let kinds: Vec<String> = (0..=MAX_KIND_BELLS).map(|i| format!("K{i}")).collect();
        let names: Vec<&str> = kinds.iter().map(String::as_str).collect();
        let mut w = bells.waker([&channel(&names)], || 0);
        assert_eq!(w.bells.len(), 1);
        bells.appended([(1, "K3", 1)].into_iter());
        bells.ring_through(1);
        assert!(rang(&mut w));
        bells.appended([(2, "Other", 2)].into_iter());
        bells.ring_through(2);
        assert!(!rang(&mut w), "another class");
    }

    #[test]
    fn a_waker_of_several_channels_wakes_for_each() {
        let bells = Bells::default();
        let mut w = bells.waker([&channel(&["A"]), &channel(&["B", "C"])], || 0);
        for (id, kind) in [(1, "C"), (2, "A"), (3, "B")] {
            bells.appended([(id, kind, 1)].into_iter());
            bells.ring_through(id);
            assert!(rang(&mut w), "{kind}");
        }
        assert!(!rang(&mut w));
    }

    #[test]
    fn past_the_run_limit_every_bell_rings() {
        let bells = Bells::default();
        let mut a = bells.waker([&channel(&["A"])], || 0);
        bells.appended(past_the_run_limit());
        assert!(bells.0.locked().runs.len() <= MAX_RUNS);
        bells.ring_through(MAX_RUNS as u64 + 10);
        assert!(rang(&mut a), "the merged run rings every bell");
        assert!(bells.0.locked().runs.is_empty());
    }

    #[test]
    fn bells_nobody_waits_on_are_swept() {
        let bells = Bells::default();
        for i in 0..200 {
            drop(bells.waker([&channel(&[&format!("K{i}")])], || 0));
        }
        let state = bells.0.locked();
        assert!(state.kinds.len() + state.classes.len() < 200);
    }
}
