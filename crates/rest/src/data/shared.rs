//! The data API's resources a composite subrequest may call (`data-apis.md` §4.1), each
//! declared once in [`RESOURCES`]: its pattern, and what each method runs. Their routes
//! come from here ([`routes`]), and a subrequest finds its resource here ([`subrequest`]),
//! so a resource answers the same whichever way it is reached, and names the same
//! methods in a 405. How a resource runs is [`crate::data::dispatch`]'s.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use serde_json::Value;

use forcebus_org::Work;

use crate::ctx::Call;
use crate::data::dispatch::{self, Body, Handler, Reply, Resource, Run, Sub, Target};
use crate::data::{collections, describe, query, replication, sobject};
use crate::error::ApiError;

use Handler::{Org, Txn};

/// Every resource a composite subrequest may call. A pattern with a fixed last segment
/// comes before the one whose last segment is a name (`/sobjects/{o}/describe` before
/// `/sobjects/{o}/{id}`): the first that matches a path serves it.
pub(crate) const RESOURCES: &[Resource] = &[
    Resource {
        pattern: "/sobjects",
        methods: &[(Method::GET, Org(describe::global))],
        own_route: None,
    },
    Resource {
        pattern: "/sobjects/{o}",
        methods: &[
            (Method::GET, Org(describe::basic_info)),
            (Method::POST, Txn(sobject::create)),
        ],
        own_route: None,
    },
    Resource {
        pattern: "/sobjects/{o}/describe",
        methods: &[(Method::GET, Org(describe::describe))],
        own_route: None,
    },
    Resource {
        pattern: "/sobjects/{o}/deleted",
        methods: &[(Method::GET, Txn(replication::changes))],
        own_route: None,
    },
    Resource {
        pattern: "/sobjects/{o}/updated",
        methods: &[(Method::GET, Txn(replication::changes))],
        own_route: None,
    },
    Resource {
        pattern: "/sobjects/{o}/{id}",
        methods: &[
            (Method::GET, Txn(sobject::retrieve)),
            (Method::PATCH, Txn(sobject::update)),
            (Method::DELETE, Txn(sobject::delete)),
        ],
        own_route: None,
    },
    Resource {
        pattern: "/sobjects/{o}/{field}/{value}",
        methods: &[
            (Method::GET, Txn(sobject::retrieve_by_external_id)),
            (Method::PATCH, Txn(sobject::upsert)),
            (Method::DELETE, Txn(sobject::delete_by_external_id)),
            (Method::POST, Txn(sobject::upsert)),
        ],
        own_route: None,
    },
    Resource {
        pattern: "/query",
        methods: &[(Method::GET, Txn(query::in_transaction))],
        own_route: Some(|| get(query::query)),
    },
    Resource {
        pattern: "/queryAll",
        methods: &[(Method::GET, Txn(query::in_transaction))],
        own_route: Some(|| get(query::query_all)),
    },
    Resource {
        pattern: "/composite/sobjects",
        methods: &[
            (Method::POST, Txn(collections::create)),
            (Method::PATCH, Txn(collections::update)),
            (Method::DELETE, Txn(collections::delete)),
        ],
        own_route: None,
    },
    Resource {
        pattern: "/composite/sobjects/{o}",
        methods: &[
            (Method::GET, Txn(collections::retrieve)),
            (Method::POST, Txn(collections::retrieve)),
        ],
        own_route: None,
    },
    Resource {
        pattern: "/composite/sobjects/{o}/{field}",
        methods: &[(Method::PATCH, Txn(collections::upsert))],
        own_route: None,
    },
];

/// The resource `segments` (after the version) name, if a subrequest may call it.
fn find(segments: &[String]) -> Option<&'static Resource> {
    RESOURCES.iter().find(|r| r.matches(segments))
}

/// Runs one composite subrequest (or one node of a graph) in `work`, a transaction under
/// way: reads see its changes; nothing is committed here, the caller decides.
/// `run.call` is the composite call with the subrequest's version.
pub(crate) fn subrequest(
    run: &mut Run<'_>,
    work: &mut Work<'_>,
    method: &Method,
    target: &Target,
    body: Option<Value>,
) -> Reply {
    let Some(resource) = find(&target.segments) else {
        return ApiError::not_found().into();
    };
    let sub = Sub {
        method: method.clone(),
        target: target.clone(),
        body: Body::json(body),
        uploads: forcebus_http::upload::Uploads::default(),
    };
    resource.run_in(run, work, &sub)
}

/// The routes of [`RESOURCES`] under `/services/data/vXX.X`, each method answered by its
/// handler as a request of its own.
pub(crate) fn routes(mut router: Router<crate::State>) -> Router<crate::State> {
    for resource in RESOURCES {
        let on = match resource.own_route {
            Some(route) => route(),
            None => method_router(resource),
        };
        router = router.route(&format!("/services/data/{{v}}{}", resource.pattern), on);
    }
    router
}

fn method_router(resource: &Resource) -> MethodRouter<crate::State> {
    let mut on = MethodRouter::new();
    for (method, handler) in resource.methods {
        let handler = *handler;
        let h = move |call: Call, app: State<crate::State>, req: Request| {
            dispatch::serve(handler, call, app, req)
        };
        on = match method.as_str() {
            "GET" => on.get(h),
            "POST" => on.post(h),
            "PATCH" => on.patch(h),
            _ => on.delete(h),
        };
    }
    on
}

/// The resource of `pattern` answering `sub`, a request that reaches it under another
/// path (the Tooling API's data objects, `/tooling/sobjects/PushTopic`), its segments as
/// the resource sees them (`["sobjects", "PushTopic"]`).
pub(crate) async fn delegate(call: Call, app: crate::State, pattern: &str, sub: Sub) -> Response {
    let Some(resource) = RESOURCES.iter().find(|r| r.pattern == pattern) else {
        return ApiError::not_found().into_response();
    };
    let Some(handler) = resource.handler(&sub.method) else {
        return ApiError::method_not_allowed(&sub.method, &resource.allowed()).into_response();
    };
    dispatch::answer(handler, call, app, sub).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each pattern's own paths reach it: none is shadowed by one listed before it.
    #[test]
    fn every_resource_is_found_by_its_own_paths() {
        for resource in RESOURCES {
            let segments: Vec<String> = resource
                .pattern
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| if s.starts_with('{') { "Xyz" } else { s }.to_owned())
                .collect();
            let found = find(&segments).map(|r| r.pattern);
            assert_eq!(found, Some(resource.pattern));
        }
    }

    /// A method a resource does not take is a 405 naming the ones it does, as its own
    /// route's is.
    #[test]
    fn a_resource_names_its_methods() {
        let segments = ["sobjects", "Account", "describe"].map(String::from);
        let describe = find(&segments).expect("describe");
        assert_eq!(describe.allowed(), "GET,HEAD");
        assert!(describe.handler(&Method::PATCH).is_none());
        assert!(describe.handler(&Method::HEAD).is_some());
    }
}
