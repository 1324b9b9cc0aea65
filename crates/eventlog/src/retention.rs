//! Retention: events past their class's retention or beyond the size cap go, a prefix of
//! each class at a time; an org's reset removes them all. Replay ids are never reused.

use forcebus_sync::prelude::*;
use std::collections::{BTreeMap, HashSet, VecDeque};

use forcebus_store::{Batch, StoreError, Write};

use crate::{EventLog, Inner, Meta, RetentionClass};

impl EventLog {
    /// Removes events past their retention at `now_ms`, and the oldest beyond the size
    /// limit. Returns how many were removed.
    pub fn expire(&self, now_ms: i64) -> Result<usize, StoreError> {
        let _serial = self.append.locked();
        let mut inner = self.lock();
        let mut through: BTreeMap<RetentionClass, u64> = BTreeMap::new();
        let mut removed = 0;
        let mut bytes = inner.bytes;
        // Each class expires a prefix, in replay-id order: the first event of a class still
        // within retention keeps every later one of that class, even one stamped earlier
        // (a publish that read the clock before a test control moved it forward).
        let mut kept_from: HashSet<RetentionClass> = HashSet::new();
        let keep: VecDeque<Meta> = inner
            .index
            .iter()
            .copied()
            .filter(|m| {
                let too_old = !kept_from.contains(&m.class)
                    && now_ms - m.time_ms >= self.config.retention_ms(m.class);
                if too_old {
                    through.insert(m.class, m.replay_id);
                    bytes -= m.size as u64;
                    removed += 1;
                } else {
                    kept_from.insert(m.class);
                }
                !too_old
            })
            .collect();
        let mut keep = keep;
        while bytes > self.config.max_bytes {
            let Some(m) = keep.pop_front() else { break };
            let t = through.entry(m.class).or_insert(0);
            *t = (*t).max(m.replay_id);
            bytes -= m.size as u64;
            removed += 1;
        }
        // Within a class, expiry is in replay-id order; size-based removal can leave later
        // events of another class alive, so anything at or below `through` goes.
        for (class, t) in &through {
            keep.retain(|m| !(m.class == *class && m.replay_id <= *t));
        }
        if removed == 0 {
            return Ok(0);
        }
        self.remove_through(&mut inner, through, keep)
    }

    /// Removes every retained event (an org's reset): replay ids go on from where they
    /// were. Returns how many were removed.
    pub fn clear(&self) -> Result<usize, StoreError> {
        let _serial = self.append.locked();
        let mut inner = self.lock();
        let mut through: BTreeMap<RetentionClass, u64> = BTreeMap::new();
        for m in &inner.index {
            let t = through.entry(m.class).or_insert(0);
            *t = (*t).max(m.replay_id);
        }
        if through.is_empty() {
            return Ok(0);
        }
        self.remove_through(&mut inner, through, VecDeque::new())
    }

    /// Stores and applies a removal: each class's events through its id go, `keep` stays.
    fn remove_through(
        &self,
        inner: &mut Inner,
        through: BTreeMap<RetentionClass, u64>,
        keep: VecDeque<Meta>,
    ) -> Result<usize, StoreError> {
        let mut batch = Batch::new();
        for (class, t) in &through {
            batch.writes.push(Write::ExpireEvents {
                class: *class,
                through: *t,
            });
            batch.put("eventlog.expired", &class.to_string(), Some(t.to_string()));
        }
        self.store.commit(&batch)?;
        let removed = inner.index.len() - keep.len();
        inner.bytes = keep.iter().map(|m| m.size as u64).sum();
        inner.index = keep;
        for (class, t) in through {
            let e = inner.expired_through.entry(class).or_insert(0);
            *e = (*e).max(t);
            inner
                .tail
                .retain(|ev| !(ev.class == class && ev.replay_id <= t));
        }
        Ok(removed)
    }
}
