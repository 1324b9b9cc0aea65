//! The route tables: every path this crate answers and its handlers, one statement a
//! route (long by nature). The routes of the resources a composite subrequest may call
//! too come from their own table, [`crate::data::shared::RESOURCES`], which both draw on.

use axum::Router;
use axum::routing::{get, post};

use crate::data::*;
use crate::{State, control, tooling};

/// The data API: `/services/data/vXX.X/...`.
#[allow(clippy::too_many_lines)]
pub(crate) fn data() -> Router<State> {
    crate::data::shared::routes(Router::new())
        .route("/services/data/{v}", get(resources::resources))
        .route("/services/data/{v}/limits", get(resources::limits))
        .route("/services/data/{v}/tabs", get(resources::tabs))
        .route("/services/data/{v}/theme", get(resources::theme))
        .route("/services/data/{v}/query/{locator}", get(query::more))
        .route("/services/data/{v}/queryAll/{locator}", get(query::more))
        .route("/services/data/{v}/tooling/query", get(query::tooling))
        .route(
            "/services/data/{v}/tooling/sobjects/{o}",
            get(tooling::sobjects::basic).post(tooling::sobjects::create),
        )
        .route(
            "/services/data/{v}/tooling/sobjects/{o}/{id}",
            get(tooling::sobjects::retrieve)
                .patch(tooling::sobjects::update)
                .delete(tooling::sobjects::delete),
        )
        .route(
            "/services/data/{v}/tooling/query/{locator}",
            get(query::more),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/eventSchema",
            get(events::by_event),
        )
        .route(
            "/services/data/{v}/event/eventSchema/{id}",
            get(events::by_id),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/{id}/push",
            get(streaming_push::online).post(streaming_push::push),
        )
        .route(
            "/services/data/{v}/composite",
            get(composite::resources).post(composite::request::composite),
        )
        .route(
            "/services/data/{v}/composite/batch",
            post(composite::batch::batch),
        )
        .route(
            "/services/data/{v}/composite/tree/{o}",
            post(composite::tree::tree),
        )
        .route(
            "/services/data/{v}/composite/graph",
            post(composite::graph::graph_call),
        )
        .route("/services/data/{v}/search", get(search::search))
        .route("/services/data/{v}/recent", get(recently_viewed::recent))
        .route(
            "/services/data/{v}/tooling/sobjects",
            get(describe::tooling_global),
        )
        .route(
            "/services/data/{v}/tooling/sobjects/{o}/describe",
            get(describe::tooling_describe),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/describe/layouts",
            get(layouts::layouts),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/describe/layouts/{rt}",
            get(layouts::layout_for_record_type),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/describe/namedLayouts/{name}",
            get(layouts::named),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/describe/compactLayouts",
            get(layouts::compact),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/describe/approvalLayouts",
            get(layouts::approval),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/listviews",
            get(listviews::listviews),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/listviews/{id}",
            get(listviews::listview),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/listviews/{id}/describe",
            get(listviews::describe),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/listviews/{id}/results",
            get(listviews::results),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/{id}/password",
            get(password::status)
                .post(password::set)
                .delete(password::reset),
        )
        .route(
            "/services/data/{v}/parameterizedSearch",
            get(search::parameterized_get).post(search::parameterized_post),
        )
}

/// The version list and forcebus's own endpoints.
pub(crate) fn other() -> Router<State> {
    Router::new()
        .route("/services/data", get(resources::versions))
        .route("/forcebus/v1/events", get(events::inspect))
        .route("/forcebus/v1/subscribers", get(crate::watch::subscribers))
        .route("/forcebus/v1/schemas", get(crate::watch::schemas))
        .route("/forcebus/v1/requests", get(crate::watch::requests))
        .route(
            "/forcebus/v1/control",
            get(control::show).delete(control::clear),
        )
        .route("/forcebus/v1/control/clock", post(control::clock))
        .route("/forcebus/v1/control/gap", post(control::gap))
        .route("/forcebus/v1/control/streaming", post(control::streaming))
        .route("/forcebus/v1/control/pubsub", post(control::pubsub))
        .route("/forcebus/v1/control/rules", post(control::rules))
        .route(
            "/forcebus/v1/control/users",
            post(crate::control_users::users),
        )
        .route("/forcebus/v1/platform-events", get(platform::list))
        .route(
            "/forcebus/v1/platform-events/{name}",
            get(platform::show)
                .put(platform::put)
                .delete(platform::remove),
        )
}
