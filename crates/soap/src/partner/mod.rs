//! The partner SOAP endpoint `/services/Soap/u/{v}` (`org-rest-cdc.md` §1.3, §2.9):
//! `login` and `logout` here; `records`: the calls that write (`undelete`,
//! `emptyRecycleBin`, `convertLead`, `merge`); `about`: the calls that describe the
//! session and the org (`getUserInfo`, `getServerTimestamp`, `describeTabs`).
//!
//! Requests are matched by local element names, so any envelope prefix and any namespace
//! style works. Responses follow the partner WSDL's element order exactly: clients read
//! `loginResponse/result` children by position. Envelopes are read by [`forcebus_xml`],
//! which bounds what hostile XML can cost.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use forcebus_xml::write::Writer;
use forcebus_xml::{Element, parse, soap};

use forcebus_org::{Api, Caller, Code, Record, RecordId};

use crate::ctx::{Origin, Peer};

mod about;
mod records;

/// A SOAP response as Salesforce sends it: `text/xml; charset=utf-8`.
pub(crate) fn xml(status: StatusCode, body: String) -> Response {
    forcebus_http::soap_response(status, body)
}

/// A successful response's envelope, with the partner namespace as the default one (so
/// `loginResponse` and its children are unprefixed, as clients' XPath expects).
fn envelope(body: &str) -> String {
    soap::envelope(soap::PARTNER_NS, body)
}

/// A SOAP fault; `kind` is the fault detail type (`LoginFault`, `UnexpectedErrorFault`).
fn fault(code: Code, message: &str, kind: &str) -> Response {
    let body = soap::partner_fault(code.as_str(), message, kind);
    xml(StatusCode::INTERNAL_SERVER_ERROR, body)
}

/// A fault about the request itself (bad XML, unknown operation).
fn client_fault(message: &str) -> Response {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        soap::client_fault(message),
    )
}

/// The fault for a missing, expired or revoked session id: `INVALID_SESSION_ID` with
/// Salesforce's wording, which clients match to re-login.
/// `API_CURRENTLY_DISABLED` as a fault of `kind`, when `user` lacks API Enabled.
fn api_disabled(
    app: &crate::AppState,
    user: forcebus_org::RecordId,
    kind: &str,
) -> Option<Response> {
    (!app.org.access(user).perms.api_enabled).then(|| {
        fault(
            Code::ApiCurrentlyDisabled,
            "API is disabled for this User",
            kind,
        )
    })
}

fn invalid_session() -> Response {
    fault(
        Code::InvalidSessionId,
        "Invalid Session ID found in SessionHeader: Illegal Session",
        "UnexpectedErrorFault",
    )
}

/// The first API version whose partner API has no `login()` (65.0, Winter '26): clients
/// sign in through OAuth, or call `login()` at 64.0 and below.
const LOGIN_RETIRED: u32 = 65;

/// The major number of a served version (`59` of `59.0`).
fn major(version: &str) -> u32 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// `POST /services/Soap/u/{version}[/{orgId}]`.
pub(crate) async fn endpoint(
    State(app): State<crate::State>,
    origin: Origin,
    peer: Peer,
    Path(params): Path<Vec<(String, String)>>,
    body: Bytes,
) -> Response {
    let version = params.first().map(|(_, v)| v.clone()).unwrap_or_default();
    let latest = app.config.latest_version;
    let Ok(version) = forcebus_http::ctx::version_of(&format!("v{version}"), latest) else {
        // Retired, unknown or newer than served alike: tools that look for the newest
        // version step down on this fault.
        return fault(
            Code::UnsupportedApiVersion,
            "Invalid Api version specified on URL",
            "UnexpectedErrorFault",
        );
    };
    let root = match parse(&body) {
        Ok(r) if r.name == "Envelope" => r,
        Ok(r) => return client_fault(&format!("Expected Envelope, found {}", r.name)),
        Err(e) => return client_fault(&format!("Bad envelope: {e}")),
    };
    let Some(op) = root.child("Body").and_then(|b| b.children.first()) else {
        return client_fault("Missing Body");
    };
    let header = root.child("Header");
    let session = header
        .and_then(|h| h.child("SessionHeader"))
        .and_then(|s| s.text_of("sessionId"))
        .map(str::to_owned);
    let client = header
        .and_then(|h| h.child("CallOptions"))
        .and_then(|c| c.text_of("client"))
        .filter(|c| !c.is_empty())
        .map(str::to_owned);
    match op.name.as_str() {
        "login" if major(&version) >= LOGIN_RETIRED => fault(
            Code::InvalidOperation,
            &format!(
                "The SOAP Login operation is not available in the API version specified ({version}). Refer to the documentation for supported versions."
            ),
            "UnexpectedErrorFault",
        ),
        "login" => login(app, origin, peer, &version, op).await,
        "logout" => {
            let Some(token) = session.filter(|t| app.auth.verify(t).is_some()) else {
                return invalid_session();
            };
            let auth = app.auth.clone();
            match crate::blocking(move || auth.revoke(&token)).await {
                Ok(Ok(_)) => xml(StatusCode::OK, envelope("<logoutResponse/>")),
                Ok(Err(e)) => fault(
                    Code::UnknownException,
                    &crate::error::unexpected(&e),
                    "UnexpectedErrorFault",
                ),
                Err(e) => e.into_response(),
            }
        }
        name => {
            let Some(s) = session.and_then(|t| app.auth.verify(&t)) else {
                return if records::CALLS.contains(&name) || about::CALLS.contains(&name) {
                    invalid_session()
                } else {
                    unknown_call(name)
                };
            };
            if let Some(refused) = api_disabled(&app, s.user_id, "UnexpectedErrorFault") {
                return refused;
            }
            let caller = Caller {
                user_id: s.user_id,
                api: Api::Soap,
                version: version.clone(),
                client,
            };
            if records::CALLS.contains(&name) {
                records::call(app, caller, name, op).await
            } else if about::CALLS.contains(&name) {
                about::call(&app, &origin, &caller, name)
            } else {
                unknown_call(name)
            }
        }
    }
}

/// The fault for an operation the endpoint does not have.
fn unknown_call(name: &str) -> Response {
    client_fault(&format!(
        "No operation available for request {{urn:partner.soap.sforce.com}}{name}"
    ))
}
/// `login`: the username and password (plus the security token from untrusted
/// networks) checked by `auth`, then a new session. A failed check, locked-out users
/// included, is the one `INVALID_LOGIN` fault, as Salesforce never says which part was
/// wrong.
async fn login(
    app: crate::State,
    origin: Origin,
    peer: Peer,
    version: &str,
    op: &Element,
) -> Response {
    let checked = op
        .text_of("username")
        .zip(op.text_of("password"))
        .and_then(|(username, password)| app.auth.check_password(username, password, peer.0));
    let Some(user_id) = checked else {
        return invalid_login();
    };
    if let Some(refused) = api_disabled(&app, user_id, "LoginFault") {
        return refused;
    }
    let auth = app.auth.clone();
    let issued = match crate::blocking(move || auth.issue(user_id, false)).await {
        Ok(Ok(i)) => i,
        Ok(Err(e)) => {
            return fault(
                Code::UnknownException,
                &crate::error::unexpected(&e),
                "UnexpectedErrorFault",
            );
        }
        Err(e) => return e.into_response(),
    };
    let Some(user) = app.org.get(user_id) else {
        return invalid_login();
    };
    let body = login_response(&app, &origin, version, &user, &issued.access_token);
    xml(StatusCode::OK, envelope(&body))
}

/// The `LoginFault` every failed login gets.
fn invalid_login() -> Response {
    fault(
        Code::InvalidLogin,
        "Invalid username, password, security token; or user locked out.",
        "LoginFault",
    )
}

/// The `loginResponse` of `user` with its new session. Element order is the partner
/// WSDL's: the Pub/Sub Python sample reads result[3], result[4], result[6] and
/// userInfo[8] by position.
fn login_response(
    app: &crate::AppState,
    origin: &Origin,
    version: &str,
    user: &Record,
    session: &str,
) -> String {
    let org = app.org.id().to18();
    let o = &origin.0;
    let uid = user.id.to18();
    let mut w = Writer::new();
    w.open("loginResponse")
        .open("result")
        .text(
            "metadataServerUrl",
            &format!("{o}/services/Soap/m/{version}/{org}"),
        )
        .value("passwordExpired", false)
        .value("sandbox", false)
        .text("serverUrl", &format!("{o}/services/Soap/u/{version}/{org}"))
        .text("sessionId", session)
        .text("userId", &uid)
        .open("userInfo");
    user_info(&mut w, app, user);
    w.finish()
}

/// The `GetUserInfoResult` fields of `user`, in the WSDL's order.
pub(crate) fn user_info(w: &mut Writer, app: &crate::AppState, user: &Record) {
    let org = app.org.id().to18();
    let text = |f: &str| user.get_str(f).unwrap_or("");
    let uid = user.id.to18();
    w.value("accessibilityMode", false)
        .value("chatterExternal", false)
        .text("currencySymbol", "$")
        .value("orgAttachmentFileSizeLimit", 5_242_880)
        .text("orgDefaultCurrencyIsoCode", "USD")
        .text("orgDefaultCurrencyLocale", "en_US")
        .value("orgDisallowHtmlAttachments", false)
        .value("orgHasPersonAccounts", false)
        .text("organizationId", &org)
        .value("organizationMultiCurrency", false)
        .text("organizationName", app.org.name())
        .text("profileId", &RecordId::mint("00e", 1).to18())
        .nil("roleId")
        .value(
            "sessionSecondsValid",
            app.auth.config().session_timeout.as_secs(),
        )
        .nil("userDefaultCurrencyIsoCode")
        .text("userEmail", text("Email"))
        .text("userFullName", text("Name"))
        .text("userId", &uid)
        .text("userLanguage", text("LanguageLocaleKey"))
        .text("userLocale", text("LocaleSidKey"))
        .text("userName", text("Username"))
        .text("userTimeZone", text("TimeZoneSidKey"))
        .text("userType", "Standard")
        .text("userUiSkin", "Theme3");
}
