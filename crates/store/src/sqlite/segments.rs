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
//! - **Durability:** a sync fdatasyncs every segment written since the last one (and the
//!   directory, when a file was made), then the WAL ([`Segments::sync`]), so an
//!   acknowledged event's payload is on disk before its row. A file is closed for appends
//!   at [`SEGMENT_BYTES`]; when a class closes its next one, the one before must be on
//!   disk (synced then if no sync has covered it; at `normal` durability, where nothing
//!   else syncs, each closed file is synced on a thread and waited for at the next
//!   rotation). So only a class's newest two files can hold bytes that are not on disk. A
//!   failed sync is final: every later one fails (the kernel may have dropped the pages).
//! - **Recovery** ([`super::runs::recover`]): at open, a run whose file is missing or too
//!   short, or whose bytes in one of its class's two newest files fail their CRC, was never
//!   acknowledged (a power cut between the WAL's write-back and the sync; or, for a missing
//!   file, expired just before a crash) and its row is deleted. Its replay ids stay burnt:
//!   the id counter was committed with it. Any other error reading a file fails the open
//!   and deletes nothing. Then the newest two files of each class, the directory and the
//!   WAL are synced, so what recovery kept and dropped stays so; appends go to new files,
//!   numbered past every file and row (a number is never reused).
//! - **Expiry** deletes rows as before; a run cut by it is rewritten by offset (the bytes
//!   kept stay where they are, their CRC checked first). A file no row of its class points
//!   into any more, and not the one being appended to, is unlinked.
//!
//! Reads are `pread`s of the bytes asked for; one that covers a whole run checks its CRC.

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
/// Files kept open for reading (the ones taking appends aside).
const READERS: usize = 8;

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
    /// Whether closed files are synced on a thread (`normal` durability: no sync of the
    /// store's own covers them).
    background: bool,
    /// Bytes a file takes before the next (tests make it small).
    limit: std::sync::atomic::AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The next file's number (numbers are unique across classes, never reused).
    next: u64,
    /// Per class, the file taking appends.
    open: BTreeMap<u8, Open>,
    /// Per class, the file its last rotation closed.
    closed: HashMap<u8, u64>,
    /// Every file on disk: its class.
    files: BTreeMap<u64, u8>,
    /// Files written since the last sync, and their classes (not kept with `background`:
    /// nothing syncs then but the thread).
    dirty: HashMap<u64, (u8, Arc<File>)>,
    /// A file was made since the last sync: the directory's entry is to be synced.
    dir_dirty: bool,
    /// A sync failed: every later one fails.
    failed: Option<crate::Loss>,
    /// Per class, the sync of the file its last rotation closed, under way (`background`).
    closing: HashMap<u8, std::thread::JoinHandle<std::io::Result<()>>>,
    /// Files open for reading, at most [`READERS`].
    readers: HashMap<u64, Arc<File>>,
    /// Removals of expired files under way.
    removing: Vec<std::thread::JoinHandle<()>>,
    /// Where an append gathers payloads (empty between appends; at most
    /// [`gather::GATHER_BYTES`]).
    gather: Vec<u8>,
}

#[derive(Debug)]
struct Open {
    seg: u64,
    file: Arc<File>,
    /// Where the next append goes (bytes of a failed append past it are overwritten).
    len: u64,
}

impl Segments {
    /// The segment files in `dir` (created if needed); closed files synced on a thread of
    /// their own when `background`.
    pub(super) fn open(dir: &Path, background: bool) -> Result<Self, StoreError> {
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
            background,
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

    /// New files are numbered past `seg` (a number a row still names, or named before).
    pub(super) fn number_past(&self, seg: u64) {
        let mut s = self.state.locked();
        s.next = s.next.max(seg + 1);
    }

    /// Appends `payloads`, one after another, to `class`'s open file.
    pub(super) fn append(&self, class: u8, payloads: &[Bytes]) -> Result<Place, StoreError> {
        let len: u64 = payloads.iter().map(|p| p.len() as u64).sum();
        let limit = self.limit.load(std::sync::atomic::Ordering::Relaxed);
        let crc = payloads_crc(payloads);
        let mut s = self.state.locked();
        if s.open
            .get(&class)
            .is_none_or(|o| o.len > 0 && o.len + len > limit)
        {
            self.rotate(&mut s, class)?;
        }
        let State { open, gather, .. } = &mut *s;
        let open = open.get_mut(&class).expect("rotated in");
        let (seg, file, at) = (open.seg, open.file.clone(), open.len);
        gather::write_gathered(&file, at, payloads, gather).map_err(self.io(seg, class))?;
        open.len = at + len;
        if !self.background {
            s.dirty.insert(seg, (class, file));
        }
        Ok(Place { seg, at, len, crc })
    }

    /// Closes `class`'s open file (if any) for appends and opens the next. The file closed
    /// before it is on disk first: a class has at most two files with bytes that may not be.
    fn rotate(&self, s: &mut State, class: u8) -> Result<(), StoreError> {
        if let Some(closing) = s.closing.remove(&class) {
            let outcome = closing
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the sync's thread panicked")));
            if let Err(e) = outcome {
                // At `normal` durability nothing waits for it; said loudly all the same.
                tracing::error!(error = %e, "A closed event segment could not be synced.");
                s.failed.get_or_insert_with(|| loss(&e));
            }
        }
        if let Some(before) = s.closed.get(&class).copied()
            && let Some((_, file)) = s.dirty.remove(&before)
        {
            // No sync has covered it since it was closed: rare (64 MB between two syncs).
            if let Err(e) = file.sync_data() {
                s.failed.get_or_insert_with(|| loss(&e));
                return Err(self.io(before, class)(e));
            }
        }
        if let Some(old) = s.open.remove(&class) {
            s.closed.insert(class, old.seg);
            if self.background {
                let (file, dir) = (old.file.clone(), self.dir.clone());
                let sync = move || {
                    file.sync_data()?;
                    File::open(&dir)?.sync_all()
                };
                let spawned = std::thread::Builder::new()
                    .name("forcebus-segment-sync".into())
                    .spawn(sync);
                match spawned {
                    Ok(handle) => {
                        s.closing.insert(class, handle);
                    }
                    Err(_) => old.file.sync_data().map_err(self.io(old.seg, class))?,
                }
            }
        }
        let seg = s.next;
        // Owner-only, as the database: the payloads are the org's data.
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .mode(0o600)
            .open(self.path(class, seg))
            .map_err(self.io(seg, class))?;
        s.next += 1;
        s.files.insert(seg, class);
        s.dir_dirty = true;
        s.open.insert(
            class,
            Open {
                seg,
                file: Arc::new(file),
                len: 0,
            },
        );
        Ok(())
    }

    /// Makes every byte appended so far durable, and the entries of the files made (before
    /// the WAL is synced). A failure is final: every later call fails.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        let (dirty, dir_dirty) = {
            let mut s = self.state.locked();
            if let Some(why) = &s.failed {
                return Err(StoreError::Lost(why.clone()));
            }
            let dirty: Vec<(u64, (u8, Arc<File>))> = s.dirty.drain().collect();
            (dirty, std::mem::take(&mut s.dir_dirty))
        };
        let failed = |path: PathBuf, e: std::io::Error| {
            self.state.locked().failed.get_or_insert_with(|| loss(&e));
            StoreError::Io {
                path: path.display().to_string(),
                source: e,
            }
        };
        for (seg, (class, f)) in dirty {
            f.sync_data()
                .map_err(|e| failed(self.path(class, seg), e))?;
        }
        if dir_dirty {
            File::open(&self.dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| failed(self.dir.clone(), e))?;
        }
        Ok(())
    }

    /// Syncs `class`'s two newest files and the directory (at open: what recovery kept is
    /// then on disk, whatever the last process left unsynced).
    pub(super) fn sync_newest(&self, class: u8) -> Result<(), StoreError> {
        for seg in self.newest_two(class) {
            File::open(self.path(class, seg))
                .and_then(|f| f.sync_data())
                .map_err(self.io(seg, class))?;
        }
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| StoreError::Io {
                path: self.dir.display().to_string(),
                source,
            })
    }

    /// `len` bytes of file `seg` (of `class`) from `at`.
    pub(super) fn read(
        &self,
        class: u8,
        seg: u64,
        at: u64,
        len: usize,
    ) -> Result<Vec<u8>, StoreError> {
        self.try_read(class, seg, at, len)
            .map_err(self.io(seg, class))
    }

    /// [`Segments::read`], its error as it came.
    pub(super) fn try_read(
        &self,
        class: u8,
        seg: u64,
        at: u64,
        len: usize,
    ) -> std::io::Result<Vec<u8>> {
        let file = self.reader(class, seg)?;
        let mut bytes = vec![0u8; len];
        file.read_exact_at(&mut bytes, at)?;
        Ok(bytes)
    }

    fn reader(&self, class: u8, seg: u64) -> std::io::Result<Arc<File>> {
        {
            let s = self.state.locked();
            if let Some(o) = s.open.get(&class).filter(|o| o.seg == seg) {
                return Ok(o.file.clone());
            }
            if let Some(f) = s.readers.get(&seg) {
                return Ok(f.clone());
            }
        }
        let file = Arc::new(File::open(self.path(class, seg))?);
        let mut s = self.state.locked();
        if s.files.contains_key(&seg) {
            if s.readers.len() >= READERS {
                s.readers.clear();
            }
            s.readers.insert(seg, file.clone());
        }
        Ok(file)
    }

    /// The size of file `seg` of `class`: `None` when it is not on disk.
    pub(super) fn size(&self, class: u8, seg: u64) -> Result<Option<u64>, StoreError> {
        if !self.state.locked().files.contains_key(&seg) {
            return Ok(None);
        }
        match std::fs::metadata(self.path(class, seg)) {
            Ok(m) if m.is_file() => Ok(Some(m.len())),
            Ok(_) => Err(self.io(seg, class)(std::io::Error::other(
                "not a regular file",
            ))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io(seg, class)(e)),
        }
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

/// The CRC-32 of `payloads` one after another: a run's, as its row keeps it.
pub(super) fn payloads_crc(payloads: &[Bytes]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    payloads.iter().for_each(|p| hasher.update(p));
    hasher.finalize()
}

mod gather;
#[cfg(test)]
mod tests;

/// A failed sync of a segment as the loss it is.
fn loss(e: &std::io::Error) -> crate::Loss {
    crate::Loss::new(e.to_string(), crate::io_is_full(e))
}
