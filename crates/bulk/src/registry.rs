//! The org's jobs: creating them, taking their data, changing their state, listing and
//! deleting them, and the worker thread that runs them in order.

use forcebus_sync::prelude::*;
use std::collections::{BTreeMap, VecDeque};
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
    /// A lock per job, held while its files are copied back from the store
    /// ([`crate::mirror`]).
    pub(crate) restoring: Mutex<std::collections::HashMap<String, Arc<Mutex<()>>>>,
    queue: Mutex<Queue>,
    wake: Condvar,
    /// The number of the last job id minted.
    last_number: Mutex<u64>,
    /// Held while a job's state changes and while a chunk commits, so a client's abort
    /// and a chunk's progress never overwrite each other.
    pub(crate) state_lock: Mutex<()>,
    worker: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Starts a worker thread.
    spawn: Spawn,
    /// Itself, for the worker threads it starts.
    me: std::sync::Weak<Bulk>,
}

/// Starts a worker thread over the registry.
pub(crate) type Spawn = fn(std::sync::Weak<Bulk>) -> std::io::Result<std::thread::JoinHandle<()>>;

/// The key of the job id counter in the store.
const NEXT: &str = "next";

impl Bulk {
    /// Loads the org's jobs and queues any left running; `spawn` starts a worker thread
    /// (the worker's module gives it: the registry knows no job's running).
    pub(crate) fn load(
        org: Arc<Org>,
        store: Arc<dyn Store>,
        config: BulkConfig,
        spawn: Spawn,
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
        if store.shared() {
            // Copies this node kept from an earlier time it served the org: another node
            // may have written since; what is needed comes back from the store. (A job
            // whose files were never kept there keeps its only copy.)
            for job in jobs.values().filter(|j| j.kept) {
                let _ = JobFiles::new(&config.root, &job.id).remove();
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
            restoring: Mutex::default(),
            queue: Mutex::default(),
            wake: Condvar::new(),
            last_number: Mutex::new(last_number),
            state_lock: Mutex::new(()),
            worker: Mutex::new(None),
            spawn,
            me: me.clone(),
        });
        for id in resume {
            bulk.enqueue(&id);
        }
        Ok(bulk)
    }

    /// Starts a worker thread; whether it started.
    fn start_worker(&self) -> bool {
        match (self.spawn)(self.me.clone()) {
            Ok(worker) => {
                // A worker that ended before is done; its handle goes.
                *self.worker.locked() = Some(worker);
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
        self.queue.locked().stop = true;
        self.wake.notify_all();
        let worker = self.worker.locked().take();
        if let Some(w) = worker {
            let _ = w.join();
        }
        if self.config.temporary {
            let _ = std::fs::remove_dir_all(&self.config.root);
        }
    }

    /// Whether a job is being uploaded, waits to be processed or is being processed.
    pub fn busy(&self) -> bool {
        let uploading = !self.uploading.locked().is_empty();
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
        self.jobs.locked()
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

    pub(crate) fn expire(&self) {
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
        if self.mirrored() {
            batch.writes.push(crate::files::drop_all(id));
        }
        self.store
            .commit(&batch)
            .map_err(|e| BulkError::internal(&e))?;
        self.lock().remove(id);
        self.restoring.locked().remove(id);
        self.files(id).remove().map_err(|e| BulkError::internal(&e))
    }

    /// A new id with `prefix` (`750` jobs, `751` Bulk 1.0 batches) from the one counter
    /// of jobs and batches, never given before (the counter is stored before it is used).
    pub(crate) fn mint(&self, prefix: &str) -> Result<String, BulkError> {
        let mut last = self.last_number.locked();
        let next = *last + 1;
        let mut batch = Batch::new();
        batch.put(SPACE, NEXT, Some(next.to_string()));
        self.store
            .commit(&batch)
            .map_err(|e| BulkError::internal(&e))?;
        *last = next;
        Ok(self.org.mint(prefix, next).to18())
    }

    pub(crate) fn enqueue(&self, id: &str) {
        let mut queue = self.queue.locked();
        queue.jobs.push_back(id.to_owned());
        if !queue.running && !queue.stop {
            queue.running = self.start_worker();
        }
        drop(queue);
        self.wake.notify_all();
    }

    /// Closes (`UploadComplete`, queued to run) or aborts a job.
    pub fn set_state(&self, id: &str, want: State) -> Result<Job, BulkError> {
        let _state = self.state_lock.locked();
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
        let _state = self.state_lock.locked();
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

    /// Whether the worker was asked to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.queue.locked().stop
    }

    /// The next queued job, waiting up to a second for one; `None` when the worker should
    /// end (nothing came, or it was asked to stop), marked so the next job starts another.
    pub(crate) fn next_job(&self) -> Option<String> {
        let mut q = self.queue.locked();
        while q.jobs.is_empty() && !q.stop {
            q = self
                .wake
                .wait_timeout(q, std::time::Duration::from_secs(1))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            // Nothing for a second: the next job starts another worker.
            if q.jobs.is_empty() {
                q.running = false;
                return None;
            }
        }
        if q.stop {
            q.running = false;
            return None;
        }
        q.jobs.pop_front()
    }

    /// Marks the worker gone (it panicked), so the next job starts another.
    pub(crate) fn worker_gone(&self) {
        self.queue.locked().running = false;
    }

    /// The jobs whose upload is under way.
    pub(crate) fn uploading(&self) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.uploading.locked()
    }
}
