//! Open query cursors: what a query keeps for its later pages (its text and the ids of its
//! rows in order, or a child relationship's rows), under a locator. Idle cursors expire
//! after 15 minutes; at most [`MAX_CURSORS`] are kept and their total size is bounded by
//! `query_cursor_max_bytes`, the least recently used going first.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::Value;

use forcebus_org::RecordId;

/// Cursors kept at most.
pub(crate) const MAX_CURSORS: usize = 1000;
/// Default bound on the memory all cursors hold together.
pub(crate) const DEFAULT_CURSOR_BYTES: usize = 64 << 20;
const IDLE: i64 = 15;

/// What a cursor keeps to shape its later pages.
#[derive(Debug, Clone)]
pub(crate) enum Kept {
    /// A query: its text, how it ran, and the ids of its rows in order.
    Query {
        text: Arc<str>,
        version: String,
        all_rows: bool,
        tooling: bool,
        ids: Arc<Vec<RecordId>>,
    },
    /// A child relationship's rows, already shaped.
    Rows(Arc<Vec<Value>>),
}

impl Kept {
    pub(crate) fn len(&self) -> usize {
        match self {
            Kept::Query { ids, .. } => ids.len(),
            Kept::Rows(rows) => rows.len(),
        }
    }

    /// The memory it holds, roughly.
    fn bytes(&self) -> usize {
        match self {
            Kept::Query { text, ids, .. } => {
                128 + text.len() + ids.len() * std::mem::size_of::<RecordId>()
            }
            Kept::Rows(rows) => {
                128 + rows
                    .iter()
                    .map(|r| serde_json::to_vec(r).map_or(0, |v| v.len()))
                    .sum::<usize>()
            }
        }
    }
}

#[derive(Debug)]
struct Cursor {
    kept: Kept,
    bytes: usize,
    batch: usize,
    last_used: DateTime<Utc>,
}

/// Open query cursors.
#[derive(Debug)]
pub struct Cursors {
    map: Mutex<HashMap<String, Cursor>>,
    max_bytes: usize,
}

impl Default for Cursors {
    fn default() -> Self {
        Self::new(DEFAULT_CURSOR_BYTES)
    }
}

impl Cursors {
    /// Cursors holding at most `max_bytes` together (the newest is kept even if it alone
    /// is larger, so that its query can be paged).
    pub fn new(max_bytes: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            max_bytes,
        }
    }

    pub(crate) fn open(&self, kept: Kept, batch: usize, now: DateTime<Utc>) -> String {
        let id: String = {
            let mut rng = rand::thread_rng();
            (0..15)
                .map(|_| {
                    char::from(
                        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                            [rng.gen_range(0..62)],
                    )
                })
                .collect()
        };
        let id = format!("01g{id}");
        let bytes = kept.bytes();
        let mut map = self.map.locked();
        map.retain(|_, c| now - c.last_used < Duration::minutes(IDLE));
        let mut held: usize = map.values().map(|c| c.bytes).sum();
        while !map.is_empty() && (map.len() >= MAX_CURSORS || held + bytes > self.max_bytes) {
            let Some(oldest) = map
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(c) = map.remove(&oldest) {
                held -= c.bytes;
            }
        }
        map.insert(
            id.clone(),
            Cursor {
                kept,
                bytes,
                batch,
                last_used: now,
            },
        );
        id
    }

    pub(crate) fn take(&self, id: &str, now: DateTime<Utc>) -> Option<(Kept, usize)> {
        let mut map = self.map.locked();
        let c = map
            .get_mut(id)
            .filter(|c| now - c.last_used < Duration::minutes(IDLE))?;
        c.last_used = now;
        Some((c.kept.clone(), c.batch))
    }

    /// The memory the open cursors hold, roughly.
    pub fn held_bytes(&self) -> usize {
        let map = self.map.locked();
        map.values().map(|c| c.bytes).sum()
    }
}
