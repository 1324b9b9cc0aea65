//! What this node last saw of an org's commit count and of the database's start, and the
//! checks that catch a database that restarted having lost commits this node saw.

use forcebus_sync::prelude::*;
use std::sync::Mutex;

use crate::StoreError;

/// The org's commit count (every commit adds one) and when the database server
/// started, as last seen: a database that restarted with a count back below what was seen
/// lost commits it held in memory only (`synchronous_commit = off`), and the org's state in
/// this server's memory is ahead of it.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Seen {
    pub(super) n: i64,
    pub(super) started: Option<i64>,
}

impl Seen {
    /// Whether a database that started at `started` and holds `durable` commits of the
    /// org lost some this server saw: it restarted, and holds fewer.
    pub(super) fn lost_to(&self, durable: i64, started: i64) -> bool {
        self.started.is_some_and(|was| was != started) && durable < self.n
    }

    fn take_in(&mut self, n: i64, started: i64) {
        self.n = self.n.max(n);
        self.started = Some(started);
    }
}

/// Marks the store lost for good: the error every write fails with from now on.
fn lose(lost: &Mutex<Option<String>>) -> StoreError {
    *lost.locked() = Some(LOST.to_owned());
    StoreError::Lost(crate::Loss::new(LOST, false))
}

pub(super) const LOST: &str = "the database restarted and lost commits that were not yet durable; \
    restart forcebus to serve what the database holds";

/// Checks a count and the database's start from a commit or a flush before it commits:
/// `Lost` (for good) when the database restarted and the count went back.
pub(super) fn check(
    seen: &Mutex<Seen>,
    lost: &Mutex<Option<String>>,
    n: i64,
    started: i64,
) -> Result<(), StoreError> {
    // The count includes the commit itself.
    if seen.locked().lost_to(n - 1, started) {
        return Err(lose(lost));
    }
    Ok(())
}

/// Checks a flush's count and database start against what is seen now (not a copy from
/// before the flush: a commit taken in meanwhile, made before a restart, is one the flush
/// must find) and takes them in: `Lost` (for good) when the database restarted and the
/// count is below the one seen.
pub(super) fn flushed(
    seen: &Mutex<Seen>,
    lost: &Mutex<Option<String>>,
    n: i64,
    started: i64,
) -> Result<(), StoreError> {
    let mut s = seen.locked();
    if s.lost_to(n, started) {
        return Err(lose(lost));
    }
    s.take_in(n, started);
    Ok(())
}

/// Takes in a count and the database's start once its commit committed.
pub(super) fn record(seen: &Mutex<Seen>, n: i64, started: i64) {
    seen.locked().take_in(n, started);
}
