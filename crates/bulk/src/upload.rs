//! A Bulk API 2.0 ingest job's one upload, streamed into the job's data file.

use std::io::Write;
use std::sync::Arc;

use crate::error::{BulkError, Kind};
use crate::job::{Job, JobType, State};
use crate::registry::Bulk;

impl Bulk {
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
        let mut uploading = self.uploading();
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
        let path = self.bulk.files(&self.id).data();
        self.bulk
            .keep_file(&self.bulk.get(&self.id)?, "data", &path)?;
        self.bulk.update(&self.id, |j| j.uploaded = Some(bytes))
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        let mut uploading = self.bulk.uploading();
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
