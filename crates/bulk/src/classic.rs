//! Bulk API 1.0 (`data-apis.md` §2): a job holds batches, each added whole in the job's
//! format (CSV, XML or JSON records, or a SOQL query) and run on its own, as a job of its
//! own kind ([`JobType::ClassicBatch`]): XML and JSON batches are turned into CSV first
//! ([`crate::convert`]), so every batch runs through the same chunked ingest. A batch's
//! results keep its input order: `Id`, `Success`, `Created`, `Error` per record.

use forcebus_sync::prelude::*;
use std::io::Write;
use std::sync::Arc;

use crate::error::{BulkError, Kind};
use crate::job::{Format, Job, JobType, Progress, State};
use crate::registry::Bulk;

/// Largest batch, in bytes (10 MB).
pub const MAX_BATCH_BYTES: usize = 10_000_000;

/// A Bulk 1.0 job's batch counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Waiting to run.
    pub queued: u64,
    /// Running.
    pub in_progress: u64,
    /// Done.
    pub completed: u64,
    /// Failed.
    pub failed: u64,
    /// Not run (the job was aborted).
    pub not_processed: u64,
    /// Records processed, over every batch.
    pub processed: u64,
    /// Records that failed, over every batch.
    pub records_failed: u64,
    /// Milliseconds spent, over every batch.
    pub processing_ms: u64,
}

impl Counts {
    /// Every batch.
    pub fn total(&self) -> u64 {
        self.queued + self.in_progress + self.completed + self.failed + self.not_processed
    }
}

/// The Bulk 1.0 name of a batch's state.
pub fn batch_state(state: State) -> &'static str {
    match state {
        State::Open | State::UploadComplete => "Queued",
        State::InProgress => "InProgress",
        State::JobComplete => "Completed",
        State::Failed => "Failed",
        State::Aborted => "NotProcessed",
    }
}

/// The Bulk 1.0 name of a job's state.
pub fn job_state(state: State) -> &'static str {
    match state {
        State::Open => "Open",
        State::UploadComplete | State::InProgress | State::JobComplete => "Closed",
        State::Failed => "Failed",
        State::Aborted => "Aborted",
    }
}

impl Bulk {
    /// A Bulk 1.0 job (type [`JobType::Classic`]).
    pub fn classic_job(&self, id: &str) -> Result<Job, BulkError> {
        let job = self.get(id)?;
        if job.job_type == JobType::Classic {
            Ok(job)
        } else {
            Err(BulkError::new(
                Kind::InvalidJob,
                format!("Invalid job id: {id}"),
            ))
        }
    }

    /// The batches of a Bulk 1.0 job, oldest first.
    pub fn batches(&self, job_id: &str) -> Vec<Job> {
        self.lock()
            .values()
            .filter(|b| b.parent.as_deref() == Some(job_id))
            .cloned()
            .collect()
    }

    /// Batch `batch_id` of job `job_id`.
    pub fn batch(&self, job_id: &str, batch_id: &str) -> Result<Job, BulkError> {
        let job = self.classic_job(job_id)?;
        let batch = self.get(batch_id)?;
        if batch.parent.as_deref() == Some(job.id.as_str()) {
            Ok(batch)
        } else {
            Err(BulkError::new(
                Kind::InvalidBatch,
                format!("Invalid batch id: {batch_id}"),
            ))
        }
    }

    /// The counts of a Bulk 1.0 job's batches.
    pub fn counts(&self, job_id: &str) -> Counts {
        let mut c = Counts::default();
        for b in self.batches(job_id) {
            match b.state {
                State::Open | State::UploadComplete => c.queued += 1,
                State::InProgress => c.in_progress += 1,
                State::JobComplete => c.completed += 1,
                State::Failed => c.failed += 1,
                State::Aborted => c.not_processed += 1,
            }
            c.processed += b.progress.processed;
            c.records_failed += b.progress.failed;
            c.processing_ms += b.progress.processing_ms;
        }
        c
    }

    /// Adds a batch to an open Bulk 1.0 job: its records (or query) in the job's format,
    /// queued to run. A batch that cannot be read is kept, `Failed`, with the reason.
    pub fn add_batch(self: &Arc<Self>, job_id: &str, body: &[u8]) -> Result<Job, BulkError> {
        let job = self.classic_job(job_id)?;
        if job.state != State::Open {
            return Err(BulkError::new(
                Kind::InvalidJobState,
                format!(
                    "Job {} is not open: its state is {}",
                    job.id,
                    job_state(job.state)
                ),
            ));
        }
        if body.len() > MAX_BATCH_BYTES {
            return Err(BulkError::new(
                Kind::ExceededQuota,
                format!("Exceeded max size limit of {MAX_BATCH_BYTES} for a batch"),
            ));
        }
        let converted = if job.operation.is_query() {
            Ok((body.to_vec(), 1))
        } else {
            match job.format() {
                Format::Csv => Ok((body.to_vec(), count_csv(body))),
                Format::Json => crate::convert::json_to_csv(body),
                Format::Xml => crate::convert::xml_to_csv(body),
            }
        };
        let converted = match converted {
            Ok((_, 0)) => {
                return Err(BulkError::new(
                    Kind::ClientInputError,
                    "Failed to read request. The batch has no records.",
                ));
            }
            Ok((_, n)) if n > crate::convert::MAX_RECORDS => Err(format!(
                "InvalidBatch : Records in a batch exceeds {}",
                crate::convert::MAX_RECORDS
            )),
            other => other,
        };
        self.store_batch(&job, body, converted)
    }

    fn store_batch(
        self: &Arc<Self>,
        job: &Job,
        body: &[u8],
        converted: Result<(Vec<u8>, usize), String>,
    ) -> Result<Job, BulkError> {
        let id = self.mint("751")?;
        let now = self.org.clock().now();
        let mut batch = Job {
            id: id.clone(),
            job_type: JobType::ClassicBatch,
            parent: Some(job.id.clone()),
            created: now,
            modified: now,
            state: State::UploadComplete,
            error: None,
            delimiter: "COMMA".into(),
            // Bulk 1.0 jobs name no line ending: a CSV batch is read with its own.
            line_ending: if job.format() == Format::Csv && crlf(body) {
                "CRLF"
            } else {
                "LF"
            }
            .into(),
            uploaded: Some(body.len() as u64),
            progress: Progress::default(),
            ..job.clone()
        };
        let files = self.files(&id);
        let io = |e: std::io::Error| BulkError::internal(&e);
        files.create().map_err(io)?;
        std::fs::write(files.request(), body).map_err(io)?;
        self.keep_file(&batch, "request", &files.request())?;
        match converted {
            Ok((csv, _)) if job.operation.is_query() => {
                batch.query = Some(String::from_utf8_lossy(&csv).trim().to_owned());
            }
            Ok((csv, _)) => {
                let mut f = std::fs::File::create(files.data()).map_err(io)?;
                f.write_all(&csv).map_err(io)?;
                f.sync_data().map_err(io)?;
                self.keep_file(&batch, "data", &files.data())?;
            }
            Err(message) => {
                batch.state = State::Failed;
                batch.error = Some(message);
            }
        }
        self.save(&batch)?;
        if batch.state == State::UploadComplete {
            self.enqueue(&batch.id);
        }
        Ok(batch)
    }

    /// Closes (`Closed`: its batches still run) or aborts (its queued batches will not
    /// run) a Bulk 1.0 job.
    pub fn set_classic_state(&self, job_id: &str, want: State) -> Result<Job, BulkError> {
        let job = self.classic_job(job_id)?;
        let _state = self.state_lock.locked();
        let next = match (job.state, want) {
            (State::Open, State::UploadComplete) => State::UploadComplete,
            (State::Open | State::UploadComplete, State::Aborted) => State::Aborted,
            _ => {
                return Err(BulkError::new(
                    Kind::InvalidJobState,
                    format!(
                        "Invalid state transition from {} to {}",
                        job_state(job.state),
                        job_state(want)
                    ),
                ));
            }
        };
        if next == State::Aborted {
            for b in self.batches(&job.id) {
                if b.state == State::UploadComplete {
                    let mut b = b;
                    b.state = State::Aborted;
                    b.modified = self.org.clock().now();
                    self.save(&b)?;
                }
            }
        }
        let mut job = job;
        job.state = next;
        job.modified = self.org.clock().now();
        self.save(&job)?;
        Ok(job)
    }
}

/// Whether a CSV batch's first line ends with `\r\n`.
fn crlf(body: &[u8]) -> bool {
    body.iter()
        .position(|b| *b == b'\n')
        .is_some_and(|i| i > 0 && body[i - 1] == b'\r')
}

/// Records in a CSV batch (after its header), read as CSV in its own line ending; a
/// malformed one counts what reads, and fails when the batch runs.
fn count_csv(body: &[u8]) -> usize {
    let dialect = forcebus_csv::Dialect {
        delimiter: forcebus_csv::Delimiter::Comma,
        line_ending: if crlf(body) {
            forcebus_csv::LineEnding::Crlf
        } else {
            forcebus_csv::LineEnding::Lf
        },
    };
    let mut n = 0;
    for record in forcebus_csv::Reader::new(body, dialect).skip(1) {
        if record.is_err() {
            return n.max(1);
        }
        n += 1;
    }
    n
}

/// A row of a Bulk 1.0 ingest result: `Id`, `Success`, `Created`, `Error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultRow {
    /// The record's id, or empty.
    pub id: String,
    /// Whether the record was saved.
    pub success: bool,
    /// Whether it was created.
    pub created: bool,
    /// `CODE:message:fields --`, or empty.
    pub error: String,
}

/// The ingest results of a batch, in its input order.
pub fn batch_results(
    bulk: &Bulk,
    job_id: &str,
    batch_id: &str,
) -> Result<Vec<ResultRow>, BulkError> {
    let batch = bulk.batch(job_id, batch_id)?;
    if batch.operation.is_query() {
        return Err(BulkError::new(
            Kind::InvalidBatch,
            "A query batch has result files",
        ));
    }
    if !matches!(batch.state, State::JobComplete | State::Failed) {
        return Err(BulkError::new(
            Kind::InvalidBatch,
            format!(
                "Batch not completed: its state is {}",
                batch_state(batch.state)
            ),
        ));
    }
    let len = batch.progress.success_bytes;
    let file = match std::fs::File::open(bulk.local_files(&batch)?.success()) {
        Ok(f) => f,
        Err(_) => return Ok(Vec::new()),
    };
    let reader = forcebus_csv::Reader::new(
        std::io::BufReader::new(std::io::Read::take(file, len)),
        forcebus_csv::Dialect::default(),
    );
    reader
        .skip(1)
        .map(|r| {
            let r = r.map_err(|e| BulkError::internal(&e))?;
            let get = |i: usize| r.values.get(i).cloned().unwrap_or_default();
            Ok(ResultRow {
                id: get(0),
                success: get(1) == "true",
                created: get(2) == "true",
                error: get(3),
            })
        })
        .collect()
}
