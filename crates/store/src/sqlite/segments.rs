//! Segment files: the payloads of events that depend on no other write, written once.
//!
//! In SQLite every byte is written twice: into the WAL at commit, then into the database
//! by a checkpoint. For a published platform event, most of whose bytes are its payload,
//! that doubled the disk's work. A commit whose writes are only events and the event
//! log's own counters ([`crate::Batch::events_only`]) therefore appends its runs'
//! payloads to a file of the run's retention class, `events/<class>-<n>.seg`, and the run's
//! row (`runs`) keeps where they are (`seg`, `at`, `len`) and their CRC-32 instead of a
//! body. Change events stay in SQLite: their records' change and the event must survive a
//! power cut together or not at all, which one WAL gives and two files do not.
//!
//! - **Durability:** a sync fdatasyncs every segment written since the last one, then the
//!   WAL ([`Segments::sync`]), so an acknowledged event's payload is on disk before its
//!   row. A file is closed for appends at [`SEGMENT_BYTES`] and synced then, on a thread of
//!   its own; the next rotation of the class waits for that sync, so only a class's newest
//!   two files can hold bytes that are not on disk.
//! - **Recovery** ([`super::runs::recover`]): at open, a run whose file is missing or too
//!   short, or whose bytes in one of its class's two newest files fail their CRC, was never
//!   acknowledged (a power cut between the WAL's write-back and the sync; or, for a missing
//!   file, expired just before a crash) and its row is deleted. Its replay ids stay burnt:
//!   the id counter was committed with it. Appends after an open go to new files.
//! - **Expiry** deletes rows as before; a run cut by it is rewritten by offset (the bytes
//!   kept stay where they are). A file no row of its class points into any more, and not
//!   the one being appended to, is unlinked.
//!
//! Reads are `pread`s of the bytes asked for.

use forcebus_sync::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;

use crate::StoreError;

/// A class's file takes appends until it holds this many bytes.
pub(super) const SEGMENT_BYTES: u64 = 64 * 1024 * 1024;

/// Where a run's payloads were written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Place {
    /// The file's number.
    pub(super) seg: u64,
    /// The offset of the first payload byte.
    pub(super) at: u64,
    /// How many bytes.
    pub(super) len: u64,
    /// CRC-32 of the bytes.
    pub(super) crc: u32,
}

/// The segment files of one database.
#[derive(Debug)]
pub(super) struct Segments {
    dir: PathBuf,
    /// Bytes a file takes before the next (tests make it small).
    limit: std::sync::atomic::AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The next file's number (numbers are unique across classes).
    next: u64,
    /// Per class, the file taking appends.
    open: BTreeMap<u8, Open>,
    /// Every file on disk: its class.
    files: BTreeMap<u64, u8>,
    /// Files written since the last sync.
    dirty: HashMap<u64, Arc<File>>,
    /// Per class, the sync of the file its last rotation closed, under way.
    closing: HashMap<u8, std::thread::JoinHandle<std::io::Result<()>>>,
    /// Files opened for reading.
    readers: HashMap<u64, Arc<File>>,
    /// Removals of expired files under way.
    removing: Vec<std::thread::JoinHandle<()>>,
}

#[derive(Debug)]
struct Open {
    seg: u64,
    file: Arc<File>,
    /// Where the next append goes (bytes of a failed append past it are overwritten).
    len: u64,
}

impl Segments {
    /// The segment files in `dir` (created if needed).
    pub(super) fn open(dir: &Path) -> Result<Self, StoreError> {
        let io = |source| StoreError::Io {
            path: dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        let mut state = State::default();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            if let Some((class, seg)) = name.to_str().and_then(parse_name) {
                state.files.insert(seg, class);
                state.next = state.next.max(seg + 1);
            }
        }
        Ok(Self {
            dir: dir.to_owned(),
            limit: SEGMENT_BYTES.into(),
            state: Mutex::new(state),
        })
    }

    fn path(&self, class: u8, seg: u64) -> PathBuf {
        self.dir.join(format!("{class}-{seg:010}.seg"))
    }

    fn io(&self, seg: u64, class: u8) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: self.path(class, seg).display().to_string(),
            source,
        }
    }

    /// Appends `payloads`, one after another, to `class`'s open file.
    pub(super) fn append(&self, class: u8, payloads: &[Bytes]) -> Result<Place, StoreError> {
        let len: u64 = payloads.iter().map(|p| p.len() as u64).sum();
        let limit = self.limit.load(std::sync::atomic::Ordering::Relaxed);
        let mut s = self.state.locked();
        if s.open
            .get(&class)
            .is_none_or(|o| o.len > 0 && o.len + len > limit)
        {
            self.rotate(&mut s, class)?;
        }
        let open = s.open.get_mut(&class).expect("rotated in");
        let (seg, file, at) = (open.seg, open.file.clone(), open.len);
        let mut crc = crc32fast::Hasher::new();
        let mut end = at;
        for p in payloads {
            file.write_all_at(p, end).map_err(self.io(seg, class))?;
            crc.update(p);
            end += p.len() as u64;
        }
        open.len = end;
        s.dirty.insert(seg, file);
        Ok(Place {
            seg,
            at,
            len,
            crc: crc.finalize(),
        })
    }

    /// Closes `class`'s open file (if any) for appends, its sync started on a thread, and
    /// opens the next.
    fn rotate(&self, s: &mut State, class: u8) -> Result<(), StoreError> {
        if let Some(closing) = s.closing.remove(&class) {
            // At most two files of a class hold bytes that may not be on disk.
            match closing.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "A closed event segment could not be synced.")
                }
                Err(_) => tracing::warn!("A closed event segment's sync panicked."),
            }
        }
        if let Some(old) = s.open.remove(&class) {
            let file = old.file.clone();
            let spawned = std::thread::Builder::new()
                .name("forcebus-segment-sync".into())
                .spawn(move || file.sync_data());
            match spawned {
                Ok(handle) => {
                    s.closing.insert(class, handle);
                }
                Err(_) => old.file.sync_data().map_err(self.io(old.seg, class))?,
            }
        }
        let seg = s.next;
        let path = self.path(class, seg);
        // Owner-only, as the database: the payloads are the org's data.
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(self.io(seg, class))?;
        s.next += 1;
        s.files.insert(seg, class);
        let file = Arc::new(file);
        s.readers.insert(seg, file.clone());
        s.open.insert(class, Open { seg, file, len: 0 });
        Ok(())
    }

    /// Files take appends up to `limit` bytes from now on.
    #[cfg(test)]
    pub(super) fn set_limit(&self, limit: u64) {
        self.limit
            .store(limit, std::sync::atomic::Ordering::Relaxed);
    }

    /// The numbers of the files on disk, oldest first.
    #[cfg(test)]
    pub(super) fn files(&self) -> Vec<u64> {
        self.state.locked().files.keys().copied().collect()
    }

    /// Makes every byte appended so far durable (before the WAL is synced).
    pub(super) fn sync(&self) -> std::io::Result<()> {
        let dirty: Vec<Arc<File>> = self.state.locked().dirty.drain().map(|(_, f)| f).collect();
        for f in dirty {
            f.sync_data()?;
        }
        Ok(())
    }

    /// `len` bytes of file `seg` (of `class`) from `at`.
    pub(super) fn read(
        &self,
        class: u8,
        seg: u64,
        at: u64,
        len: usize,
    ) -> Result<Vec<u8>, StoreError> {
        let file = self.reader(class, seg)?;
        let mut bytes = vec![0u8; len];
        file.read_exact_at(&mut bytes, at)
            .map_err(self.io(seg, class))?;
        Ok(bytes)
    }

    fn reader(&self, class: u8, seg: u64) -> Result<Arc<File>, StoreError> {
        if let Some(f) = self.state.locked().readers.get(&seg) {
            return Ok(f.clone());
        }
        let file = Arc::new(File::open(self.path(class, seg)).map_err(self.io(seg, class))?);
        self.state.locked().readers.insert(seg, file.clone());
        Ok(file)
    }

    /// The size of file `seg` of `class`, `None` when it is not on disk.
    pub(super) fn size(&self, class: u8, seg: u64) -> Option<u64> {
        if !self.state.locked().files.contains_key(&seg) {
            return None;
        }
        std::fs::metadata(self.path(class, seg))
            .ok()
            .map(|m| m.len())
    }

    /// The numbers of `class`'s two newest files on disk.
    pub(super) fn newest_two(&self, class: u8) -> Vec<u64> {
        let s = self.state.locked();
        s.files
            .iter()
            .rev()
            .filter(|(_, c)| **c == class)
            .take(2)
            .map(|(seg, _)| *seg)
            .collect()
    }

    /// The classes with files on disk.
    pub(super) fn classes(&self) -> Vec<u8> {
        let s = self.state.locked();
        let mut classes: Vec<u8> = s.files.values().copied().collect();
        classes.sort_unstable();
        classes.dedup();
        classes
    }

    /// Unlinks `class`'s files numbered below `keep_from` (every one when `None`), but not
    /// the one taking appends, on a thread of their own: removing a file of 64 MB takes
    /// ext4 tens of milliseconds, which the caller (holding the database) must not wait
    /// for. A file read from meanwhile stays readable until its readers let it go.
    pub(super) fn unlink_before(&self, class: u8, keep_from: Option<u64>) {
        let mut s = self.state.locked();
        let open = s.open.get(&class).map(|o| o.seg);
        let gone: Vec<u64> = s
            .files
            .iter()
            .filter(|(seg, c)| {
                **c == class && Some(**seg) != open && keep_from.is_none_or(|k| **seg < k)
            })
            .map(|(seg, _)| *seg)
            .collect();
        if gone.is_empty() {
            return;
        }
        for seg in &gone {
            s.files.remove(seg);
            s.readers.remove(seg);
            s.dirty.remove(seg);
        }
        let paths: Vec<PathBuf> = gone.iter().map(|seg| self.path(class, *seg)).collect();
        let remove = move || {
            for path in paths {
                match std::fs::remove_file(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    // Left behind: the next open removes it (no run points into it).
                    Err(e) => tracing::warn!(error = %e, path = %path.display(),
                        "An expired event segment could not be removed."),
                }
            }
        };
        s.removing.retain(|h| !h.is_finished());
        let spawned = std::thread::Builder::new()
            .name("forcebus-segment-remove".into())
            .spawn(remove.clone());
        match spawned {
            Ok(handle) => s.removing.push(handle),
            Err(_) => remove(),
        }
    }

    /// Waits for the files being removed to be gone.
    pub(super) fn settle(&self) {
        let removing = std::mem::take(&mut self.state.locked().removing);
        for h in removing {
            let _ = h.join();
        }
    }
}

impl Drop for Segments {
    fn drop(&mut self) {
        let closing: Vec<_> = self
            .state
            .locked()
            .closing
            .drain()
            .map(|(_, h)| h)
            .collect();
        for h in closing {
            let _ = h.join();
        }
        self.settle();
    }
}

/// `<class>-<n>.seg`.
fn parse_name(name: &str) -> Option<(u8, u64)> {
    let (class, rest) = name.strip_suffix(".seg")?.split_once('-')?;
    Some((class.parse().ok()?, rest.parse().ok()?))
}

/// The CRC-32 of `bytes`.
pub(super) fn crc(bytes: &[u8]) -> u32 {
    crc32fast::hash(bytes)
}

#[cfg(test)]
mod tests;
