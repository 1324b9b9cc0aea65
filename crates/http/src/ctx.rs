//! What every handler needs to know about a request: the origin the client used, the API
//! version of the path, and the authenticated caller.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};

use forcebus_auth::Session;
use forcebus_org::{Api, Caller};

use crate::HasCore;
use crate::error::ApiError;

/// Per-connection facts the listener attaches to each request.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnInfo {
    /// The connection is TLS.
    pub tls: bool,
    /// The client's address.
    pub peer: Option<std::net::SocketAddr>,
    /// The connection reads a response's whole body before it writes any of it (the
    /// listener's lean path, which then writes it with its length): a handler may answer
    /// with a body that is ready only later without changing a byte on the wire.
    pub whole_replies: bool,
}

/// The client's IP address, when the request came over the network (`None` for
/// in-process calls, which tests make).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnInfo>().and_then(|c| c.peer);
        Ok(Self(peer.map(|p| p.ip())))
    }
}

/// `scheme://host[:port]` as the client addressed us: every URL we hand out starts with it.
#[derive(Debug, Clone)]
pub struct Origin(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Origin {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let tls = parts.extensions.get::<ConnInfo>().is_some_and(|c| c.tls);
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str()))
            .unwrap_or("localhost")
            .to_owned();
        Ok(Self(format!(
            "{}://{host}",
            if tls { "https" } else { "http" }
        )))
    }
}

/// Why a user without Modify All Data or Modify Metadata may not use the Metadata API.
pub const METADATA_API: &str =
    "use of the Metadata API requires a user with the ModifyAllData or ModifyMetadata permissions";

/// Extracts the token from `Authorization: Bearer x`, `OAuth x`, or a bare `x`.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    forcebus_auth::bearer_token(headers.get(header::AUTHORIZATION)?.to_str().ok()?)
}

/// The session a Bulk API 1.0 call carries: `X-SFDC-Session`, else a bearer token.
pub fn bulk_session(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-sfdc-session")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .or_else(|| bearer(headers))
}

/// Parses `v59.0` into `59.0` when it is a version we serve (20.0 up to the latest).
pub fn parse_version(segment: &str, latest: u32) -> Option<String> {
    version_of(segment, latest).ok()
}

/// The oldest API version Salesforce still serves: 21.0 to 30.0 were retired in Summer
/// '25 (7.0 to 20.0 before).
pub const OLDEST_VERSION: u32 = 31;

/// Why a version segment names no served version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionError {
    /// A version Salesforce served once and has retired (below [`OLDEST_VERSION`]).
    Retired,
    /// Not a version (`v38`, `vx.0`), or one newer than the newest served.
    Unknown,
}

/// The version a path segment (`v59.0`) names, if it is served: from
/// [`OLDEST_VERSION`] to `latest`.
pub fn version_of(segment: &str, latest: u32) -> Result<String, VersionError> {
    let parsed = segment.strip_prefix('v').and_then(|v| {
        let (major, minor) = v.split_once('.')?;
        let major: u32 = major.parse().ok()?;
        (minor == "0").then_some(major)
    });
    match parsed {
        Some(major) if (OLDEST_VERSION..=latest).contains(&major) => Ok(format!("{major}.0")),
        Some(major) if (1..OLDEST_VERSION).contains(&major) => Err(VersionError::Retired),
        _ => Err(VersionError::Unknown),
    }
}

/// An authenticated call under `/services/data/vXX.X/...`.
#[derive(Debug, Clone)]
pub struct Call {
    /// The API version of the path, e.g. `59.0`.
    pub version: String,
    /// The verified session.
    pub session: Session,
    /// Where the client reached us.
    pub origin: Origin,
    /// `client=` of `Sforce-Call-Options`.
    pub client: Option<String>,
    /// `X-Forcebus-Bulk-Load: true`: writes bypass change tracking (subscribers get gap events).
    pub bulk_load: bool,
}

impl Call {
    /// The major number of the path's API version (`59` of `59.0`).
    pub fn major(&self) -> u32 {
        forcebus_meta::major_version(&self.version)
    }

    /// The caller for org transactions.
    pub fn caller(&self) -> Caller {
        Caller {
            user_id: self.session.user_id,
            api: Api::Rest,
            version: self.version.clone(),
            client: self.client.clone(),
        }
    }

    /// `/services/data/vXX.X`.
    pub fn base(&self) -> String {
        format!("/services/data/v{}", self.version)
    }
}

/// `client=` of a `Sforce-Call-Options` header.
pub fn call_options_client(headers: &HeaderMap) -> Option<String> {
    let v = headers.get("sforce-call-options")?.to_str().ok()?;
    v.split(',')
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("client"))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

impl<S> FromRequestParts<S> for Call
where
    S: HasCore + Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let app = state.core();
        let segment = parts
            .uri
            .path()
            .strip_prefix("/services/data/")
            .and_then(|p| p.split('/').next())
            .unwrap_or("");
        let version = version_of(segment, app.config.latest_version).map_err(|e| match e {
            VersionError::Retired => ApiError::retired_version(),
            VersionError::Unknown => ApiError::not_found(),
        })?;
        let token = bearer(&parts.headers).ok_or_else(ApiError::invalid_session)?;
        let session = app
            .auth
            .verify(token)
            .ok_or_else(ApiError::invalid_session)?;
        let access = app.org.access(session.user_id);
        if !access.perms.api_enabled {
            return Err(ApiError::api_disabled());
        }
        let rest = parts.uri.path().splitn(5, '/').nth(4).unwrap_or("");
        if rest.starts_with("tooling/") && !access.customizes() {
            return Err(ApiError::insufficient(
                "insufficient access rights on entity: the Tooling API requires a user with the CustomizeApplication or ModifyAllData permission",
            ));
        }
        if rest.starts_with("metadata/") && !access.uses_metadata_api() {
            return Err(ApiError::insufficient(METADATA_API));
        }
        let origin = Origin::from_request_parts(parts, state)
            .await
            .expect("infallible");
        let client = call_options_client(&parts.headers);
        let bulk_load = parts
            .headers
            .get("x-forcebus-bulk-load")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(Self {
            version,
            session,
            origin,
            client,
            bulk_load,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_from_31_to_latest_are_served_and_older_ones_are_retired() {
        assert_eq!(parse_version("v31.0", 59).as_deref(), Some("31.0"));
        assert_eq!(parse_version("v59.0", 59).as_deref(), Some("59.0"));
        for retired in ["v30.0", "v20.0", "v7.0"] {
            assert_eq!(
                version_of(retired, 59),
                Err(VersionError::Retired),
                "{retired}"
            );
        }
        for bad in ["v30.0", "v60.0", "59.0", "v59.1", "v59", "vx.0", "v0.0", ""] {
            assert_eq!(parse_version(bad, 59), None, "{bad}");
        }
    }

    #[test]
    fn all_three_authorization_forms_are_read() {
        for (value, want) in [
            ("Bearer abc", Some("abc")),
            ("OAuth abc", Some("abc")),
            ("abc", Some("abc")),
            ("Basic abc", None),
            ("Bearer ", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert(header::AUTHORIZATION, value.parse().unwrap());
            assert_eq!(bearer(&h), want, "{value}");
        }
    }

    #[test]
    fn call_options_client_is_parsed() {
        let mut h = HeaderMap::new();
        h.insert(
            "sforce-call-options",
            "client=etl-sync, defaultNamespace=x".parse().unwrap(),
        );
        assert_eq!(call_options_client(&h).as_deref(), Some("etl-sync"));
    }
}
