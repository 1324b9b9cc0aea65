//! A job's files kept in the store as well when other nodes read it too (PostgreSQL, where
//! a node keeps nothing on its own disk but caches): an upload once it is whole, each
//! chunk's results in the chunk's own transaction, a query's rows before its job
//! completes. The node serving the org clears its copies when it opens the org (another
//! node may have written since) and copies back what it lacks before it reads a job's
//! files, so a job taken over by another node resumes where the last committed chunk left
//! it, and its results read the same from any node.
//!
//! Keys: `bulk/{job}/{name}` for a whole file (`data`, `request`, `results`), stored a
//! piece at a time; `bulk/{job}/{name}/{offset}` for each run of results appended at
//! `offset` of `success` or `failure`, so the runs of the committed chunks follow one
//! another exactly.

use forcebus_sync::prelude::*;
use std::fs::File;
use std::io::{Read, Write as _};
use std::path::Path;

use forcebus_store::{BLOB_PIECE, Batch, Write};

use crate::error::BulkError;
use crate::files::{JobFiles, append_at, run_key, whole_key};
use crate::job::{Job, JobType, State};
use crate::registry::Bulk;

/// Pieces per commit when a whole file is stored, and bytes per read when one is copied
/// back: 4 MB.
const PIECES_PER_COMMIT: usize = 16;
const READ: usize = PIECES_PER_COMMIT * BLOB_PIECE;

fn io(e: std::io::Error) -> BulkError {
    BulkError::internal(&e)
}

fn store(e: forcebus_store::StoreError) -> BulkError {
    BulkError::internal(&e)
}

/// Reads up to `buf.len()` bytes, fewer only at the end of the file.
fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

impl Bulk {
    /// Whether the job files are kept in the store as well.
    pub(crate) fn mirrored(&self) -> bool {
        self.store.shared()
    }

    /// Stores the file at `path` as `job`'s `name` (what an earlier attempt stored is
    /// replaced); nothing for a job whose files are not kept in the store.
    pub(crate) fn keep_file(&self, job: &Job, name: &str, path: &Path) -> Result<(), BulkError> {
        if !self.mirrored() || !job.kept {
            return Ok(());
        }
        let key = whole_key(&job.id, name);
        let mut file = File::open(path).map_err(io)?;
        let mut batch = Batch::new();
        batch.writes.push(Write::PutBlob {
            key: key.clone(),
            data: None,
        });
        for piece in 0u32.. {
            let mut buf = vec![0; BLOB_PIECE];
            let n = read_full(&mut file, &mut buf).map_err(io)?;
            if n > 0 {
                buf.truncate(n);
                batch.writes.push(Write::PutBlobPiece {
                    key: key.clone(),
                    piece,
                    data: buf.into(),
                });
            }
            if n < BLOB_PIECE || batch.writes.len() >= PIECES_PER_COMMIT {
                self.store.commit(&batch).map_err(store)?;
                batch = Batch::new();
            }
            if n < BLOB_PIECE {
                break;
            }
        }
        Ok(())
    }

    /// Job `job`'s files on this node's disk, with what they lack copied from the store
    /// first (a job another node ran, or took in).
    pub fn local_files(&self, job: &Job) -> Result<JobFiles, BulkError> {
        let files = self.files(&job.id);
        if !self.mirrored() || !job.kept {
            return Ok(files);
        }
        let lock = self
            .restoring
            .locked()
            .entry(job.id.clone())
            .or_default()
            .clone();
        let _one_at_a_time = lock.locked();
        files.create().map_err(io)?;
        if job.uploaded.is_some_and(|n| n > 0) && !job.operation.is_query() {
            self.restore_whole(&job.id, "data", &files.data())?;
        }
        if job.job_type == JobType::ClassicBatch {
            self.restore_whole(&job.id, "request", &files.request())?;
        }
        if job.operation.is_query() && job.state == State::JobComplete {
            self.restore_whole(&job.id, "results", &files.results())?;
        }
        let p = &job.progress;
        self.restore_runs(&job.id, "success", &files.success(), p.success_bytes)?;
        self.restore_runs(&job.id, "failure", &files.failure(), p.failure_bytes)?;
        Ok(files)
    }

    /// Copies the whole file `name` from the store to `path` unless it is there already
    /// (it is written whole, then renamed into place).
    fn restore_whole(&self, id: &str, name: &str, path: &Path) -> Result<(), BulkError> {
        if path.exists() {
            return Ok(());
        }
        let key = whole_key(id, name);
        let Some(size) = self.store.blob_size(&key).map_err(store)? else {
            return Ok(());
        };
        let part = path.with_extension("part");
        let mut out = File::create(&part).map_err(io)?;
        self.copy_blob(&key, size, &mut out)?;
        out.sync_data().map_err(io)?;
        std::fs::rename(&part, path).map_err(io)
    }

    /// Appends to `path` the runs of results the store has past what the file holds, up
    /// to `len` bytes.
    fn restore_runs(&self, id: &str, name: &str, path: &Path, len: u64) -> Result<(), BulkError> {
        let mut at = std::fs::metadata(path).map_or(0, |m| m.len());
        if at >= len {
            return Ok(());
        }
        let mut out = append_at(path, at).map_err(io)?;
        while at < len {
            let key = run_key(id, name, at);
            let copied = match self.store.blob_size(&key).map_err(store)? {
                Some(n) if n > 0 => self.copy_blob(&key, n, &mut out).map(|()| n),
                _ => Err(BulkError::internal(&format!(
                    "the job's {name} results from byte {at} are missing from the store"
                ))),
            };
            match copied {
                Ok(n) => at += n,
                Err(e) => {
                    // A run copied in part is cut off, so the next try starts at a run.
                    let _ = out.set_len(at);
                    return Err(e);
                }
            }
        }
        out.sync_data().map_err(io)
    }

    /// Writes the `size` bytes of the blob under `key` to `out`, 4 MB at a time.
    fn copy_blob(&self, key: &str, size: u64, out: &mut File) -> Result<(), BulkError> {
        let mut at = 0;
        while at < size {
            let bytes = self.store.read_blob(key, at, READ).map_err(store)?;
            if bytes.is_empty() {
                return Err(BulkError::internal(&format!(
                    "{key} ends at {at} of its {size} bytes"
                )));
            }
            out.write_all(&bytes).map_err(io)?;
            at += bytes.len() as u64;
        }
        Ok(())
    }
}
