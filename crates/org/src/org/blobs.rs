//! Reading the blob fields' bytes the store keeps apart from their records
//! ([`crate::blobs`]), a piece at a time; and writing a file uploaded ahead of its record
//! (a multipart REST write), a piece at a time, so that no file is ever held whole.
//!
//! An upload's pieces are committed under `upload/{token}` as they arrive; the write
//! that names it ([`Uploaded::marker`] as the blob field's value, honoured only by a
//! transaction given that upload) moves them to the record's own key in its commit. What
//! a failed write or a stopped server leaves under `upload/` is removed (by the request
//! that uploaded it, and at the next start).

use md5::Digest as _;

use forcebus_store::{BLOB_PIECE, Batch, StoreError, Write};

use crate::Org;
use crate::blobs::{Uploaded, upload_key};

/// Pieces committed together while an upload streams in (4 MB).
const PIECES_PER_COMMIT: usize = 16;

/// A file being uploaded: bytes in, pieces committed as they fill. Dropped before
/// [`Upload::finish`] (a client gone mid-body, a refused request), it removes its pieces
/// (off the async workers when there are some); a server stopped mid-upload leaves them
/// for its next start.
#[derive(Debug)]
pub struct Upload {
    store: std::sync::Arc<dyn forcebus_store::Store>,
    /// Set once it has finished: its pieces are the write's to take.
    finished: bool,
    token: String,
    /// The piece being filled.
    piece: Vec<u8>,
    /// Full pieces not yet committed.
    batch: Batch,
    next_piece: u32,
    size: u64,
    md5: md5::Md5,
    /// The last commit's ticket, synced by `finish`.
    ticket: Option<u64>,
}

impl Upload {
    /// Its random name (for [`Org::discard_upload`]).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Bytes so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends bytes; full pieces are committed in runs.
    pub fn write(&mut self, mut data: &[u8]) -> Result<(), StoreError> {
        if self.piece.capacity() == 0 && !data.is_empty() {
            self.piece.reserve_exact(BLOB_PIECE);
        }
        self.size += data.len() as u64;
        self.md5.update(data);
        while !data.is_empty() {
            let room = BLOB_PIECE - self.piece.len();
            let (now, rest) = data.split_at(room.min(data.len()));
            self.piece.extend_from_slice(now);
            data = rest;
            if self.piece.len() == BLOB_PIECE {
                self.seal_piece();
                if self.batch.writes.len() >= PIECES_PER_COMMIT {
                    self.commit()?;
                }
            }
        }
        Ok(())
    }

    /// Commits what is left and waits until every piece is durable.
    pub fn finish(mut self, field: &str) -> Result<Uploaded, StoreError> {
        if !self.piece.is_empty() || self.next_piece == 0 {
            self.seal_piece();
        }
        self.commit()?;
        if let Some(ticket) = self.ticket {
            self.store.sync(ticket)?;
        }
        let md5: String = self
            .md5
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        self.finished = true;
        Ok(Uploaded {
            field: field.to_owned(),
            token: self.token.clone(),
            size: self.size,
            md5,
        })
    }

    fn seal_piece(&mut self) {
        let data = bytes::Bytes::from(std::mem::take(&mut self.piece));
        self.batch.writes.push(Write::PutBlobPiece {
            key: upload_key(&self.token),
            piece: self.next_piece,
            data,
        });
        self.next_piece += 1;
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.ticket = Some(self.store.commit_unsynced(&batch)?);
        Ok(())
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.finished || self.next_piece == 0 {
            return;
        }
        let (store, key) = (self.store.clone(), upload_key(&self.token));
        let discard = move || {
            let mut b = Batch::new();
            b.writes.push(Write::PutBlob { key, data: None });
            if let Err(e) = store.commit_unsynced(&b) {
                tracing::warn!(error = %e, "An unfinished upload's bytes could not be removed.");
            }
        };
        match tokio::runtime::Handle::try_current() {
            Ok(rt) => drop(rt.spawn_blocking(discard)),
            Err(_) => discard(),
        }
    }
}

impl Org {
    /// How many bytes the blob under `key` holds, if it is there.
    pub fn blob_size(&self, key: &str) -> Result<Option<u64>, StoreError> {
        self.store.blob_size(key)
    }

    /// Up to `len` bytes of the blob under `key` from `offset` (none past its end).
    pub fn read_blob(&self, key: &str, offset: u64, len: usize) -> Result<Vec<u8>, StoreError> {
        self.store.read_blob(key, offset, len)
    }

    /// Starts an upload: a file written ahead of the record that will name it.
    pub fn upload(&self) -> Upload {
        Upload {
            store: self.store.clone(),
            finished: false,
            token: crate::new_uuid().replace('-', ""),
            piece: Vec::new(),
            batch: Batch::new(),
            next_piece: 0,
            size: 0,
            md5: md5::Md5::new(),
            ticket: None,
        }
    }

    /// Removes what is left of an upload (nothing once a write has taken it).
    pub fn discard_upload(&self, token: &str) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.writes.push(Write::PutBlob {
            key: upload_key(token),
            data: None,
        });
        self.store.commit_unsynced(&b).map(drop)
    }

    /// Removes every upload a stopped server left unclaimed.
    pub(crate) fn drop_stale_uploads(store: &dyn forcebus_store::Store) -> Result<(), StoreError> {
        let mut b = Batch::new();
        b.writes.push(Write::DropBlobs {
            prefix: crate::blobs::UPLOAD_KEYS.to_owned(),
        });
        store.commit_unsynced(&b).map(drop)
    }
}
