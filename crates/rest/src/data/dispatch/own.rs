//! A shared resource's request of its own: a read of the org as committed, a read over a
//! view of the org, or a write in a transaction of its own (kept when it succeeds),
//! durable before it is answered.

use axum::extract::{Request, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};

use forcebus_org::{Committing, Mode};

use super::{AfterCommit, Body, Handler, Reply, Run, Sub, Target, request};
use crate::ctx::Call;
use crate::error::ApiError;

/// The request `req` on the route of a resource, answered by `handler`.
pub(crate) async fn serve(
    handler: Handler,
    call: Call,
    State(app): State<crate::State>,
    req: Request,
) -> Response {
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let target = Target {
        tooling: false,
        version: call.version.clone(),
        segments: request::segments_of(parts.uri.path()),
        params: request::params_of(parts.uri.query().unwrap_or_default()),
    };
    let uploads = parts
        .extensions
        .get::<forcebus_http::upload::Uploads>()
        .cloned()
        .unwrap_or_default();
    let sub = Sub {
        method: parts.method,
        target,
        body: Body::http(&parts.headers, &bytes, uploads.files()),
        uploads,
    };
    answer(handler, call, app, sub).await
}

/// Answers `sub` with `handler` as a request of its own.
pub(crate) async fn answer(handler: Handler, call: Call, app: crate::State, sub: Sub) -> Response {
    let mut after = AfterCommit::default();
    let f = match handler {
        Handler::Org(f) => {
            let run = Run {
                app: &app,
                call: &call,
                after: &mut after,
            };
            return f(&run, &sub).into_response();
        }
        Handler::Txn(f) => f,
    };
    if sub.method == Method::GET || sub.method == Method::HEAD {
        let reply = app.org.view(&call.caller(), |work| {
            let mut run = Run {
                app: &app,
                call: &call,
                after: &mut after,
            };
            f(&mut run, work, &sub)
        });
        return reply.into_response();
    }
    write(f, call, app, sub)
        .await
        .unwrap_or_else(Reply::from)
        .into_response()
}

/// Runs a write resource in a transaction of its own, off the async workers; waits
/// (without a thread) until it is durable, then publishes what waits for the commit.
async fn write(
    f: fn(&mut Run<'_>, &mut forcebus_org::Work<'_>, &Sub) -> Reply,
    call: Call,
    app: crate::State,
    sub: Sub,
) -> Result<Reply, ApiError> {
    let mode = Mode {
        all_or_none: true,
        bulk_load: call.bulk_load,
        seed: false,
    };
    let (a, c) = (app.clone(), call.clone());
    let (committing, after): (Committing<_>, AfterCommit) = crate::blocking(move || {
        let mut after = AfterCommit::default();
        let uploads = sub.uploads.clone();
        let committing = a
            .org
            .transaction_with(&c.caller(), mode, uploads.files(), |work| {
                let mut run = Run {
                    app: &a,
                    call: &c,
                    after: &mut after,
                };
                let reply = f(&mut run, work, &sub);
                let keep = reply.ok();
                (reply, keep)
            });
        committing.map(|c| (c, after))
    })
    .await?
    .map_err(|e| ApiError::internal(&e))?;
    let (reply, _) = committing
        .wait_async()
        .await
        .map_err(|e| ApiError::internal(&e))?;
    if !after.is_empty() {
        let kept = reply.ok();
        crate::blocking(move || after.finish(&app, &call, kept)).await??;
    }
    Ok(reply)
}
