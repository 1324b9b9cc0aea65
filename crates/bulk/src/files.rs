//! Where a job's data lives on disk: a directory per job under the bulk root, holding the
//! upload (`data.csv`), the ingest results (`success.csv`, `failure.csv`) and a query's
//! rows (`results.csv`). Files are streamed in and out, never held in memory whole.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The files of one job.
#[derive(Debug, Clone)]
pub struct JobFiles {
    dir: PathBuf,
}

impl JobFiles {
    /// The files of job `id` under `root`.
    pub fn new(root: &Path, id: &str) -> Self {
        Self { dir: root.join(id) }
    }

    /// Creates the job's directory.
    pub fn create(&self) -> io::Result<()> {
        std::fs::create_dir_all(&self.dir)
    }

    /// The uploaded CSV.
    pub fn data(&self) -> PathBuf {
        self.dir.join("data.csv")
    }

    /// A Bulk 1.0 batch as it was sent (its `request`).
    pub fn request(&self) -> PathBuf {
        self.dir.join("request")
    }

    /// Successful results (ingest).
    pub fn success(&self) -> PathBuf {
        self.dir.join("success.csv")
    }

    /// Failed results (ingest).
    pub fn failure(&self) -> PathBuf {
        self.dir.join("failure.csv")
    }

    /// A query's rows, after the header line.
    pub fn results(&self) -> PathBuf {
        self.dir.join("results.csv")
    }

    /// Removes everything of the job.
    pub fn remove(&self) -> io::Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
}

/// Opens `path` for appending at exactly `len` bytes: anything past it (written for a
/// chunk whose commit did not survive a crash) is cut off.
pub fn append_at(path: &Path, len: u64) -> io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)?;
    file.set_len(len)?;
    let mut file = file;
    io::Seek::seek(&mut file, io::SeekFrom::Start(len))?;
    Ok(file)
}

// Where the files are kept in a store other nodes share (`mirror`).

/// The key of a whole file of job `id`.
pub(crate) fn whole_key(id: &str, name: &str) -> String {
    format!("bulk/{id}/{name}")
}

/// The key of the run of results appended at `offset` of file `name` of job `id`.
pub(crate) fn run_key(id: &str, name: &str, offset: u64) -> String {
    format!("bulk/{id}/{name}/{offset:020}")
}

/// What goes with a job's removal: every copy of its files.
pub(crate) fn drop_all(id: &str) -> forcebus_store::Write {
    forcebus_store::Write::DropBlobs {
        prefix: format!("bulk/{id}/"),
    }
}
