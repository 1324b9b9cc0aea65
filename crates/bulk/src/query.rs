//! Query jobs (`data-apis.md` §1.7): the SOQL is checked when the job is made (what Bulk
//! API 2.0 cannot run is refused then), run once by the worker, and its rows written as
//! CSV in the job's dialect, every value quoted, the header the SELECT list in order
//! (parent fields as dotted paths). Results are served in pages: a locator is the
//! base64 of the next row's number (`MTAwMDA` is row 10,000), the last page's is `null`.

use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom, Write};
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use serde_json::Value;

use forcebus_csv::{Reader, Writer};
use forcebus_org::Org;
use forcebus_soql::bind::Column;

use crate::error::{BulkError, Kind};
use crate::job::{Job, Operation, State};
use crate::registry::Bulk;
use quick_xml::escape::partial_escape as escape;

/// Rows per page when the client names no `maxRecords`.
pub const DEFAULT_PAGE: u64 = 50_000;
/// Rows shaped at a time while writing the results.
const SHAPE: usize = 2_000;
/// Every this many rows, the byte offset of a row is kept, to start a page near it.
const INDEX_EVERY: u64 = 1_000;

fn visible(o: &forcebus_meta::ObjectDef) -> bool {
    !o.tooling
}

/// Checks a query Bulk API 2.0 can run at API version `major` (a field that came later is
/// unknown); its object.
pub(crate) fn check(org: &Org, text: &str, major: u32) -> Result<String, BulkError> {
    let schema = org.schema();
    forcebus_soql::prepare_at(text, &schema, &visible, major)
        .map_err(|e| BulkError::new(Kind::InvalidJob, e.render(text)))?;
    check_for(org, text, false)
}

/// Checks a query the Bulk APIs can run (`nested`: Bulk 1.0 also runs parent-to-child
/// subqueries); its object.
pub(crate) fn check_for(org: &Org, text: &str, nested: bool) -> Result<String, BulkError> {
    let schema = org.schema();
    let plan = forcebus_soql::prepare(text, &schema, &visible)
        .map_err(|e| BulkError::new(Kind::InvalidJob, e.render(text)))?;
    let unsupported = |what: &str| {
        BulkError::new(
            Kind::InvalidOperation,
            format!("{what} is not supported by the Bulk API"),
        )
    };
    if plan.aggregate || plan.count_only() {
        return Err(unsupported(
            "An aggregate function (COUNT(), GROUP BY, ...)",
        ));
    }
    if plan.offset.is_some() {
        return Err(unsupported("OFFSET"));
    }
    let compound = |c: &Column<'_>| {
        matches!(c, Column::Field(f) if matches!(
            f.field.ftype,
            forcebus_meta::FieldType::Address | forcebus_meta::FieldType::Location
        ))
    };
    if let Some(Column::Field(f)) = plan.columns.iter().find(|c| compound(c)) {
        return Err(unsupported(&format!(
            "The compound field {} (select its parts instead)",
            f.display()
        )));
    }
    let child = |c: &Column<'_>| matches!(c, Column::Child { .. });
    if !nested && plan.columns.iter().any(child) {
        return Err(unsupported("A parent-to-child (nested) query"));
    }
    Ok(plan.object.name.clone())
}

/// A column of a query's rows: its header, the path of its value in a shaped row, its type.
type Col = (String, Vec<String>, forcebus_meta::FieldType);

/// The header cells and the path of each value in a shaped row.
fn columns(org: &Org, text: &str) -> Result<Vec<Col>, BulkError> {
    let schema = org.schema();
    let plan = forcebus_soql::prepare(text, &schema, &visible)
        .map_err(|e| BulkError::new(Kind::InvalidJob, e.render(text)))?;
    Ok(plan
        .columns
        .iter()
        .filter_map(|c| match c {
            Column::Field(f) => {
                let mut path: Vec<String> = f
                    .hops
                    .iter()
                    .map(|h| {
                        h.field
                            .relationship_name
                            .clone()
                            .unwrap_or_else(|| h.field.name.clone())
                    })
                    .collect();
                path.push(f.field.name.clone());
                Some((f.display(), path, f.field.ftype))
            }
            _ => None,
        })
        .collect())
}

/// A value as the CSV shows it: text as is, datetimes in `Z` form, null empty.
fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => match s.strip_suffix("+0000") {
            Some(base) if s.len() == 28 && s.as_bytes()[10] == b'T' => format!("{base}Z"),
            _ => s.clone(),
        },
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

/// Bulk 1.0 JSON gives dates and datetimes as milliseconds since the epoch (a date at
/// midnight UTC), not as text.
fn epoch_millis(row: &mut Value, columns: &[Col]) {
    use forcebus_meta::FieldType;
    for (_, path, ftype) in columns {
        let Some(v) = path.iter().try_fold(&mut *row, |v, k| v.get_mut(k)) else {
            continue;
        };
        let Some(text) = v.as_str() else { continue };
        let ms = match ftype {
            FieldType::Datetime => {
                forcebus_org::value::parse_datetime(text).map(|t| t.timestamp_millis())
            }
            FieldType::Date => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .map(|t| t.and_utc().timestamp_millis()),
            _ => None,
        };
        if let Some(ms) = ms {
            *v = Value::from(ms);
        }
    }
}

fn value_at<'v>(row: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(row, |v, key| v.get(key))
}

/// Runs a query job: writes every row, then marks it complete.
pub(crate) fn run(bulk: &Bulk, job: Job) -> Result<(), BulkError> {
    if job.state.terminal() {
        return Ok(());
    }
    let started = Instant::now();
    let text = job.query.clone().unwrap_or_default();
    if job.job_type == crate::job::JobType::ClassicBatch
        && let Err(e) = check_for(&bulk.org, &text, true)
    {
        // A Bulk 1.0 query is checked when its batch runs; the batch fails with why.
        let name = e.kind.name();
        return bulk.fail(&job.id, format!("{name} : {}", e.message));
    }
    let job = bulk.update(&job.id, |j| j.state = State::InProgress)?;
    let all_rows = job.operation == Operation::QueryAll;
    let viewer = forcebus_org::RecordId::parse(&job.created_by);
    let page = match bulk
        .org
        .query_paged(viewer, &text, &job.api_version, all_rows, &visible, 0)
    {
        Ok(p) => p,
        Err(e) => {
            return bulk.fail(&job.id, e.render(&text));
        }
    };
    let columns = columns(&bulk.org, &text)?;
    let io = |e: std::io::Error| BulkError::internal(&e);
    let file = File::create(bulk.files(&job.id).results()).map_err(io)?;
    let mut out = BufWriter::new(file);
    let format = job.format();
    let mut rows_out = Rows::start(&mut out, format, &job, &columns).map_err(io)?;
    let mut written = 0u64;
    let mut index = Vec::new();
    for ids in page.ids.chunks(SHAPE) {
        if bulk.is_aborted(&job.id)? || bulk.stopping() {
            return Ok(());
        }
        let rows = bulk
            .org
            .query_rows(viewer, &text, &job.api_version, all_rows, &visible, ids)
            .map_err(|e| BulkError::internal(&e))?;
        for row in &rows {
            if written.is_multiple_of(INDEX_EVERY) {
                index.push(rows_out.position().map_err(io)?);
            }
            rows_out.row(row, written, &columns).map_err(io)?;
            written += 1;
        }
    }
    rows_out.end().map_err(io)?;
    out.flush().map_err(io)?;
    bulk.keep_file(&job, "results", &bulk.files(&job.id).results())?;
    let elapsed = started.elapsed().as_millis() as u64;
    bulk.update(&job.id, |j| {
        j.state = State::JobComplete;
        j.progress.rows = written;
        j.progress.processed = written;
        j.progress.row_index = index;
        j.progress.processing_ms += elapsed;
    })
    .map(drop)
}

/// Where a query's rows go: CSV without a header for Bulk 2.0 (each page gets its own),
/// and for Bulk 1.0 the whole result file in the job's format (CSV with its header, a
/// JSON array of records, or an XML `queryResult`).
struct Rows<'w> {
    out: &'w mut BufWriter<File>,
    format: crate::job::Format,
    dialect: forcebus_csv::Dialect,
}

impl<'w> Rows<'w> {
    fn start(
        out: &'w mut BufWriter<File>,
        format: crate::job::Format,
        job: &Job,
        columns: &[Col],
    ) -> std::io::Result<Self> {
        use crate::job::{Format, JobType};
        match format {
            Format::Csv if job.job_type == JobType::ClassicBatch => {
                let header: Vec<&str> = columns.iter().map(|(h, _, _)| h.as_str()).collect();
                Writer::new(&mut *out, job.dialect()).record(&header)?;
            }
            Format::Csv => {}
            Format::Json => out.write_all(b"[")?,
            Format::Xml => out.write_all(
                b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><queryResult xmlns=\"http://www.force.com/2009/06/asyncapi/dataload\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
            )?,
        }
        Ok(Self {
            out,
            format,
            dialect: job.dialect(),
        })
    }

    fn position(&mut self) -> std::io::Result<u64> {
        self.out.flush()?;
        self.out.get_ref().stream_position()
    }

    fn row(&mut self, row: &Value, n: u64, columns: &[Col]) -> std::io::Result<()> {
        use crate::job::Format;
        match self.format {
            Format::Csv => {
                let cells: Vec<String> = columns
                    .iter()
                    .map(|(_, p, _)| cell(value_at(row, p)))
                    .collect();
                Writer::new(&mut *self.out, self.dialect).record(&cells)
            }
            Format::Json => {
                if n > 0 {
                    self.out.write_all(b",")?;
                }
                let mut row = row.clone();
                epoch_millis(&mut row, columns);
                serde_json::to_writer(&mut *self.out, &row).map_err(std::io::Error::other)
            }
            Format::Xml => {
                let mut text = String::new();
                xml_record(row, "records", &mut text);
                self.out.write_all(text.as_bytes())
            }
        }
    }

    fn end(self) -> std::io::Result<()> {
        use crate::job::Format;
        match self.format {
            Format::Csv => Ok(()),
            Format::Json => self.out.write_all(b"]"),
            Format::Xml => self.out.write_all(b"</queryResult>"),
        }
    }
}

/// A record as a Bulk 1.0 XML `queryResult` shows it: `<type>`, then its fields, a parent
/// nested as an `sObject`, a null as `xsi:nil`.
fn xml_record(row: &Value, element: &str, out: &mut String) {
    out.push_str(&format!("<{element} xsi:type=\"sObject\">"));
    if let Some(t) = row.pointer("/attributes/type").and_then(Value::as_str) {
        out.push_str(&format!("<type>{}</type>", escape(t)));
    }
    if let Some(m) = row.as_object() {
        for (k, v) in m {
            match v {
                _ if k == "attributes" => {}
                Value::Null => out.push_str(&format!("<{k} xsi:nil=\"true\"/>")),
                Value::Object(_) => xml_record(v, k, out),
                Value::String(s) => out.push_str(&format!("<{k}>{}</{k}>", escape(s))),
                other => out.push_str(&format!("<{k}>{other}</{k}>")),
            }
        }
    }
    out.push_str(&format!("</{element}>"));
}

/// The id of a Bulk 1.0 query batch's one result file.
pub fn result_id(batch_id: &str) -> String {
    format!("752{}", batch_id.get(3..).unwrap_or_default())
}

/// One page of a query job's results.
#[derive(Debug)]
pub struct Page {
    /// The CSV: the header, then the rows.
    pub csv: Vec<u8>,
    /// Rows in it.
    pub rows: u64,
    /// The locator of the next page; `None` after the last.
    pub next: Option<String>,
}

/// Reads a locator: the row it starts at.
fn row_of(locator: &str) -> Result<u64, BulkError> {
    let bad = || {
        BulkError::new(
            Kind::ClientInputError,
            format!("Invalid locator: {locator}"),
        )
    };
    let bytes = STANDARD_NO_PAD
        .decode(locator.trim_end_matches('='))
        .map_err(|_| bad())?;
    String::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

/// The locator of the page starting at `row`.
pub fn locator(row: u64) -> String {
    STANDARD_NO_PAD.encode(row.to_string())
}

/// The page of job `id`'s results starting at `locator` (the first without one), at most
/// `max` rows. Only a complete query job has results.
pub fn page(
    bulk: &Bulk,
    id: &str,
    locator: Option<&str>,
    max: Option<u64>,
) -> Result<Page, BulkError> {
    let job = bulk.get(id)?;
    if !job.operation.is_query() {
        return Err(BulkError::not_found());
    }
    if job.state != State::JobComplete {
        return Err(BulkError::new(
            Kind::InvalidJobState,
            format!(
                "Results are available once the job is complete; its state is {}",
                job.state.name()
            ),
        ));
    }
    let start = locator.map(row_of).transpose()?.unwrap_or(0);
    let max = max.unwrap_or(DEFAULT_PAGE).max(1);
    let io = |e: std::io::Error| BulkError::internal(&e);
    let text = job.query.clone().unwrap_or_default();
    let header: Vec<String> = columns(&bulk.org, &text)?
        .into_iter()
        .map(|(h, _, _)| h)
        .collect();
    let mut w = Writer::new(Vec::new(), job.dialect());
    w.record(&header).map_err(io)?;
    let mut rows = 0;
    if start < job.progress.rows {
        let slot = (start / INDEX_EVERY) as usize;
        let at = job.progress.row_index.get(slot).copied().unwrap_or(0);
        let mut file = File::open(bulk.local_files(&job)?.results()).map_err(io)?;
        file.seek(SeekFrom::Start(at)).map_err(io)?;
        let mut reader = Reader::new(BufReader::new(file), job.dialect());
        let skip = start - slot as u64 * INDEX_EVERY;
        for record in reader.by_ref().take(skip as usize) {
            record.map_err(|e| BulkError::internal(&e))?;
        }
        for record in reader.take(max as usize) {
            let record = record.map_err(|e| BulkError::internal(&e))?;
            w.record(&record.values).map_err(io)?;
            rows += 1;
        }
    }
    let end = start + rows;
    Ok(Page {
        csv: w.into_inner().map_err(io)?,
        rows,
        next: (end < job.progress.rows).then(|| self::locator(end)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locators_are_base64_row_numbers() {
        assert_eq!(locator(10_000), "MTAwMDA");
        assert_eq!(row_of("MTAwMDA").unwrap(), 10_000);
        assert_eq!(row_of("MTAwMDA=").unwrap(), 10_000);
        assert!(row_of("!!").is_err());
        assert!(row_of("YWJj").is_err(), "abc is no row number");
    }

    #[test]
    fn cells_render_as_the_csv_shows_them() {
        assert_eq!(
            cell(Some(&Value::String("2024-05-02T08:55:27.000+0000".into()))),
            "2024-05-02T08:55:27.000Z"
        );
        assert_eq!(cell(Some(&Value::Null)), "");
        assert_eq!(cell(Some(&serde_json::json!(true))), "true");
        assert_eq!(cell(Some(&serde_json::json!(12.5))), "12.5");
        assert_eq!(cell(Some(&Value::String("+0000".into()))), "+0000");
    }
}
