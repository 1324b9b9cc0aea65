//! What every Metadata API SOAP call shares: the namespace, envelopes and faults, the
//! types served, and the limit of components a call takes.

use axum::http::StatusCode;
use axum::response::Response;

use forcebus_org::Code;
use forcebus_xml::Element;
use forcebus_xml::soap;

use crate::metadata::channels;
use crate::partner::xml;

/// The Metadata API's namespace.
pub(crate) const MD: &str = soap::METADATA_NS;

/// Most components one CRUD call takes (Salesforce's limit).
pub(crate) const MAX_COMPONENTS: usize = 10;

/// The types this endpoint serves (and [`crate::metadata::channels`]' two).
pub(crate) const TYPES: [&str; 4] = [
    "CustomObject",
    "CustomField",
    "ValidationRule",
    "PermissionSet",
];

/// Whether a type is served.
pub(crate) fn served(kind: &str) -> bool {
    TYPES.contains(&kind) || channels::object_of(kind).is_some()
}

/// A response's envelope: the Metadata namespace the default one, so the operation's
/// response and every descendant are unprefixed and qualified; no attribute on `Body`.
pub(crate) fn envelope(body: &str) -> String {
    soap::envelope(MD, body)
}

/// A fault: HTTP 500, `sf:CODE` and `CODE: message`, no detail (the WSDL declares none).
pub(crate) fn fault(code: Code, message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::fault(MD, code.as_str(), message),
    )
}

/// A fault about the request itself (bad XML, unknown operation).
pub(crate) fn client_fault(message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::client_fault(message),
    )
}

/// A fault that ends the whole call (what is wrong with one component is that
/// component's `errors` instead).
pub(crate) struct Fault {
    pub(crate) code: Code,
    pub(crate) message: String,
}

impl Fault {
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub(crate) fn too_many() -> Self {
        Self::new(
            Code::ExceededIdLimit,
            format!("Too many components: at most {MAX_COMPONENTS} a call"),
        )
    }

    pub(crate) fn response(&self) -> Response {
        fault(self.code, &self.message)
    }
}

/// The components of a create or upsert call, each with its `xsi:type`.
pub(crate) fn components(op: &Element) -> Result<Vec<&Element>, Fault> {
    let list: Vec<&Element> = op.children_named("metadata").collect();
    if list.len() > MAX_COMPONENTS {
        return Err(Fault::too_many());
    }
    Ok(list)
}
