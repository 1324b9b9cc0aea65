//! An ingest job's chunks between their commit and their durability: a thread of the job's
//! own makes each durable in order (the result files synced first, then the org's commit
//! waited for, which fsyncs it and shows its change events), while the worker validates
//! and commits the next chunk. At most [`IN_FLIGHT`] chunks wait; the job completes, stops
//! or fails only once every chunk it committed is durable ([`Durability::drain`]).
//!
//! What a chunk committed is visible before it is durable, as every write of the org is
//! between its commit and its fsync: its records to queries, its counts in the job's
//! status. Its change events are shown only once it is durable.

use std::fs::File;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use forcebus_org::Committing;

use crate::error::BulkError;

/// Chunks committed but not yet durable, at most.
pub(crate) const IN_FLIGHT: usize = 2;

/// The thread making a job's committed chunks durable, in order.
pub(crate) struct Durability<T: Send + 'static> {
    send: Option<SyncSender<Committing<T>>>,
    thread: Option<JoinHandle<Result<(), BulkError>>>,
}

impl<T: Send + 'static> Durability<T> {
    /// Starts the thread; `results` are the job's result files (success, failure), synced
    /// before each commit is waited for.
    pub(crate) fn start(results: (File, File)) -> Result<Self, BulkError> {
        let (send, receive) = sync_channel(IN_FLIGHT);
        let thread = std::thread::Builder::new()
            .name("forcebus-bulk-sync".into())
            .spawn(move || make_durable(&receive, &results))
            .map_err(|e| BulkError::internal(&e))?;
        Ok(Self {
            send: Some(send),
            thread: Some(thread),
        })
    }

    /// Hands a committed chunk over, waiting while [`IN_FLIGHT`] chunks are; the thread's
    /// error if it stopped on one (an earlier chunk could not be made durable).
    pub(crate) fn push(&mut self, chunk: Committing<T>) -> Result<(), BulkError> {
        let sent = self.send.as_ref().map(|s| s.send(chunk));
        match sent {
            Some(Ok(())) => Ok(()),
            _ => self.drain(),
        }
    }

    /// Waits until every chunk handed over is durable; the first error met.
    pub(crate) fn drain(&mut self) -> Result<(), BulkError> {
        self.send = None;
        match self.thread.take().map(JoinHandle::join) {
            None => Ok(()),
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(BulkError::internal(
                &"the thread making bulk chunks durable panicked",
            )),
        }
    }
}

impl<T: Send + 'static> Drop for Durability<T> {
    /// A job left early (an error elsewhere) still waits for what it committed.
    fn drop(&mut self) {
        let _ = self.drain();
    }
}

/// The thread: for each batch of chunks waiting, the result files synced once, then each
/// chunk's commit waited for in order (the first wait's fsync covers the later ones).
fn make_durable<T>(
    receive: &Receiver<Committing<T>>,
    (success, failure): &(File, File),
) -> Result<(), BulkError> {
    while let Ok(first) = receive.recv() {
        let mut batch = vec![first];
        batch.extend(std::iter::from_fn(|| receive.try_recv().ok()));
        // A chunk's results reach the disk before its commit, which counts them, can.
        success.sync_data().map_err(|e| BulkError::internal(&e))?;
        failure.sync_data().map_err(|e| BulkError::internal(&e))?;
        for chunk in batch {
            chunk.wait().map_err(|e| BulkError::internal(&e))?;
        }
    }
    Ok(())
}
