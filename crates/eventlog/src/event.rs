//! Events and channels: an event as the log keeps it (opaque bytes with a kind and a
//! retention class, its encodings cached), one to append, and what a channel shows.

use forcebus_sync::prelude::*;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use forcebus_store::StoredEvent;

use crate::RetentionClass;

/// An event in the log.
pub struct Event {
    /// Position in the log.
    pub replay_id: u64,
    /// What it is; channels select on it.
    pub kind: String,
    /// Retention class.
    pub class: RetentionClass,
    /// Append time, epoch milliseconds.
    pub time_ms: i64,
    /// Opaque payload.
    pub payload: Bytes,
    /// The trace context of the commit that appended it, while spans are exported (in
    /// memory only: an event read back from the store has none).
    pub trace: Option<forcebus_trace::Context>,
    /// Per-format encodings, computed once and shared by every subscriber.
    encoded: Mutex<Vec<(&'static str, Bytes)>>,
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("replay_id", &self.replay_id)
            .field("kind", &self.kind)
            .field("bytes", &self.payload.len())
            .finish()
    }
}

/// A copy of the event without its cached encodings (they are derived data).
impl Clone for Event {
    fn clone(&self) -> Self {
        Self {
            replay_id: self.replay_id,
            kind: self.kind.clone(),
            class: self.class,
            time_ms: self.time_ms,
            payload: self.payload.clone(),
            trace: self.trace.clone(),
            encoded: Mutex::new(Vec::new()),
        }
    }
}

impl Event {
    pub(crate) fn from_stored(e: StoredEvent) -> Self {
        Self {
            replay_id: e.replay_id,
            kind: e.kind,
            class: e.class,
            time_ms: e.time_ms,
            payload: e.payload,
            trace: None,
            encoded: Mutex::new(Vec::new()),
        }
    }

    /// The event encoded for `format`, computing it the first time it is asked for.
    pub fn encoded(&self, format: &'static str, encode: impl FnOnce(&Event) -> Bytes) -> Bytes {
        if let Some((_, b)) = self.encoded.locked().iter().find(|(f, _)| *f == format) {
            return b.clone();
        }
        let bytes = encode(self);
        let mut cache = self.encoded.locked();
        if !cache.iter().any(|(f, _)| *f == format) {
            cache.push((format, bytes.clone()));
        }
        bytes
    }
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// What it is.
    pub kind: String,
    /// Retention class.
    pub class: RetentionClass,
    /// Opaque payload.
    pub payload: Vec<u8>,
}

/// A channel's extra selection over events (a custom channel's filter expression).
pub type Filter = Arc<dyn Fn(&Event) -> bool + Send + Sync>;

/// What a channel shows.
#[derive(Clone)]
pub struct Channel {
    /// Event kinds shown; [`ANY_KIND`] shows every kind of the class (the filter then
    /// chooses).
    pub kinds: HashSet<String>,
    /// The retention class of those kinds (replay validity is judged by it).
    pub class: RetentionClass,
    /// Further selection, e.g. a custom channel's filter expression.
    pub filter: Option<Filter>,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("kinds", &self.kinds)
            .field("class", &self.class)
            .field("filtered", &self.filter.is_some())
            .finish()
    }
}

/// The kind that stands for every kind of a channel's class.
pub const ANY_KIND: &str = "*";

impl Channel {
    /// A channel of the given kinds, unfiltered.
    pub fn of(kinds: &[&str], class: RetentionClass) -> Self {
        Self {
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            class,
            filter: None,
        }
    }

    pub(crate) fn shows(&self, e: &Event) -> bool {
        (self.kinds.contains(&e.kind) || (e.class == self.class && self.kinds.contains(ANY_KIND)))
            && self.filter.as_ref().is_none_or(|f| f(e))
    }
}
