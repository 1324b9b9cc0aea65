//! What a resource shared with composite requests is, and how it runs. The resources
//! themselves are listed once, in [`crate::data::shared::RESOURCES`]; each is a pattern
//! and one [`Handler`] per method, which its own route and a composite subrequest run
//! alike:
//!
//! - a [`Handler::Txn`] runs over a transaction's [`Work`]: on its own route in a
//!   transaction of its own (a write) or over a view of the org (a read), in a composite
//!   request in the transaction the request shares, seeing what it wrote;
//! - a [`Handler::Org`] reads the org as committed (describeGlobal, basic information,
//!   describe) and needs neither.
//!
//! - `request`: what a resource is given ([`Sub`]: its method, target and body);
//! - `reply`: what it answers ([`Reply`]: JSON, or a blob's bytes);
//! - `own`: a request of its own, answered by one resource.

mod own;
mod reply;
mod request;

pub(crate) use own::{answer, serve};
pub(crate) use reply::{Blob, Reply};
pub(crate) use request::{Body, Sub, Target, parse_url};

use axum::http::Method;

use forcebus_org::Work;
use forcebus_org::platform::ToPublish;

use crate::ctx::Call;
use crate::error::ApiError;

/// What a resource runs for one method.
#[derive(Clone, Copy)]
pub(crate) enum Handler {
    /// A function over a transaction's work: a write, or a read that sees what the
    /// transaction wrote.
    Txn(fn(&mut Run<'_>, &mut Work<'_>, &Sub) -> Reply),
    /// A read of the org as committed, which needs no transaction.
    Org(fn(&Run<'_>, &Sub) -> Reply),
}

/// A resource: its path after `/services/data/vXX.X` and what each method runs.
pub(crate) struct Resource {
    pub(crate) pattern: &'static str,
    pub(crate) methods: &'static [(Method, Handler)],
    /// The route of its own, when it is not `methods`' (a query pages over the org on its
    /// own route, and is shaped whole over the transaction in a composite request).
    pub(crate) own_route: Option<fn() -> axum::routing::MethodRouter<crate::State>>,
}

impl Resource {
    /// Whether `segments` (after the version) fall under this pattern.
    pub(crate) fn matches(&self, segments: &[String]) -> bool {
        let parts: Vec<&str> = self.pattern.split('/').filter(|s| !s.is_empty()).collect();
        parts.len() == segments.len()
            && parts
                .iter()
                .zip(segments)
                .all(|(p, s)| p.starts_with('{') || p == s)
    }

    /// The methods it answers, as a 405 and axum's `Allow` name them (`GET,HEAD,POST`).
    pub(crate) fn allowed(&self) -> String {
        let names: Vec<&str> = self
            .methods
            .iter()
            .flat_map(|(m, _)| {
                if *m == Method::GET {
                    vec!["GET", "HEAD"]
                } else {
                    vec![m.as_str()]
                }
            })
            .collect();
        names.join(",")
    }

    /// What it runs for `method` (a `HEAD` is its `GET`).
    pub(crate) fn handler(&self, method: &Method) -> Option<Handler> {
        let wanted = if *method == Method::HEAD {
            &Method::GET
        } else {
            method
        };
        self.methods
            .iter()
            .find(|(m, _)| m == wanted)
            .map(|(_, h)| *h)
    }

    /// Runs `sub` inside `work`, a transaction under way: its method's handler, or a 405
    /// naming the methods the resource takes.
    pub(crate) fn run_in(&self, run: &mut Run<'_>, work: &mut Work<'_>, sub: &Sub) -> Reply {
        match self.handler(&sub.method) {
            Some(Handler::Txn(f)) => f(run, work, sub),
            Some(Handler::Org(f)) => f(run, sub),
            None => ApiError::method_not_allowed(&sub.method, &self.allowed()).into(),
        }
    }
}

/// What running resources leaves to do once their transaction's fate is known: platform
/// events to publish if it commits, and the commits of events already published
/// (`PublishImmediately`), to wait for outside the transaction, whose writer lock must not
/// wait on the disk.
#[derive(Debug, Default)]
pub(crate) struct AfterCommit {
    pub(crate) events: Vec<ToPublish>,
    pub(crate) published: Vec<forcebus_eventlog::Commit>,
}

impl AfterCommit {
    /// Waits for the events published immediately, then publishes the rest if the
    /// transaction was `kept`.
    pub(crate) fn finish(
        self,
        app: &crate::AppState,
        call: &Call,
        kept: bool,
    ) -> Result<(), ApiError> {
        for commit in self.published {
            commit.wait().map_err(|e| ApiError::internal(&e))?;
        }
        if !kept || self.events.is_empty() {
            return Ok(());
        }
        app.org
            .publish(&call.caller(), &self.events, false)
            .and_then(forcebus_org::Committing::wait)
            .map(drop)
            .map_err(|e| ApiError::internal(&e))
    }

    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.published.is_empty()
    }
}

/// The context of a run: the app, the caller, and what to do after the commit.
pub(crate) struct Run<'a> {
    pub(crate) app: &'a crate::AppState,
    pub(crate) call: &'a Call,
    pub(crate) after: &'a mut AfterCommit,
}
