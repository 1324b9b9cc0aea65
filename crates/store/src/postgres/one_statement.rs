//! The common commit as one statement, and one round trip: a batch of records, events and
//! keyed values (a REST write with its change events and the org's counters, a Pub/Sub
//! publish, a Bulk chunk) goes as a single statement outside any `BEGIN`, so PostgreSQL
//! runs it as a transaction of its own and commits it when it ends: no `BEGIN`, no
//! `COMMIT`, no `SET LOCAL` (the part setting `synchronous_commit` for the transaction
//! does that: `off`, or the database's own setting for a commit that makes itself
//! durable, see `PostgresStore`).
//! Data-modifying `WITH` parts all run, on one snapshot; none touches a row
//! another touches (the last write of a record or a value wins before the statement is
//! built, as it would one statement at a time), so the order of the parts does not matter.
//!
//! The statement holds an advisory lock of the org's until it ends, so a reader can wait
//! for a statement whose connection was cut off while it ran ([`WAIT_FOR_SENDS`]).
//!
//! What the commit checked before its `COMMIT` when it was a transaction of several round
//! trips it now checks in the statement: the part `ok` has a row only while the org's
//! lease is at this store's epoch (its row held shared until the commit ends, so a change
//! of hands waits for it) and the database has not lost commits this server saw (it
//! restarted, and the org's count is below the one last seen). Every write joins `ok`, so
//! a statement that finds either, or finds its events' replay ids taken, writes nothing
//! and answers no row; [`why_refused`] tells which.

use postgres::{Client, Row};

use super::runs::{Runs, taken};
use super::writes::{Prepared, Records, last_wins};
use super::{Conn, Seen};
use crate::{StoreError, Write};

/// When the database server started, in microseconds since the epoch.
macro_rules! started {
    () => {
        "(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8"
    };
}

/// The commit's count is at least the one last seen (`$17`), unless the database started
/// at another time than the one last seen (`$16`, null before the first commit); and its
/// events' replay ids (`$18` to `$19`) are not in the log yet.
macro_rules! may_write {
    () => {
        concat!(
            "($16::int8 IS NULL OR $16 = ",
            started!(),
            " OR coalesce((SELECT n FROM fb_commits WHERE org = $1), 0) >= $17) AND NOT ",
            taken!("$18", "$19")
        )
    };
}

/// The statement, checking no lease.
const COMMIT: &str = concat!(
    "WITH sync AS (SELECT set_config('synchronous_commit',
        CASE WHEN $20::bool THEN current_setting('synchronous_commit') ELSE 'off' END, true)),
    ok AS (SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 7))) AS sending WHERE ",
    may_write!(),
    "),",
    include_str!("one_statement.sql")
);

/// The statement, writing only while the org's lease is at epoch `$21`.
const COMMIT_FENCED: &str = concat!(
    "WITH sync AS (SELECT set_config('synchronous_commit',
        CASE WHEN $20::bool THEN current_setting('synchronous_commit') ELSE 'off' END, true)),
    ok AS (SELECT 1 FROM (SELECT pg_advisory_xact_lock(hashtextextended($1, 7))) AS sending
        WHERE EXISTS (
        SELECT 1 FROM fb_leases WHERE scope = $1 AND epoch = $21 FOR SHARE) AND ",
    may_write!(),
    "),",
    include_str!("one_statement.sql")
);

/// Waits until no commit statement of the org `$1` is running (each holds this lock until
/// it ends): a statement whose connection was cut off may still be.
pub(super) const WAIT_FOR_SENDS: &str = "SELECT pg_advisory_xact_lock(hashtextextended($1, 7))";

/// The org's commit count, when the database started, and whether the org's lease is at
/// the epoch `$2`.
pub(super) const COUNTED: &str = concat!(
    "SELECT coalesce((SELECT n FROM fb_commits WHERE org = $1), 0), ",
    started!(),
    ", EXISTS (SELECT 1 FROM fb_leases WHERE scope = $1 AND epoch = $2)"
);

/// Whether `writes` can go as one statement: records, events and keyed values only.
pub(super) fn fits(writes: &[Write]) -> bool {
    writes.iter().all(|w| {
        matches!(
            w,
            Write::PutRecord(_) | Write::AppendEvent(_) | Write::Put { .. }
        )
    })
}

/// Runs `writes` (which [`fits`]) and counts the commit (checking the org's lease at
/// `fence` unless it is [`super::UNFENCED`], and that the database kept what `seen`
/// saw), committed as it returns, waiting for its WAL to reach the disk when
/// `synchronous` (else `sync` makes it durable later): the count's row, `None` when the
/// statement wrote nothing.
pub(super) fn commit(
    client: &mut Client,
    prepared: &mut Prepared,
    org: &str,
    writes: &[Write],
    (fence, synchronous): (i64, bool),
    seen: Seen,
) -> Result<Option<Row>, postgres::Error> {
    let values = last_wins(
        writes
            .iter()
            .filter_map(|w| match w {
                Write::Put { space, key, .. } => Some(((space, key), w)),
                _ => None,
            })
            .collect(),
    );
    let r = Records::last_of(writes);
    let e = Runs::of(writes);
    let span = e.span();
    let (mut put, mut gone) = ((vec![], vec![], vec![]), (vec![], vec![]));
    for w in values {
        if let Write::Put { space, key, value } = w {
            match value {
                Some(v) => {
                    put.0.push(space.as_str());
                    put.1.push(key.as_str());
                    put.2.push(v.as_str());
                }
                None => {
                    gone.0.push(space.as_str());
                    gone.1.push(key.as_str());
                }
            }
        }
    }
    let sql = if fence == super::UNFENCED {
        COMMIT
    } else {
        COMMIT_FENCED
    };
    let stmt = Conn::prepare(prepared, client, sql)?;
    let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![
        &org,
        &r.ids,
        &r.objects,
        &r.deleted,
        &r.bodies,
        &e.last,
        &e.first,
        &e.classes,
        &e.metas,
        &e.bodies,
        &put.0,
        &put.1,
        &put.2,
        &gone.0,
        &gone.1,
        &seen.started,
        &seen.n,
        &span.0,
        &span.1,
        &synchronous,
    ];
    if fence != super::UNFENCED {
        params.push(&fence);
    }
    client.query_opt(&stmt, &params)
}

/// Why a commit statement of the org's wrote nothing: `Fenced` when its lease is no
/// longer at `fence`, `Lost` when the database lost commits `seen` saw, else `Conflict`
/// when its events' replay ids are taken.
pub(super) fn why_refused(
    client: &mut Client,
    prepared: &mut Prepared,
    org: &str,
    fence: i64,
    seen: Seen,
    writes: &[Write],
) -> Result<StoreError, StoreError> {
    let stmt = Conn::prepare(prepared, client, COUNTED)?;
    let row = client.query_one(&stmt, &[&org, &fence])?;
    let (n, started, leased): (i64, i64, bool) = (row.get(0), row.get(1), row.get(2));
    if fence != super::UNFENCED && !leased {
        return Ok(StoreError::Fenced);
    }
    if seen.started.is_some_and(|was| was != started) && n < seen.n {
        return Ok(StoreError::Lost(crate::Loss::new(super::LOST, false)));
    }
    let span = Runs::of(writes).span();
    if super::runs::is_taken(client, prepared, org, span)? {
        return Ok(super::runs::taken_error(span.0, span.1));
    }
    Err(StoreError::Config(format!(
        "a commit wrote nothing, yet the org's lease and count are as expected \
         (count {n}, {} seen)",
        seen.n
    )))
}
