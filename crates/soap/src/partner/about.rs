//! The partner calls that describe the session and the org: `getUserInfo` (the signed-in
//! user, as `login` returns it), `getServerTimestamp` (the org's clock, test controls
//! included) and `describeTabs` (the org's apps and their tabs: Sales with the sales
//! objects and the org's custom objects, Service with the service objects).

use axum::http::StatusCode;
use axum::response::Response;

use forcebus_http::tabs::{APPS, Tab};
use forcebus_org::{Caller, Schema};
use forcebus_xml::write::Writer;

use super::{envelope, invalid_session, unknown_call, user_info, xml};
use crate::ctx::Origin;

/// The calls of this module.
pub(super) const CALLS: [&str; 3] = ["getUserInfo", "getServerTimestamp", "describeTabs"];

/// Runs the call `name` (one of [`CALLS`]).
pub(super) fn call(
    app: &crate::AppState,
    origin: &Origin,
    caller: &Caller,
    name: &str,
) -> Response {
    let mut w = Writer::new();
    w.open(&format!("{name}Response"));
    match name {
        "getUserInfo" => {
            let Some(user) = app.org.get(caller.user_id) else {
                return invalid_session();
            };
            w.open("result");
            user_info(&mut w, app, &user);
            w.close();
        }
        "getServerTimestamp" => {
            // xsd:dateTime, in UTC with `Z` (REST writes `+0000`).
            let now =
                forcebus_org::clock::format_datetime(app.org.clock().now()).replace("+0000", "Z");
            w.open("result").text("timestamp", &now).close();
        }
        "describeTabs" => describe_tabs(&mut w, &app.org.schema(), &origin.0),
        other => return unknown_call(other),
    }
    xml(StatusCode::OK, envelope(&w.finish()))
}

/// One `result` per app; the first is the selected one.
fn describe_tabs(w: &mut Writer, schema: &Schema, origin: &str) {
    for (i, app) in APPS.iter().enumerate() {
        w.open("result")
            .text("description", app.description)
            .text("label", app.label)
            .text("logoUrl", &app.logo_url(origin))
            .value("selected", i == 0)
            .text("tabSetId", app.tab_set_id);
        for o in app.objects(schema) {
            tab(w, &Tab::of(o, origin));
        }
        w.close();
    }
}

/// A `DescribeTab`.
fn tab(w: &mut Writer, t: &Tab) {
    w.open("tabs")
        .value("custom", t.custom)
        .text("iconUrl", &t.icon_url);
    for icon in &t.icons {
        w.open("icons")
            .text("contentType", &icon.content_type)
            .value("height", icon.height)
            .text("theme", &icon.theme)
            .text("url", &icon.url)
            .value("width", icon.width)
            .close();
    }
    w.text("label", &t.label)
        .text("miniIconUrl", &t.mini_icon_url)
        .text("name", &t.name)
        .text("sobjectName", &t.sobject_name)
        .text("url", &t.url)
        .close();
}
