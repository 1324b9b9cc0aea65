//! Events stored in runs, the format both engines keep them in: the events of one
//! retention class that a commit appends one after another are one row, not a row each,
//! their payloads one after another in the row's `body` (or, on SQLite, a segment file)
//! and their ids, times, sizes and kinds in its `meta` ([`meta`]). A publish of 100 events
//! is one insert (and its index entries) instead of 100.

use bytes::Bytes;

use crate::StoredEvent;
use meta::{put_varint, zigzag};

pub(crate) mod meta;

/// Most events in a run.
pub(crate) const RUN_EVENTS: usize = 512;
/// Most payload bytes in a run (a single larger event is a run of its own).
pub(crate) const RUN_BYTES: usize = 256 * 1024;

/// One run: its events' `meta` encoded, their payloads shared (written into the row's
/// `body` in place, so a run's bytes are never gathered into a buffer of their own).
#[derive(Debug, Default)]
pub(crate) struct Run {
    pub(crate) first_id: u64,
    pub(crate) last_id: u64,
    pub(crate) class: u8,
    pub(crate) meta: Vec<u8>,
    pub(crate) payloads: Vec<Bytes>,
    pub(crate) bytes: usize,
    last_time: i64,
    last_kind: String,
}

impl Run {
    /// A run starting with `e`.
    pub(crate) fn new(e: &StoredEvent) -> Self {
        let mut run = Self {
            first_id: e.replay_id,
            last_id: e.replay_id,
            class: e.class,
            ..Self::default()
        };
        run.add(e);
        run
    }

    /// Whether `e` may follow this run's events in it.
    pub(crate) fn takes(&self, e: &StoredEvent) -> bool {
        e.class == self.class
            && e.replay_id > self.last_id
            && self.payloads.len() < RUN_EVENTS
            && self.bytes + e.payload.len() <= RUN_BYTES
    }

    /// Adds `e` (see [`Run::takes`]; the first event is added by [`Run::new`]).
    pub(crate) fn add(&mut self, e: &StoredEvent) {
        let first = self.payloads.is_empty();
        let previous = if first { self.first_id } else { self.last_id };
        put_varint(&mut self.meta, e.replay_id - previous);
        put_varint(
            &mut self.meta,
            zigzag(e.time_ms.wrapping_sub(self.last_time)),
        );
        put_varint(&mut self.meta, e.payload.len() as u64);
        if !first && e.kind == self.last_kind {
            self.meta.push(0);
        } else {
            put_varint(&mut self.meta, e.kind.len() as u64 + 1);
            self.meta.extend_from_slice(e.kind.as_bytes());
            self.last_kind.clone_from(&e.kind);
        }
        self.payloads.push(e.payload.clone());
        self.bytes += e.payload.len();
        self.last_id = e.replay_id;
        self.last_time = e.time_ms;
    }

    /// The payloads one after another, as `body` holds them.
    pub(crate) fn body(&self) -> Vec<u8> {
        self.payloads.concat()
    }
}

/// `events` (in replay-id order) cut into runs: each event joins the run before it when
/// that run [takes](Run::takes) it.
pub(crate) fn cut<'a>(events: impl IntoIterator<Item = &'a StoredEvent>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    for e in events {
        match runs.last_mut() {
            Some(run) if run.takes(e) => run.add(e),
            _ => runs.push(Run::new(e)),
        }
    }
    runs
}
