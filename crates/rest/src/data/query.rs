//! `/query`, `/queryAll`, their locators, `columns=true`, and `/tooling/query`
//! (`org-rest-cdc.md` §2.5).
//!
//! A query runs once and keeps, for its later pages, only what it needs to shape them:
//! its text and the ids of its rows in order (15 bytes a row), not the rows themselves
//! (fifty paged queries over a large table once held 2 GB). Each page is
//! shaped when it is asked for. Child relationship results longer than a page keep their
//! rows (they are small). Locators are `<cursor>-<offset>` with no `/`, and resolve under
//! `/query/` and `/queryAll/` alike (jsforce always pages under `/query/`). The cursors
//! are [`crate::data::cursors`]'; an evicted or expired locator answers
//! `INVALID_QUERY_LOCATOR`, as Salesforce does.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;

use forcebus_meta::ObjectDef;
use forcebus_org::{Code, Work};
use forcebus_soql::SoqlError;

use crate::ctx::Call;
use crate::data::cursors::{Cursors, Kept};
use crate::data::dispatch::{Reply, Run, Sub};
use crate::error::{ApiError, json_response};
use crate::shapes::query::{ExplainResult, QueryPlan, QueryResult};
use crate::shapes::{respond, to_value};

/// Default and largest page size.
pub(crate) const DEFAULT_BATCH: usize = 2000;
/// Smallest page size a client may ask for.
pub(crate) const MIN_BATCH: usize = 200;
/// A SOQL or SOSL error as Salesforce answers it: 400, its code, the message pointing
/// into `q`.
pub(crate) fn soql_error(e: &SoqlError, q: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::from(e.kind), e.render(q))
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

/// A page: `rows` end at `end` of `total`; a cursor, if any, serves the rest.
fn page(
    call: &Call,
    kind: &str,
    cursor: Option<&str>,
    rows: Vec<Value>,
    end: usize,
    total: usize,
) -> Value {
    let done = end >= total;
    let next_records_url = match (done, cursor) {
        (false, Some(c)) => Some(format!("{}/{kind}/{c}-{end}", call.base())),
        _ => None,
    };
    let page = QueryResult {
        total_size: total,
        done,
        next_records_url,
        records: rows,
    };
    to_value(&page)
}

/// Whether the Tooling API sees `o`: its own objects, and the data objects it can query.
pub(crate) fn tooling_visible(o: &ObjectDef) -> bool {
    o.tooling || o.also_tooling
}

async fn run(
    call: Call,
    app: crate::State,
    params: HashMap<String, String>,
    headers: HeaderMap,
    all_rows: bool,
    tooling: bool,
) -> Result<Response, ApiError> {
    if let Some(target) = params.get("explain") {
        return explain(&app, target, tooling);
    }
    let q = query_text(&params)?;
    let visible = visibility(tooling);
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
    if let Some(answer) = crate::tooling::defs::query(&app, &call.base(), &q, tooling)? {
        return Ok(json_response(StatusCode::OK, &answer));
    }
    let batch = batch_size(&headers);
    let org = app.org.clone();
    let version = call.version.clone();
    let text = q.clone();
    let viewer = Some(call.session.user_id);
    let out = crate::blocking(move || {
        org.query_paged(viewer, &text, &version, all_rows, &visible, batch)
    })
    .await?
    .map_err(|e| soql_error(&e, &q))?;
    if out.aggregate && out.first.len() > batch {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::MalformedQuery,
            "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch",
        ));
    }
    let kind = match (tooling, all_rows) {
        (true, _) => "tooling/query",
        (false, true) => "queryAll",
        (false, false) => "query",
    };
    let now = app.org.clock().now();
    let mut rows = out.first;
    for row in &mut rows {
        page_children(&call, &app.cursors, row, batch, now);
    }
    let end = rows.len().min(batch);
    let cursor = (!out.aggregate && out.ids.len() > batch).then(|| {
        let kept = Kept::Query {
            text: q.as_str().into(),
            version: call.version.clone(),
            all_rows,
            tooling,
            ids: Arc::new(out.ids),
        };
        app.cursors.open(kept, batch, now)
    });
    let end = if out.aggregate { out.total_size } else { end };
    Ok(json_response(
        StatusCode::OK,
        &page(&call, kind, cursor.as_deref(), rows, end, out.total_size),
    ))
}

/// `query` and `queryAll` in a composite request: run over its transaction, seeing its
/// changes, and shaped whole (a request of its own pages over the org instead).
pub(crate) fn in_transaction(run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
    let all_rows = sub.segment(0) == "queryAll";
    Reply::of((|| {
        let text = query_text(&sub.target.params)?;
        let viewer = Some(run.call.session.user_id);
        let qctx = run
            .app
            .org
            .query_context(viewer, &sub.target.version, all_rows);
        let out = work.query(&text, &qctx, &|o| !o.tooling);
        whole_result(run.app, run.call, &text, all_rows, out)
    })())
}

/// A query's result shaped whole (inside a composite request's transaction), as the
/// first page of `/query` or `/queryAll` shows it; rows past the first page wait in a
/// cursor of their own.
fn whole_result(
    app: &crate::AppState,
    call: &Call,
    text: &str,
    all_rows: bool,
    out: Result<forcebus_soql::Output, SoqlError>,
) -> Result<Value, ApiError> {
    let out = out.map_err(|e| soql_error(&e, text))?;
    let batch = DEFAULT_BATCH;
    if out.aggregate && out.records.len() > batch {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::MalformedQuery,
            "Aggregate query does not support queryMore(), use LIMIT to restrict the results to a single batch",
        ));
    }
    let kind = if all_rows { "queryAll" } else { "query" };
    let now = app.org.clock().now();
    let mut rows = out.records;
    for row in &mut rows {
        page_children(call, &app.cursors, row, batch, now);
    }
    if rows.len() <= batch {
        let end = if out.aggregate {
            out.total_size
        } else {
            rows.len()
        };
        return Ok(page(call, kind, None, rows, end, out.total_size));
    }
    let all = Arc::new(rows);
    let first = all[..batch].to_vec();
    let cursor = app.cursors.open(Kept::Rows(all.clone()), batch, now);
    Ok(page(
        call,
        kind,
        Some(&cursor),
        first,
        batch,
        out.total_size,
    ))
}

/// `?explain=<SOQL, or a list view id>`: the query plan, as the Query Plan tool shows it.
/// forcebus keeps indexes on ids, references and external ids; a query whose filter
/// compares one of them with `=` leads with an index, any other with a table scan.
fn explain(app: &crate::AppState, target: &str, tooling: bool) -> Result<Response, ApiError> {
    let schema = app.org.schema();
    let text = match crate::data::listviews::find(&schema, target) {
        Some(view) => view.query(),
        None => target.to_owned(),
    };
    let visible = visibility(tooling);
    let plan =
        forcebus_soql::prepare(&text, &schema, &visible).map_err(|e| soql_error(&e, &text))?;
    let object = plan.object.name.clone();
    let rows = app
        .org
        .query_paged(None, &text, "59.0", false, &visible, 0)
        .map_err(|e| soql_error(&e, &text))?
        .total_size;
    let all = app
        .org
        .scan(&object, |r| (!r.is_deleted).then_some(()))
        .len();
    let indexed = plan.filter.as_ref().is_some_and(leads_with_an_index);
    let (operation, cost) = if indexed {
        ("Index", 0.1 * rows as f64 / all.max(1) as f64)
    } else {
        ("TableScan", 0.65 + rows as f64 / all.max(1) as f64)
    };
    let body = ExplainResult {
        plans: [QueryPlan {
            cardinality: rows,
            fields: [],
            leading_operation_type: operation,
            notes: [],
            relative_cost: cost,
            sobject_cardinality: all,
            sobject_type: &object,
        }],
    };
    Ok(respond(StatusCode::OK, &body))
}

/// Whether a filter can start from an index: an `=` or `IN` on an id, reference or
/// external-id field of the object itself, alone or in an `AND`.
fn leads_with_an_index(c: &forcebus_soql::bind::Cond<'_>) -> bool {
    use forcebus_soql::ast::CmpOp;
    use forcebus_soql::bind::{Cond, Operand};
    let indexed = |o: &Operand<'_>| match o {
        Operand::Field(f) => {
            f.hops.is_empty()
                && (f.field.external_id
                    || matches!(
                        f.field.ftype,
                        forcebus_meta::FieldType::Id | forcebus_meta::FieldType::Reference
                    ))
        }
        _ => false,
    };
    match c {
        Cond::Cmp(o, CmpOp::Eq, _) | Cond::In(o, false, _) => indexed(o),
        Cond::And(parts) => parts.iter().any(leads_with_an_index),
        _ => false,
    }
}

/// The `q` parameter of a query call, which must not be empty.
fn query_text(params: &HashMap<String, String>) -> Result<String, ApiError> {
    params
        .get("q")
        .cloned()
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::MalformedQuery,
                "A query string has to be specified",
            )
        })
}

/// The objects a query may name: the tooling API sees fewer.
fn visibility(tooling: bool) -> fn(&ObjectDef) -> bool {
    if tooling {
        tooling_visible
    } else {
        |o| !o.tooling
    }
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
        let first = all[..batch].to_vec();
        let cursor = cursors.open(Kept::Rows(all.clone()), batch, now);
        *value = page(call, "query", Some(&cursor), first, batch, all.len());
    }
}

/// `GET /query?q=...`.
pub(crate) async fn query(
    call: Call,
    State(app): State<crate::State>,
    Query(p): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(call, app, p, headers, false, false).await
}

/// `GET /queryAll?q=...`: Recycle Bin rows too.
pub(crate) async fn query_all(
    call: Call,
    State(app): State<crate::State>,
    Query(p): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(call, app, p, headers, true, false).await
}

/// `GET /tooling/query?q=...`.
pub(crate) async fn tooling(
    call: Call,
    State(app): State<crate::State>,
    Query(p): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    run(call, app, p, headers, false, true).await
}

/// `GET /query/{locator}` (and `/queryAll/`, `/tooling/query/`).
pub(crate) async fn more(
    call: Call,
    State(app): State<crate::State>,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let locator = params.last().map(|(_, v)| v.as_str()).unwrap_or("");
    let invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::InvalidQueryLocator,
            "invalid query locator",
        )
    };
    let (cursor, offset) = locator.rsplit_once('-').ok_or_else(invalid)?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    let now = app.org.clock().now();
    let (kept, batch) = app.cursors.take(cursor, now).ok_or_else(invalid)?;
    let total = kept.len();
    if offset > total {
        return Err(invalid());
    }
    let end = (offset + batch).min(total);
    let rows = match kept {
        Kept::Rows(rows) => rows[offset..end].to_vec(),
        Kept::Query {
            text,
            version,
            all_rows,
            tooling,
            ids,
        } => {
            let org = app.org.clone();
            let viewer = Some(call.session.user_id);
            let mut rows = crate::blocking(move || {
                org.query_rows(
                    viewer,
                    &text,
                    &version,
                    all_rows,
                    &visibility(tooling),
                    &ids[offset..end],
                )
            })
            .await?
            .map_err(|e| ApiError::internal(&e))?;
            for row in &mut rows {
                page_children(&call, &app.cursors, row, batch, now);
            }
            rows
        }
    };
    // Later pages always point under /query/: both prefixes resolve the same cursor.
    Ok(json_response(
        StatusCode::OK,
        &page(&call, "query", Some(cursor), rows, end, total),
    ))
}
