//! The org's jobs: creating them, taking their data, changing their state, listing and
//! deleting them, and the worker thread that runs them in order.

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex};

use forcebus_meta::RecordId;
use forcebus_org::Org;
use forcebus_store::{Batch, Store};

use crate::error::{BulkError, Kind};
use crate::files::JobFiles;
use crate::job::{Job, JobType, SPACE, State};

/// Settings.
#[derive(Debug, Clone)]
pub struct BulkConfig {
    /// Where jobs keep their files.
    pub root: PathBuf,
    /// Largest upload, in bytes (150 MB once base64-encoded, as Salesforce counts).
    pub max_upload_bytes: u64,
    /// Days a finished job is kept.
    pub keep_days: i64,
    /// The root is this process's alone (an in-memory org): removed at shutdown.
    pub temporary: bool,
    /// How long a queued job waits before it starts: Salesforce never starts at once, and
    /// tests that abort or watch a job in `UploadComplete` need the time (0: no wait).
    pub start_delay: std::time::Duration,
}

impl BulkConfig {
    /// Jobs under `root`, with Salesforce's limits.
    pub fn new(root: PathBuf) -> Self {
        Self {
            root,
            max_upload_bytes: 100_000_000,
            keep_days: 7,
            temporary: false,
            start_delay: std::time::Duration::ZERO,
        }
    }
}

/// What a new job is asked to do.
#[derive(Debug, Clone, Default)]
pub struct NewJob {
    /// The object (ingest).
    pub object: String,
    /// `insert`, `update`, ... (any case).
    pub operation: String,
    /// `externalIdFieldName`.
    pub external_id_field: Option<String>,
    /// The SOQL of a query job.
    pub query: Option<String>,
    /// `columnDelimiter` (default `COMMA`).
    pub delimiter: Option<String>,
    /// `lineEnding` (default `LF`).
    pub line_ending: Option<String>,
    /// `assignmentRuleId`.
    pub assignment_rule_id: Option<String>,
    /// `contentType` (only `CSV` for Bulk 2.0; `CSV`, `XML` or `JSON` for 1.0).
    pub content_type: Option<String>,
    /// `concurrencyMode` (Bulk 1.0): `Parallel` or `Serial`.
    pub concurrency: Option<String>,
}

#[derive(Debug, Default)]
struct Queue {
    jobs: VecDeque<String>,
    stop: bool,
    /// Whether a worker thread runs (it ends after a second without jobs; the next job
    /// starts another, so an org without Bulk work holds no thread for it).
    running: bool,
}

/// The org's jobs.
#[derive(Debug)]
pub struct Bulk {
    pub(crate) org: Arc<Org>,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: BulkConfig,
    jobs: Mutex<BTreeMap<String, Job>>,
    /// Jobs whose upload is under way.
    uploading: Mutex<std::collections::HashSet<String>>,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// The number of the last job id minted.
    last_number: Mutex<u64>,
    /// Held while a job's state changes and while a chunk commits, so a client's abort
    /// and a chunk's progress never overwrite each other.
    pub(crate) state_lock: Mutex<()>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Itself, for the worker threads it starts.
    me: std::sync::Weak<Bulk>,
}

/// The key of the job id counter in the store.
const NEXT: &str = "next";

impl Bulk {
    /// Loads the org's jobs and starts the worker, which resumes any job left running.
    pub fn open(
        org: Arc<Org>,
        store: Arc<dyn Store>,
        config: BulkConfig,
    ) -> Result<Arc<Self>, BulkError> {
        std::fs::create_dir_all(&config.root).map_err(|e| BulkError::internal(&e))?;
        let mut jobs = BTreeMap::new();
        let mut last_number = 0;
        for (key, value) in store
            .load_values(SPACE)
            .map_err(|e| BulkError::internal(&e))?
        {
            if key == NEXT {
                last_number = value.parse().unwrap_or(0);
                continue;
            }
            match serde_json::from_str::<Job>(&value) {
                Ok(job) => {
                    jobs.insert(key, job);
                }
                Err(e) => {
                    tracing::warn!(job = %key, error = %e, "Stored bulk job is unreadable; skipped.")
                }
            }
        }
        let resume: VecDeque<String> = jobs
            .values()
            .filter(|j| matches!(j.state, State::UploadComplete | State::InProgress))
            .map(|j| j.id.clone())
            .collect();
        let bulk = Arc::new_cyclic(|me| Self {
            org,
            store,
            config,
            jobs: Mutex::new(jobs),
            uploading: Mutex::default(),
            queue: Mutex::default(),
            wake: Condvar::new(),
            last_number: Mutex::new(last_number),
            state_lock: Mutex::new(()),
            worker: Mutex::new(None),
            me: me.clone(),
        });
        for id in resume {
            bulk.enqueue(&id);
        }
        Ok(bulk)
    }

    /// Starts a worker thread; whether it started.
    fn start_worker(&self) -> bool {
        let bulk = self.me.clone();
        match std::thread::Builder::new()
            .name("forcebus-bulk".into())
            .spawn(move || crate::registry::work(&bulk))
        {
            Ok(worker) => {
                // A worker that ended before is done; its handle goes.
                *self.worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(worker);
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "The Bulk worker could not be started.");
                false
            }
        }
    }

    /// Stops the worker after the chunk it is on (the job resumes at the next start).
    pub fn shutdown(&self) {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).stop = true;
        self.wake.notify_all();
        let worker = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(w) = worker {
            let _ = w.join();
        }
        if self.config.temporary {
            let _ = std::fs::remove_dir_all(&self.config.root);
        }
    }

    /// Whether a job is being uploaded, waits to be processed or is being processed.
    pub fn busy(&self) -> bool {
        let uploading = !self
            .uploading
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        // A Bulk 1.0 job stays UploadComplete once closed; its batches are the work.
        uploading
            || self.lock().values().any(|j| {
                j.job_type != JobType::Classic
                    && matches!(j.state, State::UploadComplete | State::InProgress)
            })
    }

    /// The files of job `id`.
    pub fn files(&self, id: &str) -> JobFiles {
        JobFiles::new(&self.config.root, id)
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Job>> {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Stores `job` and makes it the one the registry shows.
    pub(crate) fn save(&self, job: &Job) -> Result<(), BulkError> {
        let mut batch = Batch::new();
        batch.put(SPACE, &job.id, Some(job.stored()));
        self.store
            .commit(&batch)
            .map_err(|e| BulkError::internal(&e))?;
        self.lock().insert(job.id.clone(), job.clone());
        Ok(())
    }

    /// Job `id`, as of now.
    pub fn get(&self, id: &str) -> Result<Job, BulkError> {
        let want = RecordId::parse(id).map(|r| r.to18());
        want.and_then(|id| self.lock().get(&id).cloned())
            .ok_or_else(BulkError::not_found)
    }

    /// Whether job `id` has been aborted (without copying the job, for the workers'
    /// per-chunk check).
    pub(crate) fn is_aborted(&self, id: &str) -> Result<bool, BulkError> {
        self.lock()
            .get(id)
            .map(|j| j.state == State::Aborted)
            .ok_or_else(BulkError::not_found)
    }

    /// Every job of a type, oldest first, after dropping finished jobs past their keep.
    pub fn list(&self, types: &[JobType]) -> Vec<Job> {
        self.expire();
        self.lock()
            .values()
            .filter(|j| types.contains(&j.job_type))
            .cloned()
            .collect()
    }

    /// The largest upload a job takes, in bytes.
    pub fn max_upload_bytes(&self) -> u64 {
        self.config.max_upload_bytes
    }

    /// Query jobs created in the last 24 hours (`DailyBulkV2QueryJobs`, at most
    /// [`crate::DAILY_QUERY_JOBS`]).
    pub fn query_jobs_today(&self) -> u64 {
        self.made_today(&[JobType::V2Query])
    }

    /// Batches made in the last 24 hours (`DailyBulkApiBatches`: Bulk 1.0 batches, and
    /// Bulk 2.0 ingest jobs, which Salesforce counts in batches too).
    pub fn batches_today(&self) -> u64 {
        self.made_today(&[JobType::ClassicBatch, JobType::V2Ingest])
    }

    fn made_today(&self, types: &[JobType]) -> u64 {
        let since = self.org.clock().now() - chrono::Duration::hours(24);
        self.lock()
            .values()
            .filter(|j| types.contains(&j.job_type) && j.created > since)
            .count() as u64
    }

    fn expire(&self) {
        let cutoff = self.org.clock().now() - chrono::Duration::days(self.config.keep_days);
        let old: Vec<String> = self
            .lock()
            .values()
            .filter(|j| j.state.terminal() && j.modified < cutoff)
            .map(|j| j.id.clone())
            .collect();
        for id in old {
            if let Err(e) = self.remove(&id) {
                tracing::warn!(job = %id, error = %e, "An expired bulk job could not be removed.");
            }
        }
    }

    fn remove(&self, id: &str) -> Result<(), BulkError> {
        let mut batch = Batch::new();
        batch.put(SPACE, id, None);
        self.store
            .commit(&batch)
            .map_err(|e| BulkError::internal(&e))?;
        self.lock().remove(id);
        self.files(id).remove().map_err(|e| BulkError::internal(&e))
    }

    /// A new id with `prefix` (`750` jobs, `751` Bulk 1.0 batches) from the one counter
    /// of jobs and batches, never given before (the counter is stored before it is used).
    pub(crate) fn mint(&self, prefix: &str) -> Result<String, BulkError> {
        let mut last = self.last_number.lock().unwrap_or_else(|e| e.into_inner());
        let next = *last + 1;
        let mut batch = Batch::new();
        batch.put(SPACE, NEXT, Some(next.to_string()));
        self.store
            .commit(&batch)
            .map_err(|e| BulkError::internal(&e))?;
        *last = next;
        Ok(self.org.mint(prefix, next).to18())
    }

    /// Creates a job: checked, stored, `Open` (ingest and Bulk 1.0) or queued
    /// (`UploadComplete`, queries).
    pub fn create(
        &self,
        new: NewJob,
        job_type: JobType,
        caller: &forcebus_org::Caller,
    ) -> Result<Job, BulkError> {
        self.expire();
        let job = crate::create::checked(self, new, job_type, caller, self.mint("750")?)?;
        self.files(&job.id)
            .create()
            .map_err(|e| BulkError::internal(&e))?;
        self.save(&job)?;
        if job.state == State::UploadComplete {
            self.enqueue(&job.id);
        }
        Ok(job)
    }

    pub(crate) fn enqueue(&self, id: &str) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.jobs.push_back(id.to_owned());
        if !queue.running && !queue.stop {
            queue.running = self.start_worker();
        }
        drop(queue);
        self.wake.notify_all();
    }

    /// Starts the one upload of job `id`: the file to stream it into. A second upload, or
    /// one to a job that is not `Open`, is refused.
    pub fn begin_upload_owned(self: Arc<Self>, id: &str) -> Result<Upload, BulkError> {
        let job = self.get(id)?;
        if job.state != State::Open || job.job_type != JobType::V2Ingest {
            return Err(BulkError::new(
                Kind::InvalidJobState,
                format!(
                    "The job is not open for uploads: its state is {}",
                    job.state.name()
                ),
            ));
        }
        let mut uploading = self.uploading.lock().unwrap_or_else(|e| e.into_inner());
        if job.uploaded.is_some() || !uploading.insert(job.id.clone()) {
            return Err(BulkError::new(
                Kind::InvalidJobState,
                format!(
                    "Found multiple contents for job: <{}>, please 'Close' / 'Abort' / 'Delete' the current Job then create a new Job and make sure you only do 'PUT' once on a given Job.",
                    job.id
                ),
            ));
        }
        drop(uploading);
        let file = std::fs::File::create(self.files(&job.id).data())
            .map_err(|e| BulkError::internal(&e))?;
        let file = std::io::BufWriter::new(file);
        Ok(Upload {
            bulk: self,
            id: job.id,
            file,
            bytes: 0,
        })
    }

    /// Closes (`UploadComplete`, queued to run) or aborts a job.
    pub fn set_state(&self, id: &str, want: State) -> Result<Job, BulkError> {
        let _state = self.state_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut job = self.get(id)?;
        let bad = || {
            BulkError::new(
                Kind::InvalidJobState,
                format!(
                    "Invalid state transition from {} to {}",
                    job.state.name(),
                    want.name()
                ),
            )
        };
        match want {
            State::UploadComplete if job.state == State::Open => {
                job.state = State::UploadComplete;
            }
            State::Aborted if !job.state.terminal() => job.state = State::Aborted,
            _ => return Err(bad()),
        }
        job.modified = self.org.clock().now();
        self.save(&job)?;
        if job.state == State::UploadComplete {
            self.enqueue(&job.id);
        }
        Ok(job)
    }

    /// Deletes a job that is not running, with its data and results.
    pub fn delete(&self, id: &str) -> Result<(), BulkError> {
        let job = self.get(id)?;
        if matches!(job.state, State::Open | State::InProgress) && job.job_type != JobType::Classic
        {
            return Err(BulkError::new(
                Kind::InvalidJobState,
                format!("A job in state {} cannot be deleted", job.state.name()),
            ));
        }
        self.remove(&job.id)
    }

    /// Fails job `id` with `message` as its `errorMessage` (an aborted job stays aborted).
    pub(crate) fn fail(&self, id: &str, message: String) -> Result<(), BulkError> {
        self.update(id, |j| {
            j.state = State::Failed;
            j.error = Some(message);
        })
        .map(drop)
    }

    /// Changes a job through `f` and stores it (outside any chunk).
    /// An abort is final: a change made meanwhile by the worker (starting the job,
    /// failing it, completing it) keeps the job aborted.
    pub(crate) fn update(&self, id: &str, f: impl FnOnce(&mut Job)) -> Result<Job, BulkError> {
        let _state = self.state_lock.lock().unwrap_or_else(|e| e.into_inner());
        let mut job = self.get(id)?;
        let aborted = job.state == State::Aborted;
        f(&mut job);
        if aborted {
            job.state = State::Aborted;
        }
        job.modified = self.org.clock().now();
        self.save(&job)?;
        Ok(job)
    }
}

/// An upload under way: bytes go to the job's data file; [`Upload::finish`] records it.
#[derive(Debug)]
pub struct Upload {
    bulk: Arc<Bulk>,
    id: String,
    file: std::io::BufWriter<std::fs::File>,
    bytes: u64,
}

impl Upload {
    /// Appends a piece of the upload; refuses what goes past the size limit.
    pub fn write(&mut self, piece: &[u8]) -> Result<(), BulkError> {
        self.bytes += piece.len() as u64;
        if self.bytes > self.bulk.config.max_upload_bytes {
            return Err(BulkError::new(
                Kind::ExceededQuota,
                format!(
                    "The upload is larger than the 150 MB ({} bytes before base64 encoding) a job takes",
                    self.bulk.config.max_upload_bytes
                ),
            ));
        }
        self.file
            .write_all(piece)
            .map_err(|e| BulkError::internal(&e))
    }

    /// Records the upload: its data is the job's from now on.
    pub fn finish(mut self) -> Result<Job, BulkError> {
        self.file.flush().map_err(|e| BulkError::internal(&e))?;
        self.file
            .get_ref()
            .sync_data()
            .map_err(|e| BulkError::internal(&e))?;
        let bytes = self.bytes;
        self.bulk.update(&self.id, |j| j.uploaded = Some(bytes))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let mut uploading = self
            .bulk
            .uploading
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        uploading.remove(&self.id);
        let finished = self
            .bulk
            .lock()
            .get(&self.id)
            .is_some_and(|j| j.uploaded.is_some());
        if !finished {
            // A failed or abandoned upload leaves nothing: the job may be uploaded again.
            let _ = std::fs::remove_file(self.bulk.files(&self.id).data());
        }
    }
}

/// The worker: runs queued jobs one at a time until the registry goes away or stops it.
fn work(bulk: &std::sync::Weak<Bulk>) {
    let _unwinding = Unwinding(bulk.clone());
    loop {
        let Some(b) = bulk.upgrade() else { return };
        let next = {
            let mut q = b.queue.lock().unwrap_or_else(|e| e.into_inner());
            while q.jobs.is_empty() && !q.stop {
                q = b
                    .wake
                    .wait_timeout(q, std::time::Duration::from_secs(1))
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                // Nothing for a second: the next job starts another worker.
                if q.jobs.is_empty() {
                    q.running = false;
                    return;
                }
            }
            if q.stop {
                q.running = false;
                return;
            }
            q.jobs.pop_front()
        };
        let Some(id) = next else { continue };
        if !b.config.start_delay.is_zero() {
            std::thread::sleep(b.config.start_delay);
        }
        let outcome = match b.get(&id) {
            Ok(job) if job.operation.is_query() => crate::query::run(&b, job),
            Ok(job) => crate::ingest::run(&b, job),
            Err(_) => Ok(()),
        };
        if let Err(e) = outcome {
            tracing::error!(job = %id, error = %e, "A bulk job failed inside the server.");
            let _ = b.fail(&id, e.job_message());
        }
    }
}

/// Marks the worker gone if a job panics, so the next job starts another.
struct Unwinding(std::sync::Weak<Bulk>);

impl Drop for Unwinding {
    fn drop(&mut self) {
        if let (true, Some(b)) = (std::thread::panicking(), self.0.upgrade()) {
            b.queue.lock().unwrap_or_else(|e| e.into_inner()).running = false;
        }
    }
}

impl Bulk {
    /// Whether the worker was asked to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.queue.lock().unwrap_or_else(|e| e.into_inner()).stop
    }
}
