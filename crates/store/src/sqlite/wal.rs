//! The WAL file as group commit fsyncs it: opened once, when it first exists, and kept.
//!
//! SQLite writes the WAL from its start again after a checkpoint and truncates it to
//! `journal_size_limit`, both in place, so the file kept open stays the WAL: SQLite
//! deletes the WAL only when the last connection to the database closes, and the store
//! keeps its connections open for as long as it lives. Opening the file for each fsync
//! cost an `openat` and a `close` per group commit (about 470 of each a second under
//! `cdc-e2e` at 2,000 updates/s).

use std::fs::File;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::StoreError;
use crate::group_commit::Flush;

#[derive(Debug)]
pub(super) struct Wal {
    path: PathBuf,
    file: OnceLock<File>,
}

impl Wal {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: OnceLock::new(),
        }
    }

    /// Fsyncs the WAL (nothing to do before SQLite has made it); a failure is for good
    /// (the kernel may have dropped the pages it could not write), and the server
    /// recovers from what is on disk when it restarts.
    pub(super) fn fsync(&self) -> Flush {
        match self.file().and_then(|f| f.map_or(Ok(()), File::sync_data)) {
            Ok(()) => Flush::Done,
            Err(source) => Flush::Lost(StoreError::Io {
                path: self.path.display().to_string(),
                source,
            }),
        }
    }

    /// The open WAL, opened now if this is the first time it exists.
    fn file(&self) -> std::io::Result<Option<&File>> {
        if let Some(f) = self.file.get() {
            return Ok(Some(f));
        }
        match File::open(&self.path) {
            // Flushes run one at a time, so no other file was kept meanwhile.
            Ok(f) => Ok(Some(self.file.get_or_init(|| f))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The inode of the file kept open, and that of the file at the WAL's path.
    #[cfg(all(test, unix))]
    pub(super) fn inodes(&self) -> (Option<u64>, Option<u64>) {
        use std::os::unix::fs::MetadataExt;
        let kept = self
            .file
            .get()
            .and_then(|f| f.metadata().ok())
            .map(|m| m.ino());
        (kept, std::fs::metadata(&self.path).ok().map(|m| m.ino()))
    }
}
