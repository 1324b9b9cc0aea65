//! The worker: one thread that runs an org's queued jobs one at a time (an ingest job by
//! [`crate::ingest`], a query job by [`crate::query`]), started with the first job and
//! ended after a second without one.

use std::sync::Arc;

use forcebus_org::Org;
use forcebus_store::Store;

use crate::error::BulkError;
use crate::registry::{Bulk, BulkConfig};

impl Bulk {
    /// Loads the org's jobs and starts the worker, which resumes any job left running.
    pub fn open(
        org: Arc<Org>,
        store: Arc<dyn Store>,
        config: BulkConfig,
    ) -> Result<Arc<Self>, BulkError> {
        Bulk::load(org, store, config, spawn)
    }
}

/// Starts a worker thread over `bulk`.
fn spawn(bulk: std::sync::Weak<Bulk>) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("forcebus-bulk".into())
        .spawn(move || work(&bulk))
}

/// The worker: runs queued jobs one at a time until the registry goes away or stops it.
fn work(bulk: &std::sync::Weak<Bulk>) {
    let _unwinding = Unwinding(bulk.clone());
    loop {
        let Some(b) = bulk.upgrade() else { return };
        let Some(id) = b.next_job() else { return };
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
            b.worker_gone();
        }
    }
}
