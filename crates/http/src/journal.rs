//! A journal of an org's recent API calls, as the console shows them (WireMock's request
//! journal, LocalStack's): method, path, status, when, how long, and the body of an error.
//! Bounded: the newest [`KEPT`] calls, an error body cut at [`ERROR_BYTES`]. Secrets in a
//! query string (`token`, `code`, `password`, ...) are kept out; forcebus's own reads
//! (`GET /forcebus/...`, the console's polling) are not journalled.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use forcebus_sync::prelude::*;
use serde::Serialize;

/// Calls kept.
pub const KEPT: usize = 500;
/// Most bytes of an error body kept.
pub const ERROR_BYTES: usize = 4096;

/// Query parameters whose values never enter the journal.
const SECRET_PARAMS: [&str; 13] = [
    "token",
    "access_token",
    "oauth_token",
    "refresh_token",
    "code",
    "code_verifier",
    "password",
    "pw",
    "client_secret",
    "assertion",
    "client_assertion",
    "sid",
    "session_id",
];

/// One call.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// When it arrived (RFC 3339, the server's clock).
    pub time: String,
    /// `GET`, `POST`, ...
    pub method: String,
    /// Its path and query (secrets left out).
    pub path: String,
    /// The response's status.
    pub status: u16,
    /// How long it took to answer, in milliseconds.
    pub millis: f64,
    /// An error's body (4xx, 5xx): JSON where it parses, else its text.
    pub error: Option<serde_json::Value>,
}

/// The journal of one org.
#[derive(Debug, Default)]
pub struct Journal(Mutex<VecDeque<Entry>>);

impl Journal {
    /// Adds a call, the oldest going past [`KEPT`].
    pub fn push(&self, entry: Entry) {
        let mut calls = self.0.locked();
        if calls.len() == KEPT {
            calls.pop_front();
        }
        calls.push_back(entry);
    }

    /// Up to `limit` calls, newest first.
    pub fn recent(&self, limit: usize) -> Vec<Entry> {
        self.0.locked().iter().rev().take(limit).cloned().collect()
    }
}

/// The path and query of a call with the values of secret parameters replaced.
fn shown(uri: &axum::http::Uri) -> String {
    let Some(query) = uri.query() else {
        return uri.path().to_owned();
    };
    let mut out = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        let secret = SECRET_PARAMS.iter().any(|s| k.eq_ignore_ascii_case(s));
        out.append_pair(&k, if secret { "…" } else { &v });
    }
    format!("{}?{}", uri.path(), out.finish())
}

/// Journals each call through the org's routes, timed by the org's clock.
pub(crate) async fn record(
    State(core): State<Arc<crate::Core>>,
    req: Request,
    next: Next,
) -> Response {
    let journal = &core.journal;
    let own_read = req.method() == Method::GET && req.uri().path().starts_with("/forcebus/");
    if own_read {
        return next.run(req).await;
    }
    let started = Instant::now();
    let time = core
        .org
        .clock()
        .now()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let method = req.method().to_string();
    let path = shown(req.uri());
    let response = next.run(req).await;
    let status = response.status();
    let mut entry = Entry {
        time,
        method,
        path,
        status: status.as_u16(),
        millis: started.elapsed().as_secs_f64() * 1000.0,
        error: None,
    };
    if !(status.is_client_error() || status.is_server_error()) {
        journal.push(entry);
        return response;
    }
    // An error body is small; one of unknown or large size is not read here.
    let (parts, body) = response.into_parts();
    let small = http_body::Body::size_hint(&body)
        .upper()
        .is_some_and(|n| n <= ERROR_BYTES as u64 * 4);
    if !small {
        journal.push(entry);
        return Response::from_parts(parts, body);
    }
    let bytes = axum::body::to_bytes(body, ERROR_BYTES * 4)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(ERROR_BYTES)]).into_owned();
    let json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("json"));
    entry.error = Some(
        json.then(|| serde_json::from_slice(&bytes).ok())
            .flatten()
            .unwrap_or(serde_json::Value::String(text)),
    );
    journal.push(entry);
    Response::from_parts(parts, Body::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_the_journal() {
        let uri: axum::http::Uri = "/services/oauth2/revoke?token=00D!abc&x=1".parse().unwrap();
        assert_eq!(shown(&uri), "/services/oauth2/revoke?token=%E2%80%A6&x=1");
        let uri: axum::http::Uri = "/id/00D/005?oauth_token=00D!abc&format=json"
            .parse()
            .unwrap();
        assert_eq!(shown(&uri), "/id/00D/005?oauth_token=%E2%80%A6&format=json");
        let uri: axum::http::Uri = "/services/data/v68.0/query?q=SELECT+Id+FROM+Account"
            .parse()
            .unwrap();
        assert_eq!(
            shown(&uri),
            "/services/data/v68.0/query?q=SELECT+Id+FROM+Account"
        );
    }

    #[test]
    fn the_journal_keeps_the_newest_calls() {
        let j = Journal::default();
        for i in 0..KEPT + 10 {
            j.push(Entry {
                time: String::new(),
                method: "GET".into(),
                path: format!("/{i}"),
                status: 200,
                millis: 0.0,
                error: None,
            });
        }
        let recent = j.recent(3);
        assert_eq!(recent[0].path, format!("/{}", KEPT + 9));
        assert_eq!(j.recent(usize::MAX).len(), KEPT);
    }
}
