//! Running an ingest job (`data-apis.md` §1.9): the upload is read once to check it is
//! well-formed CSV (a malformed file fails the job before any record is written), then in
//! chunks of [`CHUNK`] records, each one org transaction in which every row succeeds or
//! fails on its own. Each chunk's results are appended to the result files inside its
//! transaction and the job's progress (offset, counts, result file lengths) is committed
//! with its records; result files are cut back to the committed lengths on resume and
//! read only up to them, so a crash never shows a row twice or loses one. A committed
//! chunk is made durable by [`crate::durable`] while the next one is applied.

use forcebus_sync::prelude::*;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom, Write};
use std::time::Instant;

use forcebus_csv::{Reader, Record, Writer};
use forcebus_org::{Api, Caller, Committed, Mode, Op, OrgError, Outcome, RecordId, Work};

use crate::CHUNK;
use crate::columns::{Column, columns, error_text, operations};
use crate::durable::Durability;
use crate::error::BulkError;
use crate::files::append_at;
use crate::job::{Job, Operation, SPACE, State};
use crate::registry::Bulk;

/// The caller a job's chunks run as: its creator, through the Bulk API.
pub(crate) fn caller(job: &Job) -> Caller {
    Caller {
        user_id: RecordId::parse(&job.created_by).unwrap_or(RecordId::mint("005", 0)),
        api: Api::Bulk,
        version: job.api_version.clone(),
        client: job.client.clone(),
    }
}

/// The upload's header: its values and its bytes as uploaded (for the result files).
pub(crate) struct Header {
    pub(crate) values: Vec<String>,
    pub(crate) raw: Vec<u8>,
    /// Where the first row starts.
    pub(crate) end: u64,
}

/// Reads the upload's header; `None`: the upload is empty (or there is none).
pub(crate) fn read_header(job: &Job, path: &std::path::Path) -> Result<Option<Header>, String> {
    let file = match File::open(path) {
        Ok(f) => f,
        // Uploaded, but its file is gone (on PostgreSQL, an upload made before uploads
        // were kept in the database, on the disk of a server that stopped).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && job.uploaded.unwrap_or(0) > 0 => {
            return Err(format!(
                "Unknown : the upload is gone: it was kept by a server that stopped before \
                 the job ran; upload the data again in a new job ({e})"
            ));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("Unknown : the upload cannot be read: {e}")),
    };
    let mut reader = Reader::new(BufReader::new(file), job.dialect());
    let header = match reader.next_record() {
        None => return Ok(None),
        Some(Err(e)) => return Err(e.message),
        Some(Ok(h)) => h,
    };
    let end = reader.position();
    let mut raw = Vec::new();
    File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, end), &mut raw))
        .map_err(|e| format!("Unknown : the upload cannot be read: {e}"))?;
    while raw.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        raw.pop();
    }
    Ok(Some(Header {
        values: header.values,
        raw,
        end,
    }))
}

/// Reads the header and checks every row is well-formed CSV; `Err` carries the job's
/// `errorMessage`. `None`: the upload is empty.
pub(crate) fn check_upload(job: &Job, path: &std::path::Path) -> Result<Option<Header>, String> {
    let Some(header) = read_header(job, path)? else {
        return Ok(None);
    };
    let file = File::open(path).map_err(|e| format!("Unknown : the upload cannot be read: {e}"))?;
    let mut data = BufReader::new(file);
    data.seek(SeekFrom::Start(header.end))
        .map_err(|e| format!("Unknown : the upload cannot be read: {e}"))?;
    for record in Reader::checking(data, job.dialect()) {
        // Lines count from the first row, after the header's.
        record.map_err(|e| format!("{} (line {})", e.message, e.line + 1))?;
    }
    Ok(Some(header))
}

/// Runs (or resumes) an ingest job to its end, or until it is aborted or the worker stops.
pub(crate) fn run(bulk: &Bulk, job: Job) -> Result<(), BulkError> {
    if job.state.terminal() || job.state == State::Open {
        return Ok(());
    }
    let files = bulk.local_files(&job)?;
    let header = match check_upload(&job, &files.data()) {
        Err(message) => return bulk.fail(&job.id, message),
        Ok(None) => {
            return bulk
                .update(&job.id, |j| j.state = State::JobComplete)
                .map(drop);
        }
        Ok(Some(h)) => h,
    };
    let schema = bulk.org.schema();
    let Some(o) = schema.object(&job.object) else {
        return bulk.fail(
            &job.id,
            format!(
                "InvalidJob : sObject type '{}' is not supported.",
                job.object
            ),
        );
    };
    let cols = match columns(
        &schema,
        o,
        &header.values,
        job.operation,
        (
            job.external_id_field.as_deref(),
            forcebus_meta::major_version(&job.api_version),
        ),
    ) {
        Ok(c) => c,
        Err(message) => return bulk.fail(&job.id, message),
    };
    let job = bulk.update(&job.id, |j| {
        j.state = State::InProgress;
        if j.progress.offset == 0 {
            j.progress.offset = header.end;
        }
    })?;
    Chunks::start(bulk, job, &header, cols)?.run()
}

/// The state of a job being run chunk by chunk.
struct Chunks<'a> {
    bulk: &'a Bulk,
    job: Job,
    columns: Vec<Column>,
    reader: Reader<BufReader<File>>,
    /// Where the reader started in the upload.
    base: u64,
    success: File,
    failure: File,
    /// The result files' header lines, written to the files but not yet kept in the
    /// store with a chunk (success, failure).
    unkept: (Vec<u8>, Vec<u8>),
    /// The chunks committed, made durable in order while the next ones are applied.
    durable: Durability<ChunkResult>,
}

/// What a chunk's transaction gives back: the job advanced past it.
type ChunkResult = (Result<Job, BulkError>, Option<Committed>);

impl<'a> Chunks<'a> {
    fn start(
        bulk: &'a Bulk,
        job: Job,
        header: &Header,
        columns: Vec<Column>,
    ) -> Result<Self, BulkError> {
        let files = bulk.files(&job.id);
        let io = |e: std::io::Error| BulkError::internal(&e);
        let mut data = File::open(files.data()).map_err(io)?;
        data.seek(SeekFrom::Start(job.progress.offset))
            .map_err(io)?;
        let mut success = append_at(&files.success(), job.progress.success_bytes).map_err(io)?;
        let mut failure = append_at(&files.failure(), job.progress.failure_bytes).map_err(io)?;
        let dialect = job.dialect();
        let results = results_dialect(&job);
        let mut job = job;
        let classic = job.job_type == crate::job::JobType::ClassicBatch;
        let mut unkept = (Vec::new(), Vec::new());
        if job.progress.success_bytes == 0 {
            let mut w = Writer::new(Vec::new(), results);
            if classic {
                w.record(&["Id", "Success", "Created", "Error"])
            } else {
                w.prefixed(&["sf__Id", "sf__Created"], &header.raw)
            }
            .map_err(io)?;
            let bytes = w.into_inner().map_err(io)?;
            success.write_all(&bytes).map_err(io)?;
            job.progress.success_bytes = bytes.len() as u64;
            unkept.0 = bytes;
        }
        if job.progress.failure_bytes == 0 && !classic {
            let mut w = Writer::new(Vec::new(), results);
            w.prefixed(&["sf__Id", "sf__Error"], &header.raw)
                .map_err(io)?;
            let bytes = w.into_inner().map_err(io)?;
            failure.write_all(&bytes).map_err(io)?;
            job.progress.failure_bytes = bytes.len() as u64;
            unkept.1 = bytes;
        }
        let durable = Durability::start((
            success.try_clone().map_err(io)?,
            failure.try_clone().map_err(io)?,
        ))?;
        Ok(Self {
            bulk,
            durable,
            reader: Reader::new(BufReader::new(data), dialect),
            base: job.progress.offset,
            job,
            columns,
            success,
            failure,
            unkept,
        })
    }

    fn run(mut self) -> Result<(), BulkError> {
        loop {
            if self.bulk.stopping() {
                return self.durable.drain();
            }
            let mut rows: Vec<Record> = Vec::with_capacity(CHUNK);
            while rows.len() < CHUNK {
                match self.reader.next_record() {
                    Some(Ok(r)) => rows.push(r),
                    // The upload was checked whole before the first chunk.
                    Some(Err(e)) => return Err(BulkError::internal(&e)),
                    None => break,
                }
            }
            if rows.is_empty() {
                self.durable.drain()?;
                return self.finish(State::JobComplete);
            }
            let next = self.base + self.reader.position();
            if !self.chunk(&rows, next)? {
                return self.durable.drain();
            }
        }
    }

    /// Commits one chunk and hands it to [`Durability`]; `false` when the job was aborted
    /// meanwhile (nothing written).
    fn chunk(&mut self, rows: &[Record], next_offset: u64) -> Result<bool, BulkError> {
        let started = Instant::now();
        let state = self.bulk.state_lock.locked();
        if self.bulk.is_aborted(&self.job.id)? {
            return Ok(false);
        }
        let caller = caller(&self.job);
        let now = self.bulk.org.clock().now();
        let job = &self.job;
        let files = (&mut self.success, &mut self.failure);
        let columns = &self.columns;
        let (mirrored, unkept) = (self.bulk.mirrored() && job.kept, &self.unkept);
        let committing = self
            .bulk
            .org
            .transaction(&caller, Mode::PARTIAL, |work| {
                let written = apply_rows(work, job, columns, rows).and_then(|(next, ok, bad)| {
                    write_results(files, (&ok, &bad))?;
                    if mirrored {
                        keep_results(work, job, unkept, (ok, bad));
                    }
                    Ok(next)
                });
                match written {
                    Ok(mut next) => {
                        next.progress.offset = next_offset;
                        next.progress.processing_ms += started.elapsed().as_millis() as u64;
                        next.modified = now;
                        work.put_value(SPACE, &next.id, Some(next.stored()));
                        (Ok(next), true)
                    }
                    Err(e) => (Err(e), false),
                }
            })
            .map_err(|e| BulkError::internal(&e))?;
        let next = match &committing.result().0 {
            Ok(next) => next.clone(),
            // Nothing was kept: there is nothing to wait for.
            Err(_) => {
                let (failed, _) = committing.wait().map_err(|e| BulkError::internal(&e))?;
                return failed.map(|_| false);
            }
        };
        self.bulk.lock().insert(next.id.clone(), next.clone());
        drop(state);
        self.job = next;
        self.unkept = (Vec::new(), Vec::new());
        self.durable.push(committing)?;
        Ok(true)
    }

    fn finish(self, state: State) -> Result<(), BulkError> {
        self.bulk
            .update(&self.job.id, |j| j.state = state)
            .map(drop)
    }
}

/// Whether an operation inserted its record (`sf__Created`).
fn created(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Created(_) | Outcome::Upserted { created: true, .. }
    )
}

/// Appends a chunk's results (success, failure) to the result files.
fn write_results(
    files: (&mut File, &mut File),
    (ok, bad): (&[u8], &[u8]),
) -> Result<(), BulkError> {
    let io = |e: std::io::Error| BulkError::internal(&e);
    files.0.write_all(ok).map_err(io)?;
    files.1.write_all(bad).map_err(io)
}

/// Keeps a chunk's results in the store with the chunk (a store other nodes share): each
/// file's run from where the committed runs end, with the header lines not kept yet.
fn keep_results(
    work: &mut Work<'_>,
    job: &Job,
    unkept: &(Vec<u8>, Vec<u8>),
    (ok, bad): (Vec<u8>, Vec<u8>),
) {
    let p = &job.progress;
    let runs = [
        ("success", p.success_bytes, &unkept.0, ok),
        ("failure", p.failure_bytes, &unkept.1, bad),
    ];
    for (name, end, head, body) in runs {
        if head.is_empty() && body.is_empty() {
            continue;
        }
        let start = end - head.len() as u64;
        let mut run = head.clone();
        run.extend_from_slice(&body);
        work.put_blob(&crate::files::run_key(&job.id, name, start), run);
    }
}

/// Applies a chunk's rows in `work`: the job with its counts and result file lengths
/// advanced, and each file's new results (success, failure).
fn apply_rows(
    work: &mut Work<'_>,
    job: &Job,
    columns: &[Column],
    rows: &[Record],
) -> Result<(Job, Vec<u8>, Vec<u8>), BulkError> {
    let dialect = results_dialect(job);
    let mut ok = Writer::new(Vec::new(), dialect);
    let mut bad = Writer::new(Vec::new(), dialect);
    let mut next = job.clone();
    let id_column = columns
        .iter()
        .position(|c| matches!(c, Column::Field(n, _) if n == "Id"));
    for row in rows {
        // The row's own Id, for its failure.
        let given_id = || {
            id_column
                .and_then(|i| row.values.get(i))
                .map_or("", String::as_str)
        };
        let result = operations(
            work,
            &job.object,
            job.operation,
            job.external_id_field.as_deref(),
            columns,
            &row.values,
        )
        .and_then(|ops| apply_row(work, ops));
        let io = |e: std::io::Error| BulkError::internal(&e);
        if job.job_type == crate::job::JobType::ClassicBatch {
            // Bulk 1.0: every row, in order, in one file.
            let line = match &result {
                Ok(outcome) => [
                    outcome.id().to18(),
                    "true".into(),
                    created(outcome).to_string(),
                    String::new(),
                ],
                Err(e) => {
                    next.progress.failed += 1;
                    let id = RecordId::parse(given_id()).map_or(String::new(), |r| r.to18());
                    [id, "false".into(), "false".into(), error_text(e)]
                }
            };
            ok.record(&line).map_err(io)?;
            next.progress.processed += 1;
            continue;
        }
        match result {
            Ok(outcome) => {
                let id = outcome.id().to18();
                let mut line = vec![
                    id.as_str(),
                    if created(&outcome) { "true" } else { "false" },
                ];
                line.extend(fitted(&row.values, columns.len()));
                ok.record(&line).map_err(io)?;
            }
            Err(e) => {
                let id = match job.operation {
                    Operation::Insert | Operation::Upsert => String::new(),
                    _ => RecordId::parse(given_id())
                        .map_or_else(|| given_id().to_owned(), |r| r.to18()),
                };
                let error = error_text(&e);
                let mut line = vec![id.as_str(), error.as_str()];
                line.extend(fitted(&row.values, columns.len()));
                bad.record(&line).map_err(io)?;
                next.progress.failed += 1;
            }
        }
        next.progress.processed += 1;
    }
    metrics::counter!("forcebus_bulk_rows_total").increment(
        next.progress
            .processed
            .saturating_sub(job.progress.processed),
    );
    let io = |e: std::io::Error| BulkError::internal(&e);
    let ok = ok.into_inner().map_err(io)?;
    let bad = bad.into_inner().map_err(io)?;
    next.progress.success_bytes += ok.len() as u64;
    next.progress.failure_bytes += bad.len() as u64;
    Ok((next, ok, bad))
}

/// The dialect of a job's result files: the job's own for Bulk 2.0; for a Bulk 1.0 batch
/// (whose upload brings its own line ending) always LF, as its results are read back.
fn results_dialect(job: &Job) -> forcebus_csv::Dialect {
    if job.job_type == crate::job::JobType::ClassicBatch {
        forcebus_csv::Dialect::default()
    } else {
        job.dialect()
    }
}

/// A row's values cut or padded to the header's width, so every line of a result file
/// has as many cells as its header (a row with too many or too few values fails alone).
fn fitted(values: &[String], width: usize) -> impl Iterator<Item = &str> {
    values
        .iter()
        .map(String::as_str)
        .chain(std::iter::repeat(""))
        .take(width)
}

/// One row's operations: alone, or together (a hard delete's delete and purge).
fn apply_row(work: &mut Work<'_>, mut ops: Vec<Op>) -> Result<Outcome, OrgError> {
    if ops.len() == 1 {
        return work.apply(ops.remove(0));
    }
    let mut results = work.apply_all_or_none(ops).into_iter();
    let first = results.next().unwrap_or_else(|| {
        Err(OrgError::new(
            forcebus_org::Code::UnknownException,
            "no operation",
        ))
    });
    match results.find(Result::is_err) {
        Some(Err(e)) => Err(e),
        _ => first,
    }
}
