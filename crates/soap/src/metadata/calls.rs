//! The Metadata API's CRUD calls over SOAP, `/services/Soap/m/{v}` and any path below it
//! (`metadata-tooling.md` §1–§4): `createMetadata`, `readMetadata`, `upsertMetadata`,
//! `deleteMetadata`, `listMetadata` and `describeMetadata` for `CustomObject` (with its
//! nested `fields`) and `CustomField`. Requests are dispatched by the local name of the
//! Body's first child, whatever the path, prefix or `SOAPAction`; results come back one per
//! component, in order, a failed component carrying its `errors` rather than faulting
//! the call ([`crate::metadata::crud`], [`crate::metadata::reads`]; what they share is
//! [`crate::metadata::faults`]'s). A component's Metadata is read into the same JSON the Tooling API takes, so
//! both APIs share one mapping ([`forcebus_org::declarations`]).
//!
//! `deploy` and `checkDeployStatus` are [`crate::metadata::deploy`]'s, `cancelDeploy` and
//! `deployRecentValidation` [`crate::metadata::quick`]'s, `retrieve` and
//! `checkRetrieveStatus` [`crate::metadata::retrieve`]'s. Types other than these and the
//! channels are refused (`describeMetadata` lists only what works).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use forcebus_org::{Api, Caller, Code};

use crate::metadata::faults::{Fault, MD, client_fault, envelope, fault};
use crate::metadata::{crud, reads};
use crate::partner::xml;
use forcebus_xml::parse;

/// `POST /services/Soap/m/{v}[/...]`.
pub(crate) async fn endpoint(
    State(app): State<crate::State>,
    axum::extract::Path(path): axum::extract::Path<Vec<(String, String)>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let version = path.iter().find(|(k, _)| k == "v").map_or_else(
        || format!("{}.0", app.config.latest_version),
        |(_, v)| v.clone(),
    );
    let root = match parse(&body) {
        Ok(r) if r.name == "Envelope" => r,
        Ok(r) => return client_fault(&format!("Expected Envelope, found {}", r.name)),
        Err(e) => return client_fault(&format!("Bad envelope: {e}")),
    };
    let Some(op) = root.child("Body").and_then(|b| b.children.first()) else {
        return client_fault("Missing Body");
    };
    let token = root
        .child("Header")
        .and_then(|h| h.child("SessionHeader"))
        .and_then(|s| s.text_of("sessionId"))
        .map(str::to_owned)
        .or_else(|| crate::ctx::bearer(&headers).map(str::to_owned));
    let Some(session) = token.and_then(|t| app.auth.verify(&t)) else {
        return fault(
            Code::InvalidSessionId,
            "Invalid Session ID found in SessionHeader: Illegal Session",
        );
    };
    if !app.org.access(session.user_id).uses_metadata_api() {
        return fault(Code::InsufficientPrivileges, crate::ctx::METADATA_API);
    }
    let caller = Caller {
        user_id: session.user_id,
        api: Api::Soap,
        version: version.clone(),
        client: None,
    };
    let answer = match op.name.as_str() {
        "createMetadata" | "upsertMetadata" | "updateMetadata" => {
            crud::save(&app, &caller, op).await
        }
        "readMetadata" => reads::read(&app, op, &version),
        "deleteMetadata" => crud::delete(&app, &caller, op).await,
        "renameMetadata" => crud::rename(&app, op).await,
        "listMetadata" => Ok(reads::list(&app, op)),
        "deploy" => Ok(crate::metadata::deploy::deploy(&app, &caller, op).await),
        "retrieve" => crate::metadata::retrieve::retrieve(&app, op)
            .map_err(|e| Fault::new(Code::UnknownException, e)),
        "checkRetrieveStatus" => crate::metadata::retrieve::check(&app, op).ok_or_else(|| {
            Fault::new(Code::InvalidCrossReferenceKey, "invalid cross reference id")
        }),
        "checkDeployStatus" => crate::metadata::deploy::check(&app, op)
            .map_err(|e| Fault::new(Code::InvalidCrossReferenceKey, e.message)),
        "cancelDeploy" => {
            crate::metadata::quick::cancel_soap(&app, op).map_err(|e| Fault::new(e.code, e.message))
        }
        "deployRecentValidation" => {
            crate::metadata::quick::deploy_recent_validation(&app, &caller, op)
                .await
                .map_err(|e| Fault::new(e.code, e.message))
        }
        "describeMetadata" => Ok(reads::describe()),
        other => {
            return client_fault(&format!(
                "No operation available for request {{{MD}}}{other}"
            ));
        }
    };
    match answer {
        Ok(body) => xml(StatusCode::OK, envelope(&body)),
        Err(f) => f.response(),
    }
}
