//! `POST /composite/tree/{X}` (`data-apis.md` §4.3; `sf data import tree` uses it):
//! record trees of `{X}` with their children nested under child relationship names,
//! inserted in one transaction, level by level (every root, then every child, ...), each
//! child pointing at its new parent. One failed record fails them all: 400 listing the
//! failures; otherwise 201 with each record's new id by its `referenceId`.

use std::collections::HashSet;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use forcebus_org::{Code, Committing, Op, OrgError};

use super::refs::valid_reference_id;
use crate::ctx::Call;
use crate::error::ApiError;
use crate::shapes::composite::{SObjectTreeResponse, TreeResult};
use crate::shapes::{respond, to_value};
use forcebus_http::shapes::SaveError;

/// Most records in one call, across every tree.
pub(crate) const MAX_RECORDS: usize = 200;
/// Most levels of a tree.
pub(crate) const MAX_DEPTH: usize = 5;
/// Most object types in one call.
pub(crate) const MAX_TYPES: usize = 5;

/// One record of a tree, flattened.
struct Node {
    reference_id: String,
    object: String,
    fields: Map<String, Value>,
    depth: usize,
    /// Its parent's index and the lookup field of this record that points at it.
    parent: Option<(usize, String)>,
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidInput, message)
}

/// Reads the trees into nodes, in document order, checking their shape and limits.
struct Reader<'a> {
    schema: &'a forcebus_org::Schema,
    nodes: Vec<Node>,
    reference_ids: HashSet<String>,
    /// Reference ids given more than once.
    duplicates: HashSet<String>,
    types: HashSet<String>,
}

impl Reader<'_> {
    fn record(
        &mut self,
        v: Value,
        object: &str,
        depth: usize,
        parent: Option<(usize, String)>,
    ) -> Result<(), ApiError> {
        if depth > MAX_DEPTH {
            return Err(bad(format!(
                "A tree can be at most {MAX_DEPTH} levels deep"
            )));
        }
        if self.nodes.len() >= MAX_RECORDS {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                Code::LimitExceeded,
                format!("A request can contain at most {MAX_RECORDS} records"),
            ));
        }
        let Value::Object(mut m) = v else {
            return Err(ApiError::json_parser("Each record must be a JSON object"));
        };
        let attributes = m.remove("attributes").unwrap_or(Value::Null);
        let given = attributes
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or(object);
        if !given.eq_ignore_ascii_case(object) {
            return Err(bad(format!("The record's type {given} is not {object}")));
        }
        let reference_id = attributes
            .get("referenceId")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("Each record needs attributes.referenceId"))?
            .to_owned();
        if !valid_reference_id(&reference_id) {
            return Err(bad(format!(
                "Invalid referenceId: {reference_id}. A referenceId starts with a letter or a \
                 number and contains only letters, numbers and underscores."
            )));
        }
        if !self.reference_ids.insert(reference_id.clone()) {
            self.duplicates.insert(reference_id.clone());
        }
        self.types.insert(object.to_owned());
        if self.types.len() > MAX_TYPES {
            return Err(bad(format!(
                "A request can contain at most {MAX_TYPES} object types"
            )));
        }
        let children: Vec<(String, Value)> = m
            .iter()
            .filter(|(_, v)| v.get("records").is_some())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let index = self.nodes.len();
        for (k, _) in &children {
            m.remove(k);
        }
        self.nodes.push(Node {
            reference_id,
            object: object.to_owned(),
            fields: m,
            depth,
            parent,
        });
        for (name, value) in children {
            self.children(object, index, depth, &name, &value)?;
        }
        Ok(())
    }

    /// The records under the child relationship `name` of node `index`, an `object`.
    fn children(
        &mut self,
        object: &str,
        index: usize,
        depth: usize,
        name: &str,
        value: &Value,
    ) -> Result<(), ApiError> {
        let rel = self
            .schema
            .child_relationships(object)
            .into_iter()
            .find(|r| {
                r.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    Code::InvalidField,
                    format!("No such column '{name}' on entity '{object}'."),
                )
            })?;
        let Some(Value::Array(records)) = value.get("records").cloned() else {
            return Err(ApiError::json_parser("records must be an array"));
        };
        for r in records {
            self.record(r, &rel.child, depth + 1, Some((index, rel.field.clone())))?;
        }
        Ok(())
    }
}

fn read(
    app: &crate::AppState,
    call: &Call,
    name: &str,
    body: Map<String, Value>,
) -> Result<Vec<Node>, ApiError> {
    let o = &*crate::data::sobject::object(app, call, name)?;
    let mut body = body;
    let Some(Value::Array(records)) = body.remove("records") else {
        return Err(ApiError::json_parser("The records array is required"));
    };
    if let Some(k) = body.keys().next() {
        return Err(ApiError::json_parser(format!("Unrecognized field \"{k}\"")));
    }
    let schema = app.org.schema();
    let mut reader = Reader {
        schema: &schema,
        nodes: Vec::new(),
        reference_ids: HashSet::new(),
        duplicates: HashSet::new(),
        types: HashSet::new(),
    };
    for r in records {
        reader.record(r, &o.name, 1, None)?;
    }
    if !reader.duplicates.is_empty() {
        // One result for each occurrence of a duplicated reference id, nothing written.
        let failures: Vec<(String, Result<forcebus_org::RecordId, OrgError>)> = reader
            .nodes
            .iter()
            .filter(|n| reader.duplicates.contains(&n.reference_id))
            .map(|n| {
                let e = OrgError::new(
                    Code::DuplicateValue,
                    format!(
                        "Duplicate ReferenceId provided in the request: {}",
                        n.reference_id
                    ),
                );
                (n.reference_id.clone(), Err(e))
            })
            .collect();
        return Err(failed(&failures));
    }
    Ok(reader.nodes)
}

/// 400 listing the records that failed.
fn failed(results: &[(String, Result<forcebus_org::RecordId, OrgError>)]) -> ApiError {
    let failures = results
        .iter()
        .filter_map(|(reference_id, r)| {
            let e = r.as_ref().err()?;
            Some(TreeResult {
                reference_id,
                id: None,
                errors: Some([SaveError::of(e)]),
            })
        })
        .collect();
    let body = SObjectTreeResponse {
        has_errors: true,
        results: failures,
    };
    ApiError::raw(StatusCode::BAD_REQUEST, to_value(&body))
}

/// Inserts the nodes level by level in `work`: each node's result, in insertion order.
fn insert(
    work: &mut forcebus_org::Work<'_>,
    nodes: Vec<Node>,
) -> Vec<(String, Result<forcebus_org::RecordId, OrgError>)> {
    let mut order: Vec<usize> = (0..nodes.len()).collect();
    order.sort_by_key(|&i| nodes[i].depth);
    let mut ids: Vec<Option<forcebus_org::RecordId>> = vec![None; nodes.len()];
    let mut nodes: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    let mut out = Vec::with_capacity(order.len());
    for i in order {
        let Some(mut node) = nodes[i].take() else {
            continue;
        };
        if let Some((parent, field)) = &node.parent {
            match ids[*parent] {
                Some(pid) => {
                    node.fields.insert(field.clone(), Value::String(pid.to18()));
                }
                // The parent failed: its failure is reported, and so is nothing here.
                None => continue,
            }
        }
        let result = work
            .apply(Op::Create {
                object: node.object,
                fields: node.fields,
            })
            .map(|o| o.id());
        ids[i] = result.as_ref().ok().copied();
        out.push((node.reference_id, result));
    }
    out
}

/// `POST /composite/tree/{X}`.
pub(crate) async fn tree(
    call: Call,
    State(app): State<crate::State>,
    Path((_, name)): Path<(String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body = crate::body::object(&headers, &bytes)?;
    let nodes = read(&app, &call, &name, body)?;
    let caller = call.caller();
    let mode = super::request::mode(&call);
    let org = app.org.clone();
    let results = crate::blocking(move || {
        org.transaction(&caller, mode, |work| {
            let results = insert(work, nodes);
            let ok = results.iter().all(|(_, r)| r.is_ok());
            (results, ok)
        })
        .and_then(Committing::wait)
    })
    .await?
    .map_err(|e| ApiError::internal(&e))?
    .0;
    // A field the object does not have fails the whole request, as Salesforce reads the
    // records before saving any (the sf CLI turns this answer into its FlsError hint).
    if let Some(e) = results
        .iter()
        .filter_map(|(_, r)| r.as_ref().err())
        .find(|e| e.code == Code::InvalidField)
    {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::InvalidField,
            e.message.clone(),
        ));
    }
    if results.iter().any(|(_, r)| r.is_err()) {
        return Err(failed(&results));
    }
    let created = results
        .iter()
        .filter_map(|(reference_id, r)| {
            let id = r.as_ref().ok()?;
            Some(TreeResult {
                reference_id,
                id: Some(id.to18()),
                errors: None,
            })
        })
        .collect();
    let body = SObjectTreeResponse {
        has_errors: false,
        results: created,
    };
    Ok(respond(StatusCode::CREATED, &body))
}
