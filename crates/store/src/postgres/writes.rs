//! A batch's writes as statements of one transaction. Runs of record and event writes go
//! in one statement each (arrays unnested; events as runs, see `runs`), so a Bulk chunk of
//! 200 records and their change events costs a few round trips, not hundreds.

use std::collections::HashMap;

use postgres::{Statement, Transaction};

use super::runs::{self, Legacy};
use crate::{StoreError, StoredRecord, Write};

pub(super) type Prepared = HashMap<&'static str, Statement>;

const PUT_RECORDS: &str = "INSERT INTO fb_records (org, id, object, is_deleted, body)
    SELECT $1, * FROM unnest($2::text[], $3::text[], $4::bool[], $5::text[])
    ON CONFLICT (org, id) DO UPDATE
    SET object = EXCLUDED.object, is_deleted = EXCLUDED.is_deleted, body = EXCLUDED.body";
const PURGE_RECORD: &str = "DELETE FROM fb_records WHERE org = $1 AND id = $2";
/// A record's blobs: keys `{id}/...` (`/` sorts just below `0`, bytewise).
const PURGE_BLOBS: &str = "DELETE FROM fb_blob_pieces WHERE org = $1 AND key > $2 AND key < $3";
const DELETE_BLOB: &str = "DELETE FROM fb_blob_pieces WHERE org = $1 AND key = $2";
const PUT_BLOB: &str = "INSERT INTO fb_blob_pieces (org, key, piece, data)
    SELECT $1, $2, * FROM unnest($3::int4[], $4::bytea[])";
const PUT_BLOB_PIECE: &str =
    "INSERT INTO fb_blob_pieces (org, key, piece, data) VALUES ($1, $2, $3, $4)
    ON CONFLICT (org, key, piece) DO UPDATE SET data = EXCLUDED.data";
const MOVE_BLOB: &str = "UPDATE fb_blob_pieces SET key = $3 WHERE org = $1 AND key = $2";
const DROP_BLOBS: &str = "DELETE FROM fb_blob_pieces WHERE org = $1 AND key >= $2 AND key < $3";
const PUT_VALUE: &str = "INSERT INTO fb_values (org, space, key, value) VALUES ($1, $2, $3, $4)
    ON CONFLICT (org, space, key) DO UPDATE SET value = EXCLUDED.value";
const DELETE_VALUE: &str = "DELETE FROM fb_values WHERE org = $1 AND space = $2 AND key = $3";

/// Applies `writes`, in order, for `org`.
pub(super) fn apply(
    tx: &mut Transaction<'_>,
    prepared: &mut Prepared,
    org: &str,
    writes: &[Write],
    legacy: &Legacy,
) -> Result<(), StoreError> {
    let mut rest = writes;
    while let Some(first) = rest.first() {
        let run = rest
            .iter()
            .take_while(|w| std::mem::discriminant(*w) == std::mem::discriminant(first))
            .count();
        let (now, later) = rest.split_at(run);
        rest = later;
        match first {
            Write::PutRecord(_) => put_records(tx, prepared, org, now)?,
            Write::AppendEvent(_) => runs::append(tx, prepared, org, now)?,
            Write::ExpireEvents { .. } => {
                for w in now {
                    if let Write::ExpireEvents { class, through } = w {
                        runs::expire(tx, prepared, org, *class, *through, legacy)?;
                    }
                }
            }
            _ => {
                for w in now {
                    one(tx, prepared, org, w)?;
                }
            }
        }
    }
    Ok(())
}

fn put_records(
    tx: &mut Transaction<'_>,
    prepared: &mut Prepared,
    org: &str,
    run: &[Write],
) -> Result<(), postgres::Error> {
    let r = Records::last_of(run);
    let stmt = super::Conn::prepare(prepared, tx, PUT_RECORDS)?;
    tx.execute(&stmt, &[&org, &r.ids, &r.objects, &r.deleted, &r.bodies])?;
    Ok(())
}

/// The last write of each key, in the order of their first writes: one statement may not
/// touch a row twice, and the last write wins, as it would one statement at a time.
pub(super) fn last_wins<K: std::hash::Hash + Eq, T>(items: Vec<(K, &T)>) -> Vec<&T> {
    let mut at: HashMap<K, usize> = HashMap::new();
    let mut out: Vec<&T> = Vec::new();
    for (key, item) in items {
        match at.get(&key) {
            Some(&i) => out[i] = item,
            None => {
                at.insert(key, out.len());
                out.push(item);
            }
        }
    }
    out
}

/// The records `writes` put (the last write of each), as a statement's arrays.
pub(super) struct Records<'a> {
    pub(super) ids: Vec<&'a str>,
    pub(super) objects: Vec<&'a str>,
    pub(super) deleted: Vec<bool>,
    pub(super) bodies: Vec<&'a str>,
}

impl<'a> Records<'a> {
    pub(super) fn last_of(writes: &'a [Write]) -> Self {
        let records: Vec<&StoredRecord> = last_wins(
            writes
                .iter()
                .filter_map(|w| match w {
                    Write::PutRecord(r) => Some((r.id.as_str(), r)),
                    _ => None,
                })
                .collect(),
        );
        Self {
            ids: records.iter().map(|r| r.id.as_str()).collect(),
            objects: records.iter().map(|r| r.object.as_str()).collect(),
            deleted: records.iter().map(|r| r.is_deleted).collect(),
            bodies: records.iter().map(|r| r.body.as_str()).collect(),
        }
    }
}

fn one(
    tx: &mut Transaction<'_>,
    prepared: &mut Prepared,
    org: &str,
    write: &Write,
) -> Result<(), postgres::Error> {
    let mut run = |sql: &'static str, params: &[&(dyn postgres::types::ToSql + Sync)]| {
        let stmt = super::Conn::prepare(prepared, tx, sql)?;
        tx.execute(&stmt, params).map(drop)
    };
    match write {
        Write::PutRecord(_) | Write::AppendEvent(_) | Write::ExpireEvents { .. } => {
            unreachable!("written in runs")
        }
        Write::PurgeRecord { id } => {
            run(PURGE_RECORD, &[&org, id])?;
            run(PURGE_BLOBS, &[&org, &format!("{id}/"), &format!("{id}0")])
        }
        Write::PutBlob { key, data } => {
            run(DELETE_BLOB, &[&org, key])?;
            let Some(data) = data else {
                return Ok(());
            };
            let pieces: Vec<&[u8]> = data.chunks(crate::BLOB_PIECE).collect();
            let numbers: Vec<i32> = (0..pieces.len() as i32).collect();
            run(PUT_BLOB, &[&org, key, &numbers, &pieces])
        }
        Write::PutBlobPiece { key, piece, data } => {
            let piece = i32::try_from(*piece).unwrap_or(i32::MAX);
            run(PUT_BLOB_PIECE, &[&org, key, &piece, &data.as_ref()])
        }
        Write::MoveBlob { from, to } => {
            run(DELETE_BLOB, &[&org, to])?;
            run(MOVE_BLOB, &[&org, from, to])
        }
        Write::DropBlobs { prefix } => run(DROP_BLOBS, &[&org, prefix, &crate::prefix_end(prefix)]),
        Write::Put {
            space,
            key,
            value: Some(v),
        } => run(PUT_VALUE, &[&org, space, key, v]),
        Write::Put {
            space,
            key,
            value: None,
        } => run(DELETE_VALUE, &[&org, space, key]),
    }
}
