//! What each user has viewed and referenced: `FOR VIEW` stamps a record's
//! `LastViewedDate` and `LastReferencedDate` for the querying user, `FOR REFERENCE` its
//! `LastReferencedDate`. The stamps are the user's, not the record's: they change no
//! record, send no change event, and feed `/recent` and the `recentItems` of
//! `GET /sobjects/{X}`. Kept in the store's `seen` space (written without waiting for
//! an fsync: a stamp is not worth one), at most [`MAX_PER_USER`] records a user, the
//! oldest dropped first.

use forcebus_sync::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;

use forcebus_soql::ast::ForClause;
use forcebus_soql::{Seen, SeenAt};
use forcebus_store::{Batch, StoreError};

use crate::Org;
use crate::clock::format_datetime;
use crate::id::RecordId;
use crate::record::Record;

/// The store space of the stamps: key `{user}:{record}`, value `{viewed}|{referenced}`.
pub(crate) const SEEN: &str = "seen";

/// Records a user's stamps are kept for (Salesforce lists 200 as recently viewed).
pub const MAX_PER_USER: usize = 2_000;

/// Every user's stamps.
#[derive(Debug, Default)]
pub(crate) struct Views(HashMap<RecordId, Arc<Seen>>);

impl Views {
    /// The stamps as stored; unreadable entries are skipped.
    pub(crate) fn load(values: Vec<(String, String)>) -> Self {
        let mut views = Self::default();
        for (key, value) in values {
            let Some((user, record)) = key.split_once(':') else {
                continue;
            };
            let (Some(user), Some(record)) = (RecordId::parse(user), RecordId::parse(record))
            else {
                continue;
            };
            let (viewed, referenced) = value.split_once('|').unwrap_or((&value, ""));
            let stamp = |s: &str| (!s.is_empty()).then(|| s.to_owned());
            let at = SeenAt {
                viewed: stamp(viewed),
                referenced: stamp(referenced),
            };
            Arc::make_mut(views.0.entry(user).or_default())
                .0
                .insert(record, at);
        }
        views
    }
}

fn key(user: RecordId, record: RecordId) -> String {
    format!("{}:{}", user.to18(), record.to18())
}

fn value(at: &SeenAt) -> String {
    format!(
        "{}|{}",
        at.viewed.as_deref().unwrap_or(""),
        at.referenced.as_deref().unwrap_or("")
    )
}

impl Org {
    /// What `user` has viewed and referenced, for a query's context.
    pub(crate) fn seen_by(&self, user: RecordId) -> Arc<Seen> {
        let views = self.views.locked();
        views.0.get(&user).cloned().unwrap_or_default()
    }

    /// Stamps `ids` as viewed (`FOR VIEW`) or referenced (`FOR REFERENCE`) by `user`
    /// now; `FOR UPDATE` stamps nothing. At most [`MAX_PER_USER`] of `ids` count.
    pub(crate) fn mark_seen(&self, user: RecordId, ids: &[RecordId], clause: ForClause) {
        if clause == ForClause::Update || ids.is_empty() {
            return;
        }
        let now = format_datetime(self.clock().now());
        let mut batch = Batch::new();
        let mut views = self.views.locked();
        let seen = Arc::make_mut(views.0.entry(user).or_default());
        for &id in ids.iter().take(MAX_PER_USER) {
            let at = seen.0.entry(id).or_default();
            if clause == ForClause::View {
                at.viewed = Some(now.clone());
            }
            at.referenced = Some(now.clone());
            batch.put(SEEN, &key(user, id), Some(value(at)));
        }
        for id in oldest_past_cap(seen) {
            seen.0.remove(&id);
            batch.put(SEEN, &key(user, id), None);
        }
        drop(views);
        if let Err(e) = self.keep(&batch) {
            tracing::warn!(error = %e, "Could not store what a user viewed; kept in memory.");
        }
    }

    fn keep(&self, batch: &Batch) -> Result<(), StoreError> {
        let _underway = self.underway();
        self.store.commit_unsynced(batch).map(|_| ())
    }

    /// `f` of the live records `user` viewed or referenced, the most recent first, of
    /// `object` only if given, at most `limit`.
    pub fn recently_seen<R>(
        &self,
        user: RecordId,
        object: Option<&str>,
        limit: usize,
        f: impl FnMut(&Record) -> R,
    ) -> Vec<R> {
        let seen = self.seen_by(user);
        let mut stamped: Vec<(&str, RecordId)> = seen
            .0
            .iter()
            .filter_map(|(id, at)| Some((at.last()?, *id)))
            .collect();
        stamped.sort_by(|a, b| b.cmp(a));
        let state = self.read();
        stamped
            .into_iter()
            .filter_map(|(_, id)| state.records.get(&id))
            .filter(|r| !r.is_deleted && object.is_none_or(|o| r.object == o))
            .take(limit)
            .map(f)
            .collect()
    }
}

/// The records to drop so that `seen` keeps [`MAX_PER_USER`]: the least recently used.
fn oldest_past_cap(seen: &Seen) -> Vec<RecordId> {
    let Some(over) = seen.0.len().checked_sub(MAX_PER_USER).filter(|&n| n > 0) else {
        return Vec::new();
    };
    let mut by_age: Vec<(Option<&str>, RecordId)> =
        seen.0.iter().map(|(id, at)| (at.last(), *id)).collect();
    by_age.sort();
    by_age.into_iter().take(over).map(|(_, id)| id).collect()
}
