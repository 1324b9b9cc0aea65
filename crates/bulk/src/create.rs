//! A new job, checked before it exists (`data-apis.md` §1.2, §2.3): its operation for its
//! API, its object (or query), its external id for an upsert, its dialect.

use crate::error::{BulkError, Kind};
use crate::job::{Job, JobType, Operation, Progress, State};
use crate::registry::{Bulk, NewJob};

fn invalid(message: String) -> BulkError {
    BulkError::new(Kind::InvalidJob, message)
}

/// The operation, allowed for this type of job.
fn operation(new: &NewJob, job_type: JobType) -> Result<Operation, BulkError> {
    let operation = Operation::from_name(&new.operation)
        .ok_or_else(|| invalid(format!("Invalid operation: {}", new.operation)))?;
    let query_type = job_type == JobType::V2Query;
    if operation.is_query() != query_type && job_type != JobType::Classic {
        return Err(invalid(format!(
            "The operation {} is not allowed for this job type",
            operation.name()
        )));
    }
    if job_type == JobType::V2Ingest
        && new
            .content_type
            .as_deref()
            .is_some_and(|c| !c.eq_ignore_ascii_case("CSV"))
    {
        return Err(invalid(format!(
            "Invalid content type: {}; Bulk API 2.0 takes CSV",
            new.content_type.clone().unwrap_or_default()
        )));
    }
    if job_type == JobType::Classic
        && let Some(c) = &new.content_type
        && !["CSV", "XML", "JSON"].contains(&c.to_ascii_uppercase().as_str())
    {
        return Err(invalid(format!(
            "Invalid content type: {c}; Bulk API 1.0 takes CSV, XML or JSON"
        )));
    }
    Ok(operation)
}

/// The column delimiter and line ending, by their names.
fn dialect(new: &NewJob) -> Result<(String, String), BulkError> {
    let delimiter = new.delimiter.clone().unwrap_or_else(|| "COMMA".into());
    if forcebus_csv::Delimiter::from_name(&delimiter).is_none() {
        return Err(invalid(format!("Invalid column delimiter: {delimiter}")));
    }
    let line_ending = new.line_ending.clone().unwrap_or_else(|| "LF".into());
    if forcebus_csv::LineEnding::from_name(&line_ending).is_none() {
        return Err(invalid(format!("Invalid line ending: {line_ending}")));
    }
    Ok((
        delimiter.to_ascii_uppercase(),
        line_ending.to_ascii_uppercase(),
    ))
}

/// The object a job reads or writes, and an upsert's key (canonical names): a query reads
/// any object the REST API queries (`Organization` too), an ingest job writes only the
/// ones records can be written to.
fn target(
    bulk: &Bulk,
    new: &NewJob,
    operation: Operation,
) -> Result<(String, Option<String>), BulkError> {
    let schema = bulk.org.schema();
    let o = schema
        .object(&new.object)
        .filter(|o| !o.tooling && (operation.is_query() || o.name != "Organization"))
        .ok_or_else(|| invalid(format!("sObject type '{}' is not supported.", new.object)))?;
    if operation != Operation::Upsert {
        return Ok((o.name.clone(), None));
    }
    let field = new.external_id_field.as_deref().ok_or_else(|| {
        invalid(format!(
            "External ID was blank for {}. An External ID must be specified for upsert.",
            o.name
        ))
    })?;
    let f = o
        .field(field)
        .filter(|f| f.external_id || f.name == "Id")
        .ok_or_else(|| {
            invalid(format!(
                "The field {field} is not an external id field of {}",
                o.name
            ))
        })?;
    Ok((o.name.clone(), Some(f.name.clone())))
}

/// A new job from `new`, checked.
pub(crate) fn checked(
    bulk: &Bulk,
    new: NewJob,
    job_type: JobType,
    caller: &forcebus_org::Caller,
    id: String,
) -> Result<Job, BulkError> {
    let operation = operation(&new, job_type)?;
    let (delimiter, line_ending) = dialect(&new)?;
    let (object, query, external_id_field) = if operation.is_query() && job_type == JobType::Classic
    {
        // A Bulk 1.0 query job's queries come in its batches.
        let (object, _) = target(bulk, &new, operation)?;
        (object, None, None)
    } else if operation.is_query() {
        let text = new
            .query
            .clone()
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| invalid("A query job needs a query".into()))?;
        let major = forcebus_meta::major_version(&caller.version);
        (
            crate::query::check(&bulk.org, &text, major)?,
            Some(text),
            None,
        )
    } else {
        let (object, key) = target(bulk, &new, operation)?;
        (object, None, key)
    };
    let now = bulk.org.clock().now();
    Ok(Job {
        id,
        operation,
        object,
        external_id_field,
        query,
        job_type,
        api_version: caller.version.clone(),
        created_by: caller.user_id.to18(),
        client: caller.client.clone(),
        created: now,
        modified: now,
        state: if job_type == JobType::V2Query {
            State::UploadComplete
        } else {
            State::Open
        },
        error: None,
        delimiter,
        line_ending,
        assignment_rule_id: new.assignment_rule_id,
        uploaded: None,
        progress: Progress::default(),
        parent: None,
        content_type: (job_type == JobType::Classic).then(|| {
            new.content_type
                .clone()
                .map_or_else(|| "XML".into(), |c| c.to_ascii_uppercase())
        }),
        concurrency: (job_type == JobType::Classic)
            .then(|| new.concurrency.clone().unwrap_or_else(|| "Parallel".into())),
        kept: bulk.mirrored(),
    })
}

impl Bulk {
    /// Creates a job: checked, stored, `Open` (ingest and Bulk 1.0) or queued
    /// (`UploadComplete`, queries).
    pub fn create(
        &self,
        new: NewJob,
        job_type: JobType,
        caller: &forcebus_org::Caller,
    ) -> Result<Job, BulkError> {
        self.expire();
        let job = checked(self, new, job_type, caller, self.mint("750")?)?;
        self.files(&job.id)
            .create()
            .map_err(|e| BulkError::internal(&e))?;
        self.save(&job)?;
        if job.state == State::UploadComplete {
            self.enqueue(&job.id);
        }
        Ok(job)
    }
}
