//! The partner calls that describe the session and the org: `getUserInfo` (the signed-in
//! user, as `login` returns it), `getServerTimestamp` (the org's clock, test controls
//! included) and `describeTabs` (the org's apps and their tabs: Sales with the sales
//! objects and the org's custom objects, Service with the service objects).

use axum::http::StatusCode;
use axum::response::Response;

use forcebus_org::{Caller, ObjectDef, Schema};
use forcebus_xml::write::Writer;

use super::{envelope, invalid_session, unknown_call, user_info, xml};
use crate::ctx::Origin;

/// The calls of this module.
pub(super) const CALLS: [&str; 3] = ["getUserInfo", "getServerTimestamp", "describeTabs"];

/// The apps of `describeTabs`: label, description, tab set id, and the objects with a tab.
const APPS: [(&str, &str, &str, &[&str]); 2] = [
    (
        "Sales",
        "Manage your sales process with accounts, leads, opportunities, and more",
        "02u000000000001",
        &[
            "Account",
            "Contact",
            "Lead",
            "Opportunity",
            "Campaign",
            "Product2",
            "Pricebook2",
            "Contract",
            "Order",
            "Quote",
            "Asset",
            "ContentDocument",
        ],
    ),
    (
        "Service",
        "Manage customer service with accounts, contacts, cases, and more",
        "02u000000000002",
        &[
            "Account",
            "Contact",
            "Case",
            "Solution",
            "Entitlement",
            "Asset",
        ],
    ),
];

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
    for (i, (label, description, id, objects)) in APPS.into_iter().enumerate() {
        w.open("result")
            .text("description", description)
            .text("label", label)
            .text(
                "logoUrl",
                &format!("{origin}/img/seasonLogos/{}_logo.png", label.to_lowercase()),
            )
            .value("selected", i == 0)
            .text("tabSetId", id);
        let mut tabs: Vec<&ObjectDef> = objects.iter().filter_map(|o| schema.object(o)).collect();
        if i == 0 {
            tabs.extend(schema.objects().filter(|o| o.custom));
        }
        for o in tabs {
            tab(w, o, origin);
        }
        w.close();
    }
}

/// A `DescribeTab` of object `o`.
fn tab(w: &mut Writer, o: &ObjectDef, origin: &str) {
    let icon = o.name.to_lowercase();
    let name = if o.custom {
        o.name.clone()
    } else {
        format!("standard-{}", o.name)
    };
    w.open("tabs")
        .value("custom", o.custom)
        .text("iconUrl", &format!("{origin}/img/icon/{icon}32.png"));
    for (size, theme) in [(32, "theme3"), (16, "theme3")] {
        w.open("icons")
            .text("contentType", "image/png")
            .value("height", size)
            .text("theme", theme)
            .text("url", &format!("{origin}/img/icon/{icon}{size}.png"))
            .value("width", size)
            .close();
    }
    w.text("label", &o.label_plural)
        .text("miniIconUrl", &format!("{origin}/img/icon/{icon}16.png"))
        .text("name", &name)
        .text("sobjectName", &o.name)
        .text("url", &format!("{origin}/{}/o", o.key_prefix))
        .close();
}
