//! Retention: events past their class's retention or beyond the size cap go, a prefix of
//! each class at a time; an org's reset removes them all. Replay ids are never reused.

use forcebus_sync::prelude::*;
use std::collections::BTreeMap;

use forcebus_store::{Batch, StoreError, Write};

use crate::{EventLog, Inner, Meta, RetentionClass};

/// Payload bytes one storage commit of an expiry removes at most, as it removes at most
/// [`crate::LogConfig::expire_step`] events: a sweep that removes more (a busy log passing
/// its size cap by a quarter, a quarter of a GiB by default) takes several commits, and
/// appends go on between them instead of waiting seconds for one long delete (and the
/// freeing of its pages) to end.
const STEP_BYTES: u64 = 4 << 20;

/// What one step of a sweep removes: each class's events through an id, within the step's
/// limits.
struct Step {
    through: BTreeMap<RetentionClass, u64>,
    /// The step's events and their payload bytes.
    events: usize,
    freed: u64,
    max_events: usize,
    /// Whether the step reached a limit with more to remove.
    stopped: bool,
}

impl Step {
    /// Takes `m` into the step; `false`, and stopped, when the step is full.
    fn take(&mut self, m: Meta) -> bool {
        if self.events >= self.max_events || self.freed >= STEP_BYTES {
            self.stopped = true;
            return false;
        }
        self.through.insert(m.class, m.replay_id);
        self.events += 1;
        self.freed += u64::from(m.size);
        true
    }
}

impl EventLog {
    /// Removes events past their retention at `now_ms`, and the oldest beyond the size
    /// limit, a step of at most [`crate::LogConfig::expire_step`] events or [`STEP_BYTES`]
    /// at a time.
    /// Returns how many were removed.
    pub fn expire(&self, now_ms: i64) -> Result<usize, StoreError> {
        let mut removed = 0;
        loop {
            let started = std::time::Instant::now();
            let (n, more) = self.expire_step(now_ms)?;
            let took = started.elapsed();
            removed += n;
            if !more {
                return Ok(removed);
            }
            // Appends first: while the log is back within its slack, the sweep holds it
            // at most about half the time; past it, it hurries (the appends are outrunning
            // it), and appends wait a step at a time.
            if self.retained_bytes() <= self.cap_with_slack() {
                std::thread::sleep(took);
            } else {
                std::thread::yield_now();
            }
        }
    }

    /// A whole sweep without pauses, run by an append that found the log past its hard
    /// cap (the sweeper fell behind): that append returns once the log is back within its
    /// cap (others append between the steps). A failure is logged; the sweeper tries
    /// again.
    pub(crate) fn catch_up_with_the_cap(&self, now_ms: i64) {
        tracing::warn!(
            retained_bytes = self.retained_bytes(),
            cap = self.config.max_bytes,
            "The event log passed its size cap by half: appends wait for a sweep."
        );
        loop {
            match self.expire_step(now_ms) {
                Ok((_, true)) => {}
                Ok((_, false)) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "Sweep after an append failed.");
                    return;
                }
            }
        }
    }

    /// The size past which the sweeper is woken: the cap and a quarter.
    pub(crate) fn cap_with_slack(&self) -> u64 {
        self.config
            .max_bytes
            .saturating_add(self.config.max_bytes / 4)
    }

    /// The size past which an append sweeps the log itself before it returns: the cap and
    /// a half. The sweeper keeps the log below it by far (a 40 s flood of 1 KB events
    /// peaked at 1.28 GB against a 1 GiB cap); this bounds the log, on disk and in memory,
    /// should the appends ever outrun it (a slow disk).
    pub(crate) fn hard_cap(&self) -> u64 {
        self.config
            .max_bytes
            .saturating_add(self.config.max_bytes / 2)
    }

    /// One step of [`EventLog::expire`]: how many events it removed, and whether it
    /// stopped at its limit with more to remove.
    fn expire_step(&self, now_ms: i64) -> Result<(usize, bool), StoreError> {
        let _serial = self.append.locked();
        let mut inner = self.lock();
        let mut step = Step {
            through: BTreeMap::new(),
            events: 0,
            freed: 0,
            max_events: self.config.expire_step.max(1),
            stopped: false,
        };
        // Each class expires a prefix, in replay-id order: the first event of a class still
        // within retention keeps every later one of that class, even one stamped earlier
        // (a publish that read the clock before a test control moved it forward).
        // The scan ends once every class has its first kept event: a log within its
        // retention looks at one event, not every one (this runs under the append lock).
        let mut kept_from = [false; 256];
        let (classes, mut kept) = (inner.index.classes(), 0);
        for m in inner.index.iter() {
            if kept == classes {
                break;
            }
            if kept_from[usize::from(m.class)] {
                continue;
            }
            if now_ms - m.time_ms < self.config.retention_ms(m.class) {
                kept_from[usize::from(m.class)] = true;
                kept += 1;
                continue;
            }
            if !step.take(m) {
                break;
            }
        }
        // Then the oldest left, whatever their class, while past the size cap. Within a
        // class removal stays a prefix: anything of it at or below its `through` goes.
        for m in inner.index.iter() {
            if step.stopped || inner.bytes - step.freed <= self.config.max_bytes {
                break;
            }
            if step
                .through
                .get(&m.class)
                .is_some_and(|t| m.replay_id <= *t)
            {
                continue;
            }
            if !step.take(m) {
                break;
            }
        }
        if step.through.is_empty() {
            return Ok((0, false));
        }
        // Not waited for: were it lost, the events and the mark of their expiry both
        // come back, and a later sweep removes them again.
        let removed = self.remove_through(&mut inner, step.through, false)?;
        Ok((removed, step.stopped))
    }

    /// Removes every retained event (an org's reset): replay ids go on from where they
    /// were. Returns how many were removed.
    pub fn clear(&self) -> Result<usize, StoreError> {
        let _serial = self.append.locked();
        let mut inner = self.lock();
        let mut through: BTreeMap<RetentionClass, u64> = BTreeMap::new();
        for m in inner.index.iter() {
            let t = through.entry(m.class).or_insert(0);
            *t = (*t).max(m.replay_id);
        }
        if through.is_empty() {
            return Ok(0);
        }
        self.remove_through(&mut inner, through, true)
    }

    /// Stores and applies a removal: each class's events through its id go, durably
    /// before this returns when `durable`. Returns how many went.
    fn remove_through(
        &self,
        inner: &mut Inner,
        through: BTreeMap<RetentionClass, u64>,
        durable: bool,
    ) -> Result<usize, StoreError> {
        let mut batch = Batch::new();
        for (class, t) in &through {
            batch.writes.push(Write::ExpireEvents {
                class: *class,
                through: *t,
            });
            batch.put(
                crate::EXPIRED_SPACE,
                &class.to_string(),
                Some(t.to_string()),
            );
        }
        if durable {
            self.store.commit(&batch)?;
        } else {
            self.store.commit_unsynced(&batch)?;
        }
        let gone = |class: RetentionClass, replay_id: u64| {
            through.get(&class).is_some_and(|t| replay_id <= *t)
        };
        let before = inner.index.len();
        inner.bytes -= inner.index.remove_through(&through);
        inner.tail.retain(|ev| !gone(ev.class, ev.replay_id));
        inner.tail_bytes = inner.tail.iter().map(|e| e.payload.len() as u64).sum();
        for (class, t) in through {
            let e = inner.expired_through.entry(class).or_insert(0);
            *e = (*e).max(t);
        }
        Ok(before - inner.index.len())
    }
}
