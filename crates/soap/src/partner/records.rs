//! The partner calls that write: `undelete` and `emptyRecycleBin` (an id list each),
//! `convertLead` and `merge`. Each call is one transaction with one `result` per item,
//! in order; an item that fails fails alone (its `errors`), as Salesforce does.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use forcebus_xml::Element;
use forcebus_xml::write::Writer;

use forcebus_org::txn::{LeadConvert, MergeRequest};
use forcebus_org::{Caller, Code, Op, OrgError, Outcome, RecordId};

use super::{envelope, fault, xml};

/// The calls of this module.
pub(super) const CALLS: [&str; 4] = ["undelete", "emptyRecycleBin", "convertLead", "merge"];

/// At most this many items per call.
const MAX_ITEMS: usize = 200;

/// Runs the call `name` (one of [`CALLS`]) of the request `op`.
pub(super) async fn call(app: crate::State, caller: Caller, name: &str, op: &Element) -> Response {
    match name {
        "convertLead" => {
            let items: Vec<&Element> = op.children_named("leadConverts").collect();
            if items.len() > MAX_ITEMS {
                return too_many();
            }
            let ops = items
                .iter()
                .map(|e| Op::ConvertLead(lead_convert(e)))
                .collect();
            run(app, caller, name, ops).await
        }
        "merge" => {
            // The WSDL names each item `request`; jsforce sends `mergeRequests`.
            let items: Vec<&Element> = op
                .children
                .iter()
                .filter(|c| c.name == "request" || c.name == "mergeRequests")
                .collect();
            if items.len() > MAX_ITEMS {
                return too_many();
            }
            let ops = items.iter().map(|e| merge_op(e)).collect();
            run(app, caller, name, ops).await
        }
        _ => {
            let ids: Vec<String> = op
                .children_named("ids")
                .map(|e| e.text.trim().to_owned())
                .collect();
            recycle(app, caller, name, ids).await
        }
    }
}

/// The fault for a call with too many items.
fn too_many() -> Response {
    fault(
        Code::ExceededIdLimit,
        &format!(
            "record limit reached. cannot submit more than {MAX_ITEMS} records into this call"
        ),
        "UnexpectedErrorFault",
    )
}

/// The text of child `name`, when present and not nil.
fn text(e: &Element, name: &str) -> Option<String> {
    e.child(name)
        .filter(|c| !c.nil)
        .map(|c| c.text.trim().to_owned())
        .filter(|t| !t.is_empty())
}

/// Whether child `name` says `true`.
fn flag(e: &Element, name: &str) -> bool {
    text(e, name).is_some_and(|t| t.eq_ignore_ascii_case("true") || t == "1")
}

/// A `LeadConvert` element.
fn lead_convert(e: &Element) -> LeadConvert {
    LeadConvert {
        lead_id: text(e, "leadId").unwrap_or_default(),
        converted_status: text(e, "convertedStatus").unwrap_or_default(),
        account_id: text(e, "accountId"),
        contact_id: text(e, "contactId"),
        opportunity_id: text(e, "opportunityId"),
        opportunity_name: text(e, "opportunityName"),
        owner_id: text(e, "ownerId"),
        do_not_create_opportunity: flag(e, "doNotCreateOpportunity"),
        overwrite_lead_source: flag(e, "overwriteLeadSource"),
    }
}

/// A `MergeRequest` element: its master `sObject` (`type`, `Id`, the values it takes,
/// `fieldsToNull`) and the ids merged into it.
fn merge_op(e: &Element) -> Op {
    let Some(master) = e.child("masterRecord") else {
        return Op::Reject(OrgError::new(
            Code::RequiredFieldMissing,
            "Required field is missing: masterRecord",
        ));
    };
    let mut object = String::new();
    let mut master_id = String::new();
    let mut fields = Map::new();
    for c in &master.children {
        match c.name.as_str() {
            "type" => object = c.text.trim().to_owned(),
            "Id" => master_id = c.text.trim().to_owned(),
            "fieldsToNull" => {
                fields.insert(c.text.trim().to_owned(), Value::Null);
            }
            name if c.nil => {
                fields.insert(name.to_owned(), Value::Null);
            }
            name => {
                fields.insert(name.to_owned(), Value::from(c.text.as_str()));
            }
        }
    }
    Op::Merge(MergeRequest {
        object,
        master_id,
        fields,
        merged_ids: e
            .children_named("recordToMergeIds")
            .map(|i| i.text.trim().to_owned())
            .collect(),
    })
}

/// Runs `convertLead` or `merge` items as one transaction, each failing alone.
async fn run(app: crate::State, caller: Caller, name: &str, ops: Vec<Op>) -> Response {
    let result = match crate::transact(&app.org, caller, ops, false, false).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return store_fault(&e),
        Err(e) => return e.into_response(),
    };
    let mut w = Writer::new();
    w.open(&format!("{name}Response"));
    for r in result.results {
        match (name, r) {
            ("convertLead", r) => converted(&mut w, r),
            (_, r) => merged(&mut w, r),
        }
    }
    xml(StatusCode::OK, envelope(&w.finish()))
}

/// A `LeadConvertResult`, in the WSDL's element order.
fn converted(w: &mut Writer, r: Result<Outcome, OrgError>) {
    let ids = match &r {
        Ok(Outcome::Converted {
            lead,
            account,
            contact,
            opportunity,
        }) => [Some(*account), Some(*contact), Some(*lead), *opportunity],
        _ => [None; 4],
    };
    let text = |id: Option<RecordId>| id.map(|i| i.to18());
    w.open("result")
        .text_or_nil("accountId", text(ids[0]).as_deref())
        .text_or_nil("contactId", text(ids[1]).as_deref());
    if let Err(e) = &r {
        errors(w, e);
    }
    w.text_or_nil("leadId", text(ids[2]).as_deref())
        .text_or_nil("opportunityId", text(ids[3]).as_deref())
        .value("success", r.is_ok())
        .close();
}

/// A `MergeResult`, in the WSDL's element order.
fn merged(w: &mut Writer, r: Result<Outcome, OrgError>) {
    w.open("result");
    match r {
        Ok(Outcome::Merged {
            master,
            merged,
            updated,
        }) => {
            w.text("id", &master.to18());
            for id in merged {
                w.text("mergedRecordIds", &id.to18());
            }
            w.value("success", true);
            for id in updated {
                w.text("updatedRelatedIds", &id.to18());
            }
        }
        Ok(_) => {
            w.value("success", true);
        }
        Err(e) => {
            errors(w, &e);
            w.nil("id").value("success", false);
        }
    }
    w.close();
}

/// An item's `errors` elements: one per error of the write (each validation rule the
/// record breaks).
fn errors(w: &mut Writer, e: &OrgError) {
    for e in std::iter::once(e).chain(&e.also) {
        w.open("errors");
        for f in &e.fields {
            w.text("fields", f);
        }
        w.text("message", &e.message)
            .text("statusCode", e.code.as_str())
            .close();
    }
}

/// `undelete` and `emptyRecycleBin`: one transaction, one `result` per id, in order.
async fn recycle(app: crate::State, caller: Caller, name: &str, ids: Vec<String>) -> Response {
    if ids.len() > 200 {
        return fault(
            Code::ExceededIdLimit,
            "record limit reached. cannot submit more than 200 records into this call",
            "UnexpectedErrorFault",
        );
    }
    let purge = name == "emptyRecycleBin";
    let ops: Vec<Op> = ids
        .iter()
        .map(|id| {
            if purge {
                Op::Purge { id: id.clone() }
            } else {
                Op::Undelete { id: id.clone() }
            }
        })
        .collect();
    let result = match crate::transact(&app.org, caller, ops, false, false).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => return store_fault(&e),
        Err(e) => return e.into_response(),
    };
    let mut w = Writer::new();
    w.open(&format!("{name}Response"));
    for (id, r) in ids.iter().zip(result.results) {
        match r {
            Ok(outcome) => {
                w.open("result")
                    .text("id", &outcome.id().to18())
                    .value("success", true)
                    .close();
            }
            Err(e) => result_error(&mut w, id, &e),
        }
    }
    xml(StatusCode::OK, envelope(&w.finish()))
}

/// A failed `undelete` / `emptyRecycleBin` result: the error's fields, message and status
/// code, and the id as an 18-character id (`xsi:nil` when it was not an id at all).
fn result_error(w: &mut Writer, id: &str, e: &OrgError) {
    w.open("result");
    errors(w, e);
    let id = RecordId::parse(id).map(|i| i.to18());
    w.text_or_nil("id", id.as_deref())
        .value("success", false)
        .close();
}

/// The fault of a transaction the store refused: `SERVER_UNAVAILABLE` while its database
/// cannot be reached (the call may succeed later; logged), else an unexpected error with
/// its id.
fn store_fault(e: &forcebus_org::StoreError) -> Response {
    if e.is_unavailable() {
        let refused = OrgError::storage(e);
        return fault(refused.code, &refused.message, "UnexpectedErrorFault");
    }
    fault(
        Code::UnknownException,
        &crate::error::unexpected(e),
        "UnexpectedErrorFault",
    )
}
