//! Storage for forcebus.
//!
//! Everything durable sits behind the [`Store`] trait: records (as JSON documents keyed by
//! id) and small keyed values grouped in named spaces (org identity, id counters, access
//! tokens). A [`Batch`] is written atomically by [`Store::commit`]: an org transaction's
//! record changes, and later its change events, land in one storage transaction or not at
//! all.
//!
//! Layout:
//! - [`sqlite`]: the embedded default engine (bundled SQLite, WAL), on disk or in memory.
//! - [`postgres`]: every org in one PostgreSQL database.
//! - [`group_commit`]: one flush shared by every writer waiting on it, for both.

use std::fmt;

#[cfg(test)]
mod conformance;
mod group_commit;
pub mod postgres;
mod runs;
pub mod sqlite;

pub use postgres::{
    Beat, Database, Fence, Holder, LeaseView, LiveNode, NOBODY, NOT_HELD, NodeRow, OrgLease,
    PostgresStore, UNFENCED, kinds,
};
pub use sqlite::{Durability, SqliteStore};

/// The server's default org's key in a shared database and among a cluster's leases (an
/// org made at run time is keyed by its 18-character id).
pub const DEFAULT_KEY: &str = "default";

/// The size of the pieces a blob is stored in, so a read from any offset finds its piece
/// by key.
pub const BLOB_PIECE: usize = 256 * 1024;

/// A read of `len` bytes from `offset` of a blob stored in pieces: the pieces it needs
/// (first and last number), and the bytes gathered from them, for every engine.
pub(crate) struct BlobRead {
    offset: u64,
    len: usize,
    out: Vec<u8>,
}

impl BlobRead {
    /// A read of `len` (more than 0) bytes from `offset`.
    pub(crate) fn new(offset: u64, len: usize) -> Self {
        Self {
            offset,
            len,
            out: Vec::with_capacity(len),
        }
    }

    /// The numbers of the first and the last piece the read needs.
    pub(crate) fn pieces(&self) -> (u64, u64) {
        let piece = BLOB_PIECE as u64;
        (
            self.offset / piece,
            (self.offset + self.len as u64 - 1) / piece,
        )
    }

    /// Takes what it needs of piece number `n`, given in order; whether it has all it
    /// needs (no later piece is wanted).
    pub(crate) fn take(&mut self, n: u64, data: &[u8]) -> bool {
        let start = self.offset.saturating_sub(n * BLOB_PIECE as u64) as usize;
        if start < data.len() {
            let take = (self.len - self.out.len()).min(data.len() - start);
            self.out.extend_from_slice(&data[start..start + take]);
        }
        self.out.len() == self.len
    }

    /// The bytes read (fewer than asked at the blob's end; none past it).
    pub(crate) fn bytes(self) -> Vec<u8> {
        self.out
    }
}

/// One stored record: its id, object, deletion flag and field values as JSON text.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// 15-character canonical record id.
    pub id: String,
    /// Object API name, e.g. `Account`.
    pub object: String,
    /// Whether the record is in the Recycle Bin.
    pub is_deleted: bool,
    /// The record's fields as a JSON object.
    pub body: String,
}

/// One write of a [`Batch`].
#[derive(Debug, Clone, PartialEq)]
pub enum Write {
    /// Insert or replace a record.
    PutRecord(StoredRecord),
    /// Remove a record for good (emptying the Recycle Bin).
    PurgeRecord {
        /// 15-character canonical record id.
        id: String,
    },
    /// Append an event to the log (committed with the records it describes).
    AppendEvent(StoredEvent),
    /// Drop every event of a retention class up to and including a replay id.
    ExpireEvents {
        /// Retention class.
        class: u8,
        /// Highest replay id to drop.
        through: u64,
    },
    /// Store (`Some`) or remove (`None`) the bytes of a record's blob field. Keys start
    /// with the record's 15-character id and a `/`: purging the record removes them.
    PutBlob {
        /// `{record id}/{field}/{n}`.
        key: String,
        /// The bytes.
        data: Option<bytes::Bytes>,
    },
    /// Store one piece of a blob written a piece at a time (an upload streamed in before
    /// its record): piece `n` holds the blob's bytes from `n` × the piece size; every
    /// piece but the last is whole.
    PutBlobPiece {
        /// The blob's key.
        key: String,
        /// Its number, from 0.
        piece: u32,
        /// Its bytes.
        data: bytes::Bytes,
    },
    /// Give the blob under `from` the key `to` (whatever `to` held is removed): an upload
    /// becomes its record's field in the record's own commit.
    MoveBlob {
        /// The key it has.
        from: String,
        /// The key it takes.
        to: String,
    },
    /// Remove every blob whose key starts with `prefix` (uploads a stopped server left).
    DropBlobs {
        /// The keys' start.
        prefix: String,
    },
    /// Set (`Some`) or remove (`None`) a keyed value in a named space.
    Put {
        /// The space, e.g. `org`, `token`.
        space: String,
        /// The key inside the space.
        key: String,
        /// The value, or `None` to delete.
        value: Option<String>,
    },
}

/// The first key above every key that starts with `prefix` (its last byte plus one), for
/// a range delete.
pub(crate) fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.as_bytes().to_vec();
    while let Some(last) = end.pop() {
        if last < 0x7f {
            end.push(last + 1);
            break;
        }
    }
    String::from_utf8(end).unwrap_or_default()
}

/// One event of the log, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    /// Position in the log; strictly increasing, never reused.
    pub replay_id: u64,
    /// What the event is (e.g. `AccountChangeEvent`); channels select on it.
    pub kind: String,
    /// Retention class (how long the event is kept).
    pub class: u8,
    /// Append time, epoch milliseconds.
    pub time_ms: i64,
    /// Opaque payload (shared: the log keeps the same bytes in memory).
    pub payload: bytes::Bytes,
}

/// Writes that commit together or not at all.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The writes, applied in order.
    pub writes: Vec<Write>,
    /// Other writes of the same org are under way (waiting to be made, or to be made
    /// durable): the engine should not hold this one until it is durable by itself, which
    /// would hold up the ones behind it, but leave it to the group's flush.
    pub followed: bool,
}

impl From<Vec<Write>> for Batch {
    fn from(writes: Vec<Write>) -> Self {
        Self {
            writes,
            ..Self::default()
        }
    }
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a keyed value write.
    pub fn put(&mut self, space: &str, key: &str, value: Option<String>) {
        self.writes.push(Write::Put {
            space: space.to_owned(),
            key: key.to_owned(),
            value,
        });
    }

    /// Whether the batch holds no writes.
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }

    /// Whether the batch writes only events (appends, expiries) and the event log's own
    /// values (spaces [`EVENT_LOG_SPACE`] and below it): no record, blob or other value
    /// that an event's existence must agree with. An engine may keep such a batch's
    /// payloads apart from its other data (SQLite: in segment files), since losing an
    /// unacknowledged one in a power cut breaks no "an event exists iff its change
    /// committed".
    pub fn events_only(&self) -> bool {
        self.writes.iter().all(|w| match w {
            Write::AppendEvent(_) | Write::ExpireEvents { .. } => true,
            Write::Put { space, .. } => space
                .strip_prefix(EVENT_LOG_SPACE)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.')),
            _ => false,
        })
    }
}

/// The keyed-value space of the event log's own counters (its next replay id; its
/// retention's marks are in `eventlog.expired`).
pub const EVENT_LOG_SPACE: &str = "eventlog";

/// A storage engine.
pub trait Store: Send + Sync + fmt::Debug {
    /// Reads every record, deleted ones included, for start-up.
    fn load_records(&self) -> Result<Vec<StoredRecord>, StoreError>;
    /// Reads every `(key, value)` of one space, for start-up.
    fn load_values(&self, space: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Reads up to `limit` events with replay ids above `after`, in order.
    fn load_events(&self, after: u64, limit: usize) -> Result<Vec<StoredEvent>, StoreError>;
    /// Reads `(replay_id, class, time_ms, payload size)` of every stored event, in order.
    fn load_event_index(&self) -> Result<Vec<(u64, u8, i64, usize)>, StoreError>;
    /// The size of a stored blob, if there is one under `key`.
    fn blob_size(&self, key: &str) -> Result<Option<u64>, StoreError>;
    /// Up to `len` bytes of the blob under `key` from `offset` (fewer at its end; none
    /// past it), so a large blob is read a piece at a time.
    fn read_blob(&self, key: &str, offset: u64, len: usize) -> Result<Vec<u8>, StoreError>;
    /// Writes a batch atomically and durably (per the engine's durability setting).
    fn commit(&self, batch: &Batch) -> Result<(), StoreError> {
        let ticket = self.commit_unsynced(batch)?;
        self.sync(ticket)
    }
    /// Writes a batch atomically; it is durable once [`Store::sync`] with the returned
    /// ticket returns. Lets concurrent writers share one fsync (group commit).
    fn commit_unsynced(&self, batch: &Batch) -> Result<u64, StoreError>;
    /// [`Store::commit_unsynced`] for a caller that waits for [`Store::sync`] before
    /// anything relies on the batch (the event log's commits): the engine may leave it
    /// unfinished, to be finished with the deferred batches after it in one go when a sync
    /// starts, and until then a crash of the process (not only of the machine) may lose it.
    /// SQLite at full durability defers (one `COMMIT` a group), reading the batch back at
    /// once and failing one that cannot be written at once; PostgreSQL at full durability
    /// keeps a batch made while the org is busy in memory until the sync (not read back
    /// before it, and refused only then, which loses the store: the caller applied it); the
    /// default commits at once.
    fn commit_deferred(&self, batch: &Batch) -> Result<u64, StoreError> {
        self.commit_unsynced(batch)
    }
    /// Waits until every commit up to `ticket` is durable.
    fn sync(&self, ticket: u64) -> Result<(), StoreError>;
    /// Whether other nodes read this store too (PostgreSQL): then what a node keeps in its
    /// own files (a Bulk job's upload and results) is kept in the store as well, for the
    /// node that serves the org next.
    fn shared(&self) -> bool {
        false
    }
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine reported an error.
    #[error("storage engine error: {0}")]
    Engine(#[from] rusqlite::Error),
    /// PostgreSQL reported an error, or could not be reached.
    #[error("database error: {}", postgres_error(.0))]
    Postgres(#[from] ::postgres::Error),
    /// The store is misconfigured: a URL that is not one, a database of a newer version.
    #[error("{0}")]
    Config(String),
    /// This node no longer holds the lease on writing: another took it (this one was
    /// paused or cut off past its expiry), and nothing more is committed here.
    #[error("this node lost its lease on the database to another node; it commits nothing more")]
    Fenced,
    /// The database could not be reached for a call made on this one's behalf (a group
    /// commit's flush another writer led): it may succeed later.
    #[error("the database cannot be reached: {0}")]
    Unavailable(String),
    /// A commit was lost before it was durable: nothing more is acknowledged until the
    /// server restarts and serves what is durable.
    #[error("an earlier commit could not be made durable: {0}")]
    Lost(Loss),
    /// The data directory could not be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path involved.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A stored document could not be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// A write would overwrite what the store keeps for good (a replay id already in the
    /// log): nothing of its batch is written.
    #[error("a write conflicts with what is stored: {0}")]
    Conflict(String),
}

/// Commits lost before they were durable: why, and whether the store was full then (a
/// full disk loses the group of commits it stopped; every later write is refused as the
/// full org Salesforce answers with `STORAGE_LIMIT_EXCEEDED`).
#[derive(Debug, Clone)]
pub struct Loss {
    why: String,
    full: bool,
}

impl Loss {
    /// A loss for `why`; `full` when the store was full.
    pub fn new(why: impl Into<String>, full: bool) -> Self {
        Self {
            why: why.into(),
            full,
        }
    }

    /// Whether the store was full.
    pub fn is_full(&self) -> bool {
        self.full
    }
}

impl std::fmt::Display for Loss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.why)
    }
}

impl StoreError {
    /// Whether the store failed because it is full: the disk, the user's quota, or the
    /// engine's page limit (SQLite's `SQLITE_FULL`, `ENOSPC` or `EDQUOT` on a write or a
    /// sync, PostgreSQL's `53100 disk_full`), now or when it lost the commits that make
    /// every later write fail. Salesforce answers that as a full org
    /// (`STORAGE_LIMIT_EXCEEDED`), not as an internal error.
    pub fn is_full(&self) -> bool {
        match self {
            Self::Lost(loss) => loss.full,
            Self::Engine(rusqlite::Error::SqliteFailure(e, _)) => {
                e.code == rusqlite::ErrorCode::DiskFull
            }
            Self::Postgres(e) => e.code() == Some(&::postgres::error::SqlState::DISK_FULL),
            Self::Io { source, .. } => io_is_full(source),
            _ => false,
        }
    }
}

/// A PostgreSQL error with the server's message and detail when it sent one (the
/// client's own text is only "db error").
fn postgres_error(e: &::postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => match db.detail() {
            Some(detail) => format!("{} ({detail})", db.message()),
            None => db.message().to_owned(),
        },
        // "error connecting to server", and why (refused, timed out, ...).
        None => match std::error::Error::source(e) {
            Some(why) if !e.to_string().contains(&why.to_string()) => format!("{e}: {why}"),
            _ => e.to_string(),
        },
    }
}

impl StoreError {
    /// Whether the store's database cannot be reached now (down, restarting, the network
    /// between): the call may succeed later.
    pub fn is_unavailable(&self) -> bool {
        let e = match self {
            Self::Postgres(e) => e,
            // The node is going away; another serves the org.
            Self::Fenced | Self::Unavailable(_) => return true,
            _ => return false,
        };
        match e.code() {
            // No answer from the server at all: it could not be reached.
            None => e.as_db_error().is_none(),
            // connection_exception, admin_shutdown, crash_shutdown, cannot_connect_now.
            Some(code) => {
                let code = code.code();
                code.starts_with("08") || matches!(code, "57P01" | "57P02" | "57P03")
            }
        }
    }
}

/// Whether an I/O error is a full disk (`ENOSPC`) or an exhausted quota (`EDQUOT`).
pub fn io_is_full(e: &std::io::Error) -> bool {
    const ENOSPC: i32 = 28;
    const EDQUOT: i32 = 122;
    e.kind() == std::io::ErrorKind::StorageFull || matches!(e.raw_os_error(), Some(ENOSPC | EDQUOT))
}

/// The `# HELP` lines of what the engines count (commits, group-commit flushes); the
/// server calls it once its metrics recorder is installed.
pub fn describe_metrics() {
    use metrics::{describe_counter, describe_histogram};
    describe_counter!(
        "forcebus_store_commits_total",
        "Storage transactions committed, by engine."
    );
    describe_histogram!(
        "forcebus_store_flush_seconds",
        metrics::Unit::Seconds,
        "One group-commit flush: an fsync of SQLite's WAL, or PostgreSQL's synchronous commit."
    );
    describe_histogram!(
        "forcebus_store_group_commit_size",
        "Commits one flush made durable."
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite's own "full" (`SQLITE_FULL`), from a database that reached its page limit.
    #[test]
    fn a_store_that_reached_its_limit_is_full() {
        let db = rusqlite::Connection::open_in_memory().expect("an in-memory database");
        db.execute_batch("PRAGMA max_page_count = 4; CREATE TABLE t (b BLOB);")
            .expect("set up");
        let full = (0..64)
            .find_map(|_| {
                db.execute("INSERT INTO t VALUES (zeroblob(4096))", [])
                    .err()
            })
            .expect("the page limit is reached");
        assert!(StoreError::Engine(full).is_full());
        let other = db
            .execute("INSERT INTO missing VALUES (1)", [])
            .unwrap_err();
        assert!(!StoreError::Engine(other).is_full());
    }

    #[test]
    fn a_full_disk_or_quota_is_full_and_other_io_errors_are_not() {
        let io = |source| StoreError::Io {
            path: "x".into(),
            source,
        };
        assert!(io(std::io::Error::from_raw_os_error(28)).is_full());
        assert!(io(std::io::Error::from_raw_os_error(122)).is_full());
        assert!(io(std::io::Error::from(std::io::ErrorKind::StorageFull)).is_full());
        assert!(!io(std::io::Error::from_raw_os_error(13)).is_full());
        assert!(!StoreError::Corrupt("x".into()).is_full());
    }
}
