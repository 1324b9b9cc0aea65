//! One subrequest of `/composite` (or one node of `/composite/graph`) run inside an org
//! transaction under way: the record resources ([`crate::data::records`], the very
//! functions their own routes run), `query`, `queryAll`, describeGlobal, describe and the
//! `deleted` / `updated` lists, the resources Salesforce allows there (`data-apis.md`
//! §4.1). Reads see the transaction's own changes; nothing is committed here, the
//! caller decides.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use forcebus_org::Work;

use crate::data::records::{self, Body, Reply, Run, Sub, Target};
use crate::error::ApiError;

/// Runs one subrequest in `work`. `ctx.call` is the composite call with the subrequest's
/// version.
pub(crate) fn run(
    ctx: &mut Run<'_>,
    work: &mut Work<'_>,
    method: &Method,
    t: &Target,
    body: Option<Value>,
) -> Reply {
    let segs: Vec<&str> = t.segments.iter().map(String::as_str).collect();
    match segs.as_slice() {
        ["sobjects"] if *method == Method::GET => Reply::new(
            StatusCode::OK,
            crate::data::describe::global_json(ctx.app, ctx.call),
        ),
        ["sobjects", name, kind @ ("deleted" | "updated")] if *method == Method::GET => {
            let visit = |object: &str, f: &mut dyn FnMut(&forcebus_org::Record)| {
                work.scan(object).for_each(&mut *f);
            };
            Reply::of(if *kind == "deleted" {
                crate::data::sobjects::deleted_json(ctx.app, name, &t.params, &visit)
            } else {
                crate::data::sobjects::updated_json(ctx.app, name, &t.params, &visit)
            })
        }
        ["sobjects", name, "describe"] if *method == Method::GET => Reply::of(
            crate::data::describe::describe_json(ctx.app, ctx.call, name),
        ),
        ["query" | "queryAll"] if *method == Method::GET => {
            Reply::of(query(ctx, work, t, segs[0] == "queryAll"))
        }
        _ => match records::find(&t.segments) {
            Some(resource) => {
                let sub = Sub {
                    method: method.clone(),
                    target: t.clone(),
                    body: Body::json(body),
                    uploads: forcebus_http::upload::Uploads::default(),
                };
                records::run(ctx, work, resource, &sub)
            }
            None => ApiError::not_found().into(),
        },
    }
}

/// `query` and `queryAll`, seeing the transaction's changes.
fn query(ctx: &Run<'_>, work: &Work<'_>, t: &Target, all_rows: bool) -> Result<Value, ApiError> {
    let text = crate::data::query::query_text(&t.params)?;
    let viewer = Some(ctx.call.session.user_id);
    let qctx = ctx.app.org.query_context(viewer, &t.version, all_rows);
    let out = work.query(&text, &qctx, &|o| !o.tooling);
    crate::data::query::whole_result(ctx.app, ctx.call, &text, all_rows, out)
}
