//! The route tables: every path this crate answers and its handlers, one statement a
//! route (long by nature), and the methods each path allows for 405 bodies.

use axum::Router;
use axum::routing::{get, post, put};

use crate::bulk::{v1 as bulk1, v2 as bulk2};
use crate::data::*;
use crate::{State, control, metadata, oauth, soap, tooling};

/// The data API: `/services/data/vXX.X/...`.
#[allow(clippy::too_many_lines)]
pub(crate) fn data() -> Router<State> {
    Router::new()
        .route("/services/data/{v}", get(resources::resources))
        .route("/services/data/{v}/limits", get(resources::limits))
        .route("/services/data/{v}/sobjects", get(describe::global))
        .route("/services/data/{v}/query", get(query::query))
        .route("/services/data/{v}/queryAll", get(query::query_all))
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
            "/services/data/{v}/sobjects/{o}",
            get(describe::basic).post(sobjects::create),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/describe",
            get(describe::describe),
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
            "/services/data/{v}/sobjects/{o}/deleted",
            get(sobjects::deleted),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/updated",
            get(sobjects::updated),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/{id}",
            get(sobjects::retrieve)
                .patch(sobjects::update)
                .delete(sobjects::delete),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/{id}/push",
            get(generic::online).post(generic::push),
        )
        .route(
            "/services/data/{v}/sobjects/{o}/{field}/{value}",
            get(sobjects::retrieve_by_external_id)
                .patch(sobjects::upsert)
                .delete(sobjects::delete_by_external_id),
        )
        .route(
            "/services/data/{v}/composite/sobjects",
            post(collections::create)
                .patch(collections::update)
                .delete(collections::delete),
        )
        .route(
            "/services/data/{v}/composite/sobjects/{o}",
            post(collections::retrieve).get(collections::retrieve_get),
        )
        .route(
            "/services/data/{v}/composite/sobjects/{o}/{field}",
            axum::routing::patch(collections::upsert),
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
        .route("/services/data/{v}/recent", get(recent::recent))
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
        .route(
            "/services/data/{v}/metadata/deployRequest",
            post(metadata::rest_deploy::create),
        )
        .route(
            "/services/data/{v}/metadata/deployRequest/{id}",
            get(metadata::rest_deploy::status)
                .post(metadata::rest_deploy::create_validated)
                .patch(metadata::rest_deploy::cancel),
        )
        .route(
            "/services/data/{v}/jobs/{kind}",
            post(bulk2::create).get(bulk2::list),
        )
        .route(
            "/services/data/{v}/jobs/{kind}/{id}",
            get(bulk2::get_job)
                .patch(bulk2::patch_job)
                .delete(bulk2::delete_job),
        )
        .route(
            "/services/data/{v}/jobs/{kind}/{id}/{which}",
            get(bulk2::results),
        )
}

/// OAuth, identity, SOAP, Bulk API 1.0 and forcebus's own endpoints.
pub(crate) fn other() -> Router<State> {
    Router::new()
        .route("/services/async/{v}/job", post(bulk1::create_job))
        .route(
            "/services/async/{v}/job/{id}",
            get(bulk1::get_job).post(bulk1::update_job),
        )
        .route(
            "/services/async/{v}/job/{id}/batch",
            get(bulk1::list_batches).post(bulk1::add_batch),
        )
        .route(
            "/services/async/{v}/job/{id}/batch/{batch}",
            get(bulk1::batch),
        )
        .route(
            "/services/async/{v}/job/{id}/batch/{batch}/{what}",
            get(bulk1::batch),
        )
        .route(
            "/services/async/{v}/job/{id}/batch/{batch}/{what}/{result}",
            get(bulk1::batch),
        )
        .route("/services/data", get(resources::versions))
        .route("/forcebus/v1/events", get(events::inspect))
        .route(
            "/forcebus/v1/control",
            get(control::show).delete(control::clear),
        )
        .route("/forcebus/v1/control/clock", post(control::clock))
        .route("/forcebus/v1/control/gap", post(control::gap))
        .route("/forcebus/v1/control/streaming", post(control::streaming))
        .route("/forcebus/v1/control/pubsub", post(control::pubsub))
        .route("/forcebus/v1/platform-events", get(platform::list))
        .route(
            "/forcebus/v1/platform-events/{name}",
            get(platform::show)
                .put(platform::put)
                .delete(platform::remove),
        )
        .route("/services/oauth2/token", post(oauth::token))
        .route(
            "/services/oauth2/authorize",
            get(oauth::authorize).post(oauth::authorize_post),
        )
        .route(
            "/services/oauth2/userinfo",
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route(
            "/services/oauth2/revoke",
            post(oauth::revoke).get(oauth::revoke_get),
        )
        .route("/id/{org}/{user}", get(oauth::identity))
        .route("/services/Soap/u/{v}", post(soap::endpoint))
        .route("/services/Soap/m/{v}", post(metadata::calls::endpoint))
        .route(
            "/services/Soap/m/{v}/{*rest}",
            post(metadata::calls::endpoint),
        )
        .route("/services/Soap/u/{v}/{org}", post(soap::endpoint))
}

/// Routes whose request bodies are streamed rather than read whole: Bulk uploads.
pub(crate) fn uploads() -> Router<State> {
    Router::new().route(
        "/services/data/{v}/jobs/{kind}/{id}/batches",
        put(bulk2::upload),
    )
}

/// The methods each route answers, for 405 bodies (axum's own `Allow` header is lost once
/// the router is layered). Keep in step with the tables above; a test checks every route.
pub(crate) fn allowed_methods(pattern: &str) -> &'static str {
    match pattern.trim_start_matches("/services/data/{v}") {
        "/sobjects/{o}" => "GET,HEAD,POST",
        "/sobjects/{o}/{id}" => "GET,HEAD,PATCH,DELETE",
        "/sobjects/{o}/{field}/{value}" => "GET,HEAD,PATCH,DELETE",
        "/sobjects/{o}/{id}/push" => "GET,HEAD,POST",
        "/tooling/sobjects/{o}" => "GET,HEAD,POST",
        "/tooling/sobjects/{o}/{id}" => "GET,HEAD,PATCH,DELETE",
        "/sobjects/{o}/{id}/password" => "GET,HEAD,POST,DELETE",
        "/forcebus/v1/platform-events/{name}" => "GET,HEAD,PUT,DELETE",
        "/composite/sobjects" => "POST,PATCH,DELETE",
        "/composite/sobjects/{o}" => "GET,HEAD,POST",
        "/composite/sobjects/{o}/{field}" => "PATCH",
        "/composite" | "/parameterizedSearch" => "GET,HEAD,POST",
        "/composite/batch" | "/composite/tree/{o}" | "/composite/graph" => "POST",
        "/metadata/deployRequest" => "POST",
        "/metadata/deployRequest/{id}" => "GET,HEAD,POST,PATCH",
        "/services/oauth2/token"
        | "/services/Soap/u/{v}"
        | "/services/Soap/u/{v}/{org}"
        | "/services/Soap/m/{v}"
        | "/services/Soap/m/{v}/{*rest}" => "POST",
        "/services/oauth2/userinfo" | "/services/oauth2/revoke" => "GET,HEAD,POST",
        _ => "GET,HEAD",
    }
}
