//! A user's password (`/sobjects/User/{id}/password`): `GET` tells whether it expired,
//! `POST {"NewPassword": "..."}` sets it (204), `DELETE` resets it to a generated one and
//! answers it (`{"NewPassword": "..."}`), to be changed at the next login.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use forcebus_org::{Code, RecordId};

use crate::ctx::Call;
use crate::error::ApiError;
use crate::shapes::respond;
use crate::shapes::sobject::{NewPassword, PasswordStatus};

/// The user `id` names, checked to be a user of the org.
fn user(app: &crate::AppState, object: &str, id: &str) -> Result<RecordId, ApiError> {
    if !object.eq_ignore_ascii_case("User") {
        return Err(ApiError::not_found());
    }
    let rid = RecordId::parse(id).ok_or_else(ApiError::not_found)?;
    app.org
        .get(rid)
        .filter(|r| r.object == "User")
        .map(|r| r.id)
        .ok_or_else(ApiError::not_found)
}

/// `GET /sobjects/User/{id}/password`.
pub(crate) async fn status(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let user = user(&app, &object, &id)?;
    let body = PasswordStatus {
        is_expired: app.auth.password_expired(user),
    };
    Ok(respond(StatusCode::OK, &body))
}

/// `POST /sobjects/User/{id}/password` with `{"NewPassword": "..."}`.
pub(crate) async fn set(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, object, id)): Path<(String, String, String)>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let user = user(&app, &object, &id)?;
    let body = crate::body::object(&headers, &bytes)?;
    let Some(Value::String(password)) = body.get("NewPassword").cloned() else {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            Code::RequiredFieldMissing,
            "Required fields are missing: [NewPassword]",
        ));
    };
    let auth = app.auth.clone();
    crate::blocking(move || auth.set_password(user, &password))
        .await?
        .map_err(|e| ApiError::internal(&e))?
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidNewPassword, e.0))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /sobjects/User/{id}/password`: a new generated password.
pub(crate) async fn reset(
    _call: Call,
    State(app): State<crate::State>,
    Path((_, object, id)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let user = user(&app, &object, &id)?;
    let auth = app.auth.clone();
    let password = crate::blocking(move || auth.reset_password(user))
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    let body = NewPassword {
        new_password: password,
    };
    Ok(respond(StatusCode::OK, &body))
}
