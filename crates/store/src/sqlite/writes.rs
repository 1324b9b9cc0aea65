//! The writes of a commit other than events' (records, keyed values, blob pieces), in
//! its transaction, and about how many bytes each adds to the WAL.
//!
//! A row written again is updated where it is (`ON CONFLICT ... DO UPDATE`), not
//! replaced: `INSERT OR REPLACE` deletes the old row and inserts a new one under a new
//! rowid, at the table's end, so an update dirtied the row's old page, the table's last
//! page and the key's index page (and pointer-map pages whenever a page was allocated or
//! freed) where in place it dirties one.

use rusqlite::params;

use crate::{BLOB_PIECE, Write};

/// A write other than an event's append or expiry, in `tx`.
pub(super) fn write_other(tx: &rusqlite::Connection, write: &Write) -> rusqlite::Result<()> {
    match write {
        Write::PutRecord(r) => {
            tx.prepare_cached(
                "INSERT INTO records (id, object, is_deleted, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET object = excluded.object,
                 is_deleted = excluded.is_deleted, body = excluded.body",
            )?
            .execute(params![r.id, r.object, r.is_deleted, r.body])?;
        }
        Write::PurgeRecord { id } => {
            tx.prepare_cached("DELETE FROM records WHERE id = ?1")?
                .execute([id])?;
            // Its blobs: keys `{id}/...` (`/` sorts just below `0`).
            tx.prepare_cached("DELETE FROM blob_pieces WHERE key > ?1 AND key < ?2")?
                .execute(params![format!("{id}/"), format!("{id}0")])?;
        }
        Write::Put {
            space,
            key,
            value: Some(v),
        } => {
            tx.prepare_cached(
                "INSERT INTO kv (space, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (space, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![space, key, v])?;
        }
        Write::Put {
            space,
            key,
            value: None,
        } => {
            tx.prepare_cached("DELETE FROM kv WHERE space = ?1 AND key = ?2")?
                .execute(params![space, key])?;
        }
        _ => write_blob(tx, write)?,
    }
    Ok(())
}

/// A write of blob pieces, in `tx`.
fn write_blob(tx: &rusqlite::Connection, write: &Write) -> rusqlite::Result<()> {
    match write {
        Write::PutBlob { key, data } => {
            tx.prepare_cached("DELETE FROM blob_pieces WHERE key = ?1")?
                .execute([key])?;
            // In pieces, so a read from any offset finds its piece by key, not by walking
            // the blob's overflow pages from its start.
            for (n, piece) in data.iter().flat_map(|d| d.chunks(BLOB_PIECE)).enumerate() {
                tx.prepare_cached(
                    "INSERT INTO blob_pieces (key, piece, data) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![key, n as i64, piece])?;
            }
        }
        Write::PutBlobPiece { key, piece, data } => {
            tx.prepare_cached(
                "INSERT INTO blob_pieces (key, piece, data) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key, piece) DO UPDATE SET data = excluded.data",
            )?
            .execute(params![key, piece, data.as_ref()])?;
        }
        Write::MoveBlob { from, to } => {
            tx.prepare_cached("DELETE FROM blob_pieces WHERE key = ?1")?
                .execute([to])?;
            tx.prepare_cached("UPDATE blob_pieces SET key = ?2 WHERE key = ?1")?
                .execute([from, to])?;
        }
        Write::DropBlobs { prefix } => {
            tx.prepare_cached("DELETE FROM blob_pieces WHERE key >= ?1 AND key < ?2")?
                .execute([prefix.as_str(), crate::prefix_end(prefix).as_str()])?;
        }
        _ => {}
    }
    Ok(())
}

/// About how many bytes a write adds to the WAL.
pub(super) fn write_size(w: &Write) -> u64 {
    let n = match w {
        Write::PutRecord(r) => r.id.len() + r.object.len() + r.body.len(),
        Write::AppendEvent(e) => e.kind.len() + e.payload.len() + 24,
        Write::ExpireEvents { .. } | Write::PurgeRecord { .. } => 64,
        Write::Put { key, value, .. } => key.len() + value.as_ref().map_or(0, String::len),
        Write::PutBlob { key, data } => key.len() + data.as_ref().map_or(0, bytes::Bytes::len),
        Write::PutBlobPiece { key, data, .. } => key.len() + data.len(),
        Write::MoveBlob { from, to } => from.len() + to.len(),
        Write::DropBlobs { prefix } => prefix.len(),
    };
    n as u64 + 16
}
