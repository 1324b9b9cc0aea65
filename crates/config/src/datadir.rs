//! The data directory: created private (0700), held by one server at a time through an
//! advisory lock on `forcebus.lock`, and home of `ready.json`, the running server's ready
//! line, which `forcebus env` reads.
//!
//! The lock is `flock(2)` on an open file: the kernel drops it when the process ends,
//! however it ends, so a killed server never leaves a stale lock behind. The file's text
//! (the holder's pid) is only for the message a second server prints.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// File name of the lock inside the data directory.
const LOCK_FILE: &str = "forcebus.lock";
/// File name of the ready line inside the data directory.
const READY_FILE: &str = "ready.json";

/// A data directory this process holds; the lock is released on drop.
#[derive(Debug)]
pub struct DataDir {
    path: PathBuf,
    /// Held open for the process's lifetime: closing it releases the lock.
    _lock: File,
}

impl DataDir {
    /// Creates `path` (0700) if needed and takes its lock, or fails naming the process
    /// that holds it.
    pub fn acquire(path: &Path) -> anyhow::Result<Self> {
        create_private_dir(path)?;
        let lock_path = path.join(LOCK_FILE);
        let mut lock = private_options()
            .read(true)
            .write(true)
            .truncate(false)
            .open(&lock_path)
            .with_context(|| {
                format!(
                    "the data dir {} is not writable (cannot open {LOCK_FILE})",
                    shown(path)
                )
            })?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = lock.read_to_string(&mut holder);
                let holder = match holder.trim() {
                    "" => "another process".to_owned(),
                    pid => format!("another forcebus (pid {pid})"),
                };
                bail!(
                    "the data dir {} is in use by {holder}; stop it, or give this server \
                     its own directory with --data-dir DIR",
                    shown(path)
                );
            }
            Err(TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", lock_path.display()));
            }
        }
        lock.set_len(0)?;
        lock.rewind()?;
        writeln!(lock, "{}", std::process::id())?;
        lock.flush()?;
        Ok(Self {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes the ready line for `forcebus env` (0600: it holds credentials).
    pub fn write_ready(&self, line: &str) -> anyhow::Result<()> {
        let path = self.path.join(READY_FILE);
        let tmp = self.path.join(format!("{READY_FILE}.tmp"));
        let mut f = private_options()
            .write(true)
            .truncate(true)
            .open(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        let written = writeln!(f, "{line}").and_then(|()| f.flush());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
        }
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Removes the ready line (clean shutdown): `forcebus env` then says nothing runs.
    pub fn clear_ready(&self) {
        let _ = std::fs::remove_file(self.path.join(READY_FILE));
    }
}

/// The ready line of the server running on `path`, or why there is none.
pub fn running_ready_line(path: &Path) -> anyhow::Result<String> {
    let not_running = || {
        format!(
            "no forcebus is running on the data dir {} (start one with `forcebus serve`, \
             or name its directory with --data-dir)",
            shown(path)
        )
    };
    let Ok(lock) = File::open(path.join(LOCK_FILE)) else {
        bail!(not_running());
    };
    // If the lock can be had, its holder is gone and any ready file is stale.
    if lock.try_lock_shared().is_ok() {
        bail!(not_running());
    }
    std::fs::read_to_string(path.join(READY_FILE)).with_context(|| {
        format!(
            "a forcebus holds the data dir {} but has not printed its ready line yet",
            shown(path)
        )
    })
}

/// Creates `path` and its parents; the directory itself is made 0700 (it holds the
/// database, the CA key and credentials).
pub fn create_private_dir(path: &Path) -> anyhow::Result<()> {
    if path.is_file() {
        bail!("the data dir {} is a file, not a directory", shown(path));
    }
    let existed = path.is_dir();
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(path)
        .with_context(|| format!("cannot create the data dir {}", shown(path)))?;
    // A directory made by an earlier version (0755) is tightened too.
    #[cfg(unix)]
    if existed {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
    }
    Ok(())
}

/// Options that create files readable by the owner only.
pub fn private_options() -> OpenOptions {
    let mut o = OpenOptions::new();
    o.create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o
}

/// The path as a user would want to read it: absolute where it exists.
pub fn shown(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("fb-datadir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_second_holder_is_refused_with_the_first_ones_pid() {
        let dir = temp("lock");
        let first = DataDir::acquire(&dir).unwrap();
        let err = format!("{:#}", DataDir::acquire(&dir).unwrap_err());
        assert!(err.contains("is in use by another forcebus (pid"), "{err}");
        assert!(err.contains(&std::process::id().to_string()), "{err}");
        drop(first);
        DataDir::acquire(&dir).expect("free again once the first is dropped");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn the_dir_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp("mode");
        let held = DataDir::acquire(&dir).unwrap();
        held.write_ready("{}").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(LOCK_FILE)), 0o600);
        assert_eq!(mode(&dir.join(READY_FILE)), 0o600);
        drop(held);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_ready_line_is_read_only_while_the_holder_runs() {
        let dir = temp("ready");
        let held = DataDir::acquire(&dir).unwrap();
        held.write_ready("{\"event\":\"ready\"}").unwrap();
        assert!(running_ready_line(&dir).unwrap().contains("ready"));
        drop(held);
        let err = format!("{:#}", running_ready_line(&dir).unwrap_err());
        assert!(err.contains("no forcebus is running"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
