//! Generic streaming's push resource, `/sobjects/StreamingChannel/{id}/push`
//! (`streaming-cometd.md` §2.7): `GET` names the channel and its subscribed users; `POST
//! {"pushEvents": [{"payload", "userIds"}]}` delivers strings to every subscriber or to the
//! listed users, one push result per event.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

use forcebus_org::generic::Push;

use crate::ctx::Call;
use crate::error::ApiError;
use crate::shapes::respond;
use crate::shapes::sobject::{PushChannel, PushResult};

fn channel(
    app: &crate::AppState,
    object: &str,
    id: &str,
) -> Result<forcebus_org::Record, ApiError> {
    if !object.eq_ignore_ascii_case(forcebus_org::generic::OBJECT) {
        return Err(ApiError::not_found());
    }
    app.org
        .streaming_channel(id)
        .ok_or_else(ApiError::not_found)
}

/// `GET /sobjects/StreamingChannel/{id}/push`.
pub(crate) async fn online(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let r = channel(&app, &object, &id)?;
    let name = r.get_str("Name").unwrap_or_default();
    let users: Vec<String> = app
        .presence
        .online_users(name)
        .iter()
        .map(|u| u.to18())
        .collect();
    let body = PushChannel {
        online_user_ids: users,
        channel_name: name,
    };
    Ok(respond(StatusCode::OK, &body))
}

fn parse(headers: &HeaderMap, bytes: &[u8]) -> Result<Vec<Push>, ApiError> {
    let body = crate::body::object(headers, bytes)?;
    let events = body
        .get("pushEvents")
        .and_then(Value::as_array)
        .ok_or_else(|| ApiError::json_parser("pushEvents is required: a list of push events"))?;
    events
        .iter()
        .map(|e| {
            let e = e
                .as_object()
                .ok_or_else(|| ApiError::json_parser("Each push event is an object"))?;
            let payload = e
                .get("payload")
                .and_then(Value::as_str)
                .ok_or_else(|| ApiError::json_parser("payload is required: a string"))?
                .to_owned();
            let user_ids = match e.get("userIds") {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(ids)) => ids
                    .iter()
                    .map(|u| {
                        u.as_str()
                            .map(str::to_owned)
                            .ok_or_else(|| ApiError::json_parser("userIds holds strings"))
                    })
                    .collect::<Result<_, _>>()?,
                Some(_) => return Err(ApiError::json_parser("userIds is a list of user ids")),
            };
            Ok(Push { payload, user_ids })
        })
        .collect()
}

/// `POST /sobjects/StreamingChannel/{id}/push`.
pub(crate) async fn push(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, object, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let r = channel(&app, &object, &id)?;
    let pushes = parse(&headers, &bytes)?;
    let name = r.get_str("Name").unwrap_or_default().to_owned();
    let online: Vec<String> = app
        .presence
        .online_users(&name)
        .iter()
        .map(|u| u.to18())
        .collect();
    let org = app.org.clone();
    let to_push = pushes.clone();
    crate::blocking(move || org.push(&r, &to_push))
        .await?
        .map_err(ApiError::from)?;
    let results: Vec<PushResult> = pushes
        .iter()
        .map(|p| {
            if p.user_ids.is_empty() {
                return PushResult {
                    fanout_count: if online.is_empty() { 0 } else { -1 },
                    user_online_status: Map::new(),
                };
            }
            let mut status = Map::new();
            let mut count = 0;
            for u in &p.user_ids {
                let id = forcebus_org::RecordId::parse(u).map_or_else(|| u.clone(), |i| i.to18());
                let on = online.contains(&id);
                count += i64::from(on);
                status.insert(id, Value::Bool(on));
            }
            PushResult {
                fanout_count: count,
                user_online_status: status,
            }
        })
        .collect();
    Ok(respond(StatusCode::OK, &results))
}
