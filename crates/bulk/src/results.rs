//! An ingest job's results (`data-apis.md` §1.6): `successfulResults`, `failedResults` and
//! `unprocessedrecords`, as a prefix and a span of a file, so the edge streams them
//! without holding them. Result files are read only up to the lengths their last
//! committed chunk recorded.

use std::path::PathBuf;

use forcebus_csv::Writer;

use crate::error::{BulkError, Kind};
use crate::job::{Job, State};
use crate::registry::Bulk;

/// Which results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// `successfulResults`.
    Successful,
    /// `failedResults`.
    Failed,
    /// `unprocessedrecords`.
    Unprocessed,
}

/// A CSV to send: `prefix`, then `len` bytes of `path` from `from`.
#[derive(Debug, Clone)]
pub struct Download {
    /// Bytes before the file's (a header made here).
    pub prefix: Vec<u8>,
    /// The file, if any of it is sent.
    pub path: Option<PathBuf>,
    /// Where in the file to start.
    pub from: u64,
    /// How many bytes of it.
    pub len: u64,
}

fn header(job: &Job, first: &[&str], raw: &[u8]) -> Result<Vec<u8>, BulkError> {
    let mut w = Writer::new(Vec::new(), job.dialect());
    if raw.is_empty() {
        w.record(first)
    } else {
        w.prefixed(first, raw)
    }
    .map_err(|e| BulkError::internal(&e))?;
    w.into_inner().map_err(|e| BulkError::internal(&e))
}

/// The results of job `id`, once it stopped running.
pub fn download(bulk: &Bulk, id: &str, which: Which) -> Result<Download, BulkError> {
    let job = bulk.get(id)?;
    if job.operation.is_query() {
        return Err(BulkError::not_found());
    }
    if !job.state.terminal() {
        return Err(BulkError::new(
            Kind::InvalidJobState,
            format!(
                "Results are available once the job is complete; its state is {}",
                job.state.name()
            ),
        ));
    }
    let files = bulk.local_files(&job)?;
    // A header that cannot be read leaves the whole upload unprocessed, as uploaded.
    let read = crate::ingest::read_header(&job, &files.data());
    let unreadable = read.is_err();
    let upload = read.ok().flatten();
    let raw = upload.as_ref().map(|h| h.raw.clone()).unwrap_or_default();
    let p = &job.progress;
    let started = p.success_bytes > 0;
    Ok(match which {
        Which::Successful if started => Download {
            prefix: Vec::new(),
            path: Some(files.success()),
            from: 0,
            len: p.success_bytes,
        },
        Which::Failed if started => Download {
            prefix: Vec::new(),
            path: Some(files.failure()),
            from: 0,
            len: p.failure_bytes,
        },
        Which::Successful => Download {
            prefix: header(&job, &["sf__Id", "sf__Created"], &raw)?,
            path: None,
            from: 0,
            len: 0,
        },
        Which::Failed => Download {
            prefix: header(&job, &["sf__Id", "sf__Error"], &raw)?,
            path: None,
            from: 0,
            len: 0,
        },
        Which::Unprocessed => {
            let mut prefix = raw.clone();
            if !prefix.is_empty() {
                prefix.extend_from_slice(job.dialect().line_ending.bytes());
            }
            let size = std::fs::metadata(files.data()).map_or(0, |m| m.len());
            let from = match upload {
                Some(h) if p.offset < h.end => h.end,
                Some(_) => p.offset,
                None if unreadable => 0,
                None => size,
            };
            let rest = if job.state == State::JobComplete {
                0
            } else {
                size.saturating_sub(from)
            };
            Download {
                prefix,
                path: Some(files.data()),
                from,
                len: rest,
            }
        }
    })
}
