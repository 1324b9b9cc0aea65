//! `POST /forcebus/v1/control/users`: a user made in one call, as a test needs one: with a
//! profile (Standard User when unset), the permission sets it names and (optionally) one
//! permission set declared in the same call; answered with an access token for the user,
//! so the test can act as them at once. Naming a user the org has already gives a token
//! for them (what the console's "act as" does), with their profile unchanged unless the
//! call names one. Authorized as the other test controls are (the admin key, or an
//! administrator's token).
//!
//! ```json
//! {"username": "sync@acme.test", "password": "…", "profile": "Minimum Access - API Only Integrations",
//!  "permission_sets": ["Sync_Integration"],
//!  "permission_set": {"name": "Sync_Integration", "objects": {"Account": {"read": true}},
//!                     "fields": {"Account.Region__c": {"read": true}}}}
//! ```

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use forcebus_org::access::declared::PermissionSetConfig;
use forcebus_org::{Code, UserSeed};

use crate::control::authorised;
use crate::error::ApiError;
use crate::shapes::respond;

/// The body of a user asked for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserBody {
    username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    profile: Option<String>,
    #[serde(default)]
    permission_sets: Vec<String>,
    #[serde(default)]
    permission_set: Option<PermissionSetConfig>,
}

/// What the call answers: the user, and a token to act as them.
#[derive(Serialize)]
struct Made {
    id: String,
    username: String,
    profile: String,
    access_token: String,
    instance_url: String,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, Code::InvalidInput, message)
}

/// `POST /forcebus/v1/control/users`.
pub(crate) async fn users(
    origin: crate::ctx::Origin,
    State(app): State<crate::State>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let by = authorised(&app, &headers)?;
    if !app.org.access(by).perms.manage_users {
        return Err(ApiError::insufficient(
            "making users needs the ManageUsers permission",
        ));
    }
    let body = crate::body::object(&headers, &bytes)?;
    let body: UserBody =
        serde_json::from_value(Value::Object(body)).map_err(|e| invalid(e.to_string()))?;
    if !body.username.contains('@') || body.username.len() > 80 {
        return Err(invalid(
            "username must look like an email address (at most 80 characters)",
        ));
    }
    let mut sets: Vec<PermissionSetConfig> = body.permission_set.into_iter().collect();
    let mut names = body.permission_sets;
    names.extend(sets.iter().map(|s| s.name.clone()));
    names.dedup();
    sets.iter_mut()
        .for_each(|s| s.name = s.name.trim().to_owned());
    let seed = UserSeed {
        username: body.username.clone(),
        first_name: body.first_name.unwrap_or_default(),
        last_name: body.last_name.unwrap_or_else(|| "User".into()),
        email: body.email.unwrap_or_else(|| body.username.clone()),
        // A new user without a profile is a Standard User; an existing one keeps theirs.
        profile: body.profile.or_else(|| {
            app.org
                .user_by_username(&body.username)
                .is_none()
                .then(|| forcebus_org::access::profiles::STANDARD_USER.into())
        }),
        permission_sets: names,
    };
    let (org, auth) = (app.org.clone(), app.auth.clone());
    let password = body.password;
    let made = crate::blocking(move || {
        let id = org.declare_user(&seed, &sets).map_err(ApiError::from)?;
        if let Some(p) = password {
            auth.set_password(id, &p)
                .map_err(|e| ApiError::internal(&e))?
                .map_err(|e| invalid(e.0))?;
        }
        let token = auth.issue(id, false).map_err(|e| ApiError::internal(&e))?;
        Ok::<_, ApiError>((id, seed, token.access_token))
    })
    .await??;
    let (id, seed, access_token) = made;
    let body = Made {
        id: id.to18(),
        username: seed.username,
        profile: seed.profile.unwrap_or_default(),
        access_token,
        instance_url: origin.0,
    };
    Ok(respond(StatusCode::CREATED, &body))
}
