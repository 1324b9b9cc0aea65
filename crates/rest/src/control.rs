//! The test controls over HTTP, `/forcebus/v1/control` (`failure-modes.md`): make the
//! org's hard-to-reproduce behaviour happen on demand. Authorized by the server's admin
//! key or an access token of the org. Every control is off by default; `GET` shows them,
//! `DELETE` turns them all off.
//!
//! - `POST /control/clock` `{"advance_secs": N}` and/or `{"freeze": true|false}`.
//! - `POST /control/gap` `{"object", "changeType", "recordIds"}` or `{"object", "overflow": true}`.
//! - `POST /control/streaming` `{"drop_sessions": true}` and/or `{"delivery_delay_ms": N}`.
//! - `POST /control/pubsub` `{"fail", "rpc", "times"}`, `{"suppress_keepalives": b}`,
//!   `{"end_streams": true}`, `{"reset_streams": true}`.
//! - `POST /control/rules` `{"validation_rules": false}` (off for a data load) or `true`.
//! - `POST /control/users`: a user (and a permission set) made in one call, with a token
//!   for them ([`crate::control_users`]).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use forcebus_org::control::{ArmedFailure, PubSubFailure, Rpc};
use forcebus_org::org::control::Gap;
use forcebus_org::{Api, Caller, Code, RecordId};

use crate::ctx::bearer;
use crate::error::{ApiError, json_response};
use crate::shapes::forcebus::{PublishedEvent, PublishedEvents};
use crate::shapes::respond;

/// Furthest one call moves the clock: ten years.
const MAX_ADVANCE_SECS: u64 = 10 * 365 * 24 * 3600;

/// Most calls one armed failure fails.
const MAX_TIMES: u32 = 10_000;

/// The user the controls act as: the token's, or, with the admin key, the default user.
pub(crate) fn authorised(app: &crate::AppState, headers: &HeaderMap) -> Result<RecordId, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::invalid_session)?;
    if !app.config.admin_key.is_empty() && forcebus_auth::secret_eq(token, &app.config.admin_key) {
        return app
            .auth
            .default_user()
            .ok_or_else(ApiError::invalid_session);
    }
    app.auth
        .verify(token)
        .map(|s| s.user_id)
        .ok_or_else(ApiError::invalid_session)
}

/// The body as `T`, every key known.
fn parse<T: DeserializeOwned>(headers: &HeaderMap, bytes: &[u8]) -> Result<T, ApiError> {
    let body = crate::body::object(headers, bytes)?;
    serde_json::from_value(Value::Object(body)).map_err(|e| invalid(e.to_string()))
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidInput, message)
}

/// The controls as `GET /forcebus/v1/control` shows them.
#[derive(Serialize)]
struct View<'a> {
    active: &'a [&'static str],
    clock: ClockView,
    streaming: StreamingView,
    pubsub: PubSubView<'a>,
    rules: RulesView,
}

#[derive(Serialize)]
struct ClockView {
    now: String,
    offset_secs: f64,
    frozen: bool,
}

#[derive(Serialize)]
struct StreamingView {
    delivery_delay_ms: u64,
    session_drops: u64,
}

#[derive(Serialize)]
struct RulesView {
    validation_rules: bool,
}

#[derive(Serialize)]
struct PubSubView<'a> {
    fail: &'a [forcebus_org::control::ArmedFailure],
    suppress_keepalives: bool,
}

fn view(app: &crate::AppState) -> Response {
    let state = app.org.control_state();
    let view = View {
        active: &state.active,
        clock: ClockView {
            now: forcebus_org::clock::format_datetime(state.now),
            offset_secs: state.offset_ms as f64 / 1000.0,
            frozen: state.frozen,
        },
        streaming: StreamingView {
            delivery_delay_ms: state.delivery_delay_ms,
            session_drops: state.session_drops,
        },
        pubsub: PubSubView {
            fail: &state.armed,
            suppress_keepalives: state.keepalives_suppressed,
        },
        rules: RulesView {
            validation_rules: !state.validation_rules_off,
        },
    };
    json_response(
        StatusCode::OK,
        &serde_json::to_value(view).unwrap_or(Value::Null),
    )
}

/// `GET /forcebus/v1/control`: every control and which are active.
pub(crate) async fn show(
    State(app): State<crate::State>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    Ok(view(&app))
}

/// `DELETE /forcebus/v1/control`: every control off (time already passed stays passed).
pub(crate) async fn clear(
    State(app): State<crate::State>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let org = app.org.clone();
    crate::blocking(move || org.clear_controls())
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    tracing::info!("Test controls cleared.");
    Ok(view(&app))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockBody {
    advance_secs: Option<u64>,
    freeze: Option<bool>,
}

/// `POST /forcebus/v1/control/clock`: moves the org's clock forward (tokens expire,
/// events age past retention and are purged, dates follow) or holds it still.
pub(crate) async fn clock(
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let body: ClockBody = parse(&headers, &bytes)?;
    if body.advance_secs.is_none() && body.freeze.is_none() {
        return Err(invalid(
            "Give advance_secs (seconds to move the clock forward) or freeze (true or false).",
        ));
    }
    if let Some(s) = body.advance_secs
        && !(1..=MAX_ADVANCE_SECS).contains(&s)
    {
        return Err(invalid(format!(
            "advance_secs must be between 1 and {MAX_ADVANCE_SECS}."
        )));
    }
    let org = app.org.clone();
    crate::blocking(move || {
        if let Some(s) = body.advance_secs {
            org.advance_clock(chrono::Duration::seconds(s as i64))?;
        }
        if let Some(f) = body.freeze {
            org.freeze_clock(f)
                .map_err(|e| forcebus_org::OrgError::new(Code::UnknownException, e.to_string()))?;
        }
        Ok::<_, forcebus_org::OrgError>(())
    })
    .await??;
    tracing::info!(advance_secs = ?body.advance_secs, freeze = ?body.freeze, "Test control: clock.");
    Ok(view(&app))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GapBody {
    object: String,
    change_type: Option<String>,
    #[serde(default)]
    record_ids: Vec<String>,
    #[serde(default)]
    overflow: bool,
}

/// `POST /forcebus/v1/control/gap`: publishes a gap (`GAP_CREATE`, `GAP_UPDATE`,
/// `GAP_DELETE`, `GAP_UNDELETE`) or overflow change event, as Salesforce shapes them.
pub(crate) async fn gap(
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let user = authorised(&app, &headers)?;
    let body: GapBody = parse(&headers, &bytes)?;
    let gap = match (body.overflow, body.change_type) {
        (true, None) if body.record_ids.is_empty() => Gap::Overflow,
        (true, _) => {
            return Err(invalid(
                "An overflow event names no changeType and no recordIds.",
            ));
        }
        (false, Some(change_type)) => Gap::Records {
            change_type,
            record_ids: body.record_ids,
        },
        (false, None) => {
            return Err(invalid(
                "Give changeType and recordIds, or \"overflow\": true.",
            ));
        }
    };
    let caller = Caller {
        user_id: user,
        api: Api::Rest,
        version: String::new(),
        client: None,
    };
    let object = body.object;
    let org = app.org.clone();
    let events = crate::blocking(move || org.publish_gap(&caller, &object, gap))
        .await??
        .wait_async()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    let events = events
        .iter()
        .map(|e| {
            let doc: Value = serde_json::from_slice(&e.payload).unwrap_or(Value::Null);
            PublishedEvent {
                replay_id: e.replay_id,
                change_event_header: doc["ChangeEventHeader"].clone(),
            }
        })
        .collect();
    Ok(respond(StatusCode::CREATED, &PublishedEvents { events }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StreamingBody {
    #[serde(default)]
    drop_sessions: bool,
    delivery_delay_ms: Option<u64>,
}

/// `POST /forcebus/v1/control/streaming`: forgets every CometD session (next request:
/// `403::Unknown client` with handshake advice), and/or delays delivery on both protocols.
pub(crate) async fn streaming(
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let body: StreamingBody = parse(&headers, &bytes)?;
    if !body.drop_sessions && body.delivery_delay_ms.is_none() {
        return Err(invalid(
            "Give \"drop_sessions\": true or delivery_delay_ms.",
        ));
    }
    if let Some(ms) = body.delivery_delay_ms {
        app.org.set_delivery_delay(ms)?;
    }
    if body.drop_sessions {
        app.org.controls().drop_sessions();
    }
    tracing::info!(drop_sessions = body.drop_sessions, delivery_delay_ms = ?body.delivery_delay_ms, "Test control: streaming.");
    Ok(view(&app))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesBody {
    validation_rules: Option<bool>,
}

/// `POST /forcebus/v1/control/rules`: turns the org's validation rules off for a data
/// load (`{"validation_rules": false}`) and on again.
pub(crate) async fn rules(
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let body: RulesBody = parse(&headers, &bytes)?;
    let Some(on) = body.validation_rules else {
        return Err(invalid("Give \"validation_rules\": true or false."));
    };
    app.org.controls().set_validation_rules_off(!on);
    tracing::info!(validation_rules = on, "Test control: rules.");
    Ok(view(&app))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PubSubBody {
    fail: Option<String>,
    rpc: Option<String>,
    times: Option<u32>,
    suppress_keepalives: Option<bool>,
    #[serde(default)]
    end_streams: bool,
    #[serde(default)]
    reset_streams: bool,
}

/// `POST /forcebus/v1/control/pubsub`: arms a failure for the next calls of an RPC, holds
/// keepalives back, ends every open stream with Salesforce's "service unavailable", or
/// resets every open call at the HTTP/2 layer.
pub(crate) async fn pubsub(
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    authorised(&app, &headers)?;
    let body: PubSubBody = parse(&headers, &bytes)?;
    let armed = armed(&body)?;
    if armed.is_none()
        && body.suppress_keepalives.is_none()
        && !body.end_streams
        && !body.reset_streams
    {
        return Err(invalid(
            "Give fail (with rpc and times), suppress_keepalives, \"end_streams\": true or \"reset_streams\": true.",
        ));
    }
    let controls = app.org.controls();
    if let Some(a) = armed {
        controls
            .arm(a)
            .map_err(|max| invalid(format!("At most {max} failures may be armed at once; DELETE /forcebus/v1/control clears them.")))?;
    }
    if let Some(on) = body.suppress_keepalives {
        controls.suppress_keepalives(on);
    }
    if body.end_streams {
        controls.end_streams();
    }
    if body.reset_streams {
        controls.reset_streams();
    }
    tracing::info!(fail = ?body.fail, rpc = ?body.rpc, times = ?body.times, suppress_keepalives = ?body.suppress_keepalives, end_streams = body.end_streams, reset_streams = body.reset_streams, "Test control: pubsub.");
    Ok(view(&app))
}

/// The failure a pubsub control body arms, checked.
fn armed(body: &PubSubBody) -> Result<Option<ArmedFailure>, ApiError> {
    let Some(name) = &body.fail else {
        if body.rpc.is_some() || body.times.is_some() {
            return Err(invalid("rpc and times go with fail."));
        }
        return Ok(None);
    };
    let fail = PubSubFailure::parse(name).ok_or_else(|| {
        invalid(format!(
            "Unknown failure {name:?}; use one of {}.",
            PubSubFailure::canonical_names().join(", ")
        ))
    })?;
    let rpc = match &body.rpc {
        None => None,
        Some(r) => Some(Rpc::parse(r).ok_or_else(|| {
            let names: Vec<&str> = Rpc::ALL.iter().map(|(_, n)| *n).collect();
            invalid(format!(
                "Unknown rpc {r:?}; use one of {}.",
                names.join(", ")
            ))
        })?),
    };
    let times = body.times.unwrap_or(1);
    if !(1..=MAX_TIMES).contains(&times) {
        return Err(invalid(format!("times must be between 1 and {MAX_TIMES}.")));
    }
    Ok(Some(ArmedFailure {
        fail,
        rpc,
        remaining: times,
    }))
}
