//! forcebus's own views of an org's live state, for the console and for anyone debugging
//! an integration (authorized like the test controls: an access token of the org, or the
//! server's admin key):
//!
//! - `GET /forcebus/v1/subscribers`: every CometD session's subscriptions and every
//!   Pub/Sub stream (managed ones too), with its channel, the replay id it has read up
//!   to, how far behind the log it is (events and seconds), its client and user.
//! - `GET /forcebus/v1/schemas`: every change-event and platform-event type with every
//!   schema id it has had (the current one last).
//! - `GET /forcebus/v1/requests[?limit=N]`: the org's recent API calls, newest first
//!   (the administrator's: the admin key or the org's admin user).

use std::collections::{BTreeMap, HashMap};

use crate::error::ApiError;
use crate::shapes::forcebus::{EventSchemaIds, Requests, SchemaIds, Subscriber, Subscribers};
use crate::shapes::respond;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// `GET /forcebus/v1/subscribers`.
pub(crate) async fn subscribers(
    State(app): State<crate::State>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::control::authorised(&app, &headers)?;
    let now = app.org.clock().now().timestamp_millis();
    let subscribers = app
        .subscribers
        .subscribers()
        .into_iter()
        .map(|s| Subscriber {
            protocol: s.protocol,
            id: s.id,
            user: s.user.to18(),
            address: s.address,
            channel: s.channel,
            replay_id: s.replay_id,
            lag_events: s.lag.events,
            lag_seconds: s
                .lag
                .oldest_ms
                .map_or(0.0, |t| (now - t).max(0) as f64 / 1000.0),
            since: forcebus_org::clock::format_datetime(
                chrono::DateTime::from_timestamp_millis(s.since_ms).unwrap_or_default(),
            ),
        })
        .collect();
    let body = Subscribers {
        last_replay_id: app.org.log().last_replay_id(),
        subscribers,
    };
    Ok(respond(StatusCode::OK, &body))
}

/// `GET /forcebus/v1/schemas`.
pub(crate) async fn schemas(
    State(app): State<crate::State>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    crate::control::authorised(&app, &headers)?;
    let schema = app.org.schema();
    let mut current: HashMap<String, String> = HashMap::new();
    for o in schema.objects() {
        if let Some(id) = app.org.change_schema_id(&o.name) {
            current.insert(forcebus_events::change::entity_name_of(o), id);
        }
    }
    for e in app.org.platform_events() {
        current.insert(e.object.name.clone(), e.schema_id.clone());
    }
    let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, name) in app.org.schemas().named() {
        by_name.entry(name).or_default().push(id);
    }
    // A type whose schema no event has named yet still has its current id.
    for (name, id) in &current {
        let ids = by_name.entry(name.clone()).or_default();
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }
    let schemas = by_name
        .into_iter()
        .map(|(name, mut ids)| {
            let now = current.get(&name).cloned();
            ids.sort();
            if let Some(now) = &now {
                ids.retain(|i| i != now);
                ids.push(now.clone());
            }
            let kind = if name.ends_with("ChangeEvent") {
                "change"
            } else {
                "platform"
            };
            EventSchemaIds {
                name,
                kind,
                current: now,
                ids,
            }
        })
        .collect();
    Ok(respond(StatusCode::OK, &SchemaIds { schemas }))
}

/// `GET /forcebus/v1/requests[?limit=N]` (at most the journal's size): for the admin key
/// or the org's admin user, since the journal shows every user's calls.
pub(crate) async fn requests(
    State(app): State<crate::State>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let user = crate::control::authorised(&app, &headers)?;
    if app.auth.default_user() != Some(user) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            forcebus_org::Code::InsufficientAccess,
            "The request journal is for the org's administrator.",
        ));
    }
    let limit = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(200)
        .min(forcebus_http::journal::KEPT);
    let body = Requests {
        requests: app.journal.recent(limit),
    };
    Ok(respond(StatusCode::OK, &body))
}
