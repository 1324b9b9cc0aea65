//! `/query`, `/queryAll`, their locators, `columns=true`, and `/tooling/query`
//! (`org-rest-cdc.md` §2.5).
//!
//! A query runs once; its rows wait in a cursor and are handed out a page at a time.
//! Locators are `<cursor>-<offset>` with no `/`, and resolve under `/query/` and
//! `/queryAll/` alike (jsforce always pages under `/query/`). Idle cursors expire after 15
//! minutes; at most [`MAX_CURSORS`] are kept, the least recently used going first.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use serde_json::{Value, json};

use forcebus_org::meta::ObjectDef;
use forcebus_soql::SoqlError;

use crate::ctx::Call;
use crate::error::{ApiError, json_response};

/// Default and largest page size.
pub const DEFAULT_BATCH: usize = 2000;
/// Smallest page size a client may ask for.
pub const MIN_BATCH: usize = 200;
/// Cursors kept at most.
pub const MAX_CURSORS: usize = 1000;
const IDLE: i64 = 15;

#[derive(Debug)]
struct Cursor {
    records: Arc<Vec<Value>>,
    batch: usize,
    last_used: DateTime<Utc>,
}

/// Open query cursors.
#[derive(Debug, Default)]
pub struct Cursors(Mutex<HashMap<String, Cursor>>);

impl Cursors {
    fn open(&self, records: Arc<Vec<Value>>, batch: usize, now: DateTime<Utc>) -> String {
        let id: String = {
            let mut rng = rand::thread_rng();
            (0..15)
                .map(|_| {
                    char::from(
                        b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                            [rng.gen_range(0..62)],
                    )
                })
                .collect()
        };
        let id = format!("01g{id}");
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, c| now - c.last_used < Duration::minutes(IDLE));
        if map.len() >= MAX_CURSORS
            && let Some(oldest) = map
                .iter()
                .min_by_key(|(_, c)| c.last_used)
                .map(|(k, _)| k.clone())
        {
            map.remove(&oldest);
        }
        map.insert(
            id.clone(),
            Cursor {
                records,
                batch,
                last_used: now,
            },
        );
        id
    }

    fn take(&self, id: &str, now: DateTime<Utc>) -> Option<(Arc<Vec<Value>>, usize)> {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let c = map
            .get_mut(id)
            .filter(|c| now - c.last_used < Duration::minutes(IDLE))?;
        c.last_used = now;
        Some((c.records.clone(), c.batch))
    }
}

fn soql_error(e: &SoqlError, q: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e.kind.code(), e.render(q))
}

fn batch_size(headers: &HeaderMap) -> usize {
    headers
        .get("sforce-query-options")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .find_map(|kv| kv.trim().strip_prefix("batchSize="))
        })
        .and_then(|n| n.trim().parse::<usize>().ok())
        .map_or(DEFAULT_BATCH, |n| n.clamp(MIN_BATCH, DEFAULT_BATCH))
}

/// One page of `records` starting at `offset`.
fn page(
    call: &Call,
    kind: &str,
    cursor: Option<&str>,
    records: &[Value],
    offset: usize,
    batch: usize,
    total: usize,
) -> Value {
    let end = (offset + batch).min(records.len());
    let done = end >= records.len();
    let mut out = serde_json::Map::new();
    out.insert("totalSize".into(), json!(total));
    out.insert("done".into(), json!(done));
    if let (false, Some(c)) = (done, cursor) {
        out.insert(
            "nextRecordsUrl".into(),
            json!(format!("{}/{kind}/{c}-{end}", call.base())),
        );
    }
    out.insert(
        "records".into(),
        Value::Array(records[offset.min(end)..end].to_vec()),
    );
    Value::Object(out)
}

fn tooling_visible(o: &ObjectDef) -> bool {
    o.tooling || TOOLING_OBJECTS.contains(&o.name.as_str())
}

/// Objects the tooling API can query (more arrive with the streaming metadata objects).
pub const TOOLING_OBJECTS: &[&str] = &["PushTopic", "User"];

async fn run(
    call: Call,
    app: crate::State,
    params: HashMap<String, String>,
    headers: HeaderMap,
    all_rows: bool,
    tooling: bool,
) -> Result<Response, ApiError> {
    let q = params
        .get("q")
        .cloned()
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "MALFORMED_QUERY",
                "A query string has to be specified",
            )
        })?;
    let visible: fn(&ObjectDef) -> bool = if tooling {
        tooling_visible
    } else {
        |o| !o.tooling
    };
    if params
        .get("columns")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        let cols = app
            .org
            .query_columns(&q, &visible)
            .map_err(|e| soql_error(&e, &q))?;
        return Ok(json_response(StatusCode::OK, &cols));
    }
    let org = app.org.clone();
    let version = call.version.clone();
    let text = q.clone();
    let out = crate::blocking(move || org.query(&text, &version, all_rows, &visible))
        .await?
        .map_err(|e| soql_error(&e, &q))?;
    let batch = batch_size(&headers);
    if out.aggregate && out.records.len() > batch {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "MALFORMED_QUERY",
            "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch",
        ));
    }
    let total = out.total_size;
    let mut out = out;
    let now = app.org.clock().now();
    for row in &mut out.records {
        page_children(&call, &app.cursors, row, batch, now);
    }
    let kind = match (tooling, all_rows) {
        (true, _) => "tooling/query",
        (false, true) => "queryAll",
        (false, false) => "query",
    };
    let records = Arc::new(out.records);
    let cursor = (records.len() > batch).then(|| {
        app.cursors
            .open(records.clone(), batch, app.org.clock().now())
    });
    Ok(json_response(
        StatusCode::OK,
        &page(&call, kind, cursor.as_deref(), &records, 0, batch, total),
    ))
}

/// Cuts child relationship results longer than a batch to their first page; the rest
/// wait in a cursor of their own, reached through the child result's `nextRecordsUrl`.
fn page_children(
    call: &Call,
    cursors: &Cursors,
    row: &mut Value,
    batch: usize,
    now: DateTime<Utc>,
) {
    let Value::Object(fields) = row else { return };
    for value in fields.values_mut() {
        let Value::Object(child) = value else {
            continue;
        };
        let Some(Value::Array(records)) = child.get("records") else {
            continue;
        };
        if !child.contains_key("done") || records.len() <= batch {
            continue;
        }
        let all = Arc::new(records.clone());
        let cursor = cursors.open(all.clone(), batch, now);
        *value = page(call, "query", Some(&cursor), &all, 0, batch, all.len());
    }
}

/// `GET /query?q=...`.
pub async fn query(
    call: Call,
    State(app): State<crate::State>,
    Query(p): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(call, app, p, headers, false, false).await
}

/// `GET /queryAll?q=...`: Recycle Bin rows too.
pub async fn query_all(
    call: Call,
    State(app): State<crate::State>,
    Query(p): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(call, app, p, headers, true, false).await
}

/// `GET /tooling/query?q=...`.
pub async fn tooling(
    call: Call,
    State(app): State<crate::State>,
    Query(p): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(call, app, p, headers, false, true).await
}

/// `GET /query/{locator}` (and `/queryAll/`, `/tooling/query/`).
pub async fn more(
    call: Call,
    State(app): State<crate::State>,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let locator = params.last().map(|(_, v)| v.as_str()).unwrap_or("");
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "INVALID_QUERY_LOCATOR",
            "invalid query locator",
        )
    };
    let (cursor, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let (records, batch) = app
        .cursors
        .take(cursor, app.org.clock().now())
        .ok_or_else(invalid)?;
    if offset > records.len() {
        return Err(invalid());
    }
    // Later pages always point under /query/: both prefixes resolve the same cursor.
    Ok(json_response(
        StatusCode::OK,
        &page(
            &call,
            "query",
            Some(cursor),
            &records,
            offset,
            batch,
            records.len(),
        ),
    ))
}
