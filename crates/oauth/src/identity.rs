//! Who a token is: the identity URL `/id/{orgId}/{userId}` (JSON, or XML with
//! `format=xml`) and OpenID Connect's `/services/oauth2/userinfo`, each in Salesforce's
//! field order (`org-rest-cdc.md` §1.4). A user field the org leaves unset is `null`.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use forcebus_http::ctx::{Origin, bearer};
use forcebus_http::error::json_response;
use forcebus_org::{Record, RecordId};
use forcebus_xml::write::{Writer, XSI_NS};

use crate::Shared;

/// The identity URL's answer.
#[derive(Debug, Serialize)]
pub(crate) struct Identity {
    id: String,
    asserted_user: bool,
    user_id: String,
    organization_id: String,
    username: Value,
    nick_name: Value,
    display_name: Value,
    email: Value,
    email_verified: bool,
    first_name: Value,
    last_name: Value,
    timezone: Value,
    photos: Photos,
    addr_street: Value,
    addr_city: Value,
    addr_state: Value,
    addr_country: Value,
    addr_zip: Value,
    mobile_phone: Value,
    mobile_phone_verified: bool,
    is_lightning_login_user: bool,
    status: Status,
    urls: Urls,
    active: bool,
    user_type: &'static str,
    language: Value,
    locale: Value,
    #[serde(rename = "utcOffset")]
    utc_offset: i32,
    last_modified_date: Value,
    is_app_installed: bool,
}

/// The userinfo answer: the identity in OpenID Connect's names.
#[derive(Debug, Serialize)]
pub(crate) struct UserInfo {
    sub: String,
    user_id: String,
    organization_id: String,
    preferred_username: Value,
    nickname: Value,
    name: Value,
    email: Value,
    email_verified: bool,
    given_name: Value,
    family_name: Value,
    zoneinfo: Value,
    photos: Photos,
    profile: String,
    picture: String,
    address: Address,
    urls: Urls,
    active: bool,
    user_type: &'static str,
    language: Value,
    locale: Value,
    #[serde(rename = "utcOffset")]
    utc_offset: i32,
    updated_at: Value,
    is_app_installed: bool,
}

/// The default profile photo URLs (no photos are kept).
#[derive(Debug, Serialize)]
struct Photos {
    picture: String,
    thumbnail: String,
}

impl Photos {
    fn at(origin: &str) -> Self {
        Self {
            picture: format!("{origin}/profilephoto/005/F"),
            thumbnail: format!("{origin}/profilephoto/005/T"),
        }
    }
}

/// The user's Chatter status: none is kept, so both `null`.
#[derive(Debug, Serialize)]
struct Status {
    created_date: Option<String>,
    body: Option<String>,
}

/// The user's address, as OpenID Connect names its parts.
#[derive(Debug, Serialize)]
struct Address {
    street_address: Value,
    locality: Value,
    region: Value,
    country: Value,
    postal_code: Value,
}

/// Every API endpoint of the org at the origin the client used, with the literal
/// `{version}` placeholder unless a version was asked for, as Salesforce returns them.
#[derive(Debug, Serialize)]
struct Urls {
    enterprise: String,
    metadata: String,
    partner: String,
    rest: String,
    sobjects: String,
    search: String,
    query: String,
    recent: String,
    tooling_soap: String,
    tooling_rest: String,
    profile: String,
    feeds: String,
    groups: String,
    users: String,
    feed_items: String,
    feed_elements: String,
    custom_domain: String,
}

impl Urls {
    pub(crate) fn of(origin: &str, org: &str, user: &str, version: Option<&str>) -> Self {
        let v = version.unwrap_or("{version}");
        let data = format!("{origin}/services/data/v{v}");
        Self {
            enterprise: format!("{origin}/services/Soap/c/{v}/{org}"),
            metadata: format!("{origin}/services/Soap/m/{v}/{org}"),
            partner: format!("{origin}/services/Soap/u/{v}/{org}"),
            rest: format!("{data}/"),
            sobjects: format!("{data}/sobjects/"),
            search: format!("{data}/search/"),
            query: format!("{data}/query/"),
            recent: format!("{data}/recent/"),
            tooling_soap: format!("{origin}/services/Soap/T/{v}/{org}"),
            tooling_rest: format!("{data}/tooling/"),
            profile: format!("{origin}/{user}"),
            feeds: format!("{data}/chatter/feeds"),
            groups: format!("{data}/chatter/groups"),
            users: format!("{data}/chatter/users"),
            feed_items: format!("{data}/chatter/feed-items"),
            feed_elements: format!("{data}/chatter/feed-elements"),
            custom_domain: origin.to_owned(),
        }
    }
}

/// A user field as the answers show it: its stored value, `null` when unset.
fn field(user: &Record, name: &str) -> Value {
    user.get(name).to_value()
}

/// Whether the user is active (unless the record says otherwise).
fn active(user: &Record) -> bool {
    user.get("IsActive") != false
}

impl Identity {
    pub(crate) fn of(origin: &str, org: RecordId, user: &Record, version: Option<&str>) -> Self {
        let (o, u) = (org.to18(), user.id.to18());
        Self {
            id: format!("{origin}/id/{o}/{u}"),
            asserted_user: true,
            username: field(user, "Username"),
            nick_name: field(user, "CommunityNickname"),
            display_name: field(user, "Name"),
            email: field(user, "Email"),
            email_verified: true,
            first_name: field(user, "FirstName"),
            last_name: field(user, "LastName"),
            timezone: field(user, "TimeZoneSidKey"),
            photos: Photos::at(origin),
            addr_street: field(user, "Street"),
            addr_city: field(user, "City"),
            addr_state: field(user, "State"),
            addr_country: field(user, "Country"),
            addr_zip: field(user, "PostalCode"),
            mobile_phone: field(user, "MobilePhone"),
            mobile_phone_verified: false,
            is_lightning_login_user: false,
            status: Status {
                created_date: None,
                body: None,
            },
            urls: Urls::of(origin, &o, &u, version),
            active: active(user),
            user_type: "STANDARD",
            language: field(user, "LanguageLocaleKey"),
            locale: field(user, "LocaleSidKey"),
            utc_offset: 0,
            last_modified_date: field(user, "LastModifiedDate"),
            is_app_installed: true,
            user_id: u,
            organization_id: o,
        }
    }

    /// The answer as XML (`format=xml`): a `user` element, each field an element in the
    /// JSON answer's order, nulls `xsi:nil`, nested objects nested.
    pub(crate) fn xml(&self) -> String {
        let fields = serde_json::to_value(self).expect("an identity's keys are text");
        let mut w = Writer::new();
        w.declaration().open_with("user", &[("xmlns:xsi", XSI_NS)]);
        if let Value::Object(fields) = &fields {
            forcebus_xml::json::write_fields(&mut w, fields);
        }
        w.finish()
    }
}

impl UserInfo {
    pub(crate) fn of(origin: &str, org: RecordId, user: &Record) -> Self {
        let (o, u) = (org.to18(), user.id.to18());
        Self {
            sub: format!("{origin}/id/{o}/{u}"),
            preferred_username: field(user, "Username"),
            nickname: field(user, "CommunityNickname"),
            name: field(user, "Name"),
            email: field(user, "Email"),
            email_verified: true,
            given_name: field(user, "FirstName"),
            family_name: field(user, "LastName"),
            zoneinfo: field(user, "TimeZoneSidKey"),
            photos: Photos::at(origin),
            profile: format!("{origin}/{u}"),
            picture: format!("{origin}/profilephoto/005/F"),
            address: Address {
                street_address: field(user, "Street"),
                locality: field(user, "City"),
                region: field(user, "State"),
                country: field(user, "Country"),
                postal_code: field(user, "PostalCode"),
            },
            urls: Urls::of(origin, &o, &u, None),
            active: active(user),
            user_type: "STANDARD",
            language: field(user, "LanguageLocaleKey"),
            locale: field(user, "LocaleSidKey"),
            utc_offset: 0,
            updated_at: field(user, "LastModifiedDate"),
            is_app_installed: true,
            user_id: u,
            organization_id: o,
        }
    }
}

/// `GET /services/oauth2/userinfo`: the OpenID Connect view of the token's user.
pub(crate) async fn userinfo(
    State(app): State<Shared>,
    origin: Origin,
    headers: HeaderMap,
) -> Response {
    let Some(session) = bearer(&headers).and_then(|t| app.auth.verify(t)) else {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    };
    let Some(user) = app.org.get(session.user_id) else {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    };
    let info = UserInfo::of(&origin.0, app.org.id(), &user);
    json_response(StatusCode::OK, &info)
}

/// `GET /id/{orgId}/{userId}`: token in `Authorization` or `oauth_token`; `format=json|xml`.
pub(crate) async fn identity(
    State(app): State<Shared>,
    origin: Origin,
    headers: HeaderMap,
    Path((org, user)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let token = q
        .get("oauth_token")
        .map(String::as_str)
        .or_else(|| bearer(&headers));
    if token.and_then(|t| app.auth.verify(t)).is_none() {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    let org_ok = RecordId::parse(&org) == Some(app.org.id());
    let user = RecordId::parse(&user)
        .and_then(|id| app.org.get(id))
        .filter(|u| u.object == "User");
    let (true, Some(user)) = (org_ok, user) else {
        return (StatusCode::NOT_FOUND, "Bad_Id").into_response();
    };
    let version = q.get("version").map(String::as_str);
    let body = Identity::of(&origin.0, app.org.id(), &user, version);
    match q.get("format").map(String::as_str) {
        Some("xml") => (
            [(header::CONTENT_TYPE, "application/xml;charset=UTF-8")],
            body.xml(),
        )
            .into_response(),
        _ => json_response(StatusCode::OK, &body),
    }
}
