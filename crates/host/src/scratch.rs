//! The scratch directories of in-memory orgs: an in-memory org keeps its Bulk API files in
//! `forcebus-bulk-<pid>` (the default org) or `forcebus-bulk-<pid>-<org id>` (a made org)
//! under the system's temporary directory, removed when the server shuts down. A server
//! that was killed cannot remove its own, so a server starting in memory removes those of
//! servers that no longer run.
//!
//! A server holds a lock on `forcebus-bulk-<pid>.lock` for as long as it runs, taken
//! before its first scratch directory is made, so a directory is removed only when its
//! lock can be taken: that holds across containers sharing one temporary directory, whose
//! process ids are not each other's. A directory without a lock file (made by a version
//! before the lock) goes when no process of its id runs here.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const PREFIX: &str = "forcebus-bulk-";

/// This process's lock, once taken.
static HELD: OnceLock<Option<File>> = OnceLock::new();

/// The scratch directory of this process's default org.
pub(crate) fn default_org() -> PathBuf {
    claim(&std::env::temp_dir());
    std::env::temp_dir().join(format!("{PREFIX}{}", std::process::id()))
}

/// The scratch directory of this process's made org `org` (its 18-character id).
pub(crate) fn made_org(org: &str) -> PathBuf {
    claim(&std::env::temp_dir());
    std::env::temp_dir().join(format!("{PREFIX}{}-{org}", std::process::id()))
}

/// Takes this process's lock in `dir`, once; held until the process ends. A lock that
/// cannot be taken (a read-only directory) only means other servers cannot tell this one
/// runs, as before the lock.
fn claim(dir: &Path) {
    HELD.get_or_init(|| {
        let file = File::create(lock_file(dir, std::process::id())).ok()?;
        file.try_lock().ok()?;
        Some(file)
    });
}

/// Removes this process's lock file, its scratch directories removed (at shutdown).
pub(crate) fn release() {
    if let Some(Some(_)) = HELD.get() {
        let _ = std::fs::remove_file(lock_file(&std::env::temp_dir(), std::process::id()));
    }
}

fn lock_file(dir: &Path, pid: u32) -> PathBuf {
    dir.join(format!("{PREFIX}{pid}.lock"))
}

/// Removes the scratch directories in the system's temporary directory of servers that
/// no longer run.
pub(crate) fn remove_stale() {
    remove_stale_in(&std::env::temp_dir(), |pid| {
        Path::new("/proc").join(pid.to_string()).exists()
    });
}

/// Whether the server of process `pid` whose scratch is in `dir` is known to be gone: its
/// lock can be taken, or, without a lock file, `running` says no process of its id runs.
fn gone(dir: &Path, pid: u32, running: &impl Fn(u32) -> bool) -> bool {
    match File::options().write(true).open(lock_file(dir, pid)) {
        Ok(lock) => lock.try_lock().is_ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            running(std::process::id()) && !running(pid)
        }
        Err(_) => false,
    }
}

/// Removes the scratch directories in `dir` whose server is [`gone`], and its lock file
/// (also one left without a directory).
fn remove_stale_in(dir: &Path, running: impl Fn(u32) -> bool) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut checked = std::collections::HashMap::new();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(PREFIX))
            .and_then(|rest| rest.split(['-', '.']).next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if pid == std::process::id() || !(is_dir || entry.path() == lock_file(dir, pid)) {
            continue;
        }
        if !*checked
            .entry(pid)
            .or_insert_with(|| gone(dir, pid, &running))
            || !is_dir
        {
            continue;
        }
        match std::fs::remove_dir_all(entry.path()) {
            Ok(()) => tracing::debug!(
                dir = %entry.path().display(),
                "Removed a stopped server's scratch directory."
            ),
            Err(e) => tracing::debug!(
                dir = %entry.path().display(),
                error = %e,
                "Could not remove a stopped server's scratch directory."
            ),
        }
    }
    for (pid, _) in checked.into_iter().filter(|(_, gone)| *gone) {
        let _ = std::fs::remove_file(lock_file(dir, pid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_the_directories_of_stopped_servers_go() {
        let root =
            std::env::temp_dir().join(format!("forcebus-scratch-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let me = std::process::id();
        let mut keep = vec![
            format!("{PREFIX}{me}"),
            format!("{PREFIX}{me}-00D000000000001AAA"),
            format!("{PREFIX}later"),
            "other-4000000000".to_owned(),
            // Another container's running server: its pid is not seen, its lock is held.
            format!("{PREFIX}4000000003"),
            format!("{PREFIX}4000000003.lock"),
            // A file of a gone process's name is not a scratch directory.
            format!("{PREFIX}4000000002"),
        ];
        let gone = [
            // Before the lock: no lock file, no such process.
            format!("{PREFIX}4000000000"),
            format!("{PREFIX}4000000001-00D000000000001AAA"),
            // A killed server: its lock file is there, nobody holds it.
            format!("{PREFIX}4000000004"),
            format!("{PREFIX}4000000004-00D000000000001AAA"),
            format!("{PREFIX}4000000004.lock"),
            // A lock file left without a directory.
            format!("{PREFIX}4000000005.lock"),
        ];
        for n in keep.iter().chain(&gone) {
            if n.ends_with(".lock") || n.ends_with("4000000002") {
                std::fs::create_dir_all(&root).unwrap();
                std::fs::write(root.join(n), b"").unwrap();
            } else {
                std::fs::create_dir_all(root.join(n).join("jobs")).unwrap();
            }
        }
        let held = File::options()
            .write(true)
            .open(root.join(format!("{PREFIX}4000000003.lock")))
            .unwrap();
        held.try_lock().unwrap();
        remove_stale_in(&root, |pid| pid == me);
        keep.sort();
        assert_eq!(names_in(&root), keep);
        // Where no process can be seen, a directory without a lock file stays.
        std::fs::create_dir_all(root.join(&gone[0])).unwrap();
        remove_stale_in(&root, |_| false);
        assert!(root.join(&gone[0]).exists());
        // Once its server ends, the other container's directory goes too.
        drop(held);
        remove_stale_in(&root, |_| false);
        assert!(!root.join(format!("{PREFIX}4000000003")).exists());
        std::fs::remove_dir_all(&root).unwrap();
    }
}
