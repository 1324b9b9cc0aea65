//! The common commit as one statement: a batch of records, events and keyed values (a
//! REST write with its change events and the org's counters, a Pub/Sub publish, a Bulk
//! chunk) goes in one round trip, with the commit's count and lease check, instead of a
//! statement per run of writes. Data-modifying `WITH` parts all run, on one snapshot; none
//! touches a row another touches (the last write of a record or a value wins before the
//! statement is built, as it would one statement at a time), so the order of the parts
//! does not matter. The part setting `synchronous_commit` for the transaction saves the
//! round trip of a `SET LOCAL`.

use postgres::{Row, Transaction};

use super::writes::{Events, Prepared, Records, last_wins};
use crate::Write;

/// The statement, counting the commit whatever the lease.
const COMMIT: &str = concat!(
    include_str!("one_statement.sql"),
    "SELECT $1, 1 FROM sync ON CONFLICT (org) DO UPDATE SET n = fb_commits.n + 1
    RETURNING n, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8"
);

/// The statement, counting the commit only while the org's lease is at epoch `$16` (its
/// row held shared until the commit ends, so a change of hands waits for it).
const COMMIT_FENCED: &str = concat!(
    include_str!("one_statement.sql"),
    "SELECT $1, 1 FROM sync WHERE EXISTS (
        SELECT 1 FROM fb_leases WHERE scope = $1 AND epoch = $16 FOR SHARE)
    ON CONFLICT (org) DO UPDATE SET n = fb_commits.n + 1
    RETURNING n, (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::int8"
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
/// `fence` unless it is [`super::UNFENCED`]): the count's row, `None` when the lease is at
/// another epoch.
pub(super) fn commit(
    tx: &mut Transaction<'_>,
    prepared: &mut Prepared,
    org: &str,
    writes: &[Write],
    fence: i64,
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
    let e = Events::of(writes);
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
    let stmt = super::Conn::prepare(prepared, tx, sql)?;
    let mut params: Vec<&(dyn postgres::types::ToSql + Sync)> = vec![
        &org,
        &r.ids,
        &r.objects,
        &r.deleted,
        &r.bodies,
        &e.ids,
        &e.kinds,
        &e.classes,
        &e.times,
        &e.payloads,
        &put.0,
        &put.1,
        &put.2,
        &gone.0,
        &gone.1,
    ];
    if fence != super::UNFENCED {
        params.push(&fence);
    }
    tx.query_opt(&stmt, &params)
}
